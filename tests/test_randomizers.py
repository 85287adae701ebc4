import numpy as np
import pytest

from simgen.assets import Catalog
from simgen.errors import ConfigError
from simgen.pipeline import Pipeline, view_of
from simgen.randomizers.camera import CameraRandomizer
from simgen.randomizers.color import ColorRandomizer
from simgen.randomizers.light import LightRandomizer
from simgen.randomizers.objects import ObjectsRandomizer
from simgen.sampling import Choice, LogUniform, Normal, UniformInt
from simgen.scene import Scene, Support

CATALOG = Catalog({
    "duck": {"id": 1, "files": "pybullet_data/duck_vhacd.urdf"},
    "box": {"id": 2, "primitive": "box", "size": [[0.02, 0.03, 0.04], [0.05, 0.06, 0.07]]},
})


def base_scene() -> Scene:
    return Scene("t", Support(0.7, ((-0.4, -0.2), (0.4, 0.2))), target=(0.0, 0.0, 0.7))


def randomized(randomizer, seed=0) -> Scene:
    scene = base_scene()
    randomizer(scene, np.random.default_rng(seed))
    return scene


def test_objects_count_region_height_and_categories():
    rand = ObjectsRandomizer(CATALOG, count=[2, 5], drop_height=[0.01, 0.1], margin=0.05)
    counts = set()
    for seed in range(40):
        scene = randomized(rand, seed)
        counts.add(len(scene.objects))
        for obj in scene.objects:
            x, y, z = obj.position
            assert -0.35 <= x <= 0.35 and -0.15 <= y <= 0.15 and 0.71 <= z <= 0.8
            assert obj.category_id == CATALOG[obj.category].id
            assert np.linalg.norm(obj.orientation) == pytest.approx(1.0)
    assert counts == {2, 3, 4, 5}


def test_primitive_sizes_are_drawn_within_their_range():
    rand = ObjectsRandomizer(CATALOG, categories=["box"], count=[5, 5])
    sizes = np.array([o.asset.size for seed in range(10) for o in randomized(rand, seed).objects])
    assert np.all(sizes >= [0.02, 0.03, 0.04]) and np.all(sizes <= [0.05, 0.06, 0.07])
    assert len(np.unique(sizes[:, 0])) > 10


def test_upright_orientation_only_turns_about_z():
    scene = randomized(ObjectsRandomizer(CATALOG, orientation="upright", count=[4, 4]))
    assert all(abs(o.orientation[0]) < 1e-12 and abs(o.orientation[1]) < 1e-12 for o in scene.objects)


@pytest.mark.parametrize("kwargs, key", [
    ({"count": 0}, "count"), ({"count": [5, 2]}, "count"), ({"categories": ["unicorn"]}, "categories"),
    ({"orientation": "sideways"}, "orientation"), ({"scale": "big"}, "scale"),
])
def test_bad_objects_settings_name_the_key(kwargs, key):
    with pytest.raises(ConfigError, match=f"^{key}"):
        ObjectsRandomizer(CATALOG, **kwargs)


@pytest.mark.parametrize("kwargs, expected", [
    ({"categories": []}, "categories: expected at least one category; null means every category"),
    ({"categories": "duck"}, "categories: expected a list of category names, got 'duck'"),
    ({"scale": 0}, "scale: expected a number > 0, got 0.0"),
    ({"scale": [-1, 2]}, "scale: expected numbers > 0, got values from -1.0 to 2.0"),
    ({"scale": float("nan")}, "scale: expected a finite number, got nan"),
    ({"scale": Choice([1.0, 0.0])}, "scale: expected numbers > 0, got values from 0.0 to 1.0"),
    ({"drop_height": -5}, "drop_height: expected a number >= 0, got -5.0"),
    ({"drop_height": LogUniform(1e-3, 1)}, None),
    ({"drop_height": UniformInt(-1, 2)}, "drop_height: expected numbers >= 0, got values from -1.0 to 2.0"),
])
def test_objects_settings_known_when_loaded_are_checked_up_front(kwargs, expected):
    if expected is None:
        ObjectsRandomizer(CATALOG, **kwargs)
        return
    with pytest.raises(ConfigError) as err:
        ObjectsRandomizer(CATALOG, **kwargs)
    assert str(err.value) == expected


def test_objects_categories_null_means_every_category():
    assert ObjectsRandomizer(CATALOG, categories=None).categories == ["duck", "box"]


def test_objects_unbounded_scale_is_checked_per_frame_naming_the_full_key():
    rand = ObjectsRandomizer(CATALOG, scale=Normal(-1.0, 0.1), count=[1, 1])  # its range is not known up front
    with pytest.raises(ConfigError, match="^objects.scale: expected a number > 0, got -"):
        randomized(rand)


def test_camera_pose_follows_distance_and_elevation():
    rand = CameraRandomizer(distance=[1.0, 2.0], elevation=[20, 40], target_jitter=0.0, width=320, height=200)
    for seed in range(20):
        cam = randomized(rand, seed).camera
        offset = np.subtract(cam.position, cam.target)
        dist = np.linalg.norm(offset)
        assert 1.0 <= dist <= 2.0
        assert 20 - 1e-6 <= np.degrees(np.arcsin(offset[2] / dist)) <= 40 + 1e-6
        assert (cam.width, cam.height) == (320, 200)


class RaiseCamera:
    """A user's camera randomizer that edits the camera in place."""

    def __call__(self, scene: Scene, rng: np.random.Generator) -> None:
        scene.camera.position = (*scene.camera.position[:2], float(rng.uniform(1.0, 2.0)))


def test_each_view_of_a_scene_keeps_its_own_camera():
    """Views after a scene's first redraw the camera on their own copy: editing it in place changed the views already
    made, which with one worker the writer thread then recorded with the next view's camera."""
    pipeline = Pipeline(scene=base_scene(), randomizers=[], view_randomizers=[RaiseCamera()], world=None,
                        annotator=None, writers=[])
    scene = randomized(RaiseCamera())
    views = [view_of(pipeline, scene, view, np.random.default_rng(view)) for view in range(3)]
    heights = [view.camera.position[2] for view in views]
    assert len(set(heights)) == 3


@pytest.mark.parametrize("kwargs, key", [({"width": 0}, "width"), ({"height": -5}, "height"),
                                         ({"fov": "wide"}, "fov"), ({"near": 0}, "near")])
def test_bad_camera_settings_name_the_key(kwargs, key):
    with pytest.raises(ConfigError, match=f"^{key}"):
        CameraRandomizer(**kwargs)


def test_light_samples_every_setting():
    rand = LightRandomizer(ambient=[0.1, 0.2], diffuse=0.5, specular=[0.3, 0.4], shadow_probability=1.0)
    lights = [randomized(rand, seed).light for seed in range(10)]
    assert all(0.1 <= l.ambient <= 0.2 and l.diffuse == 0.5 and 0.3 <= l.specular <= 0.4 for l in lights)
    assert all(l.shadow for l in lights)
    assert all(np.linalg.norm(l.direction) == pytest.approx(1) and l.direction[2] > 0 for l in lights)
    assert len({l.direction for l in lights}) == 10


def test_a_light_direction_and_colour_may_be_vectors_or_ranges_of_vectors():
    rand = LightRandomizer(direction=[0, 0, 2], color=[[0.2, 0.5, 0.9], [0.3, 0.5, 1.0]])
    lights = [randomized(rand, seed).light for seed in range(10)]
    assert all(l.direction == (0.0, 0.0, 1.0) for l in lights)
    assert all(0.2 <= l.color[0] <= 0.3 and l.color[1] == 0.5 and 0.9 <= l.color[2] <= 1.0 for l in lights)
    assert len({l.color for l in lights}) == 10


@pytest.mark.parametrize("kwargs, message", [
    ({"direction": 5}, "direction: expected 3 numbers, a pair [low, high] of such lists, or a sampler"),
    ({"direction": [0, 0, 0]}, "direction: expected a direction, got the zero vector"),
    ({"color": [1, 1]}, "color: expected 3 numbers"),
    ({"color": [2, -1, 0.5]}, "color[0]: expected a number in [0, 1], got 2"),
    ({"color": [[0.5, 0.5, 0.5], [1, 1.2, 1]]}, "color[1]: expected numbers in [0, 1], got values from 0.5 to 1.2"),
])
def test_bad_light_vectors_name_the_key(kwargs, message):
    with pytest.raises(ConfigError) as err:
        LightRandomizer(**kwargs)
    assert str(err.value).startswith(message)


def test_color_probability_one_recolours_every_labeled_object():
    scene = randomized(ObjectsRandomizer(CATALOG, count=[6, 6]))
    ColorRandomizer(probability=1.0)(scene, np.random.default_rng(1))
    assert all(o.rgba is not None and len(o.rgba) == 4 for o in scene.objects)
    scene2 = randomized(ObjectsRandomizer(CATALOG, count=[6, 6]))
    ColorRandomizer(probability=0.0)(scene2, np.random.default_rng(1))
    assert all(o.rgba is None for o in scene2.objects)


def test_catalog_missing_file_names_the_key():
    with pytest.raises(ConfigError, match="categories.chair.files: no asset file found"):
        Catalog({"chair": {"id": 3, "files": "/no/such/chair.obj"}})


def test_catalog_folder_maps_subfolders_to_categories(tmp_path):
    (tmp_path / "widget").mkdir()
    (tmp_path / "widget" / "a.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    catalog = Catalog(folders=[{"path": str(tmp_path), "categories": {"widget": 42}}])
    assert catalog["widget"].id == 42 and catalog["widget"].files[0].endswith("a.obj")
    asset = catalog["widget"].sample(np.random.default_rng(0))
    assert asset.kind == "mesh"


def test_catalog_ids_must_be_unique():
    with pytest.raises(ConfigError, match="used twice"):
        Catalog({"a": {"id": 1, "primitive": "sphere", "size": 0.1},
                 "b": {"id": 1, "primitive": "sphere", "size": 0.1}})
