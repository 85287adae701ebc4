"""Checks of mesh files PyBullet would load without complaint but read wrongly: bad face indices, NaN vertices.

PyBullet's OBJ reader does not check face indices: a face naming a vertex the file does not have reads
whatever memory lies there, and the body gets a random size and pose. These checks run once per file and
process, before the first body of it is made.
"""

from __future__ import annotations

import functools
import math
import os
import xml.etree.ElementTree as ET
from pathlib import Path

from simgen.errors import AssetError


@functools.lru_cache(maxsize=None)
def check_asset(path: str) -> None:
    """Raise AssetError, naming the file and line, where an OBJ file or an OBJ a URDF names is broken."""
    suffix = Path(path).suffix.lower()
    if suffix == ".obj":
        check_obj(path)
    elif suffix == ".urdf":
        for mesh in urdf_meshes(path):
            check_asset(mesh)


def urdf_meshes(path: str) -> list[str]:
    """The local OBJ files a URDF's visual and collision meshes name (package:// and other URIs are skipped).

    PyBullet's URDF reader is more lenient than XML; a file only it can read is left to it."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return []
    names = {m.get("filename", "") for m in root.iter("mesh")}
    folder = os.path.dirname(path)
    return sorted(os.path.normpath(os.path.join(folder, n)) for n in names
                  if n.lower().endswith(".obj") and "://" not in n)


def check_obj(path: str) -> None:
    """Every vertex three finite numbers, every face index naming a vertex of the file, at least one face."""
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError as err:
        raise AssetError(f"{path}: cannot read this mesh ({err.strerror or err})") from None
    total = sum(1 for line in lines if line.startswith(("v ", "v\t")))
    vertices = faces = 0
    for number, line in enumerate(lines, 1):
        if line.startswith(("v ", "v\t")):
            vertices += 1
            _check_vertex(path, number, line)
        elif line.startswith(("f ", "f\t")):
            faces += 1
            _check_face(path, number, line, vertices, total)
    if faces == 0:
        raise AssetError(f"{path}: this OBJ mesh has no faces")


def _check_vertex(path: str, number: int, line: str) -> None:
    try:
        coords = [float(v) for v in line.split()[1:4]]
    except ValueError:
        coords = []
    if len(coords) != 3 or not all(math.isfinite(v) for v in coords):
        raise AssetError(f"{path}: line {number}: a vertex needs three finite numbers, got {line.strip()!r}")


def _check_face(path: str, number: int, line: str, before: int, total: int) -> None:
    """OBJ indices count from 1; negative ones count back from the vertices defined so far."""
    for token in line.split()[1:]:
        try:
            index = int(token.split("/")[0])
        except ValueError:
            raise AssetError(f"{path}: line {number}: {token!r} is not a vertex index") from None
        resolved = before + index + 1 if index < 0 else index
        if not 1 <= resolved <= total:
            raise AssetError(f"{path}: line {number}: a face names vertex {index}, but the file has "
                             f"{total} vertices")
