"""Primitive shapes (box, sphere, cylinder, capsule) as OBJ text with normals and texture coordinates.

The EGL renderer draws a random texture correctly only when it comes with a mesh (see mesh_textures), so a
textured primitive is drawn from one of these meshes while it collides as the exact primitive; and every
round primitive is drawn from unit meshes of these shapes (primitive_visuals), smoother than PyBullet's own."""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

SEGMENTS = 32  # slices around the axis of round shapes
RINGS = 16  # steps along a half circle of a sphere or capsule end

# one row per box face: outward normal, then the face's u and v directions (so u x v = normal)
_BOX_FACES = np.array([
    [[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[-1, 0, 0], [0, -1, 0], [0, 0, 1]],
    [[0, 1, 0], [-1, 0, 0], [0, 0, 1]], [[0, -1, 0], [1, 0, 0], [0, 0, 1]],
    [[0, 0, 1], [1, 0, 0], [0, 1, 0]], [[0, 0, -1], [1, 0, 0], [0, -1, 0]],
], dtype=float)


def box_obj(size: Sequence[float], material: Optional[str]) -> str:
    """A box of edges `size` (x, y, z) centred at the origin; each face shows the whole texture."""
    half = np.asarray(size, dtype=float) / 2
    vertices, normals, uvs, faces = [], [], [], []
    for normal, u, v in _BOX_FACES:
        base = len(vertices)
        for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            vertices.append((normal + su * u + sv * v) * half)
            uvs.append(((su + 1) / 2, (sv + 1) / 2))
            normals.append(normal)
        faces += [(base, base + 1, base + 2), (base, base + 2, base + 3)]
    return obj_text(np.array(vertices), np.array(normals), np.array(uvs), faces, material)


def sphere_obj(radius: float, material: Optional[str]) -> str:
    angles = np.linspace(-math.pi / 2, math.pi / 2, RINGS + 1)
    return revolved_obj(radius * np.cos(angles), radius * np.sin(angles), np.cos(angles), np.sin(angles), material)


def cylinder_obj(radius: float, length: float, material: Optional[str]) -> str:
    """A closed cylinder along z: bottom disc, side and top disc, with sharp edges between them."""
    h = length / 2
    r = [0.0, radius, radius, radius, radius, 0.0]
    z = [-h, -h, -h, h, h, h]
    nr = [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    nz = [-1.0, -1.0, 0.0, 0.0, 1.0, 1.0]
    return revolved_obj(np.array(r), np.array(z), np.array(nr), np.array(nz), material, breaks=(1, 3),
                        discs=(0, 1, 4, 5))


def capsule_obj(radius: float, length: float, material: Optional[str]) -> str:
    """A cylinder of `length` along z capped by half spheres of `radius`."""
    low = np.linspace(-math.pi / 2, 0, RINGS // 2 + 1)
    high = np.linspace(0, math.pi / 2, RINGS // 2 + 1)
    angles = np.concatenate([low, high])
    offset = np.where(np.arange(len(angles)) < len(low), -length / 2, length / 2)
    return revolved_obj(radius * np.cos(angles), radius * np.sin(angles) + offset, np.cos(angles), np.sin(angles),
                        material)


def revolved_obj(r: np.ndarray, z: np.ndarray, nr: np.ndarray, nz: np.ndarray, material: Optional[str],
                 breaks: Sequence[int] = (), discs: Sequence[int] = ()) -> str:
    """The surface swept by the profile (r, z), bottom to top, turned about the z axis; (nr, nz) its normals.

    u runs around the axis, v along the profile, except on the flat ends made by the profile points in `discs`,
    which show the texture as seen along the axis; no quad joins profile point i to i + 1 where i is in
    `breaks` (the two are one point of a sharp edge, with two normals)."""
    theta = np.linspace(0, 2 * math.pi, SEGMENTS + 1)
    cos, sin = np.cos(theta)[None, :], np.sin(theta)[None, :]
    grid = (len(r), SEGMENTS + 1)
    vertices = np.stack([r[:, None] * cos, r[:, None] * sin, np.broadcast_to(z[:, None], grid)], -1)
    normals = np.stack([nr[:, None] * cos, nr[:, None] * sin, np.broadcast_to(nz[:, None], grid)], -1)
    v = np.linspace(0, 1, len(r))
    uvs = np.stack(np.broadcast_arrays(np.linspace(0, 1, SEGMENTS + 1)[None, :], v[:, None]), -1)
    for i in discs:
        uvs[i] = 0.5 + 0.5 * r[i] / r.max() * np.stack([cos[0], sin[0]], -1)
    columns = SEGMENTS + 1
    rows = np.array([i for i in range(len(r) - 1) if i not in breaks])
    a = (rows[:, None] * columns + np.arange(SEGMENTS)[None, :]).ravel()
    b, d = a + 1, a + columns
    faces = np.stack([np.stack([a, b, b + columns], 1), np.stack([a, b + columns, d], 1)], 1).reshape(-1, 3)
    return obj_text(vertices.reshape(-1, 3), normals.reshape(-1, 3), uvs.reshape(-1, 2), faces, material)


def obj_text(vertices: np.ndarray, normals: np.ndarray, uvs: np.ndarray, faces: Sequence[tuple[int, int, int]],
             material: Optional[str]) -> str:
    """OBJ text using the material library `material`.mtl and its material `material` (None: no material);
    faces index from 0. Formatted a block at a time: a sphere takes 1.5 ms instead of 4.6."""
    corners = np.repeat(np.asarray(faces, dtype=int) + 1, 3, axis=1)  # v/vt/vn share their index
    parts = [f"mtllib {material}.mtl\n"] if material else []
    parts += [_lines("v %.6g %.6g %.6g", vertices), _lines("vt %.6g %.6g", uvs), _lines("vn %.6g %.6g %.6g", normals)]
    parts += [f"usemtl {material}\n"] if material else []
    parts.append(_lines("f %d/%d/%d %d/%d/%d %d/%d/%d", corners))
    return "".join(parts)


def _lines(line: str, rows: np.ndarray) -> str:
    """`line % row` for every row, one per line."""
    return (f"{line}\n" * len(rows)) % tuple(np.asarray(rows).ravel().tolist())
