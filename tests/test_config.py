import dataclasses
import inspect
import os
from importlib import resources
from typing import Iterator

import pytest
import yaml
from hydra.utils import get_object
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import ValidationError

from simgen.config import build_pipeline, dataset_config_yaml, run_settings
from simgen.errors import ConfigError, SimgenError
from simgen.hydra_errors import one_line
from simgen.world import World
from simgen.world.settle import Physics

from conftest import SMALL, compose_config, run_simgen

MULTI_SELECT = {"randomizers", "writers", "effects", "distractors"}


def group_options() -> list[tuple[str, str]]:
    conf = resources.files("simgen.conf")
    return sorted((group.name, option.name[:-5]) for group in conf.iterdir() if group.is_dir()
                  and not group.name.startswith("_") for option in group.iterdir() if option.name.endswith(".yaml"))


def test_every_group_has_options():
    groups = {g for g, _ in group_options()}
    assert {"scene", "catalog", "objects", "randomizers", "light", "camera", "world", "annotator", "writers"} <= groups


@pytest.mark.parametrize("group, option", group_options())
def test_every_option_composes_and_instantiates(group, option):
    selected = sorted({option, "coco", "images"}) if group == "writers" else [option]  # coco is needed; images
    # hold what exports read (bop: depth)
    override = f"{group}=[{','.join(selected)}]" if group in MULTI_SELECT else f"{group}={option}"
    pipeline = build_pipeline(compose_config([override]))
    assert pipeline.randomizers and pipeline.view_randomizers and pipeline.writers and pipeline.categories


def _targets(node: object, where: str) -> Iterator[tuple[str, dict]]:
    """Every mapping with a `_target_` inside a loaded YAML file, with where it is."""
    if isinstance(node, dict):
        if "_target_" in node:
            yield where, node
        for key, value in node.items():
            yield from _targets(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _targets(value, f"{where}[{i}]")


@pytest.mark.parametrize("group, option", group_options())
def test_every_option_lists_every_argument_of_its_class(group, option):
    """So that `group.key=value` overrides any argument without Hydra's `+` (simgen passes `catalog` itself)."""
    text = resources.files("simgen.conf").joinpath(group, f"{option}.yaml").read_text()
    for where, node in _targets(yaml.safe_load(text), f"{group}/{option}"):
        params = inspect.signature(get_object(node["_target_"])).parameters
        wanted = {name for name, param in params.items() if param.kind == param.POSITIONAL_OR_KEYWORD} - {"catalog"}
        if get_object(node["_target_"]) is World:  # and the engine settings it takes as **physics
            wanted |= {f.name for f in dataclasses.fields(Physics)}
        assert wanted <= node.keys(), f"{where} lacks {sorted(wanted - node.keys())}"


def test_defaults_build_a_full_pipeline():
    cfg = compose_config()
    pipeline = build_pipeline(cfg)
    names = [type(r.part).__name__ for r in pipeline.randomizers]
    assert names == ["ObjectsRandomizer", "LightRandomizer", "CameraRandomizer", "ColorRandomizer"]
    assert [type(r.part).__name__ for r in pipeline.view_randomizers] == ["CameraRandomizer"]
    assert [type(w).__name__ for w in pipeline.writers] == ["ImageWriter", "CocoWriter", "SceneWriter"]
    assert cfg.num_frames == 100 and cfg.camera.width == 640 and cfg.camera.height == 480


def test_saved_config_leaves_out_run_control_keys():
    text = dataset_config_yaml(compose_config(["overwrite=true"]))
    assert "overwrite" not in text and "output_dir" not in text and "seed: 0" in text


@pytest.mark.parametrize("override, key", [
    ("+camera.fovv=3", "camera.fovv: unknown key (expected one of: distance"),
    ("objects.count=0", "objects.count"),
    ("camera.width=0", "camera.width"),
    ("writers.coco.segmentation=mesh", "writers.coco.segmentation"),
    ("+catalog.categories.chair={id:20,files:/nope/chair.obj}", "categories.chair.files"),
    ("light.direction._target_=simgen.sampling.OnSphere", None),
    ("writers=[images,meta]", "writers: expected coco among them, writing annotations.json"),
    ("randomizers.color.targets=[bin]", "randomizers.color.targets: no fixture named 'bin' in scene 'tabletop'"),
    ("light.direction._target_=simgen.sampling.OnSpheer", "light.direction._target_: cannot import "
                                                         "'simgen.sampling.OnSpheer': ModuleNotFoundError"),
    ("camera.fov=nan", "camera.fov: expected a finite number, got nan"),
    ("camera.distance=[0.5,inf]", "camera.distance: expected a finite number, got inf"),
    ("+catalog.categories.chair={id:20,files:pybullet_data/duck_vhacd.urdf,scale:nan}",
     "catalog.categories.chair.scale: expected a finite number, got nan"),
    ("objects.categories=[]", "objects.categories: expected at least one category; null means every category"),
    ("objects.scale=0", "objects.scale: expected a number > 0, got 0.0"),
    ("objects.drop_height=-5", "objects.drop_height: expected a number >= 0, got -5.0"),
])
def test_bad_values_fail_naming_the_key(override, key):
    """Every value is checked as the config is read, before any frame or worker process."""
    if key is None:
        build_pipeline(compose_config([override]))  # a valid override: no error
        return
    with pytest.raises(SimgenError) as err:
        build_pipeline(compose_config([override]))
    assert key in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("overrides, message", [
    (["camera.fov=[0,200]"], "camera.fov: expected numbers in [1, 179], got values from 0.0 to 200.0"),
    (["camera.distance=0.01"], "camera.distance: expected a number > 0.05"),
    (["light.ambient=[0,20]"], "light.ambient: expected numbers in [0, 10]"),
    (["effects=[jpeg]", "effects.jpeg.quality=[0,200]"], "effects.jpeg.quality: expected numbers in [1, 100]"),
    (["randomizers=[physics]", "randomizers.physics.restitution=2"], "randomizers.physics.restitution: expected a "
                                                                     "number in [0, 1], got 2.0"),
    (["distractors=[floating]", "distractors.floating.depth=[0.5,2]"], "distractors.floating.depth: expected "
                                                                       "numbers in [0, 1]"),
    (["~light.color", "+light.color={_target_: simgen.sampling.Choice, values: [[1, 1, 1], [2, 1, 1]], "
      "weights: [1, 0.00001]}"], "light.color[0]: expected numbers in [0, 1], got values from 1.0 to 2.0"),
    (["~light.color", "+light.color={_target_: simgen.sampling.Normal, mean: [0.5, 0.5, 0.5], std: 0.1, "
      "low: 0, high: [1, 1, 1.5]}"], "light.color[2]: expected numbers in [0, 1], got values from 0.0 to 1.5"),
    (["camera.resolution={_target_: simgen.sampling.Choice, values: [[64, 48], [0, 48]], weights: [1, 0.00001]}"],
     "camera.resolution[0]: expected numbers in [1, 8192], got values from 0.0 to 64.0"),
    # cells finer than a pixel: a scale of 1e9 asked numpy for exbibytes (a traceback), 20000 ground for minutes
    (["randomizers=[texture]", "randomizers.texture.scale=1e9"], "randomizers.texture.scale: expected a number in "
                                                                 "(0, 1024], got 1000000000.0"),
    (["effects=[background_image]", "effects.background_image.scale=[2,20000]"], "effects.background_image.scale: "
                                                                                 "expected numbers in (0, 1024]"),
])
def test_sampled_values_out_of_range_fail_as_the_config_is_read(overrides, message):
    """A range known up front ([low, high], a constant) is checked then, not when a frame draws from it."""
    with pytest.raises(SimgenError) as err:
        build_pipeline(compose_config(overrides))
    assert str(err.value).startswith(message)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_workers_0_means_one_per_core_the_process_may_use():
    """A Slurm job of cpus_per_task=8 on a 64-core node would otherwise start 64 workers."""
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})
    try:
        assert run_settings(compose_config(["workers=0"]))[0] == 1
    finally:
        os.sched_setaffinity(0, cores)
    assert run_settings(compose_config(["workers=0"]))[0] == len(cores)


@pytest.mark.parametrize("override, expected", [
    ("seed=-1", "seed: expected an integer >= 0, got -1"),
    ("workers=-1", "workers: expected an integer >= 0, got -1"),
    ("shard.index=1", "shard.index: expected an integer in [0, 0], got 1"),
])
def test_bad_run_settings_name_the_key(override, expected):
    with pytest.raises(ConfigError) as err:
        run_settings(compose_config([override]))
    assert str(err.value) == expected


@pytest.mark.parametrize("override, expected", [
    ("seed=-1", "simgen: error: seed: expected an integer >= 0, got -1"),
    ("camera.fov=nan", "simgen: error: camera.fov: expected a finite number, got nan"),
    ("objects.scale=0", "simgen: error: objects.scale: expected a number > 0, got 0.0"),
])
def test_bad_values_stop_the_command_before_any_frame_is_written(tmp_path, override, expected):
    out = tmp_path / "ds"
    done = run_simgen([f"output_dir={out}", "num_frames=2", *SMALL, override], tmp_path)
    assert (done.returncode, done.stderr.strip().splitlines()[-1]) == (2, expected), done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists() or {p.name for p in out.iterdir()} <= {"simgen.log"}


@pytest.mark.parametrize("override, expected", [
    ("camera.fov=${nope}", "camera.fov: Interpolation key 'nope' not found"),
    ("camera.fov=${oops:1}", "camera.fov: Unsupported interpolation type oops"),
    ("light.ambient=${light.ambient}", "light.ambient: Recursive interpolation detected"),
])
def test_an_interpolation_that_cannot_be_resolved_names_its_key(override, expected):
    """Hydra resolves a class's config in a copy that has lost its key: the error named none."""
    with pytest.raises(ConfigError) as err:
        build_pipeline(compose_config([override]))
    assert str(err.value) == expected


def test_an_output_dir_that_cannot_be_resolved_is_one_line(tmp_path):
    """Before, Hydra's callback printed a warning over five lines, and the error named hydra.run.dir."""
    for sweep in ([], ["-m"]):
        done = run_simgen([*sweep, "output_dir=${nope}", "num_frames=1", *SMALL], tmp_path)
        assert (done.returncode, done.stderr.strip()) == (2, "simgen: error: output_dir: Interpolation key 'nope' "
                                                             "not found"), done.stderr


@pytest.mark.parametrize("override", ["num_frames=abc", "seed=1.5", "nmu_frames=3"])
def test_top_level_typos_and_types_fail_at_compose(override):
    with pytest.raises((ConfigCompositionException, ValidationError)):
        compose_config([override])


@pytest.mark.parametrize("experiment, randomizers, effects", [
    ("dr_none", ["ObjectsRandomizer", "LightRandomizer", "CameraRandomizer"], []),
    ("dr_light", ["ObjectsRandomizer", "LightRandomizer", "CameraRandomizer", "ClutterDistractors", "ColorRandomizer",
                  "TextureRandomizer", "ColorRandomizer", "TextureRandomizer"],
     ["GaussianNoise", "ColorJitter", "Blur"]),
    ("dr_strong", ["ObjectsRandomizer", "LightRandomizer", "CameraRandomizer", "ClutterDistractors",
                   "FloatingDistractors", "ColorRandomizer", "TextureRandomizer", "ColorRandomizer", "TextureRandomizer",
                   "PhysicsRandomizer", "PileRandomizer"],
     ["BackgroundImage", "MotionBlur", "Blur", "ColorJitter", "Gamma", "Vignette", "PoissonNoise", "GaussianNoise",
      "JpegArtifacts"]),
])
def test_experiments_select_their_randomizers_and_effects(experiment, randomizers, effects):
    pipeline = build_pipeline(compose_config([f"experiment={experiment}"]))
    assert [type(r.part).__name__ for r in pipeline.randomizers] == randomizers
    assert [type(e.part).__name__ for e in pipeline.effects] == effects


@pytest.mark.parametrize("overrides, effects, distractors", [
    (["experiment=dr_strong", "effects=[blur]"], ["Blur"], ["ClutterDistractors", "FloatingDistractors"]),
    (["experiment=dr_light", "effects=[]", "distractors=[floating]"], [], ["FloatingDistractors"]),
])
def test_a_group_selected_on_the_command_line_wins_over_an_experiments_values(overrides, effects, distractors):
    """The experiment leaves values for the options it selects; those the command line deselects are left out."""
    pipeline = build_pipeline(compose_config(overrides))
    assert [type(e.part).__name__ for e in pipeline.effects] == effects
    assert [type(r.part).__name__ for r in pipeline.randomizers if "Distractors" in type(r.part).__name__] == distractors


@pytest.mark.parametrize("overrides, camera", [
    (["scene=shelf"], "shelf"),
    (["scene=shelf", "camera=orbit"], "orbit"),
    (["scene=shelf", "experiment=dr_strong"], "hemisphere"),
    (["scene=shelf", "experiment=dr_light"], "shelf"),
    (["experiment=dr_none"], "orbit"),
    (["scene=tabletop"], "orbit"),
])
def test_the_shelf_picks_its_camera_and_the_command_line_or_an_experiment_still_wins(overrides, camera):
    option = yaml.safe_load(resources.files("simgen.conf").joinpath(f"camera/{camera}.yaml").read_text())
    assert OmegaConf.to_container(compose_config(overrides).camera) == option


def test_an_entry_that_is_no_option_of_its_group_is_an_error():
    with pytest.raises(SimgenError, match=r"^effects\.jpg: not an option of effects \(expected one of: .*jpeg"):
        build_pipeline(compose_config(["+effects.jpg={quality: 3}"]))


def test_setting_an_option_that_is_not_selected_says_how_to_select_it():
    with pytest.raises(ConfigCompositionException) as err:
        compose_config(["effects.jpeg.quality=50"])
    assert one_line(err.value) == "effects.jpeg: the effects option 'jpeg' is not selected; select it with " \
                                  "effects=[...,jpeg]"


def test_a_list_given_for_a_sampler_of_the_config_says_how_to_replace_it():
    with pytest.raises(ConfigCompositionException) as err:
        compose_config(["light=random", "light.direction=[1,1,1]"])
    assert one_line(err.value) == ("light.direction: the config gives a mapping here (its fields, or a sampler's "
                                   "_target_ and arguments), which a value on the command line cannot replace; set a "
                                   "field with light.direction.FIELD=VALUE, or delete the mapping and add yours: "
                                   "'~light.direction' '+light.direction=VALUE'")
    build_pipeline(compose_config(["light=random", "~light.direction", "+light.direction=[0,0,2]"]))


def test_a_sampler_given_for_a_list_of_the_config_says_how_to_replace_it():
    """It said the config gave a mapping there."""
    sampler = "{_target_: simgen.sampling.LogUniform, low: 0.02, high: 0.1}"
    with pytest.raises(ConfigCompositionException) as err:
        compose_config([f"objects.drop_height={sampler}"])
    assert one_line(err.value) == ("objects.drop_height: the config gives a list here ([low, high], or values), "
                                   "which a mapping on the command line cannot replace; delete the list and add yours: "
                                   "'~objects.drop_height' '+objects.drop_height=VALUE'")
    build_pipeline(compose_config(["~objects.drop_height", f"+objects.drop_height={sampler}"]))


def test_experiment_values_override_config_and_the_command_line_overrides_them():
    cfg = compose_config(["experiment=dr_strong", "randomizers.texture.probability=0.1"])
    assert cfg.randomizers.texture.probability == 0.1 and cfg.light.shadow_probability == 0.5
    assert cfg.camera.roll == [-20.0, 20.0]


def test_a_tilde_in_output_dir_is_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    done = run_simgen(["output_dir='~/data'", "num_frames=1", *SMALL], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "home" / "data" / "annotations.json").is_file() and not (tmp_path / "~").exists()
