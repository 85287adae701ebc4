"""Visibility labels from constructed instance maps and amodal masks: fractions, thresholds, ignore, truncation."""

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from simgen.annotate import Annotator
from simgen.errors import ConfigError
from simgen.frame import Frame
from simgen.scene import Asset, ObjectSpec, Scene, Support


def scene_of(n: int) -> Scene:
    objects = [ObjectSpec("thing", Asset("box", size=(0.1, 0.1, 0.1)), category_id=8, position=(0, 0, 1.0),
                          bbox_3d=((-0.05, -0.05, -0.05), (0.05, 0.05, 0.05))) for _ in range(n)]
    scene = Scene("t", Support(0.0, ((0, 0), (1, 1))), (0, 0, 0), objects=objects)
    scene.camera.position, scene.camera.target, scene.camera.up = (0, 0, 2.0), (0, 0, 0), (0, 1, 0)
    scene.camera.width, scene.camera.height = 60, 40
    return scene


def occluded_frame() -> Frame:
    """Object 1: a 10x10 square, 40 pixels hidden by object 2 (fraction 0.6); object 2: 4x10 unoccluded;
    object 3: 5x5 at the right border, 2 columns of it hidden (fraction 0.6)."""
    inst = np.zeros((40, 60), np.int32)
    inst[5:15, 5:15] = 1
    inst[5:15, 5:9] = 2
    inst[20:25, 57:60] = 3
    amodal = {1: (5, 5, np.ones((10, 10), bool)), 2: (5, 5, np.ones((10, 4), bool)),
              3: (55, 20, np.ones((5, 5), bool))}
    return Frame(np.zeros((40, 60, 3), np.uint8), np.full((40, 60), 2.0, np.float32), inst, amodal=amodal)


@pytest.mark.parametrize("args, kept, ignored", [
    ({"min_visible_pixels": 1, "amodal": True}, [1, 2, 3], []),
    ({"min_visible_pixels": 1, "amodal": True, "min_visible_fraction": 0.7}, [2], []),
    ({"min_visible_pixels": 1, "amodal": True, "min_visible_fraction": 0.7, "below": "ignore"}, [1, 2, 3], [1, 3]),
    ({"min_visible_pixels": 50, "amodal": True, "below": "ignore"}, [1, 2, 3], [2, 3]),
    ({"min_visible_pixels": 50, "amodal": True}, [1], []),
])
def test_thresholds_drop_or_mark_instances(args, kept, ignored):
    instances = Annotator(**args)(occluded_frame(), scene_of(3))
    assert [i.instance_value for i in instances] == kept
    assert [i.instance_value for i in instances if i.ignore] == ignored


def test_visible_fraction_amodal_box_and_truncation():
    by_id = {i.instance_value: i for i in Annotator(min_visible_pixels=1, amodal=True)(occluded_frame(), scene_of(3))}
    assert by_id[1].visible_fraction == 0.6 and by_id[1].amodal_area == 100
    assert by_id[1].amodal_bbox == [5.0, 5.0, 10.0, 10.0] and by_id[1].bbox == [9.0, 5.0, 6.0, 10.0]
    assert by_id[2].visible_fraction == 1.0
    assert by_id[3].visible_fraction == 0.6 and by_id[3].truncated and not by_id[1].truncated


def test_amodal_rle_round_trips_through_pycocotools():
    (inst, *_) = Annotator(min_visible_pixels=1, amodal=True)(occluded_frame(), scene_of(3))
    rle = {"size": inst.amodal_rle["size"], "counts": inst.amodal_rle["counts"].encode()}
    decoded = mask_utils.decode(rle)
    assert decoded.sum() == inst.amodal_area and decoded[5:15, 5:15].all()
    assert mask_utils.encode(np.asfortranarray(decoded))["counts"] == rle["counts"]


def test_without_amodal_there_is_no_fraction_and_truncation_comes_from_the_visible_mask():
    frame = occluded_frame()
    frame.amodal = None
    by_id = {i.instance_value: i for i in Annotator(min_visible_pixels=1)(frame, scene_of(3))}
    assert all(i.visible_fraction is None and i.amodal_rle is None for i in by_id.values())
    assert by_id[3].truncated and not by_id[1].truncated


def test_keypoints_of_a_box_on_the_optical_axis():
    """A 0.1 m cube 1 m below a camera looking straight down, in front of a surface 1 m away: its centre
    projects to the image centre; its top corners (object z max, nearer) are seen, its bottom ones hidden."""
    frame = occluded_frame()
    frame.depth[:] = 1.0
    scene = scene_of(3)
    (inst, *_) = Annotator(min_visible_pixels=1)(frame, scene)
    kps = np.asarray(inst.keypoints).reshape(-1, 3)
    f = 20 / np.tan(np.radians(scene.camera.fov) / 2)
    assert kps[-1].tolist() == [30.0, 20.0, 2]
    assert kps[:8, 2].tolist() == [1, 1, 1, 1, 2, 2, 2, 2]
    assert np.allclose(np.abs(kps[:4, :2] - [30, 20]), 0.05 * f / 1.05, atol=1e-3)
    assert np.allclose(np.abs(kps[4:8, :2] - [30, 20]), 0.05 * f / 0.95, atol=1e-3)
    assert inst.num_keypoints == 9 and inst.bbox_3d == [[-0.05, -0.05, -0.05], [0.05, 0.05, 0.05]]


@pytest.mark.parametrize("args, key", [
    ({"min_visible_fraction": 0.5}, "min_visible_fraction: needs amodal=true"),
    ({"min_visible_fraction": 1.5, "amodal": True}, "min_visible_fraction"),
    ({"below": "hide"}, "below"),
    ({"amodal": "yes"}, "amodal"),
])
def test_bad_settings_name_the_key(args, key):
    with pytest.raises(ConfigError, match=key):
        Annotator(**args)
