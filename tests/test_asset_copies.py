"""Copies of assets the renderer draws better (simgen.world.asset_copies): primitives as unit meshes, and under
EGL large textures downsized."""

import os
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pybullet_data
import pytest

from simgen.errors import ConfigError
from simgen.scene import Asset, CameraSpec, ObjectSpec, Scene, Support
from simgen.textures import TextureFiles
from simgen.world import World, egl_available
from simgen.world.asset_copies import AssetCopies
from simgen.world.primitive_visuals import ROUND, UnitMeshes

JENGA = os.path.join(pybullet_data.getDataPath(), "jenga", "jenga.urdf")  # its texture: 1024x1024
TABLE = os.path.join(os.path.dirname(__file__), "..", "scenes", "tabletop", "table.urdf")  # five box visuals


def textured_obj(folder, width: int, height: int) -> str:
    """A quad OBJ whose material library names a width x height diffuse map and a bump map."""
    cv2.imwrite(str(folder / "wood.png"), np.random.default_rng(0).integers(0, 255, (height, width, 3), np.uint8))
    (folder / "quad.mtl").write_text("newmtl wood\nKd 1 1 1\nmap_Kd -s 1 1 1 wood.png\nmap_bump wood.png\n")
    (folder / "quad.obj").write_text("mtllib quad.mtl\nv 0 0 0\nv 1 0 0\nv 1 1 0\nvt 0 0\nvt 1 0\nvt 1 1\n"
                                     "usemtl wood\nf 1/1 2/2 3/3\n")
    return str(folder / "quad.obj")


def copies(files: TextureFiles, max_size: int) -> AssetCopies:
    return AssetCopies(files, max_size, UnitMeshes(files, (*ROUND, "box")))


def mesh_spec(path: str) -> ObjectSpec:
    return ObjectSpec("quad", Asset("mesh", path=path), category_id=1)


def library_of(obj: str) -> str:
    name = next(line.split()[1] for line in open(obj) if line.startswith("mtllib"))
    return os.path.join(os.path.dirname(obj), name)


def test_a_large_texture_is_drawn_from_a_downsized_copy_of_its_mesh(tmp_path):
    files = TextureFiles()
    try:
        copy = copies(files, 256).stand_in(mesh_spec(textured_obj(tmp_path, 1024, 512)))
        text = open(copy).read()
        assert "usemtl wood" in text and "f 1/1 2/2 3/3" in text  # the mesh and its material choices stay
        library = open(library_of(copy)).read().splitlines()
        maps = [line.split()[1] for line in library if line.startswith("map_Kd")]
        assert len(maps) == 1 and not any(line.startswith("map_bump") for line in library)
        image = cv2.imread(os.path.join(os.path.dirname(copy), maps[0]))
        assert image.shape[:2] == (128, 256)  # the longer side at the cap, the aspect kept
    finally:
        files.close()


@pytest.mark.parametrize("width, cap", [(256, 256), (1024, 0)])
def test_a_texture_within_the_cap_or_no_cap_loads_the_asset_itself(tmp_path, width, cap):
    files = TextureFiles()
    try:
        assert copies(files, cap).stand_in(mesh_spec(textured_obj(tmp_path, width, width))) is None
        assert len(files) == 0
    finally:
        files.close()


def test_a_urdf_copy_caps_its_visual_mesh_and_keeps_its_scale_and_collision_shape():
    files = TextureFiles()
    try:
        copy = copies(files, 512).stand_in(ObjectSpec("jenga", Asset("urdf", path=JENGA), category_id=4))
        tree = ET.parse(copy)
        mesh = tree.find(".//visual/geometry/mesh")
        visual = mesh.get("filename")
        assert mesh.get("scale") == "0.15 0.05 0.03" and not os.path.isabs(visual)
        assert tree.find(".//collision/geometry/box").get("size") == "0.15 0.05 0.03"
        image = next(line.split()[-1] for line in open(library_of(os.path.join(os.path.dirname(copy), visual)))
                     if line.startswith("map_Kd"))
        assert cv2.imread(os.path.join(os.path.dirname(copy), image)).shape[:2] == (512, 512)
    finally:
        files.close()


def test_max_texture_size_must_be_a_whole_number_of_pixels():
    with pytest.raises(ConfigError, match="max_texture_size"):
        World(max_texture_size=-1)


@pytest.mark.skipif(not egl_available(), reason="no EGL here: capped copies are drawn under EGL only")
def test_capped_textures_change_no_mask_or_depth_and_hardly_a_colour():
    def jenga_scene() -> Scene:
        floor = ObjectSpec("floor", Asset("box", size=(1.0, 1.0, 0.02)), position=(0, 0, -0.01), labeled=False,
                           static=True)
        objects = [ObjectSpec("jenga", Asset("urdf", path=JENGA), category_id=4, position=(0.03 * i, 0, 0.01),
                              scale=0.6, static=True) for i in range(2)]
        camera = CameraSpec(position=(0.2, 0.15, 0.2), target=(0, 0, 0), width=320, height=240)
        return Scene("t", Support(0.0, ((-1, -1), (1, 1))), (0, 0, 0), fixtures=[floor], objects=objects, camera=camera)

    frames = {}
    for cap in (128, 0):
        world = World(renderer="egl", max_texture_size=cap)
        try:
            scene = jenga_scene()
            world.build(scene)
            frames[cap] = world.render(scene)
        finally:
            world.close()
    capped, full = frames[128], frames[0]
    on = full.instance > 0
    assert on.sum() > 2000 and np.array_equal(capped.instance, full.instance)
    assert np.array_equal(capped.depth, full.depth)
    difference = np.abs(capped.rgb.astype(int) - full.rgb)[on]
    assert 0 < difference.mean() < 4  # drawn from the copy: a little less detail, the same wood


def test_a_urdf_with_box_visuals_is_drawn_from_the_unit_cube_at_each_box_size():
    files = TextureFiles()
    try:
        copy = copies(files, 512).stand_in(ObjectSpec("table", Asset("urdf", path=TABLE), labeled=False))
        tree, original = ET.parse(copy), ET.parse(TABLE)
        meshes = tree.findall(".//visual/geometry/mesh")
        sizes = [box.get("size") for box in original.iterfind(".//visual/geometry/box")]
        assert len(meshes) == len(sizes) == 5 and [m.get("scale") for m in meshes] == sizes
        assert {m.get("filename") for m in meshes} == {"unit_box.obj"}
        assert [b.get("size") for b in tree.iterfind(".//collision/geometry/box")] == sizes  # collides as before
    finally:
        files.close()


@pytest.mark.skipif(not egl_available(), reason="no EGL here: copies are drawn under EGL only")
def test_a_table_drawn_from_its_copy_has_the_same_silhouette():
    table = ObjectSpec("table", Asset("urdf", path=TABLE), category_id=1, static=True)
    camera = CameraSpec(position=(1.2, -1.0, 1.6), target=(0, 0, 0.5), width=160, height=120)
    scene = Scene("t", Support(0.75, ((-0.5, -0.35), (0.5, 0.35))), (0, 0, 0), objects=[table], camera=camera)
    masks = {}
    for boxes_as_meshes in (True, False):
        world = World(renderer="egl")
        if not boxes_as_meshes:
            world.asset_copies["egl"].stand_in = lambda spec: None
        try:
            world.build(scene)
            masks[boxes_as_meshes] = world.render(scene).instance == 1
        finally:
            world.close()
    assert masks[True].sum() > 2000 and (masks[True] != masks[False]).mean() < 0.003
