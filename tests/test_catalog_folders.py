"""catalog.folders: each category folder's URDFs, or else its OBJ and STL files, are its assets; other files are
skipped."""

from pathlib import Path

import numpy as np
import pytest

from simgen.assets import Catalog
from simgen.config import build_pipeline
from simgen.errors import ConfigError, SimgenError

from conftest import compose_config

TRIANGLE = "mtllib a.mtl\nv 0 0 0\nv 0.05 0 0\nv 0 0.05 0\nusemtl red\nf 1 2 3\n"


def write(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def assets(tmp_path: Path) -> Path:
    """chair: an OBJ with its MTL and texture (the usual layout); lamp: an upper-case .OBJ and a README;
    empty: no mesh at all."""
    write(tmp_path / "chair" / "a.obj", TRIANGLE)
    write(tmp_path / "chair" / "a.mtl", "newmtl red\nKd 1 0 0\nmap_Kd wood.png\n")
    write(tmp_path / "chair" / "wood.png")
    write(tmp_path / "lamp" / "B.OBJ", TRIANGLE)
    write(tmp_path / "lamp" / "README.txt", "a lamp")
    write(tmp_path / "empty" / "a.mtl", "newmtl red\n")
    return tmp_path


def test_only_mesh_files_of_a_category_folder_are_taken(assets):
    catalog = Catalog(folders=[{"path": str(assets), "categories": {"chair": 20, "lamp": 21}}])
    assert [Path(f).name for f in catalog["chair"].files] == ["a.obj"]
    assert [Path(f).name for f in catalog["lamp"].files] == ["B.OBJ"]
    assert catalog["lamp"].sample(np.random.default_rng(0)).kind == "mesh"


def test_a_folder_category_may_give_its_scale_and_mass(assets):
    """A CAD export in millimetres needs scale 0.001, which only a catalog entry could give."""
    catalog = Catalog(folders=[{"path": str(assets), "categories": {"chair": {"id": 20, "scale": 0.001, "mass": 2}}}])
    chair = catalog["chair"]
    assert (chair.id, chair.scale, chair.mass, [Path(f).name for f in chair.files]) == (20, 0.001, 2.0, ["a.obj"])


def test_the_meshes_beside_a_urdf_are_its_parts_not_assets(tmp_path):
    write(tmp_path / "table" / "table.obj", TRIANGLE)
    write(tmp_path / "table" / "table.urdf", "<robot name='t'><link name='l'/></robot>")
    catalog = Catalog(folders=[{"path": str(tmp_path), "categories": {"table": 20}}])
    assert [Path(f).name for f in catalog["table"].files] == ["table.urdf"]


def test_a_folder_category_of_a_catalog_entrys_name_is_refused_unless_that_one_is_dropped(assets):
    """A folder's `duck` silently took the built-in duck's place (and id): now one line, which says how to."""
    entries = {"chair": {"id": 1, "files": "/no/such.obj"}, "ball": {"id": 2, "primitive": "sphere", "size": 0.1}}
    with pytest.raises(ConfigError, match=r"^folders\[0\]\.categories\.chair: category 'chair' is defined already, by "
                                          r"catalog\.categories\.chair; give it another name, or drop that one with "
                                          r"catalog\.categories\.chair=null$"):
        Catalog(entries, folders=[{"path": str(assets), "categories": {"chair": 20}}])
    twice = [{"path": str(assets), "categories": {"chair": 20}}, {"path": str(assets), "categories": {"chair": 21}}]
    with pytest.raises(ConfigError, match=r"^folders\[1\]\.categories\.chair: category 'chair' is defined already, by "
                                          r"catalog\.folders\[0\]\.categories\.chair; give it another name$"):
        Catalog({}, folders=twice)
    catalog = Catalog({**entries, "chair": None}, folders=[{"path": str(assets), "categories": {"chair": 20}}])
    assert list(catalog.categories) == ["ball", "chair"] and catalog["chair"].id == 20


@pytest.mark.parametrize("folders, expected", [
    (lambda d: [{"path": d, "categories": {"chair": 20, "empty": 22}}],
     "folders[0].categories.empty: no URDF, OBJ or STL file in {d}/empty"),
    (lambda d: [{"path": d, "categories": {"chair": 20}}, {"path": d, "categories": {"sofa": 23}}],
     "folders[1].categories.sofa: no folder {d}/sofa"),
    (lambda d: [{"path": d, "categories": {"chair": {"id": 20, "scal": 0.001}}}],
     "folders[0].categories.chair.scal: unknown key"),
    (lambda d: [{"path": d, "categories": {"chair": {"scale": 0.001}}}],
     "folders[0].categories.chair.id: expected an integer"),
    (lambda d: [{"path": d, "categories": {float("nan"): 20}}],
     "folders[0].categories.nan: expected a folder's name, got nan (float): quote it"),
    (lambda d: [{"path": d, "categories": {"chair": 20, "lamp": 20}}],
     "categories: category id 20 is used twice, by chair and lamp; ids must be unique"),
    (lambda d: [{"path": d, "categories": {"chair": 0}}],
     "folders[0].categories.chair: expected an integer >= 1, got 0"),
    (lambda d: [{"path": d, "categories": {"chair": 20}, "scale": 2}],
     "folders[0]: expected {{path: DIR, categories: "),
    (lambda d: [{"path": d, "categories": {}}], "folders[0]: expected {{path: DIR, categories: {{NAME: ID}}}}, got "),
    (lambda d: [d], "folders[0]: expected {{path: DIR, categories: {{NAME: ID}}}}, got "),
    (lambda d: d, "folders: expected a list of {{path: DIR, categories: {{NAME: ID}}}}, got "),
])
def test_bad_folders_name_the_folder_entry(assets, folders, expected):
    with pytest.raises(ConfigError) as err:
        Catalog(folders=folders(str(assets)))
    assert str(err.value).startswith(expected.format(d=assets))


def test_folder_errors_name_the_full_key(assets):
    override = f"catalog.folders=[{{path: '{assets}', categories: {{empty: 20}}}}]"
    with pytest.raises(SimgenError, match=r"^catalog\.folders\[0\]\.categories\.empty: no URDF, OBJ or STL file in "):
        build_pipeline(compose_config([override]))


def test_a_folder_with_mtl_files_builds_a_pipeline(assets):
    override = f"catalog.folders=[{{path: '{assets}', categories: {{chair: 20, lamp: 21}}}}]"
    pipeline = build_pipeline(compose_config([override, "objects.categories=[chair,lamp]"]))
    assert {c["name"] for c in pipeline.categories} >= {"chair", "lamp"}
