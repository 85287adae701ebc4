import json

import cv2
import numpy as np
import pytest

from simgen.config import build_pipeline
from simgen.effects.background import BackgroundImage
from simgen.effects.sensor import (Blur, ColorJitter, GaussianNoise, Gamma, JpegArtifacts, MotionBlur, PoissonNoise,
                                   Vignette)
from simgen.errors import AssetError, ConfigError
from simgen.frame import Frame
from simgen.pipeline import frame_spec

from conftest import SMALL, compose_config, run_simgen


@pytest.fixture(scope="module")
def rendered() -> Frame:
    """A real rendered tabletop frame (TinyRenderer, 160x120)."""
    pipeline = build_pipeline(compose_config(["camera.width=160", "camera.height=120", "renderer=tiny",
                                                     "camera.elevation=20", "camera.distance=1.2"]))
    scene = frame_spec(pipeline, seed=0, index=1)
    try:
        pipeline.world.build(scene)
        pipeline.world.settle(scene)
        return pipeline.world.render(scene)
    finally:
        pipeline.world.close()


def copy(frame: Frame) -> Frame:
    return Frame(frame.rgb.copy(), frame.depth.copy(), frame.instance.copy())


def sharpness(rgb: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var())


EFFECTS = {
    "gaussian": lambda p: GaussianNoise(probability=p, sigma=6.0),
    "poisson": lambda p: PoissonNoise(probability=p, photons=20.0),
    "blur": lambda p: Blur(probability=p, sigma=1.5),
    "motion": lambda p: MotionBlur(probability=p, length=7.0, angle=30.0),
    "jpeg": lambda p: JpegArtifacts(probability=p, quality=10),
    "jitter": lambda p: ColorJitter(probability=p, brightness=1.3, contrast=0.7, saturation=0.5, hue=0.1),
    "gamma": lambda p: Gamma(probability=p, gamma=2.0),
    "vignette": lambda p: Vignette(probability=p, strength=0.8),
    "background": lambda p: BackgroundImage(probability=p),
}


@pytest.mark.parametrize("name", EFFECTS)
def test_effect_changes_rgb_only(rendered, name):
    frame = copy(rendered)
    EFFECTS[name](1.0)(frame, np.random.default_rng(0))
    assert frame.rgb.shape == rendered.rgb.shape and frame.rgb.dtype == np.uint8
    assert not np.array_equal(frame.rgb, rendered.rgb)
    assert np.array_equal(frame.depth, rendered.depth) and np.array_equal(frame.instance, rendered.instance)
    again = copy(rendered)
    drawn = EFFECTS[name](1.0)(again, np.random.default_rng(0))
    assert np.array_equal(frame.rgb, again.rgb), "not deterministic for the same rng"
    assert isinstance(drawn, dict) and drawn and json.loads(json.dumps(drawn)) == drawn  # what the meta records


@pytest.mark.parametrize("name", EFFECTS)
def test_probability_zero_leaves_the_frame_alone(rendered, name):
    frame = copy(rendered)
    assert EFFECTS[name](0.0)(frame, np.random.default_rng(0)) is None
    assert np.array_equal(frame.rgb, rendered.rgb)


def apply(effect, frame: Frame, seed: int = 0) -> np.ndarray:
    out = copy(frame)
    effect(out, np.random.default_rng(seed))
    return out.rgb.astype(float)


def test_noise_grows_with_sigma_and_shrinks_with_photons(rendered):
    base = rendered.rgb.astype(float)
    assert np.std(apply(GaussianNoise(sigma=8.0), rendered) - base) > 2 * np.std(apply(GaussianNoise(sigma=2.0), rendered) - base)
    assert np.std(apply(PoissonNoise(photons=10.0), rendered) - base) > 2 * np.std(apply(PoissonNoise(photons=1000.0), rendered) - base)


def test_blurs_remove_detail(rendered):
    for effect in (Blur(probability=1, sigma=1.5), MotionBlur(probability=1, length=9.0)):
        assert sharpness(apply(effect, rendered).astype(np.uint8)) < 0.6 * sharpness(rendered.rgb)


def test_tone_effects_move_brightness_the_right_way(rendered):
    mean = rendered.rgb.mean()
    assert apply(ColorJitter(brightness=1.3, contrast=1.0, saturation=1.0, hue=0.0), rendered).mean() > mean + 10
    assert apply(Gamma(probability=1, gamma=2.0), rendered).mean() < mean - 10
    grey = apply(ColorJitter(brightness=1.0, contrast=1.0, saturation=0.0, hue=0.0), rendered)
    assert np.abs(grey - grey.mean(axis=2, keepdims=True)).max() <= 1


def test_vignette_darkens_corners_not_the_centre(rendered):
    out = apply(Vignette(probability=1, strength=0.8), rendered)
    base = rendered.rgb.astype(float)
    assert np.abs(out[55:65, 75:85] - base[55:65, 75:85]).max() <= 1
    assert (base[:8, :8] - out[:8, :8]).mean() > 0.5 * base[:8, :8].mean()


def test_background_image_fills_only_pixels_without_depth(rendered, tmp_path):
    photo = np.zeros((60, 90, 3), np.uint8)
    photo[:] = (0, 255, 0)
    cv2.imwrite(str(tmp_path / "green.png"), photo)
    empty = rendered.depth == 0
    assert empty.any() and (~empty).any()
    out = apply(BackgroundImage(folder=str(tmp_path)), rendered)
    assert np.all(out[empty] == [0, 255, 0])
    assert np.array_equal(out[~empty], rendered.rgb[~empty].astype(float))


@pytest.mark.parametrize("name", ["cut.png", "cut.jpg"])
def test_a_photo_cut_short_is_one_line_naming_it_and_no_decoder_noise(rendered, tmp_path, capfd, name):
    """Its header reads (the folder passes as the config is read); its pixels do not: the file named, not a key. A
    JPEG cut short was decoded with its missing rows grey, and drawn."""
    photo = tmp_path / name
    cv2.imwrite(str(photo), np.random.default_rng(0).integers(0, 255, (60, 90, 3), np.uint8))
    photo.write_bytes(photo.read_bytes()[:photo.stat().st_size * 2 // 3])
    with pytest.raises(AssetError, match=rf"^{photo}: cannot decode this image \(damaged or cut short\?\); remove it "
                                         "from its folder$"):
        apply(BackgroundImage(folder=str(tmp_path)), rendered)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("make, key", [
    (lambda: GaussianNoise(probability=1.5), "probability"),
    (lambda: Blur(sigma="soft"), "sigma"),
    (lambda: BackgroundImage(folder="/no/such/folder"), "folder"),
    (lambda: BackgroundImage(kinds=["clouds"]), "kinds[0]"),
])
def test_bad_effect_settings_name_the_key(make, key):
    with pytest.raises(ConfigError) as err:
        make()
    assert err.value.key == key


def test_out_of_range_draw_names_the_key(rendered):
    with pytest.raises(ConfigError, match="^quality"):
        JpegArtifacts(probability=1, quality=[150, 200])(copy(rendered), np.random.default_rng(0))


def test_gamma_draws_a_range_log_uniformly():
    """As often darker as lighter: a uniform draw from [0.7, 1.5] darkened dr_strong's frames on average."""
    gamma = Gamma(gamma=[0.5, 2.0]).gamma
    draws = np.array([gamma.sample(np.random.default_rng(i)) for i in range(400)])
    assert draws.min() >= 0.5 and draws.max() <= 2.0 and abs(np.median(np.log(draws))) < 0.1


USERS_EFFECTS = """
import numpy as np


class Floats:
    def __call__(self, frame, rng):
        frame.rgb = frame.rgb / 255.0


class Grey:
    def __call__(self, frame, rng):
        frame.rgb = frame.rgb.mean(axis=2).astype(np.uint8)


class Level:
    def __call__(self, frame, rng):
        return {"level": np.float32(0.5)}  # not a JSON value
"""


@pytest.mark.parametrize("name, got", [("Floats", "float64 array of shape (120, 160, 3)"),
                                       ("Grey", "uint8 array of shape (120, 160)")])
def test_a_users_effect_that_leaves_no_rgb_image_is_a_one_line_error(tmp_path, name, got):
    """Floats in [0, 1] were written as black PNGs, a grey image as a grey RGB one, and simgen-check passed both."""
    (tmp_path / "my_fx.py").write_text(USERS_EFFECTS)
    (tmp_path / "conf" / "effects").mkdir(parents=True)
    (tmp_path / "conf" / "effects" / "mine.yaml").write_text(f"mine:\n  _target_: my_fx.{name}\n")
    out = tmp_path / "out"
    done = run_simgen([f"hydra.searchpath=[file://{tmp_path / 'conf'}]", "effects=[mine]", f"output_dir={out}",
                       "num_frames=1", *SMALL, "renderer=tiny"], tmp_path)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1] == (
        f"simgen: error: effects.mine: expected the effect to leave frame.rgb a uint8 array of shape (120, 160, 3), "
        f"got a {got}")
    assert not (out / "annotations.json").exists()


def test_a_users_effect_that_returns_what_no_meta_can_hold_is_a_one_line_error(tmp_path):
    (tmp_path / "my_fx.py").write_text(USERS_EFFECTS)
    (tmp_path / "conf" / "effects").mkdir(parents=True)
    (tmp_path / "conf" / "effects" / "mine.yaml").write_text("mine:\n  _target_: my_fx.Level\n")
    out = tmp_path / "out"
    done = run_simgen([f"hydra.searchpath=[file://{tmp_path / 'conf'}]", "effects=[mine]", f"output_dir={out}",
                       "num_frames=1", *SMALL, "renderer=tiny"], tmp_path)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1] == (
        "simgen: error: effects.mine: expected the effect to return None or a dict of JSON values (what it drew, for "
        "the frame's meta), got {'level': np.float32(0.5)}")
    assert not (out / "annotations.json").exists()


def test_the_meta_records_what_each_effect_drew(small_dataset):
    out = small_dataset("effects=[blur,jpeg]", "effects.blur.probability=1", "effects.jpeg.probability=0.5",
                        frames=6)
    drawn = [json.loads((out / "meta" / f"{i:06d}.json").read_text())["effects"] for i in range(6)]
    sigmas = [d["blur"]["sigma"] for d in drawn]
    assert all(0.5 <= s <= 1.5 for s in sigmas) and len(set(sigmas)) == 6, drawn
    qualities = [d["jpeg"]["quality"] for d in drawn if "jpeg" in d]
    assert 0 < len(qualities) < 6 and all(30 <= q <= 80 and isinstance(q, int) for q in qualities), drawn
