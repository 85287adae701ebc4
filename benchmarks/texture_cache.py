"""What PyBullet keeps of every mesh texture it loads: resident memory against distinct textures loaded.

    python benchmarks/texture_cache.py --scenes 600 --per-scene 3 [--size 256]

Builds scenes of quads whose OBJ material names a new random texture (--size pixels square) each (as simgen's EGL
stand-ins do), with resetSimulation per scene and a fresh EGL client every 100 scenes (as World does),
and prints the process's RSS every 100 scenes. For comparison, `--plain` builds the same scenes with
untextured boxes. Needs the EGL plugin.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile

import cv2
import numpy as np
import pybullet as p

QUAD = ("v -0.2 -0.2 0\nv 0.2 -0.2 0\nv 0.2 0.2 0\nv -0.2 0.2 0\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nvn 0 0 1\n"
        "f 1/1/1 2/2/1 3/3/1\nf 1/1/1 3/3/1 4/4/1\n")


def rss_mb() -> float:
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def connect() -> int:
    client = p.connect(p.DIRECT)
    p.loadPlugin(importlib.util.find_spec("eglRenderer").origin, "_eglRendererPlugin", physicsClientId=client)
    return client


def textured_quad(folder: str, n: int, rng: np.random.Generator, size: int) -> str:
    """An OBJ quad whose material is a new random texture; the image is deleted once PyBullet has it."""
    cv2.imwrite(os.path.join(folder, f"t{n}.bmp"), rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
    with open(os.path.join(folder, f"t{n}.mtl"), "w") as mtl:
        mtl.write(f"newmtl t{n}\nKd 1 1 1\nmap_Kd t{n}.bmp\n")
    path = os.path.join(folder, f"q{n}.obj")
    with open(path, "w") as obj:
        obj.write(f"mtllib t{n}.mtl\nusemtl t{n}\n{QUAD}")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=600)
    parser.add_argument("--per-scene", type=int, default=3)
    parser.add_argument("--size", type=int, default=256, help="texture side, pixels")
    parser.add_argument("--plain", action="store_true", help="untextured boxes instead")
    args = parser.parse_args()
    view = p.computeViewMatrix([0, 0, 2], [0, 0, 0], [0, 1, 0])
    projection = p.computeProjectionMatrixFOV(40, 1, 0.1, 5)
    rng, loaded = np.random.default_rng(0), 0
    print(f"| scenes | textures loaded | RSS (MB), {'untextured boxes' if args.plain else 'mesh textures'} |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        client = connect()
        for scene in range(args.scenes):
            if scene and scene % 100 == 0:
                p.disconnect(client)
                client = connect()
            p.resetSimulation(physicsClientId=client)
            for k in range(args.per_scene):
                if args.plain:
                    shape = p.createVisualShape(p.GEOM_BOX, halfExtents=[0.2, 0.2, 0.01], physicsClientId=client)
                else:
                    shape = p.createVisualShape(p.GEOM_MESH, fileName=textured_quad(folder, loaded, rng, args.size),
                                                physicsClientId=client)
                    loaded += 1
                p.createMultiBody(0, -1, shape, [-0.5 + 0.5 * k, 0, 0], physicsClientId=client)
            p.getCameraImage(64, 64, view, projection, renderer=p.ER_BULLET_HARDWARE_OPENGL, physicsClientId=client)
            if (scene + 1) % 100 == 0:
                print(f"| {scene + 1} | {loaded} | {rss_mb():.0f} |")
        p.disconnect(client)


if __name__ == "__main__":
    main()
