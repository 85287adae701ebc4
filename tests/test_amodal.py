"""Amodal masks and 3D boxes from the real engine: a constructed occlusion with a known visible fraction."""

import dataclasses

import numpy as np
import pytest

from simgen import camera, geometry
from simgen.annotate import Annotator
from simgen.annotate import paste as full_mask
from simgen.config import build_pipeline
from simgen.pipeline import frame_spec
from simgen.scene import Asset, CameraSpec, ObjectSpec, Scene, Support
from simgen.world import World

from conftest import RENDERERS, compose_config


def stacked_boxes() -> Scene:
    """A 0.2 m cube-ish box seen from straight above, its left half (x < 0) under a second, nearer box."""
    floor = ObjectSpec("floor", Asset("box", size=(2.0, 2.0, 0.02)), position=(0, 0, -0.01), labeled=False,
                       static=True)
    below = ObjectSpec("below", Asset("box", size=(0.2, 0.2, 0.1)), category_id=8, position=(0, 0, 0.05),
                       static=True)
    above = ObjectSpec("above", Asset("box", size=(0.1, 0.2, 0.05)), category_id=8, position=(-0.05, 0, 0.125),
                       static=True)
    cam = CameraSpec(position=(0, 0, 0.6), target=(0, 0, 0), up=(0, 1, 0), width=160, height=120)
    return Scene("stack", Support(0.0, ((-1, -1), (1, 1))), (0, 0, 0), fixtures=[floor],
                 objects=[below, above], camera=cam)


@pytest.fixture(params=RENDERERS)
def rendered(request):
    scene = stacked_boxes()
    world = World(renderer=request.param)
    try:
        world.build(scene)
        world.settle(scene)
        frame = world.render(scene)
        amodal = world.render_amodal(scene, [1, 2], frame.instance)
        full = world.render_amodal(scene, [1, 2], strategy="full")
        again = world.render(scene)
    finally:
        world.close()
    return scene, frame, amodal, full, again


def test_occluded_box_is_half_visible(rendered):
    scene, frame, amodal, _, _ = rendered
    below = full_mask(amodal[1], frame.instance.shape)
    visible = frame.instance == 1
    assert not np.any(visible & ~below), "the visible mask lies inside the amodal mask"
    assert visible.sum() / below.sum() == pytest.approx(0.5, abs=0.03)
    # seen from above, the amodal silhouette is the box's top face: 0.2 m square at 0.5 m depth
    side = 2 * camera.intrinsics(scene.camera)[0, 0] * 0.1 / 0.5
    assert below.sum() == pytest.approx(side * side, rel=0.05)


def test_unoccluded_box_amodal_equals_visible(rendered):
    _, frame, amodal, _, _ = rendered
    assert np.array_equal(full_mask(amodal[2], frame.instance.shape), frame.instance == 2)


def test_cropped_render_matches_the_full_frame_render(rendered):
    _, frame, amodal, full, _ = rendered
    for inst_id in (1, 2):
        assert np.array_equal(full_mask(amodal[inst_id], frame.instance.shape),
                              full_mask(full[inst_id], frame.instance.shape))
        assert amodal[inst_id][2].size < full[inst_id][2].size


@pytest.mark.parametrize("renderer", RENDERERS)
def test_a_tile_half_past_the_border_counts_its_whole_silhouette(renderer):
    """A flat 0.2 m tile under the camera, moved so that the image's left border cuts it in half: its amodal mask is
    the half in the image, silhouette_area both halves (as the BOP toolkit counts px_count_all), as one render of
    the whole reach per object gives."""
    scene = stacked_boxes()
    fx = camera.intrinsics(scene.camera)[0, 0]
    depth = 0.6 - 0.002
    tile = ObjectSpec("tile", Asset("box", size=(0.2, 0.2, 0.002)), category_id=8,
                      position=(-80 * depth / fx, 0, 0.001), static=True)  # its centre on column 0
    scene.objects = [tile]
    side = fx * 0.2 / depth
    world = World(renderer=renderer)
    try:
        world.build(scene)
        world.settle(scene)
        frame = world.render(scene)
        amodal = world.render_amodal(scene, [1], frame.instance)
        full = world.render_amodal(scene, [1], strategy="full")
    finally:
        world.close()
    inst = Annotator(min_visible_pixels=1, amodal=True)(dataclasses.replace(frame, amodal=amodal), scene)[0]
    assert inst.amodal_area == pytest.approx(side * side / 2, rel=0.05) and inst.truncated
    assert inst.silhouette_area == pytest.approx(side * side, rel=0.05)
    assert inst.silhouette_area == full[1][2].sum() and inst.in_frame_fraction == pytest.approx(0.5, abs=0.02)
    x, y, w, h = inst.silhouette_bbox
    assert x < 0 and x + w == inst.amodal_bbox[0] + inst.amodal_bbox[2] and w == pytest.approx(side, abs=1.5)


def test_world_is_restored_after_amodal_renders(rendered):
    _, frame, _, _, again = rendered
    assert np.array_equal(frame.instance, again.instance) and np.array_equal(frame.rgb, again.rgb)


def test_3d_box_is_measured_in_the_object_frame(rendered):
    scene = rendered[0]
    assert np.allclose(scene.objects[0].bbox_3d, ((-0.1, -0.1, -0.05), (0.1, 0.1, 0.05)), atol=1e-6)
    assert np.allclose(scene.objects[1].bbox_3d, ((-0.05, -0.1, -0.025), (0.05, 0.1, 0.025)), atol=1e-6)


def test_box_corner_keypoints_land_on_the_rendered_corners(rendered):
    """The top face's corners of the unoccluded box project onto the corners of its mask."""
    scene, frame, _, _, _ = rendered
    obj = scene.objects[1]
    rot, trans = geometry.object_to_camera(obj, scene.camera)
    uv = geometry.project_camera_points(geometry.box_corners(obj.bbox_3d)[4:] @ rot.T + trans,
                                        camera.intrinsics(scene.camera))
    ys, xs = np.nonzero(frame.instance == 2)
    assert uv[:, 0].min() == pytest.approx(xs.min(), abs=1.0) and uv[:, 0].max() == pytest.approx(xs.max() + 1, abs=1.0)
    assert uv[:, 1].min() == pytest.approx(ys.min(), abs=1.0) and uv[:, 1].max() == pytest.approx(ys.max() + 1, abs=1.0)


@pytest.mark.parametrize("renderer", RENDERERS)
def test_fixtures_are_left_out_of_amodal_masks(renderer):
    """The same occlusion with the nearer box a fixed, unlabeled fixture: still half visible."""
    scene = stacked_boxes()
    above = scene.objects.pop()
    above.labeled = False
    scene.fixtures.append(above)
    world = World(renderer=renderer)
    try:
        world.build(scene)
        world.settle(scene)
        frame = world.render(scene)
        amodal = world.render_amodal(scene, [1])
    finally:
        world.close()
    below = full_mask(amodal[1], frame.instance.shape)
    assert (frame.instance == 1).sum() / below.sum() == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize("renderer", RENDERERS)
def test_shared_cropped_renders_match_one_full_render_per_object_on_real_scenes(renderer):
    """Piles of catalog objects (meshes whose 3D box is their collision geometry's): the adaptive renders give
    the masks one full-image render per object gives, but for a rare edge pixel."""
    pipeline = build_pipeline(compose_config(["camera.width=160", "camera.height=120", f"renderer={renderer}",
                                              "objects.count=[8,10]", "camera.distance=[0.5,0.8]"]))
    world, compared = pipeline.world, 0
    try:
        for index in range(3):
            scene = frame_spec(pipeline, seed=0, index=index)
            world.build(scene)
            world.settle(scene)
            frame = world.render(scene)
            ids = Annotator(min_visible_pixels=1).candidates(frame)
            full = world.render_amodal(scene, ids, strategy="full")
            for adaptive in (world.render_amodal(scene, ids, frame.instance), world.render_amodal(scene, ids)):
                for i in ids:
                    a, b = full_mask(adaptive[i], (120, 160)), full_mask(full[i], (120, 160))
                    assert (a ^ b).sum() <= 2 and b.any()
                    compared += 1
    finally:
        world.close()
    assert compared >= 30
