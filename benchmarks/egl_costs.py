"""What the EGL plugin charges after each resetSimulation: loading each built-in mesh, and a render's passes.

    python benchmarks/egl_costs.py --repeats 15

Loads every built-in mesh category (jenga among its variants) into a freshly reset EGL client, median ms per
load; then jenga with its 1024x1024 texture as shipped, as a 256x256 copy and as an uncompressed BMP of the
full size, which tells texture upload (cost follows pixels) from PNG decoding (cost follows the format); then
one 640x480 getCameraImage of the loaded meshes with and without the segmentation pass.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import pybullet as p
import pybullet_data
from PIL import Image

MESHES = {"duck": "duck_vhacd.urdf", "teddy": "teddy_vhacd.urdf", "lego": "lego/lego.urdf",
          "soccerball": "soccerball.urdf", "mug": "objects/mug.urdf",
          "blob": "random_urdfs/001/001.urdf"}


def jenga_variants(tmp: Path) -> dict[str, str]:
    """jenga.urdf with its texture as shipped, downsized to 256x256, and as a full-size BMP."""
    source = Path(pybullet_data.getDataPath()) / "jenga"
    variants = {"jenga, 1024x1024 PNG": str(source / "jenga.urdf")}
    for name, convert in {"256x256 PNG": lambda im, d: im.resize((256, 256)).save(d / "jenga.png"),
                          "1024x1024 BMP": lambda im, d: im.save(d / "jenga.bmp")}.items():
        folder = tmp / name.replace(" ", "_")
        shutil.copytree(source, folder)
        convert(Image.open(source / "jenga.png"), folder)
        if "BMP" in name:
            mtl = folder / "jenga.mtl"
            mtl.write_text(mtl.read_text().replace("map_Kd jenga.png", "map_Kd jenga.bmp"))
        variants[f"jenga, {name}"] = str(folder / "jenga.urdf")
    return variants


def timed(samples: list[float], call: Callable[[], object]) -> None:
    start = time.perf_counter()
    call()
    samples.append((time.perf_counter() - start) * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    client = p.connect(p.DIRECT)
    p.loadPlugin(importlib.util.find_spec("eglRenderer").origin, "_eglRendererPlugin", physicsClientId=client)
    view = p.computeViewMatrix([0.6, 0.6, 0.5], [0, 0, 0], [0, 0, 1])
    proj = p.computeProjectionMatrixFOV(60, 640 / 480, 0.05, 5)
    with tempfile.TemporaryDirectory() as tmp:
        files = {name: str(Path(pybullet_data.getDataPath()) / path) for name, path in MESHES.items()}
        files.update(jenga_variants(Path(tmp)))
        loads: dict[str, list[float]] = {name: [] for name in files}
        renders: dict[str, list[float]] = {"render with segmentation": [], "render without segmentation": []}
        for _ in range(args.repeats + 2):  # the first two warm the plugin up; dropped below
            p.resetSimulation(physicsClientId=client)
            for name, path in files.items():
                timed(loads[name], lambda: p.loadURDF(path, [0, 0, 0], physicsClientId=client))
            for name, flags in zip(renders, (0, p.ER_NO_SEGMENTATION_MASK)):
                timed(renders[name], lambda: p.getCameraImage(640, 480, view, proj, flags=flags,
                                                              renderer=p.ER_BULLET_HARDWARE_OPENGL,
                                                              physicsClientId=client))
    print("| after resetSimulation | median ms |\n|---|---|")
    for name, samples in {**loads, **renders}.items():
        print(f"| {name} | {statistics.median(samples[2:]):.1f} |")


if __name__ == "__main__":
    main()
