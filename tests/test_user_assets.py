"""A user's folder of OBJ, STL and URDF files becomes categories that are placed, settled and annotated."""

import json
import struct
from pathlib import Path

import numpy as np

from conftest import SMALL, run_simgen

CUBE_CORNERS = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=float) - 0.5
CUBE_FACES = [(0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1),
              (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3)]


def write_obj(path: Path, size: float) -> None:
    lines = [f"v {x} {y} {z}" for x, y, z in CUBE_CORNERS * size]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in CUBE_FACES]
    path.write_text("\n".join(lines) + "\n")


def write_stl(path: Path, size: float) -> None:
    """A binary STL of a cube."""
    corners = CUBE_CORNERS * size
    data = bytearray(80) + struct.pack("<I", len(CUBE_FACES))
    for face in CUBE_FACES:
        tri = corners[list(face)]
        normal = np.cross(tri[1] - tri[0], tri[2] - tri[0])
        data += struct.pack("<12fH", *(normal / np.linalg.norm(normal)), *tri.ravel(), 0)
    path.write_bytes(bytes(data))


def test_user_folder_categories_are_generated(tmp_path):
    assets = tmp_path / "assets"
    (assets / "crate").mkdir(parents=True)
    (assets / "brick").mkdir()
    write_obj(assets / "crate" / "crate.obj", 0.06)
    write_stl(assets / "brick" / "brick.stl", 0.05)
    out = tmp_path / "ds"
    done = run_simgen([f"output_dir={out}", "num_frames=3", *SMALL, "objects.count=[4,4]",
                       "catalog.folders=[{path: assets, categories: {crate: 40, brick: 41}}]",
                       "objects.categories=[crate,brick]", "camera.distance=0.6"], tmp_path)
    assert done.returncode == 0, done.stderr
    coco = json.loads((out / "annotations.json").read_text())
    assert {c["id"]: c["name"] for c in coco["categories"] if c["id"] >= 40} == {40: "crate", 41: "brick"}
    assert {a["category_id"] for a in coco["annotations"]} == {40, 41}
    for i in range(3):
        meta = json.loads((out / "meta" / f"{i:06d}.json").read_text())
        assert all(o["state"] == "resting" and o["position"][2] > 0.75 for o in meta["objects"])
