"""Every light setting visibly changes the pixels, on each renderer (EGL applies some as an RGB gain)."""

import dataclasses

import numpy as np
import pytest

from simgen.config import build_pipeline
from simgen.pipeline import frame_spec
from simgen.scene import LightSpec
from simgen.world import World, egl_available

from conftest import RENDERERS, compose_config


CHANGES = {
    "direction": (0.6, -0.5, 0.62),
    "color": (1.0, 0.5, 0.3),
    "ambient": 0.2,
    "diffuse": 0.9,
    "specular": 0.8,
    "shadow": True,
}


@pytest.fixture(scope="module")
def scene():
    pipeline = build_pipeline(compose_config(["camera.width=160", "camera.height=120", "objects.count=6",
                                              "camera.distance=0.7", "camera.elevation=50"]))
    spec = frame_spec(pipeline, seed=3, index=0)
    spec.light = LightSpec()
    return spec


def render(renderer: str, scene, light: LightSpec):
    world = World(renderer=renderer)
    try:
        spec = scene.copy()
        spec.light = light
        world.build(spec)
        world.settle(spec)
        return world.render(spec)
    finally:
        world.close()


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("setting", sorted(CHANGES))
def test_light_setting_changes_the_pixels_not_the_labels(renderer, setting, scene):
    if renderer == "egl" and setting == "shadow":
        pytest.skip("the EGL plugin always draws shadows (documented)")
    base = render(renderer, scene, LightSpec())
    changed = render(renderer, scene, dataclasses.replace(LightSpec(), **{setting: CHANGES[setting]}))
    moved = np.abs(base.rgb.astype(int) - changed.rgb.astype(int)).max(axis=2) > 8
    assert moved.mean() > 0.002, f"{setting} changed only {moved.mean():.2%} of the pixels"
    assert np.array_equal(base.instance, changed.instance) and np.array_equal(base.depth, changed.depth)


@pytest.mark.skipif(not egl_available(), reason="no EGL here")
def test_a_coloured_light_tints_both_renderers_alike(scene):
    """EGL's gain tints the diffuse and specular parts only, as TinyRenderer's shading does: a red light took
    70% of the green channel under EGL against 25% under TinyRenderer."""
    red = dataclasses.replace(LightSpec(), color=(1.0, 0.3, 0.3))
    kept = {}
    for renderer in ("tiny", "egl"):
        base, tinted = render(renderer, scene, LightSpec()), render(renderer, scene, red)
        kept[renderer] = tinted.rgb[..., 1].mean() / base.rgb[..., 1].mean()
    assert kept["egl"] == pytest.approx(kept["tiny"], abs=0.05)
