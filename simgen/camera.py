"""Pinhole camera geometry: intrinsics, OpenCV extrinsics and the OpenGL matrices PyBullet takes."""

from __future__ import annotations

import functools

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


def projection_matrix(cam: CameraSpec) -> list[float]:
    """PyBullet's projection matrix (OpenGL, column-major, 16 floats), matching intrinsics()."""
    f = 1.0 / np.tan(np.radians(cam.fov) / 2.0)
    n, fa = cam.near, cam.far
    proj = np.array([
        [f * cam.height / cam.width, 0, 0, 0],
        [0, f, 0, 0],
        [0, 0, (fa + n) / (n - fa), 2 * fa * n / (n - fa)],
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
