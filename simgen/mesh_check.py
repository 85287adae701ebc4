"""Checks of mesh files PyBullet would read wrongly or crash on: bad face indices, NaN vertices, broken STL.

PyBullet's OBJ reader does not check face indices: a face naming a vertex the file does not have reads
whatever memory lies there, and the body gets a random size and pose. Its STL reader takes binary STL
only, and an ASCII, truncated or NaN STL crashes the process (segmentation fault). A mesh whose vertices are
all one point, or lie farther out than a scene in metres can hold, is refused too. These checks run once
per file and process, before the first body of it is made.
"""

from __future__ import annotations

import functools
import math
import os
import xml.etree.ElementTree as ET
from array import array
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

from simgen.errors import AssetError

MESH_SUFFIXES = (".obj", ".stl")
FAN_TOLERANCE = 1e-3  # of the square of a face's size, the area its fan may cover backwards (see _check_polygons)
MAX_COORDINATE = 1e6  # beyond this, a mesh's units are not ones a scene in metres can hold (1000 km, or 1 km in mm)
_STL_TRIANGLE = np.dtype([("normal", "<f4", 3), ("vertices", "<f4", (3, 3)), ("attributes", "<u2")])


@functools.lru_cache(maxsize=None)
def check_asset(path: str) -> None:
    """Raise AssetError, naming the file (and line), where a mesh file or a mesh a URDF names is broken."""
    suffix = Path(path).suffix.lower()
    if suffix == ".obj":
        check_obj(path)
    elif suffix == ".stl":
        check_stl(path)
    elif suffix == ".urdf":
        for mesh in urdf_meshes(path):
            check_asset(mesh)


def urdf_meshes(path: str) -> list[str]:
    """The local OBJ and STL files a URDF's visual and collision meshes name (package:// and other URIs are skipped).

    PyBullet's URDF reader is more lenient than XML, and it also looks for meshes on its search paths: a URDF
    only it can read, and a mesh not found next to the URDF, are left to it."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return []
    names = {m.get("filename", "") for m in root.iter("mesh")}
    folder = os.path.dirname(path)
    paths = {os.path.normpath(os.path.join(folder, n)) for n in names
             if n.lower().endswith(MESH_SUFFIXES) and "://" not in n}
    return sorted(p for p in paths if os.path.isfile(p))


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise AssetError(f"{path}: cannot read this mesh ({err.strerror or err})") from None


def check_stl(path: str) -> None:
    """A binary STL whose size matches its triangle count, with at least one triangle and finite vertices."""
    data = _read(path)
    count = int.from_bytes(data[80:84], "little")
    if len(data) < 84 or len(data) != 84 + 50 * count:
        if data.lstrip()[:5].lower() == b"solid":
            raise AssetError(f"{path}: an ASCII STL; PyBullet reads binary STL only (convert it, or use OBJ)")
        if len(data) < 84:
            raise AssetError(f"{path}: only {len(data)} bytes, too short to be a binary STL (its header alone "
                             "has 84)")
        raise AssetError(f"{path}: a broken binary STL: its header counts {count} triangles "
                         f"({84 + 50 * count} bytes), the file has {len(data)} bytes; PyBullet needs them equal")
    if count == 0:
        raise AssetError(f"{path}: this STL mesh has no triangles")
    vertices = stl_triangles(path, data)
    if not np.isfinite(vertices).all():
        bad = int(np.flatnonzero(~np.isfinite(vertices).all(axis=(1, 2)))[0])
        raise AssetError(f"{path}: triangle {bad + 1} has a non-finite vertex")
    _check_extent(path, vertices.reshape(-1, 3))


def stl_triangles(path: str, data: Optional[bytes] = None) -> np.ndarray:
    """The vertices of a binary STL's triangles (n x 3 x 3) that check_stl passed; `data`: its bytes, if read."""
    return np.frombuffer(_read(path) if data is None else data, dtype=_STL_TRIANGLE, offset=84)["vertices"]


def check_obj(path: str) -> None:
    """Every vertex three finite numbers, every face index naming a vertex of the file, at least one face of three
    or more vertices (PyBullet skips faces of fewer, and a mesh of only those crashes it), and an extent."""
    lines = _obj_lines(path)
    total = sum(1 for line in lines if _is(line, "v"))
    vertices, faces, polygons = array("d"), [], {}
    for number, line in enumerate(lines, 1):
        if _is(line, "v"):
            vertices.extend(_check_vertex(path, number, line))
        elif _is(line, "f"):
            faces.append(number)
            corners = _check_face(path, number, line, len(vertices) // 3, total)
            if len(corners) > 3:
                polygons[number] = corners
    if not faces:
        raise AssetError(f"{path}: this OBJ mesh has no faces")
    if all(len(lines[number - 1].split()) < 4 for number in faces):
        raise AssetError(f"{path}: line {faces[0]}: a face needs three or more vertices, got "
                         f"{lines[faces[0] - 1].strip()!r} (PyBullet skips such faces, and this mesh has only those)")
    points = np.frombuffer(vertices, dtype=float).reshape(-1, 3)
    _check_extent(path, points)
    _check_polygons(path, points, polygons)
    _check_materials(path, lines)


def _check_polygons(path: str, points: np.ndarray, polygons: dict[int, list[int]]) -> None:
    """Faces of more than three vertices that PyBullet draws as they are: it splits a face into a fan of triangles
    from its first vertex, which fills in the notch of a non-convex face (an L-shaped plate's cap). A fan whose
    backward triangles cover less than FAN_TOLERANCE of the square of the face's size draws as the face (points on
    an edge, rounded; a sliver of a face). So does, near enough, a face whose notch is under about 3% of its size
    across: a pixel where the face spans 30."""
    by_size: dict[int, list[int]] = {}
    for number, corners in polygons.items():
        by_size.setdefault(len(corners), []).append(number)
    bad = []
    for numbers in by_size.values():  # each size at once: a mesh of quads has tens of thousands
        rings = points[np.array([polygons[n] for n in numbers]) - 1]  # faces x corners x 3
        normals = np.cross(rings, np.roll(rings, -1, axis=1)).sum(axis=1)  # Newell's: twice the area, as a vector
        fans = np.einsum("fkc,fc->fk", np.cross(rings[:, 1:-1] - rings[:, :1], rings[:, 2:] - rings[:, :1]), normals)
        backward = -np.minimum(fans, 0).sum(axis=1) / 2  # the backward triangles' area, times |normal|
        size = np.ptp(rings, axis=1)
        limit = FAN_TOLERANCE * np.einsum("fc,fc->f", size, size) * np.linalg.norm(normals, axis=1)
        bad += [numbers[i] for i in np.flatnonzero(backward > limit)]
    if bad:
        number = min(bad)
        raise AssetError(f"{path}: line {number}: a face of {len(polygons[number])} vertices that PyBullet cannot draw "
                         "as it is: it splits a face into triangles fanning out from its first vertex, and this one is "
                         "not convex; export the mesh triangulated")


def library_path(obj: str, line: str) -> Optional[str]:
    """The material library an OBJ's `mtllib NAME` line names (next to the OBJ); None for another line."""
    words = line.strip().split(maxsplit=1)
    if len(words) != 2 or words[0] != "mtllib":
        return None
    return os.path.join(os.path.dirname(os.path.abspath(obj)), words[1])


def texture_path(mtl: str, line: str) -> Optional[str]:
    """The image a material library's `map_Kd [OPTIONS] FILE` line names (next to the library); None for another
    line. The file name is its last word: options (-s, -o, ...) come before it."""
    words = line.split()
    if len(words) < 2 or words[0] != "map_Kd":
        return None
    return os.path.join(os.path.dirname(mtl), words[-1])


def _check_materials(path: str, lines: list[str]) -> None:
    """Each diffuse texture the OBJ's material libraries name is an image PyBullet can read: where one is not,
    PyBullet draws the mesh untextured without a word. (A library that is not there is left to PyBullet, which
    draws the mesh in one colour: some of its own meshes name one they lack.)"""
    libraries = (library_path(path, line) for line in lines)
    for library in filter(None, libraries):
        if os.path.isfile(library):
            for line in _read(library).decode(errors="replace").splitlines():
                _check_texture(path, library, line)


def _check_texture(obj: str, library: str, line: str) -> None:
    image = texture_path(library, line)
    if image is None:
        return
    whole = os.path.join(os.path.dirname(library), line.split(maxsplit=1)[1].strip())
    if " " in whole and os.path.isfile(whole):
        raise AssetError(f"{library}: the texture {os.path.basename(whole)!r} has spaces in its name, which PyBullet "
                         "cannot read; rename the file and its map_Kd line")
    if not os.path.isfile(image):
        raise AssetError(f"{library}: its texture {os.path.basename(image)} does not exist (looked for {image}); put "
                         "it there, or delete its map_Kd line to draw the mesh untextured")
    try:
        with Image.open(image) as opened:
            opened.load()  # decodes it all: a header alone passes verify()
    except (OSError, SyntaxError, ValueError):
        raise AssetError(f"{image}: cannot read this texture image (a truncated or corrupt file?); it is a texture "
                         f"of {obj}") from None


def _check_extent(path: str, points: np.ndarray) -> None:
    """The vertices (n x 3, finite) span some space, within coordinates a scene in metres can hold."""
    if not np.ptp(points, axis=0).any():
        raise AssetError(f"{path}: all its vertices are the same point {points[0].tolist()}: the mesh has no extent")
    far = float(np.abs(points).max())
    if far > MAX_COORDINATE:
        raise AssetError(f"{path}: a vertex coordinate reaches {far:g} (at most {MAX_COORDINATE:g} expected): the "
                         "file's units are not metres-compatible; rescale the mesh")


def obj_vertices(path: str) -> np.ndarray:
    """The vertices (n x 3) of an OBJ that check_obj passed."""
    return np.array([line.split()[1:4] for line in _obj_lines(path) if _is(line, "v")], dtype=float).reshape(-1, 3)


def mesh_points(path: str) -> np.ndarray:
    """The vertices (n x 3) of a checked OBJ or binary STL, in its own units."""
    return stl_triangles(path).reshape(-1, 3) if path.lower().endswith(".stl") else obj_vertices(path)


@functools.lru_cache(maxsize=256)
def mesh_bounds(path: str) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest corners of a checked OBJ's or binary STL's bounding box, in its own units."""
    points = mesh_points(path)
    if not len(points):
        return np.zeros(3), np.zeros(3)
    return points.min(axis=0).astype(float), points.max(axis=0).astype(float)


def _obj_lines(path: str) -> list[str]:
    """An OBJ's lines without their leading blanks, which PyBullet's reader skips too."""
    return [line.lstrip(" \t") for line in _read(path).decode(errors="replace").splitlines()]


def _is(line: str, keyword: str) -> bool:
    return line.startswith((f"{keyword} ", f"{keyword}\t"))


def _check_vertex(path: str, number: int, line: str) -> list[float]:
    try:
        coords = [float(v) for v in line.split()[1:4]]
    except ValueError:
        coords = []
    if len(coords) != 3 or not all(math.isfinite(v) for v in coords):
        raise AssetError(f"{path}: line {number}: a vertex needs three finite numbers, got {line.strip()!r}")
    return coords


def _check_face(path: str, number: int, line: str, before: int, total: int) -> list[int]:
    """The face's vertices, counted from 1. OBJ indices count from 1; negative ones count back from the vertices
    defined so far."""
    corners = []
    for token in line.split()[1:]:
        try:
            index = int(token.split("/")[0])
        except ValueError:
            raise AssetError(f"{path}: line {number}: {token!r} is not a vertex index") from None
        resolved = before + index + 1 if index < 0 else index
        if not 1 <= resolved <= total:
            raise AssetError(f"{path}: line {number}: a face names vertex {index}, but the file has "
                             f"{total} vertices")
        corners.append(resolved)
    return corners
