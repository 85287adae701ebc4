"""Textured stand-ins (simgen.world.mesh_textures): the meshes and URDFs that carry random textures under EGL."""

import os
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pybullet as p
import pybullet_data
import pytest

from simgen.errors import AssetError
from simgen.scene import Asset, CameraSpec, ObjectSpec, Scene, Support, TextureSpec
from simgen.textures import TextureFiles, make_texture
from simgen.world import World, egl_available
from simgen.world.mesh_textures import MeshTextures
from simgen.world.primitive_meshes import box_obj, capsule_obj, cylinder_obj, sphere_obj
from simgen.world.texture_memory import MESH_BYTES_PER_PIXEL

needs_egl = pytest.mark.skipif(not egl_available(), reason="no EGL here: stand-ins are used under EGL only")
PRIMITIVE_KINDS = ("box", "sphere", "cylinder", "capsule")
SCENES = os.path.join(os.path.dirname(__file__), "..", "scenes")


def photo(folder, rgb) -> TextureSpec:
    """A texture cut from a striped image of one hue (`rgb` at two brightnesses): its colour is easy to tell."""
    image = np.tile(np.asarray(rgb, dtype=float), (64, 64, 1))
    image[:, ::8] *= 0.6
    path = folder / f"photo-{'-'.join(map(str, rgb))}.png"
    cv2.imwrite(str(path), image[:, :, ::-1].astype(np.uint8))
    return TextureSpec("photo", seed=1, size=64, path=str(path))


def parse_obj(text: str):
    """Vertices, normals and faces (as vertex indices from 0) of an OBJ whose faces are v/vt/vn triples."""
    rows = [line.split() for line in text.splitlines()]
    vertices = np.array([r[1:] for r in rows if r[0] == "v"], dtype=float)
    normals = np.array([r[1:] for r in rows if r[0] == "vn"], dtype=float)
    faces = np.array([[int(t.split("/")[0]) - 1 for t in r[1:]] for r in rows if r[0] == "f"])
    return vertices, normals, faces


@pytest.mark.parametrize("text, extent", [
    (box_obj((0.2, 0.1, 0.4), "m"), (0.2, 0.1, 0.4)),
    (sphere_obj(0.05, "m"), (0.1, 0.1, 0.1)),
    (cylinder_obj(0.03, 0.2, "m"), (0.06, 0.06, 0.2)),
    (capsule_obj(0.02, 0.1, "m"), (0.04, 0.04, 0.14)),
])
def test_primitive_meshes_have_the_shapes_size_and_face_outwards(text, extent):
    vertices, normals, faces = parse_obj(text)
    assert np.allclose(vertices.max(0) - vertices.min(0), extent, atol=1e-6)
    assert np.allclose(vertices.max(0) + vertices.min(0), 0, atol=1e-6)  # centred
    assert np.allclose(np.linalg.norm(normals, axis=1), 1, atol=1e-5)
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    area = np.cross(b - a, c - a)
    real = np.linalg.norm(area, axis=1) > 1e-12
    facing = np.einsum("ij,ij->i", area[real], normals[faces[real, 0]])
    assert (facing > 0).all(), "a face winds against its normal"
    centre = (a + b + c)[real] / 3
    assert (np.einsum("ij,ij->i", centre, normals[faces[real, 0]]) > 0).all(), "a normal points inwards"


def test_a_urdf_stand_in_draws_its_visuals_with_the_texture_and_keeps_the_rest(tmp_path):
    files = TextureFiles()
    try:
        meshes = MeshTextures(files)
        for urdf in (f"{pybullet_data.getDataPath()}/objects/mug.urdf", f"{SCENES}/tabletop/table.urdf"):
            stand_in = meshes.urdf(urdf, meshes.material(TextureSpec("checker", seed=3)))
            root, folder = ET.parse(stand_in).getroot(), Path(stand_in).parent
            for visual in root.iter("visual"):
                (shape,) = list(visual.find("geometry"))
                assert shape.tag == "mesh" and "usemtl" in (folder / shape.get("filename")).read_text()
            for shape in root.iterfind(".//collision/geometry/mesh"):
                assert os.path.isabs(shape.get("filename")) and os.path.isfile(shape.get("filename"))
            assert same_collision_box(urdf, stand_in)
    finally:
        files.close()


def same_collision_box(original: str, stand_in: str) -> bool:
    c = p.connect(p.DIRECT)
    try:
        boxes = [p.getAABB(p.loadURDF(path, physicsClientId=c), physicsClientId=c) for path in (original, stand_in)]
    finally:
        p.disconnect(c)
    return np.allclose(boxes[0], boxes[1])


def scene_of(obj: ObjectSpec) -> Scene:
    camera = CameraSpec(position=(0.0, -0.12, 0.16), target=(0, 0, 0.0), width=160, height=120)
    return Scene("t", Support(0.0, ((-1, -1), (1, 1))), (0, 0, 0), fixtures=[], objects=[obj], camera=camera)


def render_egl(obj: ObjectSpec):
    world = World(renderer="egl")
    try:
        world.build(scene_of(obj))
        return world.render(scene_of(obj))
    finally:
        world.close()


def write_stl(path, size: float) -> str:
    """A binary STL of a cube of edge `size` centred at the origin."""
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float32) * size / 2
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    triangles = [(q[0], q[1], q[2]) for q in quads] + [(q[0], q[2], q[3]) for q in quads]
    data = b"\0" * 80 + struct.pack("<I", len(triangles))
    for t in triangles:
        data += struct.pack("<3f", 0, 0, 0) + corners[list(t)].tobytes() + b"\0\0"
    path.write_bytes(data)
    return str(path)


def assets(tmp_path):
    yield "box", Asset("box", size=(0.08, 0.06, 0.04))
    yield "sphere", Asset("sphere", size=(0.04,))
    yield "cylinder", Asset("cylinder", size=(0.03, 0.08))
    yield "capsule", Asset("capsule", size=(0.025, 0.05))
    yield "duck", Asset("urdf", path=f"{pybullet_data.getDataPath()}/duck_vhacd.urdf")
    yield "torus", Asset("mesh", path=f"{pybullet_data.getDataPath()}/torus/torus_textured.obj")
    yield "stl", Asset("mesh", path=write_stl(tmp_path / "cube.stl", 0.07))


@needs_egl
def test_textured_bodies_under_egl_keep_their_silhouette_and_show_the_texture(tmp_path):
    red = photo(tmp_path, (220, 40, 30))
    for name, asset in assets(tmp_path):
        scale = 0.05 if name == "torus" else 1.0
        plain, textured = (render_egl(ObjectSpec(name, asset, category_id=1, static=True, scale=scale,
                                                 rgba=(1, 1, 1, 1), texture=texture)) for texture in (None, red))
        a, b = plain.instance == 1, textured.instance == 1
        # PyBullet draws its own primitives coarser than the stand-ins, which follow the collision shapes
        # (test above): a capsule's plain mask has 11% fewer pixels. Meshes keep their very triangles.
        overlap = 0.85 if asset.kind in PRIMITIVE_KINDS else 0.98
        assert a.sum() > 300 and (a & b).sum() / (a | b).sum() > overlap, f"{name}: the silhouette changed"
        if name != "stl":  # an STL has no texture coordinates: its texture shows one colour
            assert np.abs(chroma(textured.rgb[b]) - chroma(make_texture(red))).max() < 0.05, f"{name}: no texture"


def chroma(pixels: np.ndarray) -> np.ndarray:
    """Mean colour of some pixels with brightness divided out: shading changes it little, another image a lot."""
    mean = pixels.reshape(-1, 3).astype(float).mean(axis=0)
    return mean / mean.sum()


@needs_egl
def test_the_texture_a_body_shows_under_egl_is_its_own_after_many_builds(tmp_path):
    """A stand-in's texture is drawn right after any number of resets, next to meshes with their own images."""
    duck = ObjectSpec("duck", Asset("urdf", path=f"{pybullet_data.getDataPath()}/duck_vhacd.urdf"), category_id=1,
                      static=True, rgba=(1, 1, 1, 1))
    world = World(renderer="egl")
    try:
        for rgb in ((220, 40, 30), (30, 200, 40), (40, 60, 220), (220, 200, 30), (30, 200, 210), (200, 40, 210)):
            texture = photo(tmp_path, rgb)
            duck.texture = texture
            scene = scene_of(duck)
            world.build(scene)
            frame = world.render(scene)
            seen = chroma(frame.rgb[frame.instance == 1])
            assert np.abs(seen - chroma(make_texture(texture))).max() < 0.05, f"{rgb}: another image"
    finally:
        world.close()


@needs_egl
def test_the_world_counts_the_pixels_of_the_mesh_textures_this_process_holds():
    world = World(renderer="egl", texture_memory_mb=1)  # a 256x256 texture: 0.41 MB cached for life
    box = ObjectSpec("box", Asset("box", size=(0.05,) * 3), category_id=1, static=True)
    try:
        for seed in (0, 1, 1, 1, 2):  # the same texture again holds nothing more
            assert not world.worn_out
            box.texture = TextureSpec("noise", seed=seed)
            world.build(scene_of(box))
        assert world.worn_out
    finally:
        world.close()
    world = World(renderer="egl", texture_memory_mb=5)
    try:
        box.texture = TextureSpec("noise", size=1024)  # 16 times the pixels: 6.5 MB
        world.build(scene_of(box))
        assert world.worn_out
    finally:
        world.close()


@needs_egl
def test_the_meshes_own_textures_count_towards_the_clients_budget():
    """The EGL plugin uploads a mesh's own textures for each of its bodies at every build and holds them until the
    client disconnects: four scans with 2048x2048 textures held 90 MB more each scene, 8.9 GB before
    world.recycle_every reconnected."""
    duck = ObjectSpec("duck", Asset("urdf", path=os.path.join(pybullet_data.getDataPath(), "duck_vhacd.urdf")),
                      category_id=1, static=True)
    world = World(renderer="egl", texture_memory_mb=3)  # the duck's 512x512 texture: 1.36 MB a build
    held = []
    try:
        for _ in range(4):
            world.build(scene_of(duck))
            held.append(world.texture_memory.client / (512 * 512 * MESH_BYTES_PER_PIXEL))
    finally:
        world.close()
    assert held == pytest.approx([1, 2, 3, 1])  # full after the third: the fourth build reconnects first


@needs_egl
@pytest.mark.parametrize("name, text, message", [
    ("missing.urdf", None, "could not load"),
    ("broken.obj", "v 0 0 0\nv 1 0 0\nf 1 2 7\n", "names vertex 7"),
])
def test_a_textured_asset_that_cannot_be_read_is_a_one_line_error(tmp_path, name, text, message):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    kind = "urdf" if name.endswith(".urdf") else "mesh"
    obj = ObjectSpec("x", Asset(kind, path=str(path)), category_id=1, static=True, texture=TextureSpec("noise"))
    world = World(renderer="egl")
    try:
        with pytest.raises(AssetError, match=message) as error:
            world.build(scene_of(obj))
    finally:
        world.close()
    assert str(path) in str(error.value) and "\n" not in str(error.value)
