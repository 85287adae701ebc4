from importlib import resources

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ValidationError

from simgen.config import build_pipeline, dataset_config_yaml
from simgen.errors import SimgenError

from conftest import compose_config

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
    override = f"{group}=[{option}]" if group in MULTI_SELECT else f"{group}={option}"
    pipeline = build_pipeline(compose_config([override]))
    assert pipeline.randomizers and pipeline.view_randomizers and pipeline.writers and pipeline.categories


def test_defaults_build_a_full_pipeline():
    cfg = compose_config()
    pipeline = build_pipeline(cfg)
    names = [type(r).__name__ for r in pipeline.randomizers]
    assert names == ["ObjectsRandomizer", "ColorRandomizer", "LightRandomizer", "CameraRandomizer"]
    assert [type(r).__name__ for r in pipeline.view_randomizers] == ["CameraRandomizer"]
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
])
def test_bad_values_fail_naming_the_key(override, key):
    if key is None:
        build_pipeline(compose_config([override]))  # a valid override: no error
        return
    with pytest.raises(SimgenError) as err:
        build_pipeline(compose_config([override]))
    assert key in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("override", ["num_frames=abc", "seed=1.5", "nmu_frames=3"])
def test_top_level_typos_and_types_fail_at_compose(override):
    with pytest.raises((ConfigCompositionException, ValidationError)):
        compose_config([override])


@pytest.mark.parametrize("experiment, randomizers, effects", [
    ("dr_none", ["ObjectsRandomizer", "LightRandomizer", "CameraRandomizer"], []),
    ("dr_light", ["ObjectsRandomizer", "ColorRandomizer", "TextureRandomizer", "ColorRandomizer", "TextureRandomizer",
                  "LightRandomizer", "CameraRandomizer", "ClutterDistractors"], ["GaussianNoise", "ColorJitter", "Blur"]),
    ("dr_strong", ["ObjectsRandomizer", "ColorRandomizer", "TextureRandomizer", "ColorRandomizer", "TextureRandomizer",
                   "PhysicsRandomizer", "PileRandomizer", "LightRandomizer", "CameraRandomizer", "ClutterDistractors",
                   "FloatingDistractors"],
     ["BackgroundImage", "MotionBlur", "Blur", "ColorJitter", "Gamma", "Vignette", "PoissonNoise", "GaussianNoise",
      "JpegArtifacts"]),
])
def test_experiments_select_their_randomizers_and_effects(experiment, randomizers, effects):
    pipeline = build_pipeline(compose_config([f"experiment={experiment}"]))
    assert [type(r).__name__ for r in pipeline.randomizers] == randomizers
    assert [type(e).__name__ for e in pipeline.effects] == effects


def test_experiment_values_override_config_and_the_command_line_overrides_them():
    cfg = compose_config(["experiment=dr_strong", "randomizers.texture.probability=0.1"])
    assert cfg.randomizers.texture.probability == 0.1 and cfg.light.shadow_probability == 0.5
    assert cfg.camera.roll == [-20.0, 20.0]
