import os

import numpy as np
import pybullet as p
import pytest

from simgen import camera
from simgen.assets import resolve_path
from simgen.config import build_pipeline
from simgen.errors import AssetError, SceneError
from simgen.geometry import quaternion_matrix
from simgen.pipeline import frame_spec
from simgen.scene import Asset, CameraSpec, ObjectSpec, Scene, Support
from simgen.world import World, egl_available
from simgen.world.egl_budget import file_triangles
from simgen.world.spawn import ShapePaths

from conftest import RENDERERS, compose_config, render_once


def floor_scene(**camera_args) -> Scene:
    floor = ObjectSpec("floor", Asset("box", size=(4.0, 4.0, 0.02)), position=(0, 0, -0.01), labeled=False,
                       static=True)
    return Scene(name="test", support=Support(0.0, ((-1, -1), (1, 1))), target=(0, 0, 0), fixtures=[floor],
                 camera=CameraSpec(**camera_args))


@pytest.fixture
def world():
    w = World(renderer="tiny")
    yield w
    w.close()


@pytest.mark.parametrize("renderer", RENDERERS)
def test_depth_is_metric(renderer):
    scene = floor_scene(position=(0.0, 0.0, 2.0), target=(0.0, 0.0, 0.0), up=(0, 1, 0), width=64, height=48)
    scene.objects.append(ObjectSpec("box", Asset("box", size=(0.5, 0.5, 0.3)), position=(0, 0, 0.15), static=True))
    frame = render_once(renderer, scene)
    assert frame.depth[24, 32] == pytest.approx(1.7, abs=2e-3)  # box top, 0.3 m above the floor
    # depth is along the optical axis, so the whole floor plane reads 2.000 m, not the ray length
    floor = frame.depth[frame.instance == 0]
    assert np.median(floor) == pytest.approx(2.0, abs=2e-3)


@pytest.mark.parametrize("renderer", RENDERERS)
def test_depth_is_drawn_at_pixel_centres(renderer):
    """Each pixel's depth is the floor's along the ray through its centre, as the intrinsics say: TinyRenderer
    drew from half a pixel off, 1-3 mm of depth on an oblique floor, and its masks as far off the boxes."""
    scene = floor_scene(position=(0.9, -0.4, 0.45), target=(0.0, 0.0, 0.0), width=160, height=120)
    depth = render_once(renderer, scene).depth
    pose, k = camera.world_to_camera(scene.camera), camera.intrinsics(scene.camera)
    u, v = np.meshgrid(np.arange(160) + 0.5, np.arange(120) + 0.5)
    rays = np.linalg.inv(k) @ np.stack([u.ravel(), v.ravel(), np.ones(u.size)])  # camera frame, depth 1
    # eye + t * R^T ray meets the floor (z = 0) at depth t
    expected = (-scene.camera.position[2] / (pose[:3, 2] @ rays)).reshape(120, 160)
    assert np.median(np.abs(depth - expected)) < 3e-4


def test_each_object_is_resting_or_still_moving_on_its_own():
    """Settling stopped at max_steps: only the body still falling is `moving`."""
    scene = floor_scene()
    scene.objects += [ObjectSpec("box", Asset("box", size=(0.1, 0.1, 0.1)), position=(0.3, 0, 0.05)),
                      ObjectSpec("box", Asset("box", size=(0.1, 0.1, 0.1)), position=(-0.3, 0, 1.0))]
    world = World(renderer="tiny", max_steps=5)
    try:
        world.build(scene)
        world.settle(scene)
    finally:
        world.close()
    assert [o.state for o in scene.objects] == ["resting", "moving"]


def test_objects_never_simulated_are_placed_not_resting():
    """world.max_steps=0 draws the objects where they were dropped: they were labeled `resting` in mid-air."""
    scene = floor_scene()
    scene.objects += [ObjectSpec("box", Asset("box", size=(0.1, 0.1, 0.1)), position=(0.0, 0, 0.5))]
    world = World(renderer="tiny", max_steps=0)
    try:
        world.build(scene)
        assert world.settle(scene) == 0
    finally:
        world.close()
    assert [o.state for o in scene.objects] == ["placed"] and scene.objects[0].position[2] == pytest.approx(0.5)


def asset_to_world(obj: ObjectSpec, points) -> np.ndarray:
    """Points in the asset's own (scaled) frame, in the world: README's formula with the meta's frame_in_asset."""
    (offset, turn) = obj.frame_in_asset
    in_object = (np.asarray(points, dtype=float) - offset) @ quaternion_matrix(turn)
    return in_object @ quaternion_matrix(obj.orientation).T + obj.position


def obj_vertex_bounds(path: str) -> np.ndarray:
    points = [line.split()[1:4] for line in open(path) if line.startswith("v ")]
    return np.array([np.min(np.float64(points), axis=0), np.max(np.float64(points), axis=0)])


def test_the_3d_box_is_the_collision_geometrys_own_bound(world):
    """bbox_3d is the bound of the collision shapes, in the object frame: PyBullet's AABB added its collision margins,
    1 to 4 mm a side (lego's box, the duck's convex pieces)."""
    duck, lego = resolve_path("pybullet_data/duck_vhacd.urdf"), resolve_path("pybullet_data/lego/lego.urdf")
    scene = floor_scene(position=(1.0, 0.0, 1.0), target=(0.0, 0.0, 0.0), width=64, height=48)
    tilted = (0.0, 0.2588, 0.0, 0.9659)
    for k, (asset, scale) in enumerate([(Asset("urdf", path=duck, mass=None), 1.3), (Asset("urdf", path=lego), 1.5),
                                        (Asset("capsule", size=(0.03, 0.1)), 1.0),
                                        (Asset("cylinder", size=(0.03, 0.1)), 1.0)]):
        scene.objects.append(ObjectSpec(f"o{k}", asset, position=(0.3 * k - 0.45, 0, 0.2), orientation=tilted,
                                        scale=scale, static=True))
    world.build(scene)
    world.settle(scene)
    boxes = [np.array(obj.bbox_3d) for obj in scene.objects]
    duck_vertices = obj_vertex_bounds(resolve_path("pybullet_data/duck_vhacd.obj")) * 0.05 * 1.3
    assert np.allclose(boxes[0], duck_vertices - (0, 0.02 * 1.3, 0), atol=1e-6)  # less its inertial origin
    assert np.allclose(boxes[1], np.array([[-0.016, -0.016, -0.0115], [0.016, 0.016, 0.0115]]) * 1.5, atol=1e-6)
    assert np.allclose(boxes[2], [(-0.03, -0.03, -0.08), (0.03, 0.03, 0.08)], atol=1e-6)
    assert np.allclose(boxes[3], [(-0.03, -0.03, -0.05), (0.03, 0.03, 0.05)], atol=1e-6)


def test_a_mesh_modelled_away_from_its_origin_rests_where_it_was_dropped(world, tmp_path):
    """A mesh's centre of mass and object frame sit at its bounding box's centre: modelled half a metre off its
    origin, a cube fell half a metre from its drop point and tumbled about a centre of mass outside itself."""
    mesh = tmp_path / "cube.obj"
    corners = [(x, y, z) for x in (0.45, 0.55) for y in (-0.05, 0.05) for z in (-0.05, 0.05)]
    faces = [(1, 2, 4, 3), (5, 7, 8, 6), (1, 5, 6, 2), (3, 4, 8, 7), (1, 3, 7, 5), (2, 6, 8, 4)]
    mesh.write_text("".join(f"v {x} {y} {z}\n" for x, y, z in corners) +
                    "".join(f"f {' '.join(map(str, f))}\n" for f in faces))
    scene = floor_scene(position=(0.8, 0.0, 0.6), target=(0.0, 0.0, 0.05), width=160, height=120)
    tilted = (0.0, 0.2588, 0.0, 0.9659)  # 30 degrees about y: it must fall and settle
    scene.objects.append(ObjectSpec("cube", Asset("mesh", path=str(mesh)), position=(0, 0, 0.15), orientation=tilted))
    world.build(scene)
    world.settle(scene)
    cube = scene.objects[0]
    assert np.allclose(cube.position[:2], (0, 0), atol=0.1) and cube.position[2] == pytest.approx(0.05, abs=0.005)
    assert np.allclose(cube.bbox_3d, [(-0.05,) * 3, (0.05,) * 3], atol=1e-6)  # centred, without the collision margin
    ys, xs = np.nonzero(world.render(scene).instance == 1)
    u, v = camera.project([cube.position], scene.camera)[0]
    assert xs.mean() == pytest.approx(u, abs=3) and ys.mean() == pytest.approx(v, abs=3)
    assert cube.frame_in_asset == ((0.5, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0))
    lo, hi = p.getAABB(next(iter(world._bodies)), physicsClientId=world.client)
    placed = asset_to_world(cube, corners)  # the mesh file's own vertices, where the body stands
    assert np.allclose(placed.min(axis=0), lo, atol=3e-3) and np.allclose(placed.max(axis=0), hi, atol=3e-3)


def test_a_urdfs_object_frame_is_its_inertial_origin_in_the_link_frame(world):
    """The teddy's URDF puts its <inertial> origin 9 cm off its link frame: frame_in_asset says where, scaled."""
    teddy = ObjectSpec("teddy", Asset("urdf", path=resolve_path("pybullet_data/teddy_vhacd.urdf")), scale=2.0,
                       position=(0, 0, 0.3))
    scene = floor_scene()
    scene.objects.append(teddy)
    world.build(scene)
    world.settle(scene)
    assert teddy.frame_in_asset == ((0.14, 0.1, 0.06), (0.0, 0.0, 0.0, 1.0))  # the file's xyz="0.07 0.05 0.03"


def test_a_fixture_mesh_stands_where_its_config_places_its_origin(world, tmp_path):
    """A fixture's position places its mesh's origin, as modelled (only objects' meshes are centred)."""
    mesh = tmp_path / "slab.obj"
    corners = [(x, y, z) for x in (0.45, 0.55) for y in (-0.05, 0.05) for z in (-0.01, 0.0)]
    faces = [(1, 2, 4, 3), (5, 7, 8, 6), (1, 5, 6, 2), (3, 4, 8, 7), (1, 3, 7, 5), (2, 6, 8, 4)]
    mesh.write_text("".join(f"v {x} {y} {z}\n" for x, y, z in corners) +
                    "".join(f"f {' '.join(map(str, f))}\n" for f in faces))
    scene = floor_scene()
    scene.fixtures.append(ObjectSpec("slab", Asset("mesh", path=str(mesh)), position=(0, 0, 0.3), labeled=False,
                                     static=True))
    world.build(scene)
    lo, hi = p.getAABB(world._fixtures[-1], physicsClientId=world.client)
    assert lo[0] == pytest.approx(0.45, abs=3e-3) and hi[2] == pytest.approx(0.3, abs=3e-3)


@pytest.mark.parametrize("mass", [None, 0.3])
def test_a_catalog_mass_replaces_a_urdfs_own_with_its_inertia_scaled(world, mass):
    """The soccer ball's URDF says 10 kg and the mug's 1 kg: beside 0.05-0.1 kg objects, the solver let them
    press those into the table by up to 18 mm. The built-in catalog gives them masses of their own."""
    duck = "pybullet_data/duck_vhacd.urdf"
    scene = floor_scene()
    scene.objects.append(ObjectSpec("duck", Asset("urdf", path=resolve_path(duck), mass=mass), position=(0, 0, 0.1)))
    plain = floor_scene()
    plain.objects.append(ObjectSpec("duck", Asset("urdf", path=resolve_path(duck), mass=None), position=(0, 0, 0.1)))
    inertia = {}
    for name, spec in (("own", plain), ("given", scene)):
        world.build(spec)
        body = next(iter(world._bodies))
        info = p.getDynamicsInfo(body, -1, physicsClientId=world.client)
        inertia[name] = (info[0], np.asarray(info[2]))
    assert inertia["own"][0] == pytest.approx(0.1)
    assert inertia["given"][0] == pytest.approx(mass or 0.1)
    assert np.allclose(inertia["given"][1], inertia["own"][1] * (mass or 0.1) / 0.1)


def test_known_point_reprojects_to_its_pixel(world):
    scene = floor_scene(position=(1.2, -0.8, 1.0), target=(0.1, 0.05, 0.1), width=320, height=240)
    point = (0.25, -0.1, 0.2)
    scene.objects.append(ObjectSpec("ball", Asset("sphere", size=(0.02,)), position=point, static=True))
    world.build(scene)
    frame = world.render(scene)
    ys, xs = np.nonzero(frame.instance == 1)
    u, v = camera.project([point], scene.camera)[0]
    assert xs.mean() + 0.5 == pytest.approx(u, abs=0.75)
    assert ys.mean() + 0.5 == pytest.approx(v, abs=0.75)


def tabletop_scene(index: int, *overrides: str) -> Scene:
    pipeline = build_pipeline(compose_config(["camera.width=160", "camera.height=120", *overrides]))
    return frame_spec(pipeline, seed=0, index=index)


@pytest.mark.parametrize("index", range(4))
def test_settled_objects_rest_on_the_support_without_penetrating(world, index):
    scene = tabletop_scene(index, "objects.count=[8,8]")
    world.build(scene)
    world.settle(scene)
    bodies = list(world._bodies)
    c = world.client
    assert all(scene.objects[i].state == "resting" for i in world._bodies.values())
    for body in bodies:
        assert p.getBasePositionAndOrientation(body, physicsClientId=c)[0][2] > scene.support.height
        others = [b for b in range(p.getNumBodies(physicsClientId=c)) if b != body]
        deepest = min((pt[8] for o in others for pt in p.getClosestPoints(body, o, 0.0, physicsClientId=c)),
                      default=0.0)
        assert deepest > -0.005, f"penetration of {-deepest * 1000:.1f} mm"
        supported = [pt for o in others for pt in p.getClosestPoints(body, o, 0.002, physicsClientId=c)]
        assert supported, "an object floats"


def test_drops_piled_under_a_shelf_board_are_moved_aside_not_lifted_through_it(world):
    """Overlapping drops are lifted until free; where the board above blocks the way, they go where there is
    room on the middle board instead of through the upper one (they came to rest on top of the shelf)."""
    scene = tabletop_scene(0, "scene=shelf", "objects.count=[10,10]", "objects.scale=[1.2,1.2]")
    for obj in scene.objects:
        obj.position = (0.0, 0.1, scene.support.height + 0.1)  # all dropped on one point
    world.build(scene)
    c = world.client
    tops = [p.getAABB(body, physicsClientId=c)[1][2] for body in world._bodies]
    assert max(tops) < 0.9  # the upper board's underside
    world.settle(scene)
    heights = [p.getBasePositionAndOrientation(b, physicsClientId=c)[0][2] for b in world._bodies]
    assert len(heights) == 10 and all(scene.support.height < z < 0.9 for z in heights)


def test_drops_with_no_room_left_under_a_shelf_board_are_left_out_not_put_on_top(world):
    """Where every point of the board is blocked (more drops than fit under the upper board), a drop was lifted
    through it and came to rest on top of the shelf, labeled as if on the board below (6 of 400 objects, shelf with
    80 objects): it is left out, as fallen objects are, with the state no_room."""
    scene = tabletop_scene(0, "scene=shelf", "objects.count=[60,60]", "objects.scale=[1.5,1.5]")
    world.build(scene)
    left_out = [obj for obj in scene.objects if obj.state == "no_room"]
    assert left_out and len(world._bodies) == len(scene.objects) - len(left_out)
    world.settle(scene)
    frame = world.render(scene)
    c = world.client
    assert all(p.getAABB(body, physicsClientId=c)[0][2] < 0.9 for body in world._bodies)  # none on the top board
    drawn = set(np.unique(frame.instance)) - {0}
    assert not drawn & {index + 1 for index, obj in enumerate(scene.objects) if obj.state == "no_room"}


def test_objects_that_fall_off_are_removed_and_not_visible(world):
    scene = tabletop_scene(0, "objects.count=[3,3]")
    scene.objects[0].position = (2.0, 2.0, 1.0)  # over the floor, beside the table
    world.build(scene)
    world.settle(scene)
    frame = world.render(scene)
    assert scene.objects[0].state == "fell"
    assert not np.any(frame.instance == 1)
    assert all(o.state == "resting" for o in scene.objects[1:])


def test_camera_inside_the_table_is_a_scene_error(world):
    scene = tabletop_scene(0)
    scene.camera.position = (0.1, 0.1, 0.74)
    world.build(scene)
    with pytest.raises(SceneError, match="inside the scene's 'table'"):
        world.render(scene)


def test_same_scene_renders_identical_bytes(world):
    scene = tabletop_scene(2)
    frames = []
    for _ in range(2):
        copy = scene.copy()
        world.build(copy)
        world.settle(copy)
        frames.append(world.render(copy))
    assert np.array_equal(frames[0].rgb, frames[1].rgb)
    assert np.array_equal(frames[0].instance, frames[1].instance)
    assert np.array_equal(frames[0].depth, frames[1].depth)


def test_unreadable_mesh_is_an_asset_error(world, tmp_path):
    broken = tmp_path / "broken.obj"
    broken.write_text("this is not a mesh\n")
    scene = floor_scene()
    scene.objects.append(ObjectSpec("thing", Asset("mesh", path=str(broken)), position=(0, 0, 0.2)))
    with pytest.raises(AssetError, match="broken.obj"):
        world.build(scene)


@pytest.mark.parametrize("renderer", RENDERERS)
def test_depth_is_zero_where_nothing_was_hit(renderer):
    scene = floor_scene(position=(0.0, -3.0, 0.5), target=(0.0, 0.0, 1.0), width=64, height=48)
    frame = render_once(renderer, scene)
    assert np.all(frame.depth[0] == 0)  # the top row sees the sky above the floor's edge
    assert np.all(frame.depth[-1] > 0)  # the bottom row sees the floor


@pytest.mark.parametrize("renderer", RENDERERS)
def test_hundreds_of_bodies_of_one_file_are_drawn(renderer):
    """Each body of a file gets its own spelling of the path (ShapePaths); 480 capsules (each drawn from the unit
    sphere twice and the unit cylinder) used to pass PyBullet's 1024-character limit and crash it."""
    grid = [(x, y) for x in np.linspace(-0.9, 0.9, 20) for y in np.linspace(-0.9, 0.9, 24)]
    scene = floor_scene(position=(0.0, -0.01, 3.0), target=(0, 0, 0), width=240, height=240)
    scene.objects = [ObjectSpec("capsule", Asset("capsule", size=(0.02, 0.04)), category_id=1, position=(x, y, 0.03),
                                static=True) for x, y in grid]
    instance = render_once(renderer, scene).instance
    assert len(np.unique(instance[instance > 0])) == len(grid) == 480


@pytest.mark.skipif(not egl_available(), reason="no EGL here")
def test_a_scene_with_more_mesh_than_egl_draws_is_an_error():
    """PyBullet's EGL renderer holds 1,242,756 triangles a scene and leaves out what does not fit: 560 capsules
    of 2,240 (two unit-sphere ends and a cylinder) would draw 555."""
    scene = floor_scene(position=(0.0, -0.01, 3.0), target=(0, 0, 0), width=64, height=64)
    scene.objects = [ObjectSpec("capsule", Asset("capsule", size=(0.02, 0.04)), category_id=1, position=(0, 0, 0.03),
                                static=True) for _ in range(560)]
    with pytest.raises(SceneError, match=r"^objects: the scene's meshes have 1,254,412 triangles, more than the "
                                         r"1,242,756 PyBullet's EGL renderer draws"):
        render_once("egl", scene)


COLLADA = """<?xml version="1.0"?>
<COLLADA xmlns="http://www.collada.org/2005/11/COLLADASchema" version="1.4.1">
  <library_geometries><geometry id="g"><mesh>
    <polylist count="2"><vcount>4 5</vcount><p>0 1 2 3 0 1 2 3 4</p></polylist>
    <triangles count="3"><p>0 1 2 0 1 2 0 1 2</p></triangles>
  </mesh></geometry></library_geometries>
  <library_visual_scenes><visual_scene id="s">
    <node><instance_geometry url="#g"/></node><node><instance_geometry url="#g"/></node>
  </visual_scene></library_visual_scenes>
</COLLADA>"""


def test_the_egl_budget_counts_collada_meshes_as_pybullet_draws_them(tmp_path):
    """A URDF's COLLADA visuals counted 0 triangles: a scene of them passed the check and lost bodies."""
    import pybullet_data

    data = pybullet_data.getDataPath()
    assert file_triangles(f"{data}/duck.dae") == file_triangles(f"{data}/duck.obj") == 4212  # one duck, two files
    (tmp_path / "two.dae").write_text(COLLADA)
    assert file_triangles(str(tmp_path / "two.dae")) == 2 * ((4 - 2) + (5 - 2) + 3)  # placed twice


def test_each_load_of_a_file_is_a_short_new_name_for_it():
    import pybullet_data

    file = f"{pybullet_data.getDataPath()}/duck.obj"
    paths = ShapePaths()
    names = [paths(file) for _ in range(1000)]
    assert names[0] == file and len(set(names)) == 1000 and max(map(len, names)) <= len(file) + 20
    assert all(os.path.samefile(name, file) for name in names)


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("kind, path", [("urdf", "jenga/jenga.urdf"), ("urdf", "objects/mug.urdf"),
                                        ("mesh", "duck.obj")])
def test_the_same_file_at_two_scales_is_drawn_at_each_scale(renderer, kind, path):
    """PyBullet's EGL plugin caches visual shapes by file name: without simgen's path spellings (ShapePaths),
    the second body of a file is drawn at the first one's scale, here as small as the first."""
    import pybullet_data

    file = f"{pybullet_data.getDataPath()}/{path}"
    scale = 0.05 if kind == "mesh" else 1.0  # duck.obj is in centimetres
    objects = [ObjectSpec("a", Asset(kind, path=file), category_id=1, position=(0, y, 0.1), static=True, scale=s)
               for y, s in ((-0.2, scale), (0.2, 2 * scale), (0.0, scale))]
    scene = floor_scene(position=(0.6, 0, 0.7), target=(0, 0, 0.1), width=200, height=200)
    scene.objects = objects
    instance = render_once(renderer, scene).instance
    small, large, again = (np.count_nonzero(instance == i) for i in (1, 2, 3))
    assert small > 50 and 3.0 < large / small < 5.0 and 0.8 < again / small < 1.25
