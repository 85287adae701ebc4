"""A user's folder of OBJ, STL and URDF files becomes categories that are placed, settled and annotated."""

import json
import re
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from hydra import compose, initialize_config_module
from hydra.utils import instantiate

from conftest import RENDERERS, SMALL, run_simgen
from simgen.config import register_schema
from simgen.errors import AssetError
from simgen.mesh_check import check_asset
from simgen.world import egl_available

CUBE_CORNERS = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], dtype=float) - 0.5
CUBE_FACES = [(0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1),
              (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3)]


def cube_obj_lines(size: float) -> list[str]:
    return [f"v {x} {y} {z}" for x, y, z in CUBE_CORNERS * size] + \
        [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in CUBE_FACES]


def write_obj(path: Path, size: float) -> None:
    path.write_text("\n".join(cube_obj_lines(size)) + "\n")


def write_stl(path: Path, size: float) -> None:
    """A binary STL of a cube."""
    corners = CUBE_CORNERS * size
    data = bytearray(80) + struct.pack("<I", len(CUBE_FACES))
    for face in CUBE_FACES:
        tri = corners[list(face)]
        normal = np.cross(tri[1] - tri[0], tri[2] - tri[0])
        data += struct.pack("<12fH", *(normal / np.linalg.norm(normal)), *tri.ravel(), 0)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("size, scene, warning", [
    ([50, 50, 50], "tabletop", r"category part: \S+/assets/part/part\.obj is 5\d\.\d m across as placed; meshes are "
                               r"read in metres: if it was modelled in millimetres, give the category scale: 0\.001"),
    ([0.08, 0.05, 0.001], "bin", r"\d+ of \d+ labeled objects fell off the support and are left out of the frames' "
                                 r"labels: a thin mesh passes through it within one world\.time_step"),
], ids=["modelled in millimetres", "a 1 mm sheet"])
def test_a_mesh_in_millimetres_or_too_thin_for_the_time_step_is_warned_of(tmp_path, size, scene, warning):
    """Runs that seemed to succeed: a 50 mm part read as 50 m, sheets falling through the bin's floor."""
    (tmp_path / "assets" / "part").mkdir(parents=True)
    write_obj(tmp_path / "assets" / "part" / "part.obj", np.array(size))  # a box of these sides
    done = run_simgen([f"output_dir={tmp_path / 'ds'}", "num_frames=4", *SMALL, "renderer=tiny", f"scene={scene}",
                       "catalog.folders=[{path: assets, categories: {part: 40}}]", "objects.categories=[part]",
                       "objects.count=[4,4]"], tmp_path)
    assert done.returncode == 0 and re.search(warning, done.stdout), done.stdout


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


CUBE_OBJ = cube_obj_lines(0.05)
L_PLATE = [f"v {x * 0.03} {y * 0.03} 0" for x, y in [(2, 0), (2, 1), (1, 1), (1, 2), (0, 2), (0, 0)]]


@pytest.mark.parametrize("lines, line, problem", [
    (CUBE_OBJ[:8] + ["f 1 2 9"], 9, "a face names vertex 9, but the file has 8 vertices"),
    (CUBE_OBJ[:8] + ["f -1 -2 -9"], 9, "a face names vertex -9, but the file has 8 vertices"),
    (CUBE_OBJ[:3] + ["v 0 nan 0"] + CUBE_OBJ[4:], 4, "a vertex needs three finite numbers, got 'v 0 nan 0'"),
    (CUBE_OBJ[:8], None, "this OBJ mesh has no faces"),
    (CUBE_OBJ[:3] + ["f 1 2", "f 2 3"], 4, "a face needs three or more vertices, got 'f 1 2' (PyBullet skips "
                                          "such faces, and this mesh has only those)"),  # else a segfault
    (CUBE_OBJ + ["  f 1 2 999"], 21, "a face names vertex 999, but the file has 8 vertices"),  # PyBullet reads it
    (CUBE_OBJ[:3] + ["\tv 0 nan 0"] + CUBE_OBJ[4:], 4, "a vertex needs three finite numbers, got 'v 0 nan 0'"),
    (L_PLATE + ["f 1 2 3 4 5 6"], 7, "a face of 6 vertices that PyBullet cannot draw as it is: it splits a face into "
                                     "triangles fanning out from its first vertex, and this one is not convex; export "
                                     "the mesh triangulated"),  # its notch was drawn, masked and boxed filled in
])
@pytest.mark.parametrize("through_urdf", [False, True])
def test_a_broken_mesh_is_a_one_line_error_naming_file_and_line(tmp_path, lines, line, problem, through_urdf):
    """PyBullet would load these and read memory past the vertices or NaN poses: simgen refuses them."""
    mesh = tmp_path / "broken.obj"
    mesh.write_text("\n".join(lines) + "\n")
    asset = mesh
    if through_urdf:
        asset = tmp_path / "broken.urdf"
        asset.write_text('<robot name="b"><link name="l"><visual><geometry><mesh filename="broken.obj"/></geometry>'
                         '</visual><collision><geometry><box size="0.05 0.05 0.05"/></geometry></collision>'
                         '<inertial><mass value="0.1"/><inertia ixx="1e-4" iyy="1e-4" izz="1e-4" ixy="0" ixz="0" '
                         'iyz="0"/></inertial></link></robot>')
    out = tmp_path / "ds"
    done = run_simgen([f"output_dir={out}", "num_frames=2", *SMALL, "objects.categories=[junk]",
                       f"+catalog.categories.junk={{id: 30, files: {asset}}}"], tmp_path)
    where = f"line {line}: " if line else ""
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"simgen: error: {mesh}: {where}{problem}"
    assert not (out / "annotations.json").exists()


ROUNDED = ["v 0 0 0", "v 0.3 0 0", "v 0.3 0.1 0", "v 0.2 0.066667 0", "v 0.1 0.033333 0"]  # points on an edge
SLIVER = ["v 0 0 0", "v 0.1 0.05 0", "v 0.2 0.1 0", "v 0.1 0.0501 0", "v 0.001 0.0004 0"]  # out and back, rounded


@pytest.mark.parametrize("vertices, face", [(L_PLATE, "f 6 1 2 3 4 5"), (L_PLATE, "f 1 2 3 6"), (L_PLATE, "f 4 5 6 1"),
                                            (ROUNDED, "f 1 2 3 4 5"), (SLIVER, "f 1 2 3 4 5")],
                         ids=["L from its other corner", "quad", "another quad", "rounded", "sliver"])
def test_faces_whose_fan_draws_the_face_pass(tmp_path, vertices, face):
    """The L from its other corner (its fan covers it exactly), convex quads, and faces whose fan runs backwards by
    a rounding's width: points on an edge (a laikago mesh of pybullet_data was refused), a face of no width."""
    mesh = tmp_path / "plate.obj"
    mesh.write_text("\n".join([*vertices, face]) + "\n")
    check_asset(str(mesh))


def test_a_face_of_two_vertices_among_triangles_passes(tmp_path):
    """PyBullet skips it and draws the rest (pybullet_data's samurai_monastry.obj has 201 of them)."""
    mesh = tmp_path / "stray.obj"
    mesh.write_text("\n".join(CUBE_OBJ[:10] + ["f 1 2", "\tf 3 4"] + CUBE_OBJ[10:]) + "\n")
    check_asset(str(mesh))


def test_every_builtin_asset_passes_the_mesh_checks():
    register_schema()
    with initialize_config_module(config_module="simgen.conf", version_base=None):
        cfg = compose(config_name="config")
    for category in instantiate(cfg.catalog).categories.values():
        for path in category.files:
            check_asset(path)


def broken_stl(path: Path, kind: str) -> None:
    write_stl(path, 0.05)
    data = bytearray(path.read_bytes())
    if kind == "truncated":
        data = data[:-20]
    elif kind == "padded":
        data += bytes(100)
    elif kind in ("short", "empty"):
        data = data[:34 if kind == "short" else 0]  # shorter than the 84 bytes of the header and triangle count
    elif kind == "nan":
        data[84 + 50 * 3 + 12 + 4:84 + 50 * 3 + 12 + 8] = struct.pack("<f", float("nan"))  # triangle 4, vertex 1, y
    elif kind == "ascii":
        data = b"solid cube\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 0.05 0 0\nvertex 0 0.05 0\n" \
               b"endloop\nendfacet\nendsolid cube\n"
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("kind, problem", [
    ("truncated", "a broken binary STL: its header counts 12 triangles (684 bytes), the file has 664 bytes; "
                  "PyBullet needs them equal"),
    ("padded", "a broken binary STL: its header counts 12 triangles (684 bytes), the file has 784 bytes; "
               "PyBullet needs them equal"),
    ("nan", "triangle 4 has a non-finite vertex"),
    ("short", "only 34 bytes, too short to be a binary STL (its header alone has 84)"),
    ("empty", "only 0 bytes, too short to be a binary STL (its header alone has 84)"),
    ("ascii", "an ASCII STL; PyBullet reads binary STL only (convert it, or use OBJ)"),
])
def test_an_stl_pybullet_would_crash_on_is_refused(tmp_path, kind, problem):
    """Each of these makes PyBullet's STL reader end the process with a segmentation fault."""
    mesh = tmp_path / f"{kind}.stl"
    broken_stl(mesh, kind)
    with pytest.raises(AssetError) as err:
        check_asset(str(mesh))
    assert str(err.value) == f"{mesh}: {problem}"


def test_a_broken_stl_in_a_run_is_a_one_line_error(tmp_path):
    mesh = tmp_path / "nan.stl"
    broken_stl(mesh, "nan")
    out = tmp_path / "ds"
    done = run_simgen([f"output_dir={out}", "num_frames=2", *SMALL, "objects.categories=[junk]",
                       f"+catalog.categories.junk={{id: 30, files: {mesh}}}"], tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == f"simgen: error: {mesh}: triangle 4 has a non-finite vertex"


def last_error_line(done) -> str:
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    return done.stderr.strip().splitlines()[-1]


def run_with(tmp_path: Path, asset: Path, *overrides: str):
    return run_simgen([f"output_dir={tmp_path / 'ds'}", "num_frames=1", *SMALL, "objects.categories=[junk]",
                       f"+catalog.categories.junk={{id: 30, files: {asset}}}", *overrides], tmp_path)


@pytest.mark.skipif(not egl_available(), reason="no EGL here")
def test_a_texture_image_that_cannot_be_read_is_a_one_line_error(tmp_path):
    """Under EGL a texture larger than world.max_texture_size is downsized: its image must decode."""
    image = tmp_path / "wood.png"
    cv2.imwrite(str(image), np.random.default_rng(0).integers(0, 255, (1024, 1024, 3), np.uint8))
    image.write_bytes(image.read_bytes()[:200])  # the header (and so the size) is there, the pixels are not
    (tmp_path / "cube.mtl").write_text("newmtl wood\nKd 1 1 1\nmap_Kd wood.png\n")
    mesh = tmp_path / "cube.obj"
    mesh.write_text("\n".join(["mtllib cube.mtl", "usemtl wood", *CUBE_OBJ]) + "\n")
    line = last_error_line(run_with(tmp_path, mesh, "renderer=egl"))
    assert line == f"simgen: error: {image}: cannot read this texture image (a truncated or corrupt file?); " \
                   f"it is a texture of {mesh}"


@pytest.mark.parametrize("texture, map_kd, problem", [
    (None, "wood.png", "{mtl}: its texture wood.png does not exist (looked for {tmp}/wood.png); put it there, or "
                       "delete its map_Kd line to draw the mesh untextured"),
    ("my wood.png", "my wood.png", "{mtl}: the texture 'my wood.png' has spaces in its name, which PyBullet cannot "
                                   "read; rename the file and its map_Kd line"),
    ("wood.png", "-s 1 1 1 wood.png", "{tmp}/wood.png: cannot read this texture image (a truncated or corrupt "
                                      "file?); it is a texture of {mesh}"),
    ("wood.jpg", "wood.jpg", "{tmp}/wood.jpg: cannot read this texture image (a truncated or corrupt file?); it is a "
                             "texture of {mesh}"),
], ids=["missing", "spaces", "corrupt", "truncated jpeg"])
def test_a_texture_pybullet_would_leave_out_is_a_one_line_error(tmp_path, texture, map_kd, problem):
    """PyBullet drew such a mesh untextured without a word (a scan, all grey); under TinyRenderer a small corrupt
    texture was not read by simgen at all."""
    if texture and texture.endswith(".jpg"):  # its header, and half its pixels
        cv2.imwrite(str(tmp_path / texture), np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8))
        (tmp_path / texture).write_bytes((tmp_path / texture).read_bytes()[:2000])
    elif texture:
        (tmp_path / texture).write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    (tmp_path / "cube.mtl").write_text(f"newmtl wood\nKd 1 1 1\nmap_Kd {map_kd}\n")
    mesh = tmp_path / "cube.obj"
    mesh.write_text("\n".join(["mtllib cube.mtl", "usemtl wood", *CUBE_OBJ]) + "\n")
    line = last_error_line(run_with(tmp_path, mesh, "renderer=tiny"))
    assert line == "simgen: error: " + problem.format(mtl=tmp_path / "cube.mtl", tmp=tmp_path, mesh=mesh)


@pytest.mark.parametrize("renderer", RENDERERS)
def test_a_urdf_naming_a_missing_mesh_is_a_one_line_error(tmp_path, renderer):
    urdf = tmp_path / "missing.urdf"
    urdf.write_text('<robot name="m"><link name="l"><visual><geometry><mesh filename="does_not_exist.obj"/>'
                    '</geometry></visual><collision><geometry><box size="0.05 0.05 0.05"/></geometry></collision>'
                    '<inertial><mass value="0.1"/><inertia ixx="1e-4" iyy="1e-4" izz="1e-4" ixy="0" ixz="0" '
                    'iyz="0"/></inertial></link></robot>')
    line = last_error_line(run_with(tmp_path, urdf, f"renderer={renderer}"))
    assert line == f"simgen: error: {urdf}: its visual mesh {tmp_path / 'does_not_exist.obj'} does not exist"


@pytest.mark.parametrize("content, problem", [
    (b"\x00\xff\xfe\x80garbage\x81\n", "this OBJ mesh has no faces"),
    ("\n".join(CUBE_OBJ[:2] + ["v 0 0"] + CUBE_OBJ[3:]).encode(), "line 3: a vertex needs three finite numbers, "
                                                                 "got 'v 0 0'"),
])
def test_a_broken_distractor_mesh_is_a_one_line_error(tmp_path, content, problem):
    """Distractor meshes are scaled by their extent before they are spawned: the mesh checks come first."""
    mesh = tmp_path / "clutter.obj"
    mesh.write_bytes(content)
    done = run_simgen([f"output_dir={tmp_path / 'ds'}", "num_frames=1", *SMALL, "distractors=[clutter]",
                       "distractors.clutter.shapes=[mesh]", f"distractors.clutter.files=[{mesh}]"], tmp_path)
    assert last_error_line(done) == f"simgen: error: {mesh}: {problem}"


@pytest.mark.parametrize("mass", ["0", "-1"])
def test_a_urdf_of_no_mass_is_a_one_line_error_unless_its_category_gives_one(tmp_path, mass):
    """PyBullet holds a body of mass 0 fixed where it is made: it hung in the air, labeled `resting`."""
    urdf = tmp_path / "weightless.urdf"
    urdf.write_text('<robot name="w"><link name="l"><visual><geometry><box size="0.05 0.05 0.05"/></geometry>'
                    '</visual><collision><geometry><box size="0.05 0.05 0.05"/></geometry></collision>'
                    f'<inertial><mass value="{mass}"/><inertia ixx="1e-4" iyy="1e-4" izz="1e-4" ixy="0" ixz="0" '
                    'iyz="0"/></inertial></link></robot>')
    line = last_error_line(run_with(tmp_path, urdf, "renderer=tiny"))
    assert line == (f"simgen: error: {urdf}: its base link's mass is not above 0, and PyBullet holds such a body "
                    "fixed where it is made (in the air); give it a <mass value> above 0, or its category a mass")
    done = run_simgen([f"output_dir={tmp_path / 'given'}", "num_frames=1", *SMALL, "objects.categories=[junk]",
                       f"+catalog.categories.junk={{id: 30, files: {urdf}, mass: 0.2}}", "renderer=tiny"], tmp_path)
    assert done.returncode == 0, done.stderr
    meta = json.loads((tmp_path / "given" / "meta" / "000000.json").read_text())
    assert {o["state"] for o in meta["objects"]} == {"resting"} and max(o["position"][2] for o in meta["objects"]) < 0.8
