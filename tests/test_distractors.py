from pathlib import Path

import numpy as np
import pybullet_data
import pytest
from hydra.utils import instantiate

from simgen import camera
from simgen.annotate import Annotator
from simgen.config import build_pipeline
from simgen.errors import ConfigError
from simgen.pipeline import frame_scene
from simgen.randomizers.distractors import ClutterDistractors, FloatingDistractors
from simgen.scene import Asset, CameraSpec, ObjectSpec, Scene, Support
from simgen.world import World

from conftest import compose_config


def target_scene() -> Scene:
    floor = ObjectSpec("floor", Asset("box", size=(3.0, 3.0, 0.02)), position=(0, 0, -0.01), labeled=False,
                       static=True)
    target = ObjectSpec("box", Asset("box", size=(0.12, 0.12, 0.12), mass=0.2), category_id=8, position=(0, 0, 0.07))
    cam = CameraSpec(position=(0.8, 0.0, 0.6), target=(0.0, 0.0, 0.06), width=120, height=90)
    return Scene("t", Support(0.0, ((-0.3, -0.3), (0.3, 0.3))), (0, 0, 0.06), fixtures=[floor], objects=[target],
                 camera=cam)


def test_clutter_adds_unlabeled_dynamic_bodies_over_the_support():
    scene = target_scene()
    ClutterDistractors(count=[4, 4], margin=0.05)(scene, np.random.default_rng(0))
    added = scene.objects[1:]
    assert len(added) == 4
    for obj in added:
        assert not obj.labeled and obj.category_id == 0 and not obj.static and obj.collides
        assert -0.25 <= obj.position[0] <= 0.25 and -0.25 <= obj.position[1] <= 0.25 and obj.position[2] > 0


def test_mesh_distractors_are_scaled_to_the_size_range():
    from simgen.randomizers.distractors import mesh_extent
    scene = target_scene()
    ClutterDistractors(count=[6, 6], shapes=["mesh"], size=[0.05, 0.05])(scene, np.random.default_rng(1))
    for obj in scene.objects[1:]:
        assert obj.asset.kind == "mesh" and mesh_extent(obj.asset.path) * obj.scale == pytest.approx(0.05)


def test_floating_distractors_sit_in_view_between_camera_and_target():
    for seed in range(10):
        scene = target_scene()
        FloatingDistractors(count=[3, 3], depth=[0.3, 0.6], spread=[0, 0.8])(scene, np.random.default_rng(seed))
        cam = scene.camera
        dist = np.linalg.norm(np.subtract(cam.target, cam.position))
        for obj in scene.objects[1:]:
            assert obj.static and not obj.collides and not obj.labeled
            z = (camera.world_to_camera(cam) @ [*obj.position, 1.0])[2]
            assert 0.3 * dist - 1e-9 <= z <= 0.6 * dist + 1e-9
            u, v = camera.project([obj.position], cam)[0]
            assert 0 <= u <= cam.width and 0 <= v <= cam.height


def settle_render(scene: Scene):
    world = World(renderer="tiny")
    try:
        world.build(scene)
        world.settle(scene)
        return world.render(scene)
    finally:
        world.close()


def test_floating_distractor_occludes_the_target_but_is_never_labeled():
    plain = target_scene()
    frame = settle_render(plain)
    occluded = target_scene()
    FloatingDistractors(count=[1, 1], shapes=["sphere"], size=[0.08, 0.08], depth=0.5, spread=0.0)(
        occluded, np.random.default_rng(0))
    frame_occ = settle_render(occluded)
    visible, visible_occ = (frame.instance == 1).sum(), (frame_occ.instance == 1).sum()
    assert 0 < visible_occ < 0.8 * visible
    assert set(np.unique(frame_occ.instance)) == {0, 1}
    hidden = (frame.instance == 1) & (frame_occ.instance == 0)
    assert np.all(frame_occ.depth[hidden] < frame.depth[hidden])  # something nearer covers the target there
    instances = Annotator(min_visible_pixels=1)(frame_occ, occluded)
    assert [i.instance_value for i in instances] == [1] and instances[0].area == visible_occ


def test_floating_distractors_do_not_touch_the_physics():
    plain = target_scene()
    plain.objects[0].position = (0.0, 0.0, 0.3)
    in_the_way = target_scene()
    in_the_way.objects[0].position = (0.0, 0.0, 0.3)
    in_the_way.objects.append(ObjectSpec("distractor", Asset("box", size=(0.3, 0.3, 0.05)), position=(0, 0, 0.15),
                                         labeled=False, static=True, collides=False))
    settle_render(plain)
    settle_render(in_the_way)
    assert in_the_way.objects[0].position == plain.objects[0].position
    assert plain.objects[0].position[2] < 0.1  # it fell through the floating box onto the floor


@pytest.mark.parametrize("kwargs, key", [
    ({"count": [3, 1]}, "count"), ({"shapes": ["cube"]}, "shapes[0]"), ({"files": "/nowhere/*.obj"}, "files"),
    ({"texture_probability": 3}, "texture_probability"), ({"size": "big"}, "size"),
])
def test_bad_distractor_settings_name_the_key(kwargs, key):
    with pytest.raises(ConfigError) as err:
        ClutterDistractors(**kwargs)
    assert err.value.key == key


@pytest.mark.parametrize("categories, kinds", [
    (None, {"mesh"}),  # every built-in category: box, sphere, cylinder and capsule are labeled
    (["duck", "sphere"], {"box", "cylinder", "capsule", "mesh"}),
    (["duck", "mug"], {"box", "sphere", "cylinder", "capsule", "mesh"}),
])
def test_distractors_never_take_the_shape_of_a_labeled_primitive(categories, kinds):
    """A sphere distractor beside labeled spheres would be a target without its label."""
    overrides = ["distractors=[clutter,floating]", "distractors.clutter.count=[30,30]"]
    if categories:
        overrides.append(f"objects.categories=[{','.join(categories)}]")
    pipeline = build_pipeline(compose_config(overrides))
    scenes = [frame_scene(pipeline, np.random.default_rng(seed)) for seed in range(3)]
    assert {o.asset.kind for scene in scenes for o in scene.objects if not o.labeled} == kinds


@pytest.mark.parametrize("group", ["clutter", "floating"])
def test_default_distractor_meshes_are_of_no_built_in_categorys_family(group):
    """They were random_urdfs/5xx, of one family (PyBullet's generated blobs) with the labeled blob category's."""
    cfg = compose_config([f"distractors=[{group}]"])
    distractors = next(r.part for r in build_pipeline(cfg).randomizers if "Distractors" in type(r.part).__name__)
    data = Path(pybullet_data.getDataPath())
    def family(path: str) -> str:  # random_urdfs, jenga, duck_vhacd.urdf; a file of simgen's own (the mug) itself
        return Path(path).relative_to(data).parts[0] if Path(path).is_relative_to(data) else path
    targets = {family(f) for category in instantiate(cfg.catalog).categories.values() for f in category.files}
    assert distractors.files and not {family(f) for f in distractors.files} & targets


def test_distractors_of_labeled_shapes_only_are_refused():
    with pytest.raises(ConfigError) as err:
        build_pipeline(compose_config(["distractors=[clutter]", "distractors.clutter.shapes=[box,sphere]"]))
    assert str(err.value).startswith("distractors.clutter.shapes: every shape (box, sphere) is that of a labeled "
                                     "category (objects.categories)")


def test_randomizers_that_target_distractors_reach_them():
    """The further randomizers run after the distractors are placed (physics.yaml targets them by default)."""
    pipeline = build_pipeline(compose_config([
        "objects.categories=[duck,mug]", "distractors=[clutter,floating]", "distractors.clutter.count=[4,4]",
        "randomizers=[color,physics]", "randomizers.color.targets=[distractors]", "randomizers.color.probability=1",
        "randomizers.color.value=[0,0]"]))
    scene = frame_scene(pipeline, np.random.default_rng(0))
    distractors = [o for o in scene.objects if not o.labeled]
    assert len(distractors) >= 4
    assert all(o.friction is not None and o.rgba[:3] == (0.0, 0.0, 0.0) for o in distractors)
    assert all(o.rgba is None or o.rgba[:3] != (0.0, 0.0, 0.0) for o in scene.objects if o.labeled)
