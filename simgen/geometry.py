"""Object poses, 3D boxes and their projection: pure numpy over the scene spec and the camera."""

from __future__ import annotations

import numpy as np

from simgen import camera as cam_math
from simgen.scene import CameraSpec, ObjectSpec

# Keypoints of every instance: the 8 corners of its 3D box, then the box centre. Corner k takes, per axis,
# the box's min (bit clear, '-') or max (bit set, '+'): bit 0 -> x, bit 1 -> y, bit 2 -> z;
# "corner_+--" is (xmax, ymin, zmin).
KEYPOINT_NAMES = [f"corner_{''.join('-+'[k >> axis & 1] for axis in range(3))}" for k in range(8)] + ["center"]
# The box's 12 edges as COCO skeleton pairs (1-based keypoint indices).
SKELETON = [[a + 1, b + 1] for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1]


def quaternion_matrix(q) -> np.ndarray:
    """3x3 rotation matrix of a unit quaternion (x, y, z, w)."""
    x, y, z, w = np.asarray(q, dtype=float) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def object_to_world(obj: ObjectSpec) -> np.ndarray:
    """4x4 pose of the object's frame in the world (metres)."""
    pose = np.eye(4)
    pose[:3, :3] = quaternion_matrix(obj.orientation)
    pose[:3, 3] = obj.position
    return pose


def object_to_camera(obj: ObjectSpec, cam: CameraSpec) -> tuple[np.ndarray, np.ndarray]:
    """Rotation (3x3) and translation (3, metres) taking object-frame points to OpenCV camera coordinates."""
    pose = cam_math.world_to_camera(cam) @ object_to_world(obj)
    return pose[:3, :3], pose[:3, 3]


CORNER_BITS = (np.arange(8)[:, None] >> np.arange(3)[None, :]) & 1  # per corner, whether each axis takes the max


def box_corners(box) -> np.ndarray:
    """(8, 3) corners of an axis-aligned box ((xmin, ymin, zmin), (xmax, ymax, zmax)), in KEYPOINT_NAMES order."""
    lo, hi = (np.asarray(v, dtype=float) for v in box)
    return np.where(CORNER_BITS == 1, hi, lo)


def box_keypoints_3d(box) -> np.ndarray:
    """(9, 3) object-frame keypoints: the 8 corners and the centre."""
    return boxes_keypoints_3d([box])[0]


def boxes_keypoints_3d(boxes) -> np.ndarray:
    """(n, 9, 3) keypoints of n boxes given as (n, 2, 3) min and max corners: one numpy pass for them all."""
    boxes = np.asarray(boxes, dtype=float)
    if boxes.shape[1:] != (2, 3):
        raise ValueError(f"expected boxes as their two corners of three coordinates, got an array of {boxes.shape}")
    corners = np.where(CORNER_BITS == 1, boxes[:, None, 1], boxes[:, None, 0])
    return np.concatenate([corners, corners.mean(axis=1, keepdims=True)], axis=1)


def project_camera_points(points: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Camera-frame points (N, 3) to pixel coordinates (N, 2), origin at the top-left corner of the image."""
    uvw = np.asarray(points, dtype=float) @ np.asarray(k).T
    return uvw[:, :2] / uvw[:, 2:3]


def keypoint_visibility(uv: np.ndarray, z: np.ndarray, depth: np.ndarray, tolerance: float) -> np.ndarray:
    """COCO flags: 2 in the image with a clear line of sight, 1 in the image but hidden, 0 outside the image.

    A point is hidden when the rendered depth at its pixel is nearer than the point by more than `tolerance`.
    """
    h, w = depth.shape
    inside = (uv[:, 0] >= 0) & (uv[:, 0] < w) & (uv[:, 1] >= 0) & (uv[:, 1] < h) & (z > 0)
    flags = np.zeros(len(uv), dtype=int)
    cols = np.clip(uv[:, 0].astype(int), 0, w - 1)
    rows = np.clip(uv[:, 1].astype(int), 0, h - 1)
    seen = depth[rows, cols]
    clear = (seen <= 0) | (seen >= z - tolerance)
    flags[inside] = np.where(clear[inside], 2, 1)
    return flags
