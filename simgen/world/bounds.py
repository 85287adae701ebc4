"""An object's own frame: its 3D bounding box in that frame, and where the frame sits in its asset's, measured once
after settling."""

from __future__ import annotations

import functools
import os
from typing import Optional

import numpy as np
import pybullet as p

from simgen.mesh_check import MESH_SUFFIXES, mesh_points

UNNAMED = b"unknown_file"  # getCollisionShapeData's name for a mesh createCollisionShape read (a URDF's it names)


def local_box(body: int, client: int, mesh: Optional[str] = None) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """((xmin, ymin, zmin), (xmax, ymax, zmax)) in metres, in the body's base frame.

    The base frame is the one PyBullet reports poses of (the base link's inertial frame); the box is the union of
    the bounds of every link's collision shapes, taken from their geometry (a mesh's vertices, a primitive's size):
    PyBullet's own AABB adds its collision margins, a few millimetres a side. `mesh`: the file of a body made from
    a mesh file, which PyBullet does not name (a URDF's meshes it does).
    """
    pose = p.getBasePositionAndOrientation(body, physicsClientId=client)
    p.resetBasePositionAndOrientation(body, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0), physicsClientId=client)
    boxes = [_link_box(body, link, client, mesh) for link in range(-1, p.getNumJoints(body, physicsClientId=client))]
    p.resetBasePositionAndOrientation(body, *pose, physicsClientId=client)
    lo = np.min([b[0] for b in boxes], axis=0)
    hi = np.max([b[1] for b in boxes], axis=0)
    return tuple(round(float(v), 6) for v in lo), tuple(round(float(v), 6) for v in hi)


def _link_box(body: int, link: int, client: int, mesh: Optional[str]) -> tuple[np.ndarray, np.ndarray]:
    """A link's collision bounds with the body's base at the identity; PyBullet's AABB where a shape's geometry is
    not known here (a mesh made from vertices in memory)."""
    shapes = p.getCollisionShapeData(body, link, physicsClientId=client)
    link_pose = ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0)) if link < 0 else \
        p.getLinkState(body, link, computeForwardKinematics=True, physicsClientId=client)[:2]
    boxes = [_shape_box(shape, *p.multiplyTransforms(*link_pose, shape[5], shape[6]), mesh) for shape in shapes]
    if not boxes or any(box is None for box in boxes):
        return tuple(map(np.asarray, p.getAABB(body, link, physicsClientId=client)))
    return np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0)


def _shape_box(shape: tuple, position: tuple, orientation: tuple,
               mesh: Optional[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """The bounds of one collision shape (getCollisionShapeData's entry) placed at `position`, `orientation`."""
    kind, size = shape[2], np.asarray(shape[3], float)
    if kind == p.GEOM_MESH:
        path = mesh if shape[4] == UNNAMED and mesh else shape[4].decode("utf-8", "replace")
        box = _mesh_box(path, tuple(size), tuple(orientation))
        return None if box is None else (box[0] + position, box[1] + position)
    rotation = np.reshape(p.getMatrixFromQuaternion(orientation), (3, 3))
    if kind == p.GEOM_BOX:
        half = np.abs(rotation) @ (size / 2)
    elif kind == p.GEOM_SPHERE:
        half = np.full(3, size[0])
    elif kind in (p.GEOM_CYLINDER, p.GEOM_CAPSULE):  # (length, radius) along the shape's z axis
        axis = np.abs(rotation[:, 2])
        rim = size[1] if kind == p.GEOM_CAPSULE else size[1] * np.sqrt(np.clip(1.0 - axis ** 2, 0.0, 1.0))
        half = axis * size[0] / 2 + rim
    else:
        return None
    return np.asarray(position) - half, np.asarray(position) + half


@functools.lru_cache(maxsize=1024)
def _mesh_box(path: str, scale: tuple, orientation: tuple) -> tuple[np.ndarray, np.ndarray] | None:
    """The bounds of a collision mesh file's vertices, scaled, then turned; None where it cannot be read here."""
    if not path.lower().endswith(MESH_SUFFIXES) or not os.path.isfile(path):
        return None
    try:
        points = mesh_points(path)
    except (OSError, ValueError):
        return None
    if not len(points):
        return None
    points = (points * scale) @ np.reshape(p.getMatrixFromQuaternion(orientation), (3, 3)).T
    return points.min(axis=0), points.max(axis=0)


def frame_in_asset(body: int, client: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(position, orientation x, y, z, w) of the body's base frame (the one PyBullet reports poses of) in its
    asset's own frame, scaled: a URDF's base link frame, a mesh file's axes. A URDF's `<inertial>` origin, a
    mesh's bounding-box centre (see spawn._centre), zero for primitives."""
    info = p.getDynamicsInfo(body, -1, physicsClientId=client)
    return tuple(round(float(v), 6) for v in info[3]), tuple(round(float(v), 6) for v in info[4])
