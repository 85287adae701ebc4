"""Bad catalog entries, scene fixtures and meshes stop the run with a one-line error naming the key or the file,
before the first frame is written."""

from pathlib import Path

import numpy as np
import pytest

from conftest import SMALL, compose_config, run_simgen
from simgen.added_entries import check_added_entries
from simgen.assets import Catalog
from simgen.config import build_pipeline
from simgen.errors import AssetError, ConfigError, SimgenError
from simgen.mesh_check import check_asset
from simgen.sampling import Normal
from simgen.scene import make_scene

BOX = "size: [[0.1, 0.1, 0.1], [0.12, 0.12, 0.12]]"
TABLE = "scene.fixtures.table"
TRIANGLE = ["v 0 0 0", "v 0.05 0 0", "v 0 0.05 0", "f 1 2 3"]


def error_line(args: list[str], tmp_path: Path) -> str:
    """The one line a run of the real command line ends with; it must exit 2 without a traceback or a dataset."""
    out = tmp_path / "ds"
    done = run_simgen([f"output_dir={out}", "num_frames=1", *SMALL, *args], tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert not (out / "annotations.json").exists()
    return done.stderr.strip().splitlines()[-1]


def build_error(overrides: list[str]) -> str:
    """The one-line error building the run from its composed config raises."""
    with pytest.raises(SimgenError) as err:
        build_pipeline(compose_config(overrides))
    assert "\n" not in str(err.value)
    return str(err.value)


@pytest.mark.parametrize("args, expected", [
    ([f"+catalog.categories.x={{id: 70000, primitive: box, {BOX}}}", "objects.categories=[x]"],
     "catalog.categories.x.id: expected an id in [1, 65535] (the semantic masks are 16-bit PNGs"),
    ([f"~{TABLE}", f"+{TABLE}={{asset: {{kind: box, size: [1, 1]}}}}"],
     f"{TABLE}.asset.size: a box needs 3 sizes in metres [x, y, z], got [1, 1]"),
    ([f"+{TABLE}.rgba=[2,0,0,1]"], f"{TABLE}.rgba[0]: expected a number in [0, 1], got 2.0"),
    ([f"+{TABLE}.asset.foo=1"], f"{TABLE}.asset.foo: unknown key (expected one of kind, path, size)"),
    ([f"~{TABLE}", f"+{TABLE}={{asset: {{kind: mesh}}}}"],
     f"{TABLE}.asset.path: missing: a mesh asset needs the path of its OBJ or STL file"),
    (["+catalog.categories.x={id: 20, files: [a, b]}", "objects.categories=[x]"],
     "catalog.categories.x.files: expected the path or glob of URDF, OBJ or STL files (one string)"),
    ([f"{TABLE}=abc"], f"{TABLE}: expected a mapping {{asset: "),
    (["+catalog.categories.x={id: 20, primitive: sphere, size: [[-0.02], [0.04]]}", "objects.categories=[x]"],
     "catalog.categories.x.size: expected sizes > 0 in metres [radius], but this range reaches [-0.02]"),
    (["+catalog.categories.jenga={id: 30, files: chair.obj}"],  # Hydra merged it into the built-in jenga
     "catalog.categories.jenga: there is one already, and + merges into it (keeping its mass, scale): to change "
     "its fields, leave out the + (catalog.categories.jenga.FIELD=...); to add one of yours, give it another name or "
     "remove that one first (~catalog.categories.jenga +catalog.categories.jenga=...)"),
    ([f"+{TABLE}={{asset: {{kind: box, size: [1, 1, 1]}}}}"], f"{TABLE}: there is one already, and + merges into it "
                                                             "(keeping its asset.path)"),
])
def test_a_bad_value_stops_the_command_naming_its_key(tmp_path, args, expected):
    assert error_line(args, tmp_path).startswith(f"simgen: error: {expected}")


@pytest.mark.parametrize("overrides", [
    ["+catalog.categories.chair={id: 30, primitive: box, size: [0.1, 0.1, 0.1]}"],
    ["~catalog.categories.box", "+catalog.categories.box={id: 30, primitive: box, size: [0.1, 0.1, 0.1]}"],
    ["+catalog.categories.box.mass=0.2", "catalog.categories.box={id: 8, primitive: box}"],
    ["++catalog.categories.box={id: 30}", "experiment=dr_light"],
])
def test_entries_added_under_a_new_name_or_in_place_of_one_removed_are_taken(overrides):
    check_added_entries(compose_config(overrides), overrides)


@pytest.mark.parametrize("overrides, expected", [
    ([f"~{TABLE}", f"+{TABLE}={{asset: {{kind: box}}}}"], f"{TABLE}.asset.size: a box needs 3 sizes in metres"),
    ([f"~{TABLE}", f"+{TABLE}={{asset: {{kind: cylinder, size: []}}}}"],
     f"{TABLE}.asset.size: a cylinder needs 2 sizes in metres [radius, length], got []"),
    ([f"~{TABLE}", f"+{TABLE}={{asset: {{kind: sphere, size: [0]}}}}"],
     f"{TABLE}.asset.size[0]: expected a number > 0"),
    ([f"+{TABLE}.orientation=[0,0,0,0]"],
     f"{TABLE}.orientation: expected a rotation quaternion [x, y, z, w], not all 0"),
    ([f"+{TABLE}.asset.mass=2"], f"{TABLE}.asset.mass: a fixture takes no mass: fixtures stay where they are put"),
    ([f"{TABLE}.asset=abc"], f"{TABLE}.asset: expected a mapping {{kind: urdf|mesh, path: FILE}}"),
    ([f"+{TABLE}.asset.size=[1,1,1]"], f"{TABLE}.asset.size: a urdf asset takes no size"),
    ([f"~{TABLE}", f"+{TABLE}={{asset: {{kind: mesh, path: scenes/tabletop/table.urdf}}}}"],
     f"{TABLE}.asset.path: expected a .obj or .stl file for a mesh asset"),
    ([f"{TABLE}.asset.path=nope.urdf"], f"{TABLE}.asset.path: asset file not found: 'nope.urdf'"),
    (["scene.fixtures=abc"], "scene.fixtures: expected a mapping {NAME: "),
    (["scene.region=[[0,0]]"], "scene.region: expected [[xmin, ymin], [xmax, ymax]], got [[0, 0]]"),
    (["+catalog.categories.x={id: 20, files: []}"], "catalog.categories.x.files: expected the path or glob"),
    (["+catalog.categories.x={id: 20, files: 5}"], "catalog.categories.x.files: expected the path or glob"),
    (["+catalog.categories.x={id: 20, files: pybullet_data/duck_vhacd.urdf, exclude: a.urdf}"],
     "catalog.categories.x.exclude: expected a list of paths, got 'a.urdf'"),
    (["+catalog.categories.x={id: 20, files: 'pybullet_data/duck*.urdf', exclude: [pybullet_data/Duck_vhacd.urdf]}"],
     "catalog.categories.x.exclude: 'pybullet_data/Duck_vhacd.urdf' is none of the files 'pybullet_data/duck*.urdf' "
     "matches (looked for "),
    (["+catalog.categories.x={id: 20, files: pybullet_data/duck_vhacd.urdf, exclude: [pybullet_data/duck_vhacd.urdf]}"],
     "catalog.categories.x.exclude: excludes every file 'pybullet_data/duck_vhacd.urdf' matches"),
    (["catalog.categories.duck=abc"], "catalog.categories.duck: expected a mapping {id: ID, files: PATH_OR_GLOB}"),
    (["catalog.categories=abc"], "catalog.categories: expected a mapping {NAME: "),
    (["catalog.folders=[{path: x, categories: {chair: 65536}}]"],
     "catalog.folders[0].categories.chair: expected an id in [1, 65535]"),
    (["+catalog.categories.x={id: 20, primitive: cylinder, size: [[0.01, 0.0], [0.02, 0.05]]}"],
     "catalog.categories.x.size: expected sizes > 0 in metres [radius, length], but this range reaches [0.01, 0.0]"),
    (["+catalog.categories.x={id: 20, primitive: box, size: [[0.1, 0.1], [0.2, 0.2]]}"],
     "catalog.categories.x.size: expected 3 numbers, a pair [low, high] of such lists, or a sampler with _target_"),
])
def test_a_bad_value_fails_as_the_config_is_read_naming_its_key(overrides, expected):
    assert build_error(overrides).startswith(expected)


def test_a_primitive_size_drawn_out_of_range_names_its_key():
    """A range not known up front (a normal sampler without `low`) is checked as each size is drawn."""
    category = Catalog({"x": {"id": 20, "primitive": "sphere", "size": Normal([0.05], [0.05])}})["x"]
    rng = np.random.default_rng(1)
    with pytest.raises(ConfigError, match=r"^catalog\.categories\.x\.size\[0\]: expected a number > 0"):
        for _ in range(100):
            category.sample(rng)


def test_good_primitive_sizes_and_fixture_values_are_taken():
    """A constant size list, a sphere's radius as a number; a fixture's quaternion is normalised."""
    catalog = Catalog({"can": {"id": 20, "primitive": "cylinder", "size": [0.02, 0.05]},
                       "ball": {"id": 21, "primitive": "sphere", "size": 0.03}})
    rng = np.random.default_rng(0)
    assert catalog["can"].sample(rng).size == (0.02, 0.05) and catalog["ball"].sample(rng).size == (0.03,)
    fixtures = {"slab": {"asset": {"kind": "box", "size": [1, 1, 0.1]}, "orientation": [0, 0, 0, 2],
                         "rgba": [1, 0.5, 0, 1]}}
    scene = make_scene("s", 0.0, [[-1, -1], [1, 1]], [0, 0, 0], fixtures)
    assert scene.fixtures[0].orientation == (0.0, 0.0, 0.0, 1.0)


@pytest.mark.parametrize("vertices, problem", [
    (["v 0.1 0.1 0.1"] * 3, "all its vertices are the same point [0.1, 0.1, 0.1]: the mesh has no extent"),
    (["v 0 0 0", "v 2e6 0 0", "v 0 5 0"], "a vertex coordinate reaches 2e+06 (at most 1e+06 expected): the file's "
                                          "units are not metres-compatible; rescale the mesh"),
])
def test_a_mesh_without_extent_or_in_absurd_units_is_refused(tmp_path, vertices, problem):
    mesh = tmp_path / "bad.obj"
    mesh.write_text("\n".join([*vertices, "f 1 2 3"]) + "\n")
    with pytest.raises(AssetError) as err:
        check_asset(str(mesh))
    assert str(err.value) == f"{mesh}: {problem}"


def test_a_mesh_without_extent_stops_the_command_naming_the_file(tmp_path):
    mesh = tmp_path / "point.obj"
    mesh.write_text("\n".join(["v 0 0 0"] * 3 + ["f 1 2 3"]) + "\n")
    line = error_line(["objects.categories=[junk]", f"+catalog.categories.junk={{id: 30, files: {mesh}}}"], tmp_path)
    assert line == f"simgen: error: {mesh}: all its vertices are the same point [0.0, 0.0, 0.0]: the mesh has no extent"


def test_an_obj_whose_material_file_is_missing_passes(tmp_path):
    """PyBullet draws it untextured."""
    mesh = tmp_path / "plain.obj"
    mesh.write_text("\n".join(["mtllib missing.mtl", "usemtl wood", *TRIANGLE]) + "\n")
    check_asset(str(mesh))
