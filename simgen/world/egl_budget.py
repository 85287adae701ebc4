"""How much mesh PyBullet's EGL renderer draws in one scene: it keeps the vertices of every visual shape in one
128 MiB buffer (36 bytes a vertex, three vertices a triangle, shapes unshared: see ShapePaths) and silently
leaves out the shapes that do not fit, from the images and the masks alike."""

from __future__ import annotations

import functools
import os
import struct
from typing import Iterable
from xml.etree import ElementTree

import pybullet as p

from simgen.errors import SceneError

EGL_TRIANGLES = 128 * 1024 * 1024 // (3 * 36)
BOX_TRIANGLES = 12  # a visual PyBullet draws itself (simgen draws round primitives from meshes)


@functools.lru_cache(maxsize=None)
def file_triangles(path: str) -> int:
    """The triangles PyBullet makes of a mesh file: an OBJ face of n vertices gives n - 2, a binary STL says, a
    COLLADA file's geometries count theirs each time its scene places them."""
    if path.lower().endswith(".stl"):
        with open(path, "rb") as fh:
            header = fh.read(84)
        return struct.unpack("<I", header[80:84])[0] if len(header) == 84 else 0
    if path.lower().endswith(".dae"):
        return collada_triangles(path)
    with open(path, "rb") as fh:
        return sum(max(len(line.split()) - 3, 0) for line in fh if line.lstrip().startswith(b"f "))


def collada_triangles(path: str) -> int:
    """A COLLADA file's triangles: each geometry's <triangles> and <polylist> faces (n - 2 for a face of n
    vertices), times the <instance_geometry> that place it (every geometry once where none do)."""
    try:
        root = ElementTree.parse(path).getroot()
    except (ElementTree.ParseError, OSError):
        return 0  # PyBullet draws nothing of it either
    per_geometry, placed = {}, []
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "geometry":
            per_geometry[element.get("id")] = sum(_faces(part) for part in element.iter())
        elif tag == "instance_geometry":
            placed.append(element.get("url", "").lstrip("#"))
    return sum(per_geometry.get(name, 0) for name in placed) if placed else sum(per_geometry.values())


def _faces(element: ElementTree.Element) -> int:
    """The triangles of one COLLADA primitive element (0 for any other element)."""
    tag = element.tag.rsplit("}", 1)[-1]
    if tag == "triangles":
        return int(element.get("count", 0))
    if tag == "polylist":
        counts = next((c.text for c in element if c.tag.rsplit("}", 1)[-1] == "vcount"), None) or ""
        return sum(max(int(n) - 2, 0) for n in counts.split())
    return 0


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
