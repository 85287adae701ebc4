"""PyBullet's two renderers: TinyRenderer (CPU, everywhere) and the EGL plugin (GPU or Mesa)."""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
import sys

import cv2
import numpy as np
import pybullet as p

from simgen import camera as cam_math
from simgen.errors import ConfigError
from simgen.scene import CameraSpec, LightSpec
from simgen.quiet import c_output_silenced

RENDERERS = ("auto", "egl", "tiny")
# TinyRenderer's defaults; EGL ignores the coefficients, so simgen applies them to its RGB relative to these.
_DEFAULT_GAIN = 0.6 + 0.35 + 0.05

_PROBE = """
import importlib.util, sys, pybullet as p
c = p.connect(p.DIRECT)
p.loadPlugin(importlib.util.find_spec("eglRenderer").origin, "_eglRendererPlugin", physicsClientId=c)
p.getCameraImage(8, 8, physicsClientId=c)
sys.exit(0)
"""


PROBED = "SIMGEN_EGL_AVAILABLE"  # the probe's answer, in the environment that worker processes inherit


@functools.lru_cache(maxsize=1)
def egl_available() -> bool:
    """Whether the EGL plugin initialises here. Probed once (0.5 s) in a subprocess, since on failure the plugin
    exits the process; the answer is passed on to worker processes through the environment."""
    if os.environ.get(PROBED) in ("0", "1"):
        return os.environ[PROBED] == "1"
    available = _probe()
    os.environ[PROBED] = "1" if available else "0"
    return available


def _probe() -> bool:
    if importlib.util.find_spec("eglRenderer") is None:
        return False
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def choose_renderer(requested: str) -> str:
    """Resolve `auto` to `egl` or `tiny`; fail clearly when `egl` was asked for and is missing."""
    if requested not in RENDERERS:
        raise ConfigError("renderer", f"expected one of {', '.join(RENDERERS)}; got {requested!r}")
    if requested == "tiny":
        return "tiny"
    if egl_available():
        return "egl"
    if requested == "egl":
        raise ConfigError("renderer", "EGL is not available on this machine (the PyBullet EGL plugin failed to "
                          "initialise; it needs libEGL and an OpenGL driver such as Mesa); use renderer=tiny or auto")
    return "tiny"


# TinyRenderer draws pixel (row r, column c) from image point (c, r + 1), not from the pixel's centre (c + 0.5,
# r + 0.5) as EGL and the intrinsics do: its image is moved half a pixel left and down, so that its depth, masks and
# boxes agree with the intrinsics, the keypoints and EGL (depth of an oblique floor: median 1-3 mm off before, within
# the millimetre after; boxes', spheres' and cylinders' masks against their exact outlines: IoU 0.905 -> 0.955).
SHIFT = {"egl": (0.0, 0.0), "tiny": (-0.5, 0.5)}
PYBULLET_RENDERER = {"egl": p.ER_BULLET_HARDWARE_OPENGL, "tiny": p.ER_TINY_RENDERER}


class Renderer:
    """Renders one camera view of the client's world into raw RGB, z-buffer and segmentation arrays."""

    def __init__(self, kind: str, client: int):
        self.kind, self.client = kind, client
        if kind == "egl":
            with c_output_silenced():
                p.loadPlugin(importlib.util.find_spec("eglRenderer").origin, "_eglRendererPlugin",
                             physicsClientId=client)
                for _ in range(2):  # the plugin draws no shadows in its first two frames: warm it up
                    p.getCameraImage(8, 8, physicsClientId=client)

    def render(self, camera: CameraSpec, light: LightSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """RGB (HxWx3 uint8), z-buffer (HxW float32 in [0, 1]) and segmentation (HxW int32 body uid, -1 none)."""
        w, h = camera.width, camera.height
        with c_output_silenced():
            _, _, rgba, zbuf, seg = p.getCameraImage(
                w, h, cam_math.view_matrix(camera), cam_math.projection_matrix(camera, shift=SHIFT[self.kind]),
                lightDirection=list(light.direction), lightColor=list(light.color),
                lightDistance=light.distance, shadow=int(light.shadow),
                lightAmbientCoeff=light.ambient, lightDiffuseCoeff=light.diffuse,
                lightSpecularCoeff=light.specular,
                renderer=PYBULLET_RENDERER[self.kind],
                physicsClientId=self.client)
        rgb = cv2.cvtColor(np.asarray(rgba, dtype=np.uint8).reshape(h, w, 4), cv2.COLOR_RGBA2RGB)
        if self.kind == "egl":
            rgb = egl_light_transform(rgb, light)
        return (rgb, np.asarray(zbuf, dtype=np.float32).reshape(h, w),
                np.asarray(seg, dtype=np.int32).reshape(h, w))


def egl_light_transform(rgb: np.ndarray, light: LightSpec) -> np.ndarray:
    """EGL honours only the light direction: apply the coefficients and the colour as an RGB gain, the colour
    tinting the diffuse and specular parts only, as TinyRenderer does (its ambient part stays white)."""
    gain = (light.ambient + (light.diffuse + light.specular) * np.asarray(light.color)) / _DEFAULT_GAIN
    if np.allclose(gain, 1.0):
        return rgb
    table = np.clip(np.arange(256)[:, None] * gain[None, :] + 0.5, 0, 255).astype(np.uint8)
    return cv2.LUT(np.ascontiguousarray(rgb), table.reshape(1, 256, 3))
