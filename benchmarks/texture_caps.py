"""What world.max_texture_size costs in looks and saves in build time under EGL, on jenga (a 1024x1024 texture).

    python benchmarks/texture_caps.py --repeats 15

For each cap, the median ms of building a scene of one jenga block (resetSimulation and loading it: the
plugin uploads the texture again every build), then, for the block seen from several distances in a
640x480 image, how many pixels it covers and how far its RGB is from the uncapped render (mean and max
grey levels over its pixels), and whether its mask and depth are identical.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import pybullet_data

from simgen.scene import Asset, CameraSpec, ObjectSpec, Scene, Support
from simgen.world import World

JENGA = os.path.join(pybullet_data.getDataPath(), "jenga", "jenga.urdf")
CAPS = (0, 512, 256, 128)
DISTANCES = (0.12, 0.25, 0.5, 1.0)


def jenga_scene(distance: float) -> Scene:
    block = ObjectSpec("jenga", Asset("urdf", path=JENGA), category_id=4, scale=0.6, static=True)
    camera = CameraSpec(position=(0.6 * distance, 0.5 * distance, 0.6 * distance), target=(0, 0, 0), width=640,
                        height=480, near=0.01)
    return Scene("jenga", Support(0.0, ((-1, -1), (1, 1))), (0, 0, 0), objects=[block], camera=camera)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    build_ms, frames = {}, {}
    for cap in CAPS:
        world = World(renderer="egl", max_texture_size=cap)
        try:
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                world.build(jenga_scene(1.0))
                times.append((time.perf_counter() - start) * 1e3)
            build_ms[cap] = statistics.median(times)
            for distance in DISTANCES:
                scene = jenga_scene(distance)
                world.build(scene)
                frames[cap, distance] = world.render(scene)
        finally:
            world.close()
    print("| max_texture_size | build ms | " + " | ".join(f"{d} m: mean / max levels" for d in DISTANCES) + " |")
    print("|---" * (2 + len(DISTANCES)) + "|")
    for cap in CAPS:
        cells = []
        for distance in DISTANCES:
            full, capped = frames[0, distance], frames[cap, distance]
            on = full.instance > 0
            same = np.array_equal(full.instance, capped.instance) and np.array_equal(full.depth, capped.depth)
            diff = np.abs(capped.rgb.astype(int) - full.rgb)[on]
            cells.append(f"{diff.mean():.2f} / {diff.max()}" + ("" if same else " (mask or depth differ)"))
        print(f"| {cap or 'none'} | {build_ms[cap]:.1f} | " + " | ".join(cells) + " |")
    print("pixels covered: " + ", ".join(f"{d} m: {(frames[0, d].instance > 0).sum()}" for d in DISTANCES))


if __name__ == "__main__":
    main()
