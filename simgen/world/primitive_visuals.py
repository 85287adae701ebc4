"""Primitives drawn from unit meshes scaled to each body's size, under both renderers.

PyBullet draws its own spheres as a dozen-sided ball and capsules with pointed ends: their silhouettes are 6-11%
off the shapes that collide. simgen draws them from meshes of 32 slices (primitive_meshes) written once per
process: a unit sphere scaled to the radius, a unit cylinder scaled to radius and length, and a capsule as that
cylinder with a unit sphere at each end. Scaling unit meshes, instead of writing a mesh per size, keeps the
meshes PyBullet caches for the life of the process to a few (one per spelling of each file, see ShapePaths).
Boxes are drawn from a unit cube too: the EGL plugin shades its own boxes wrongly (half of a face darker along its
diagonal, a stray highlight), and TinyRenderer stretches a texture over its own boxes at a scale of its own (a
table's pattern a quarter as many cells across as under EGL)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import pybullet as p

from simgen.textures import TextureFiles
from simgen.world import primitive_meshes

ROUND = ("sphere", "cylinder", "capsule")
UNIT: dict[str, Callable[[], str]] = {
    "sphere": lambda: primitive_meshes.sphere_obj(1.0, None),
    "cylinder": lambda: primitive_meshes.cylinder_obj(1.0, 1.0, None),
    "box": lambda: primitive_meshes.box_obj((1.0, 1.0, 1.0), None),
}


def unit_scale(unit: str, size: Sequence[float]) -> list[float]:
    """The scale of the unit mesh `unit` (box, sphere, cylinder) that draws a primitive of `size` (box edges;
    radius, and length but for a sphere); a capsule's ends are its radius's unit sphere."""
    radius = float(size[0])
    return {"box": lambda: [float(v) for v in size[:3]], "sphere": lambda: [radius] * 3,
            "cylinder": lambda: [radius, radius, float(size[1])]}[unit]()


class UnitMeshes:
    """The unit sphere, cylinder and cube, kept in a TextureFiles folder; `kinds`: the primitives drawn from them."""

    def __init__(self, files: TextureFiles, kinds: Sequence[str]):
        self.files, self.kinds = files, tuple(kinds)

    def path(self, kind: str) -> str:
        return self.files.derived(f"unit_{kind}.obj", lambda out: Path(out).write_text(UNIT[kind]()))

    def visual_shape(self, kind: str, size: Sequence[float], rgba: Sequence[float],
                     spell: Callable[[str], str], client: int) -> int:
        """A visual shape of the primitive `kind` of `size` (box edges; radius, and length but for a sphere).

        spell: gives each use of a file its own name (ShapePaths), so that no two share a shape in the EGL
        plugin, which caches shapes by file name and not by scale."""
        def part(unit: str, z: float = 0.0) -> tuple:
            return self.path(unit), unit_scale(unit, size), z

        parts = {
            "box": lambda: [part("box")],
            "sphere": lambda: [part("sphere")],
            "cylinder": lambda: [part("cylinder")],
            "capsule": lambda: [part("cylinder"), part("sphere", size[1] / 2), part("sphere", -size[1] / 2)],
        }[kind]()
        return p.createVisualShapeArray(
            [p.GEOM_MESH] * len(parts), fileNames=[spell(name) for name, _, _ in parts],
            meshScales=[scale for _, scale, _ in parts], visualFramePositions=[[0, 0, z] for _, _, z in parts],
            rgbaColors=[list(rgba)] * len(parts), physicsClientId=client)
