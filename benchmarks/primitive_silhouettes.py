"""How true round primitives' silhouettes are: simgen's unit meshes against PyBullet's own visual shapes.

    python benchmarks/primitive_silhouettes.py

A sphere, and a cylinder and a capsule seen along their axis, of radius 4 cm at 0.5 m, 240x240 pixels, 40 degree
field of view: the mask's pixels against the exact perspective projection of the shape (a disc); and the
capsule seen from the side against its outline; under each renderer, drawn from simgen's unit meshes
(primitive_visuals) and from PyBullet's own primitives. Then the median build and render ms of a 640x480
scene of six round primitives, both ways.
"""

from __future__ import annotations

import math
import statistics
import time

import numpy as np

from simgen.scene import Asset, CameraSpec, ObjectSpec, Scene, Support
from simgen.world import World, egl_available

SIZE, FOV, R, LENGTH, D = 240, 40.0, 0.04, 0.1, 0.5
FOCAL = (SIZE / 2) / math.tan(math.radians(FOV) / 2)
EXACT = {"sphere": math.pi * (FOCAL * R / math.sqrt(D**2 - R**2)) ** 2,
         "cylinder": math.pi * (FOCAL * R / (D - LENGTH / 2)) ** 2,
         "capsule": math.pi * (FOCAL * R / math.sqrt((D - LENGTH / 2) ** 2 - R**2)) ** 2}


def world(renderer: str, own: bool) -> World:
    made = World(renderer=renderer)
    if own:
        made.unit_meshes = None  # spawn() then draws PyBullet's own primitive visual shapes
    return made


def mask(renderer: str, kind: str, own: bool, eye: tuple, up: tuple) -> np.ndarray:
    size = (R,) if kind == "sphere" else (R, LENGTH)
    obj = ObjectSpec(kind, Asset(kind, size=size), category_id=1, static=True)
    camera = CameraSpec(position=eye, target=(0, 0, 0), up=up, fov=FOV, width=SIZE, height=SIZE, near=0.01)
    scene = Scene("t", Support(-1.0, ((-1, -1), (1, 1))), (0, 0, 0), objects=[obj], camera=camera)
    made = world(renderer, own)
    try:
        made.build(scene)
        return made.render(scene).instance == 1
    finally:
        made.close()


def silhouette(renderer: str, kind: str, own: bool) -> int:
    """Pixels of the shape seen along its axis."""
    return int(mask(renderer, kind, own, (0, 0, D), (0, 1, 0)).sum())


def side_area(renderer: str, own: bool) -> float:
    """A capsule seen from the side: its pixels against those of a drawing of its exact outline."""
    seen = mask(renderer, "capsule", own, (D, 0, 0), (0, 0, 1))
    rows, columns = np.mgrid[:SIZE, :SIZE] - (SIZE - 1) / 2
    z, y = -rows / FOCAL * D, columns / FOCAL * D  # pixels on the plane through the axis
    outline = R * D / math.sqrt(D**2 - R**2)  # the tangent rays meet that plane this far from the axis
    inside = np.hypot(y, np.maximum(np.abs(z) - LENGTH / 2, 0)) <= outline
    return seen.sum() / inside.sum() - 1


def six_primitives(rng: np.random.Generator) -> Scene:
    kinds = ["sphere", "capsule", "cylinder"] * 2
    sizes = [(rng.uniform(0.015, 0.03), rng.uniform(0.03, 0.08))[:1 if k == "sphere" else 2] for k in kinds]
    objects = [ObjectSpec(k, Asset(k, size=size), category_id=1, position=(0.1 * i - 0.3, 0, 0.05), static=True)
               for i, (k, size) in enumerate(zip(kinds, sizes))]
    floor = ObjectSpec("floor", Asset("box", size=(1, 1, 0.02)), position=(0, 0, -0.01), labeled=False, static=True)
    camera = CameraSpec(position=(0.5, 0.3, 0.4), target=(0, 0, 0), width=640, height=480)
    return Scene("t", Support(0.0, ((-1, -1), (1, 1))), (0, 0, 0), fixtures=[floor], objects=objects, camera=camera)


def timings(renderer: str, own: bool, scenes: int = 40) -> tuple[float, float]:
    made, rng, build, render = world(renderer, own), np.random.default_rng(0), [], []
    try:
        for _ in range(scenes):
            scene = six_primitives(rng)
            start = time.perf_counter()
            made.build(scene)
            middle = time.perf_counter()
            made.render(scene)
            build.append((middle - start) * 1e3)
            render.append((time.perf_counter() - middle) * 1e3)
    finally:
        made.close()
    return statistics.median(build[5:]), statistics.median(render[5:])


def main() -> None:
    renderers = ["tiny", "egl"] if egl_available() else ["tiny"]
    print("| renderer | drawn from | sphere | cylinder, end on | capsule, end on | capsule, side | build ms "
          "| render ms |")
    print("|---|---|---|---|---|---|---|---|")
    for renderer in renderers:
        for own in (False, True):
            cells = [f"{silhouette(renderer, k, own) / EXACT[k] - 1:+.1%}" for k in EXACT]
            cells.append(f"{side_area(renderer, own):+.1%}")
            build, render = timings(renderer, own)
            source = "PyBullet's primitives" if own else "unit meshes (simgen)"
            print(f"| {renderer} | {source} | " + " | ".join(cells) + f" | {build:.1f} | {render:.1f} |")


if __name__ == "__main__":
    main()
