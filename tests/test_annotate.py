import numpy as np
import pytest
from pycocotools import mask as mask_utils

from simgen.annotate import Annotator, instance_rles, mask_rect
from simgen.errors import ConfigError
from simgen.frame import Frame
from simgen.scene import Asset, ObjectSpec, Scene, Support


def scene_with(n: int) -> Scene:
    objects = [ObjectSpec("thing", Asset("box", size=(0.1, 0.1, 0.1)), category_id=10 + k) for k in range(n)]
    return Scene("t", Support(0.0, ((0, 0), (1, 1))), (0, 0, 0), objects=objects)


def frame_of(instance: np.ndarray) -> Frame:
    h, w = instance.shape
    return Frame(np.zeros((h, w, 3), np.uint8), np.zeros((h, w), np.float32), instance.astype(np.int32))


def test_boxes_areas_and_rle_come_from_the_visible_mask():
    inst = np.zeros((40, 60), np.int32)
    inst[5:15, 10:30] = 1          # 10 x 20 block
    inst[20:40, 50:60] = 3         # touches the bottom-right border
    inst[12:18, 25:28] = 3         # a second, separate piece of object 3
    instances = Annotator(min_visible_pixels=1)(frame_of(inst), scene_with(3))
    by_id = {i.instance_value: i for i in instances}
    assert sorted(by_id) == [1, 3]
    assert by_id[1].bbox == [10.0, 5.0, 20.0, 10.0] and by_id[1].area == 200 - 3 * 3
    assert by_id[3].bbox == [25.0, 12.0, 35.0, 28.0] and by_id[3].area == 200 + 18
    assert by_id[3].category_id == 12
    for inst_ in instances:
        decoded = mask_utils.decode({"size": inst_.rle["size"], "counts": inst_.rle["counts"].encode()})
        assert np.array_equal(decoded.astype(bool), inst == inst_.instance_value)
        assert mask_utils.area(inst_.rle) == inst_.area


@pytest.mark.parametrize("threshold, kept", [(1, [1, 2]), (5, [1]), (100, [])])
def test_min_visible_pixels_leaves_out_small_instances(threshold, kept):
    inst = np.zeros((20, 20), np.int32)
    inst[0:3, 0:3] = 1  # 9 pixels
    inst[10, 10] = 2    # 1 pixel
    assert [i.instance_value for i in Annotator(threshold)(frame_of(inst), scene_with(2))] == kept


def test_unlabeled_objects_are_never_annotated_because_the_world_leaves_them_out_of_the_map():
    inst = np.zeros((10, 10), np.int32)
    assert Annotator(1)(frame_of(inst), scene_with(2)) == []


def test_threshold_must_be_positive():
    with pytest.raises(ConfigError, match="min_visible_pixels"):
        Annotator(0)


@pytest.mark.parametrize("seed", range(5))
def test_run_length_rles_equal_pycocotools_encoding_of_each_mask(seed):
    rng = np.random.default_rng(seed)
    inst = rng.integers(0, 6, size=(37, 53)).astype(np.int32)
    inst[rng.uniform(size=inst.shape) < 0.5] = 0
    inst[0, 0], inst[-1, -1] = 2, 3  # runs touching the first and the last pixel
    rles = instance_rles(inst)
    assert sorted(rles) == sorted(set(np.unique(inst)) - {0})
    for inst_id, rle in rles.items():
        expected = mask_utils.encode(np.asfortranarray((inst == inst_id).astype(np.uint8)))
        assert rle["counts"] == expected["counts"] and rle["size"] == expected["size"]


def test_a_masks_rect_is_the_box_of_its_pixels():
    """mask_rect (OpenCV) against np.nonzero, for masks of every kind the tools pass it."""
    rng = np.random.default_rng(0)
    for _ in range(50):
        mask = np.zeros((48, 64), bool)
        y, x = rng.integers(0, 48), rng.integers(0, 64)
        mask[y:y + rng.integers(1, 20), x:x + rng.integers(1, 20)] = True
        mask &= rng.random(mask.shape) < 0.7
        ys, xs = np.nonzero(mask)
        expected = (xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) if len(xs) else (0, 0, 0, 0)
        decoded = mask_utils.decode(mask_utils.encode(np.asfortranarray(mask.astype(np.uint8))))  # Fortran order
        for kind in (mask, decoded, mask.astype(np.uint16) * 7, mask[:, ::-1][:, ::-1]):
            assert mask_rect(kind) == expected
    assert mask_rect(np.zeros((4, 5), bool)) == (0, 0, 0, 0)
    assert mask_rect(np.ones((4, 5), bool)) == (0, 0, 5, 4)
