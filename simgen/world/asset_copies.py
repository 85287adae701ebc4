"""Copies of URDF and OBJ assets that the renderer draws better: primitives as unit meshes; under EGL, large
textures downsized.

The EGL plugin uploads a mesh's textures again after every resetSimulation, mipmaps included: on a CPU
(Mesa's llvmpipe) jenga's 1024x1024 texture costs 14 ms a scene, and a 4096x4096 scanned object's over 200 ms.
The renderer samples the mipmap level that matches an object's size on screen, so a copy downsized to
`world.max_texture_size` looks the same unless the object fills much of the image (BENCHMARKS.md, "Where a
frame's time goes"). And it shades its own boxes wrongly (a URDF's `<box>` visuals: the table, floor, walls),
so a copy draws them from a unit cube mesh scaled to their size (primitive_visuals). Under both renderers, a
URDF's `<sphere>`, `<cylinder>` and `<capsule>` visuals, which PyBullet draws as coarse polygons, are drawn
from meshes of 32 slices too. Collision shapes are unchanged."""

from __future__ import annotations

import functools
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Optional

import cv2
from PIL import Image

from simgen.errors import AssetError
from simgen.mesh_check import check_asset, library_path, texture_path
from simgen.scene import ObjectSpec
from simgen.textures import TextureFiles, write_bmp
from simgen.world import primitive_meshes
from simgen.world.mesh_textures import URDF_PRIMITIVES, Replacement, digest, urdf_copy
from simgen.world.primitive_visuals import UnitMeshes, unit_scale


class AssetCopies:
    """Stand-ins for URDF assets with visuals of the primitives `units` draws, and for URDF and OBJ assets whose
    textures are larger than `max_size` pixels (0: no texture is too large)."""

    def __init__(self, files: TextureFiles, max_size: int, units: UnitMeshes):
        self.files, self.max_size, self.units = files, max_size, units

    def stand_in(self, spec: ObjectSpec) -> Optional[str]:
        """What to load for `spec` instead of its asset, or None where it is drawn right as it is; a broken mesh,
        a visual mesh a URDF names that is not there, and a texture that cannot be read are AssetErrors."""
        path, kind = spec.asset.path, spec.asset.kind
        if path:
            check_asset(path)  # a broken mesh is a one-line error before it is copied
        if kind == "urdf":
            _urdf_visual_objs(path)  # under either renderer: PyBullet's own error would not name the mesh
        try:
            if kind == "urdf" and (self._has_primitive_visuals(path) or self._oversized(path, kind)):
                return self.urdf(path)
            return self.obj(path) if kind == "mesh" and self._oversized(path, kind) else None
        except _UnreadableImage as err:
            raise AssetError(f"{err}; it is a texture of {path}") from None

    def _has_primitive_visuals(self, urdf: str) -> bool:
        """Whether a URDF has visuals of primitives drawn from meshes here."""
        return any(self._drawn_as_mesh(shape) for shape in _urdf_visuals(urdf))

    def _drawn_as_mesh(self, shape: ET.Element) -> bool:
        return shape.tag in self.units.kinds and shape.tag in URDF_PRIMITIVES

    def _primitive(self, shape: ET.Element) -> tuple[str, Optional[str]]:
        """The mesh, and its scale, that draw a URDF primitive visual: a unit mesh scaled to its size, or for a
        capsule a mesh of its size, since its ends keep their shape whatever its length (a URDF asset has few
        sizes, so few files for PyBullet to keep)."""
        size = URDF_PRIMITIVES[shape.tag](shape)
        if shape.tag != "capsule":
            return self.units.path(shape.tag), " ".join(map(str, unit_scale(shape.tag, size)))
        return self.files.derived(f"{digest('capsule', *size)}.obj", lambda out: Path(out).write_text(
            primitive_meshes.capsule_obj(*size, None))), None

    def _oversized(self, path: str, kind: str) -> bool:
        if not self.max_size:
            return False
        objs = _urdf_visual_objs(path) if kind == "urdf" else (path,) if path.lower().endswith(".obj") else ()
        return any(_side(image) > self.max_size for obj in objs for image in _obj_textures(obj))

    def urdf(self, path: str) -> str:
        """A copy of a URDF whose primitive visuals are unit meshes and whose visual OBJs with large textures are
        capped copies; every other file stays."""
        def visual(shape: ET.Element) -> Replacement:
            if self._drawn_as_mesh(shape):
                return self._primitive(shape)
            name = shape.get("filename", "")
            large = shape.tag == "mesh" and self._oversized(name, "mesh")
            return (self.obj(name), shape.get("scale")) if large else None

        tree = urdf_copy(path, visual)  # built even when in the folder: that keeps its meshes from being evicted
        name = f"{digest(path, self.max_size, self.units.kinds)}.urdf"
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
            if image is None:
                raise _UnreadableImage(f"{path}: cannot read this texture image (a truncated or corrupt file?)")
            factor = self.max_size / max(image.shape[:2])
            if factor < 1:
                image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
            write_bmp(out, image)
        return self.files.derived(f"{digest(path, self.max_size)}.bmp", write)


class _UnreadableImage(AssetError):
    """A texture image that cv2 cannot decode; stand_in names the asset it belongs to."""


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
    libraries = {line: library_path(obj, line) for line in _lines(obj)}
    return {line: library for line, library in libraries.items() if library and os.path.isfile(library)}


@functools.lru_cache(maxsize=256)
def _mtl_maps(mtl: str) -> dict[str, str]:
    """Each `map_Kd` line of a material library, with the path of the image it names (those that exist)."""
    images = {line: texture_path(mtl, line) for line in _lines(mtl)}
    return {line: image for line, image in images.items() if image and os.path.isfile(image)}


def _obj_textures(obj: str) -> list[str]:
    return [image for library in _obj_libraries(obj).values() for image in _mtl_maps(library).values()]


@functools.lru_cache(maxsize=1024)
def texture_pixels(path: str) -> int:
    """The pixels of the textures a URDF's or OBJ's materials draw it with (what the EGL plugin uploads for each body
    of it at every build)."""
    kind = Path(path).suffix.lower()
    objs = _urdf_visual_objs(path) if kind == ".urdf" else (path,) if kind == ".obj" else ()
    return sum(_pixels(image) for obj in objs for image in _obj_textures(obj))


def _pixels(image: str) -> int:
    """An image's pixels (0 if it cannot be read)."""
    width, height = _image_size(image)
    return width * height


def _side(image: str) -> int:
    """The longer side of an image in pixels (0 if it cannot be read)."""
    return max(_image_size(image))


@functools.lru_cache(maxsize=1024)
def _image_size(image: str) -> tuple[int, int]:
    """An image's width and height in pixels, read from its header ((0, 0) if it cannot be read)."""
    try:
        with Image.open(image) as opened:
            return opened.size
    except OSError:
        return 0, 0


@functools.lru_cache(maxsize=256)
def _urdf_visuals(urdf: str) -> tuple[ET.Element, ...]:
    """The shapes of a URDF's visuals (none for a URDF that is not well-formed XML)."""
    try:
        return tuple(shape for geometry in ET.parse(urdf).iterfind(".//visual/geometry") for shape in geometry)
    except (ET.ParseError, OSError):
        return ()


def _urdf_visual_objs(urdf: str) -> tuple[str, ...]:
    """The OBJ files a URDF's visuals name, as paths; one that is not there is an AssetError."""
    folder = os.path.dirname(os.path.abspath(urdf))
    names = (shape.get("filename", "") for shape in _urdf_visuals(urdf) if shape.tag == "mesh")
    return tuple(_next_to(urdf, folder, name) for name in names if name.lower().endswith(".obj") and "://" not in name)


def _next_to(urdf: str, folder: str, name: str) -> str:
    """A mesh a URDF names: next to it, else where PyBullet also looks (relative to the working directory)."""
    for path in (os.path.join(folder, name), name):
        if os.path.isfile(path):
            return path
    raise AssetError(f"{urdf}: its visual mesh {os.path.normpath(os.path.join(folder, name))} does not exist")
