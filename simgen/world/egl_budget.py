"""How much mesh PyBullet's EGL renderer draws in one scene: it keeps the vertices of every visual shape in one
128 MiB buffer (36 bytes a vertex, three vertices a triangle, shapes unshared: see ShapePaths) and silently
leaves out the shapes that do not fit, from the images and the masks alike."""

from __future__ import annotations

import functools
import os
import struct
from typing import Iterable

import pybullet as p

from simgen.errors import SceneError

EGL_TRIANGLES = 128 * 1024 * 1024 // (3 * 36)
BOX_TRIANGLES = 12  # a visual PyBullet draws itself (simgen draws round primitives from meshes)


@functools.lru_cache(maxsize=None)
def file_triangles(path: str) -> int:
    """The triangles PyBullet makes of a mesh file: an OBJ face of n vertices gives n - 2, a binary STL says."""
    if path.lower().endswith(".stl"):
        with open(path, "rb") as fh:
            header = fh.read(84)
        return struct.unpack("<I", header[80:84])[0] if len(header) == 84 else 0
    with open(path, "rb") as fh:
        return sum(max(len(line.split()) - 3, 0) for line in fh if line.lstrip().startswith(b"f "))


def scene_triangles(bodies: Iterable[int], client: int) -> int:
    """The triangles the EGL renderer holds for these bodies' visual shapes."""
    return sum(file_triangles(os.path.realpath(shape[4].decode())) if shape[2] == p.GEOM_MESH else BOX_TRIANGLES
               for body in bodies for shape in p.getVisualShapeData(body, physicsClientId=client))


def check_egl_budget(bodies: Iterable[int], client: int) -> None:
    """A SceneError where the scene has more mesh than the EGL renderer would draw."""
    triangles = scene_triangles(bodies, client)
    if triangles > EGL_TRIANGLES:
        raise SceneError(f"objects: the scene's meshes have {triangles:,} triangles, more than the {EGL_TRIANGLES:,} "
                         "PyBullet's EGL renderer draws in one scene (it would leave bodies out of the images and "
                         "masks); use fewer or simpler objects (objects.count), or renderer=tiny")
