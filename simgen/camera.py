"""Pinhole camera geometry: intrinsics, OpenCV extrinsics and the OpenGL matrices PyBullet takes."""

from __future__ import annotations

import functools
from typing import Optional

import numpy as np

from simgen.scene import CameraSpec

# OpenGL camera axes (x right, y up, looking down -z) to OpenCV's (x right, y down, looking down +z).
_GL_TO_CV = np.diag([1.0, -1.0, -1.0])


def intrinsics(cam: CameraSpec) -> np.ndarray:
    """3x3 K for pixel coordinates whose (0, 0) is the top-left corner of the top-left pixel."""
    fy = (cam.height / 2.0) / np.tan(np.radians(cam.fov) / 2.0)
    return np.array([[fy, 0.0, cam.width / 2.0], [0.0, fy, cam.height / 2.0], [0.0, 0.0, 1.0]])


def world_to_camera(cam: CameraSpec) -> np.ndarray:
    """4x4 transform from world to camera coordinates (OpenCV convention, metres)."""
    return _look_at(tuple(cam.position), tuple(cam.target), tuple(cam.up)).copy()


@functools.lru_cache(maxsize=16)
def _look_at(eye: tuple, target: tuple, up: tuple) -> np.ndarray:
    """world_to_camera of one camera pose; cached, as every instance of a frame needs it."""
    eye, target, up = (np.asarray(v, dtype=float) for v in (eye, target, up))
    forward = target - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-9:  # looking straight along `up`: pick any perpendicular
        right = np.cross(forward, [0.0, 1.0, 0.0] if abs(forward[1]) < 0.9 else [1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rot = np.stack([right, down, forward])
    pose = np.eye(4)
    pose[:3, :3] = rot
    pose[:3, 3] = -rot @ eye
    return pose


def view_matrix(cam: CameraSpec) -> list[float]:
    """PyBullet's view matrix (OpenGL, column-major, 16 floats)."""
    view = world_to_camera(cam)
    view[:3] = _GL_TO_CV @ view[:3]
    return view.T.ravel().tolist()


def projection_matrix(cam: CameraSpec, region: Optional[tuple[int, int, int, int]] = None,
                      shift: tuple[float, float] = (0.0, 0.0)) -> list[float]:
    """PyBullet's projection matrix (OpenGL, column-major, 16 floats), matching intrinsics(), for the pixels
    `region` (x0, y0, x1, y1; the whole image by default) at the image's scale; `shift` moves the image by
    (right, down) pixels."""
    x0, y0, x1, y1 = region or (0, 0, cam.width, cam.height)
    w, h = x1 - x0, y1 - y0
    k = intrinsics(cam)
    cx, cy = k[0, 2] - x0 + shift[0], k[1, 2] - y0 + shift[1]
    n, f = cam.near, cam.far
    proj = np.array([
        [2 * k[0, 0] / w, 0, 1 - 2 * cx / w, 0],
        [0, 2 * k[1, 1] / h, 2 * cy / h - 1, 0],
        [0, 0, (f + n) / (n - f), 2 * f * n / (n - f)],
        [0, 0, -1, 0],
    ])
    return proj.T.ravel().tolist()


def metric_depth(zbuffer: np.ndarray, near: float, far: float) -> np.ndarray:
    """OpenGL z-buffer values in [0, 1] to metric depth along the optical axis (metres)."""
    z = np.asarray(zbuffer, dtype=np.float32)
    return np.float32(far * near) / (np.float32(far) - np.float32(far - near) * z)


def project(points_world: np.ndarray, cam: CameraSpec) -> np.ndarray:
    """World points (N, 3) to pixel coordinates (N, 2)."""
    pts = np.atleast_2d(np.asarray(points_world, dtype=float))
    cam_pts = (world_to_camera(cam) @ np.c_[pts, np.ones(len(pts))].T)[:3]
    uvw = intrinsics(cam) @ cam_pts
    return (uvw[:2] / uvw[2]).T
