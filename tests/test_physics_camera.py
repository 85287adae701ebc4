import numpy as np
import pybullet as p
import pytest

from simgen import camera
from simgen.config import build_pipeline
from simgen.errors import ConfigError
from simgen.pipeline import frame_spec
from simgen.randomizers.camera import CameraRandomizer
from simgen.randomizers.physics import PhysicsRandomizer
from simgen.randomizers.pile import PileRandomizer
from simgen.scene import Scene, Support
from simgen.world import World

from conftest import compose_config


def tabletop(index: int, *overrides: str) -> Scene:
    pipeline = build_pipeline(compose_config(["camera.width=160", "camera.height=120", *overrides]))
    return frame_spec(pipeline, seed=0, index=index)


def test_physics_randomizer_sets_friction_and_restitution_the_world_applies():
    scene = tabletop(0, "objects.count=[4,4]")
    PhysicsRandomizer(friction=[0.2, 0.4], restitution=[0.5, 0.7])(scene, np.random.default_rng(0))
    assert all(0.2 <= o.friction <= 0.4 and 0.5 <= o.restitution <= 0.7 for o in scene.objects)
    assert all(f.friction is None for f in scene.fixtures)
    world = World(renderer="tiny")
    try:
        world.build(scene)
        for body, index in world._bodies.items():
            info = p.getDynamicsInfo(body, -1, physicsClientId=world.client)
            assert info[1] == pytest.approx(scene.objects[index].friction)
            assert info[5] == pytest.approx(scene.objects[index].restitution)
    finally:
        world.close()


def test_restitution_makes_a_dropped_ball_bounce():
    heights = {}
    for restitution in (0.0, 0.9):
        scene = tabletop(0, "objects.count=[1,1]", "objects.categories=[sphere]", "objects.drop_height=0.3")
        for body in (*scene.fixtures, *scene.objects):
            body.restitution = restitution
        world = World(renderer="tiny")
        try:
            world.build(scene)
            body = next(iter(world._bodies))
            zs = []
            for _ in range(150):
                p.stepSimulation(physicsClientId=world.client)
                zs.append(p.getBasePositionAndOrientation(body, physicsClientId=world.client)[0][2])
            first_contact = int(np.argmax(np.diff(zs) > 0)) if np.any(np.diff(zs) > 0) else len(zs) - 1
            heights[restitution] = max(zs[first_contact:]) - scene.support.height
        finally:
            world.close()
    assert heights[0.9] > heights[0.0] + 0.05


def touching_pairs(scene: Scene) -> int:
    """How many pairs of objects are in contact once the scene has settled."""
    world = World(renderer="tiny")
    try:
        world.build(scene)
        world.settle(scene)
        bodies = list(world._bodies)
        return sum(bool(p.getContactPoints(a, b, physicsClientId=world.client))
                   for k, a in enumerate(bodies) for b in bodies[k + 1:])
    finally:
        world.close()


def test_pile_brings_objects_together_and_physics_makes_them_touch():
    free = piled = 0
    for index in range(6):
        scene = tabletop(index, "objects.count=[8,8]")
        free += touching_pairs(scene.copy())
        PileRandomizer(probability=1.0, spread=0.04)(scene, np.random.default_rng(index))
        xy = np.array([o.position[:2] for o in scene.objects])
        assert np.linalg.norm(xy - xy.mean(0), axis=1).mean() < 0.1
        piled += touching_pairs(scene)
    assert piled >= free + 5


def test_pile_probability_zero_keeps_positions():
    scene = tabletop(0)
    before = [o.position for o in scene.objects]
    PileRandomizer(probability=0.0)(scene, np.random.default_rng(0))
    assert [o.position for o in scene.objects] == before


@pytest.mark.parametrize("roll", [-30.0, 15.0, 90.0])
def test_camera_roll_turns_the_image(roll):
    scene = Scene("t", Support(0.0, ((-1, -1), (1, 1))), target=(0.0, 0.0, 0.0))
    CameraRandomizer(distance=1.0, azimuth=30.0, elevation=20.0, target_jitter=0.0, roll=roll)(
        scene, np.random.default_rng(0))
    (u0, v0), (u1, v1) = camera.project([[0, 0, 0], [0, 0, 0.05]], scene.camera)
    angle = np.degrees(np.arctan2(u1 - u0, -(v1 - v0)))  # world-up in the image, 0 = straight up
    assert abs(angle) == pytest.approx(abs(roll), abs=0.5)


def test_zero_roll_keeps_the_default_up_vector():
    scene = Scene("t", Support(0.0, ((-1, -1), (1, 1))), target=(0.0, 0.0, 0.0))
    CameraRandomizer(roll=0.0)(scene, np.random.default_rng(0))
    assert scene.camera.up == (0.0, 0.0, 1.0)


@pytest.mark.parametrize("make, key", [
    (lambda: PhysicsRandomizer(friction="slippery"), "friction"),
    (lambda: PhysicsRandomizer(targets=[]), "targets"),
    (lambda: PileRandomizer(probability=-1), "probability"),
    (lambda: CameraRandomizer(roll="tilted"), "roll"),
])
def test_bad_settings_name_the_key(make, key):
    with pytest.raises(ConfigError) as err:
        make()
    assert err.value.key == key


def test_camera_resolution_sampler_varies_the_image_size():
    from simgen.sampling import Choice

    rand = CameraRandomizer(resolution=Choice([[320, 240], [160, 120]]))
    sizes = set()
    for seed in range(20):
        scene = Scene("t", Support(0.0, ((-1, -1), (1, 1))), target=(0.0, 0.0, 0.0))
        rand(scene, np.random.default_rng(seed))
        sizes.add((scene.camera.width, scene.camera.height))
    assert sizes == {(320, 240), (160, 120)}
