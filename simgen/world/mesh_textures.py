"""Random textures as mesh materials, for the EGL renderer.

Under EGL, a texture set with `changeVisualShape` after a `resetSimulation` lands on the wrong shape, but a
texture a mesh's material names is drawn right, every build. So a textured body is loaded from a stand-in:
a copy of its URDF or mesh whose material is the texture, or a mesh of its primitive shape. PyBullet keeps
the pixels of every such texture for the life of the process; World counts them (texture_memory) so that
long runs can replace their worker processes (see workers.py)."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from simgen.mesh_check import check_asset, stl_triangles
from simgen.scene import ObjectSpec, TextureSpec
from simgen.textures import TextureFiles
from simgen.world import primitive_meshes

PRIMITIVES: dict[str, Callable[[np.ndarray, str], str]] = {
    "box": lambda size, material: primitive_meshes.box_obj(size, material),
    "sphere": lambda size, material: primitive_meshes.sphere_obj(size[0], material),
    "cylinder": lambda size, material: primitive_meshes.cylinder_obj(size[0], size[1], material),
    "capsule": lambda size, material: primitive_meshes.capsule_obj(size[0], size[1], material),
}
URDF_PRIMITIVES = {"box": lambda g: [float(v) for v in g.get("size", "1 1 1").split()],
                   "sphere": lambda g: [float(g.get("radius", 1))],
                   "cylinder": lambda g: [float(g.get("radius", 1)), float(g.get("length", 1))],
                   "capsule": lambda g: [float(g.get("radius", 1)), float(g.get("length", 1))]}


log = logging.getLogger("simgen")
_unreadable: set[str] = set()  # URDFs already warned about


def digest(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:20]


class MeshTextures:
    """Stand-in files for textured bodies, kept with their textures in a TextureFiles folder."""

    def __init__(self, files: TextureFiles):
        self.files = files

    def stand_in(self, spec: ObjectSpec) -> Optional[str]:
        """What to load for `spec` with its texture: a URDF for URDF assets, else the mesh to draw it with.

        None where there is nothing to put a material on (a mesh format other than OBJ or STL, a URDF that is
        not well-formed XML): PyBullet then loads the asset itself, without the texture."""
        if spec.asset.path:
            check_asset(spec.asset.path)  # a broken mesh is a one-line error before it is copied
        material = self.material(spec.texture)
        kind = spec.asset.kind
        if kind == "urdf":
            return self.urdf(spec.asset.path, material)
        if kind == "mesh":
            return self.mesh(spec.asset.path, material)
        return self.primitive(kind, np.asarray(spec.asset.size, dtype=float) * spec.scale, material)

    def material(self, texture: TextureSpec) -> str:
        """The name of the material (and of its .mtl file) that shows `texture`."""
        image = Path(self.files.path(texture))
        name = image.stem
        text = f"newmtl {name}\nKd 1 1 1\nmap_Kd {image.name}\n"
        self.files.derived(f"{name}.mtl", lambda p: Path(p).write_text(text))
        return name

    def primitive(self, kind: str, size: np.ndarray, material: str) -> str:
        return self._write(f"{digest(kind, size.round(7).tolist(), material)}.obj", PRIMITIVES[kind](size, material))

    def mesh(self, path: str, material: str) -> Optional[str]:
        """A copy of an OBJ (or an STL as OBJ) whose every face uses `material`."""
        suffix = Path(path).suffix.lower()
        if suffix not in (".obj", ".stl"):
            return None
        body = _obj_body(path) if suffix == ".obj" else _stl_as_obj_body(path)
        return self._write(f"{digest(path, material)}.obj", f"mtllib {material}.mtl\nusemtl {material}\n{body}")

    def urdf(self, path: str, material: str) -> Optional[str]:
        """A copy of a URDF whose visuals are meshes that use `material`; every other file it names stays.

        None for a URDF that is not well-formed XML (PyBullet reads some such): its body shows no texture."""
        try:  # built even when the copy is in the folder: that also keeps the meshes it names from being evicted
            tree = _textured_urdf(path, material, self)
        except (ET.ParseError, OSError) as err:
            if path not in _unreadable:
                log.warning("%s: cannot read this URDF as XML (%s): its bodies are drawn without textures", path, err)
                _unreadable.add(path)
            return None
        return self.files.derived(f"{digest(path, material)}.urdf", lambda out: tree.write(out, encoding="unicode"))

    def _write(self, name: str, text: str) -> str:
        return self.files.derived(name, lambda p: Path(p).write_text(text))


Replacement = Optional[tuple[str, Optional[str]]]  # a mesh in the stand-in folder, and its URDF scale attribute


def urdf_copy(path: str, visual: Callable[[ET.Element], Replacement]) -> ET.ElementTree:
    """A URDF's tree with every file it names made absolute, and each visual shape for which `visual` gives a
    mesh in the stand-in folder replaced by that mesh, at the scale it gives."""
    tree = ET.parse(path)
    folder = os.path.dirname(os.path.abspath(path))
    for element in tree.iter():
        name = element.get("filename")
        if name and "://" not in name and os.path.isfile(os.path.join(folder, name)):
            element.set("filename", os.path.normpath(os.path.join(folder, name)))
    for geometry in tree.iterfind(".//visual/geometry"):
        for shape in list(geometry):
            replacement = visual(shape)
            if replacement is not None:
                stand_in, scale = replacement
                geometry.remove(shape)
                mesh = ET.SubElement(geometry, "mesh", filename=os.path.basename(stand_in))
                if scale:
                    mesh.set("scale", scale)
    return tree


def _textured_urdf(path: str, material: str, meshes: MeshTextures) -> ET.ElementTree:
    tree = urdf_copy(path, lambda shape: _visual_stand_in(shape, material, meshes))
    for element in tree.iter("material"):
        for texture in element.findall("texture"):
            element.remove(texture)  # the stand-in's material shows the texture
    return tree


def _visual_stand_in(shape: ET.Element, material: str, meshes: MeshTextures) -> Replacement:
    """A mesh with `material` for a URDF visual shape: a copy of its mesh at its scale, or its primitive's mesh."""
    if shape.tag == "mesh":
        name = shape.get("filename", "")
        copy = meshes.mesh(name, material) if os.path.isabs(name) else None
        return (copy, shape.get("scale")) if copy else None
    if shape.tag in URDF_PRIMITIVES:
        return meshes.primitive(shape.tag, np.asarray(URDF_PRIMITIVES[shape.tag](shape)), material), None
    return None


@functools.lru_cache(maxsize=64)
def _obj_body(path: str) -> str:
    """An OBJ's text without its material library and material choices."""
    lines = Path(path).read_text(errors="replace").splitlines()
    return "\n".join(line for line in lines if not line.startswith(("mtllib", "usemtl"))) + "\n"


@functools.lru_cache(maxsize=64)
def _stl_as_obj_body(path: str) -> str:
    """A binary STL's triangles as OBJ vertices and faces (no texture coordinates: a texture shows one colour)."""
    vertices = stl_triangles(path).reshape(-1, 3)
    lines = [f"v {x:.7g} {y:.7g} {z:.7g}" for x, y, z in vertices]
    lines += [f"f {k + 1} {k + 2} {k + 3}" for k in range(0, len(vertices), 3)]
    return "\n".join(lines) + "\n"
