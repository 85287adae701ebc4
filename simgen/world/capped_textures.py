"""Copies of meshes whose own textures are downsized, for the EGL renderer.

The EGL plugin uploads a mesh's textures again after every resetSimulation, mipmaps included: on a CPU
(Mesa's llvmpipe) jenga's 1024x1024 texture costs 14 ms a scene, and a 4096x4096 scanned object's over 200 ms.
The renderer samples the mipmap level that matches an object's size on screen, so a copy downsized to
`world.max_texture_size` looks the same unless the object fills much of the image (BENCHMARKS.md, "Where a
frame's time goes"). Geometry, and so every mask, box and depth, is unchanged."""

from __future__ import annotations

import functools
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Optional

import cv2
from PIL import Image

from simgen.scene import ObjectSpec
from simgen.textures import TextureFiles, write_bmp
from simgen.world.mesh_textures import digest, urdf_copy


class CappedTextures:
    """Stand-ins for URDF and OBJ assets whose textures are larger than `max_size` pixels; 0 caps nothing."""

    def __init__(self, files: TextureFiles, max_size: int):
        self.files, self.max_size = files, max_size

    def stand_in(self, spec: ObjectSpec) -> Optional[str]:
        """What to load for `spec` instead of its asset, or None where no texture of it is too large."""
        path, kind = spec.asset.path, spec.asset.kind
        if not self.max_size or kind not in ("urdf", "mesh") or not self._oversized(path, kind):
            return None
        return self.urdf(path) if kind == "urdf" else self.obj(path)

    def _oversized(self, path: str, kind: str) -> bool:
        objs = _urdf_visual_objs(path) if kind == "urdf" else (path,) if path.lower().endswith(".obj") else ()
        return any(_side(image) > self.max_size for obj in objs for image in _obj_textures(obj))

    def urdf(self, path: str) -> str:
        """A copy of a URDF whose visual OBJs with large textures are capped copies; every other file stays."""
        def visual(shape: ET.Element) -> Optional[str]:
            name = shape.get("filename", "")
            large = shape.tag == "mesh" and name.lower().endswith(".obj") and self._oversized(name, "mesh")
            return self.obj(name) if large else None

        tree = urdf_copy(path, visual)  # built even when in the folder: that keeps its meshes from being evicted
        name = f"{digest(path, self.max_size)}.urdf"
        return self.files.derived(name, lambda out: tree.write(out, encoding="unicode"))

    def obj(self, path: str) -> str:
        """A copy of an OBJ whose material libraries are copies naming downsized textures."""
        libraries = {line: self.mtl(lib) for line, lib in _obj_libraries(path).items()}
        return self.files.derived(f"{digest(path, self.max_size)}.obj", lambda out: _write_lines(
            out, (libraries.get(line, line) for line in _lines(path))))

    def mtl(self, path: str) -> str:
        """`mtllib <name>` of a copy of a material library whose diffuse maps are at most max_size pixels."""
        maps = {line: f"map_Kd {os.path.basename(self.image(image))}" for line, image in _mtl_maps(path).items()}
        name = self.files.derived(f"{digest(path, self.max_size)}.mtl", lambda out: _write_lines(
            out, (maps.get(line, line) for line in _lines(path) if line in maps or not _other_map(line))))
        return f"mtllib {os.path.basename(name)}"

    def image(self, path: str) -> str:
        """A BMP of the image at `path`, downsized so that its longer side is at most max_size."""
        def write(out: str) -> None:
            image = cv2.imread(path, cv2.IMREAD_COLOR)
            factor = self.max_size / max(image.shape[:2])
            if factor < 1:
                image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
            write_bmp(out, image)
        return self.files.derived(f"{digest(path, self.max_size)}.bmp", write)


def _lines(path: str) -> list[str]:
    return Path(path).read_text(errors="replace").splitlines()


def _write_lines(path: str, lines: object) -> None:
    Path(path).write_text("\n".join(lines) + "\n")


def _other_map(line: str) -> bool:
    """A texture statement other than the diffuse map: PyBullet draws none, and the copy cannot find its file."""
    return line.lstrip().lower().startswith(("map_", "bump", "disp", "decal", "refl"))


@functools.lru_cache(maxsize=256)
def _obj_libraries(obj: str) -> dict[str, str]:
    """Each `mtllib` line of an OBJ, with the path of the library it names (those that exist)."""
    folder, found = os.path.dirname(os.path.abspath(obj)), {}
    with open(obj, errors="replace") as text:
        for line in text:
            words = line.split(maxsplit=1)
            if words and words[0] == "mtllib" and len(words) == 2:
                library = os.path.join(folder, words[1].strip())
                if os.path.isfile(library):
                    found[line.rstrip("\r\n")] = library
    return found


@functools.lru_cache(maxsize=256)
def _mtl_maps(mtl: str) -> dict[str, str]:
    """Each `map_Kd` line of a material library, with the path of the image it names (those that exist)."""
    folder, found = os.path.dirname(mtl), {}
    for line in _lines(mtl):
        words = line.split()
        if words and words[0] == "map_Kd" and len(words) > 1:
            image = os.path.join(folder, words[-1])  # options (-s, -o, ...) come before the file name
            if os.path.isfile(image):
                found[line] = image
    return found


def _obj_textures(obj: str) -> list[str]:
    return [image for library in _obj_libraries(obj).values() for image in _mtl_maps(library).values()]


@functools.lru_cache(maxsize=1024)
def _side(image: str) -> int:
    """The longer side of an image in pixels, read from its header (0 if it cannot be read)."""
    try:
        with Image.open(image) as opened:
            return max(opened.size)
    except OSError:
        return 0


@functools.lru_cache(maxsize=256)
def _urdf_visual_objs(urdf: str) -> tuple[str, ...]:
    """The OBJ files a URDF's visuals name, as paths (none for a URDF that is not well-formed XML)."""
    folder = os.path.dirname(os.path.abspath(urdf))
    try:
        tree = ET.parse(urdf)
    except (ET.ParseError, OSError):
        return ()
    names = (mesh.get("filename", "") for mesh in tree.iterfind(".//visual/geometry/mesh"))
    return tuple(os.path.join(folder, name) for name in names if name.lower().endswith(".obj") and "://" not in name)
