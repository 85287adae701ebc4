"""An object's own frame: its 3D bounding box in that frame, and where the frame sits in its asset's, measured once
after settling."""

from __future__ import annotations

import numpy as np
import pybullet as p


def local_box(body: int, client: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """((xmin, ymin, zmin), (xmax, ymax, zmax)) in metres, in the body's base frame.

    The base frame is the one PyBullet reports poses of (the base link's inertial frame); the box is
    the union of every link's collision AABB with the body posed at the identity, then put back.
    """
    pose = p.getBasePositionAndOrientation(body, physicsClientId=client)
    p.resetBasePositionAndOrientation(body, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0), physicsClientId=client)
    boxes = [p.getAABB(body, link, physicsClientId=client)
             for link in range(-1, p.getNumJoints(body, physicsClientId=client))]
    p.resetBasePositionAndOrientation(body, *pose, physicsClientId=client)
    lo = np.min([b[0] for b in boxes], axis=0)
    hi = np.max([b[1] for b in boxes], axis=0)
    return tuple(round(float(v), 6) for v in lo), tuple(round(float(v), 6) for v in hi)


def frame_in_asset(body: int, client: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(position, orientation x, y, z, w) of the body's base frame (the one PyBullet reports poses of) in its
    asset's own frame, scaled: a URDF's base link frame, a mesh file's axes. A URDF's `<inertial>` origin, a
    mesh's bounding-box centre (see spawn._centre), zero for primitives."""
    info = p.getDynamicsInfo(body, -1, physicsClientId=client)
    return tuple(round(float(v), 6) for v in info[3]), tuple(round(float(v), 6) for v in info[4])
