"""The COCO writer: polygons run along the mask's pixel edges, so pycocotools draws them back as the mask; records
are assembled in frame order."""

import json

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from conftest import in_lines
from simgen.errors import OutputError
from simgen.polygons import mask_polygons
from simgen.writers.coco import CocoWriter
from simgen.writers.coco_records import record_bytes, record_entries
from simgen.writers.files import frame_stem


def drawn(polygons: list[list[float]], shape: tuple[int, int]) -> np.ndarray:
    return mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(polygons, *shape))).astype(bool)


def shapes() -> dict[str, np.ndarray]:
    square, ell, disc = (np.zeros((40, 50), bool) for _ in range(3))
    square[10:14, 20:23] = True
    ell[5:30, 5:12] = True
    ell[23:30, 5:40] = True
    cv2.circle(disc.view(np.uint8), (25, 20), 12, 1, -1)
    return {"square": square, "ell": ell, "disc": disc}


@pytest.mark.parametrize("name", ["square", "ell", "disc"])
def test_unsimplified_polygons_draw_back_the_mask(name):
    mask = shapes()[name]
    assert np.array_equal(drawn(mask_polygons(mask, 0.0), mask.shape), mask)


@pytest.mark.parametrize("name", ["square", "ell", "disc"])
def test_simplified_polygons_stay_centred_on_the_mask(name):
    mask = shapes()[name]
    back = drawn(mask_polygons(mask, 1.0), mask.shape)
    assert (back & mask).sum() / (back | mask).sum() > 0.85
    assert np.allclose(np.argwhere(back).mean(0), np.argwhere(mask).mean(0), atol=0.25)


@pytest.mark.parametrize("name", ["square", "ell", "disc", "bump"])
def test_simplified_polygons_keep_the_masks_box(name):
    """The outline keeps the mask's extreme points (within the 1/8 pixel it runs inside the pixels' edges), so a
    box taken from it, as Ultralytics takes a segment label's, is the mask's box: simplifying alone flattened the
    bump, a pixel high, on top of a box."""
    masks = shapes()
    masks["bump"] = np.zeros((60, 60), bool)
    masks["bump"][20:40, 10:50] = True
    masks["bump"][19, 26:34] = True
    mask = masks[name]
    points = np.concatenate([np.reshape(p, (-1, 2)) for p in mask_polygons(mask, 1.0)])
    ys, xs = np.nonzero(mask)
    assert np.allclose(points.min(0), [xs.min() + 0.125, ys.min() + 0.125])
    assert np.allclose(points.max(0), [xs.max() + 0.875, ys.max() + 0.875])


def thin_shapes() -> dict[str, np.ndarray]:
    """Masks a pixel thick, which simplification flattened to lines: COCO got `segmentation: []`."""
    pair, row, diagonal, disc_and_crumb = (np.zeros((40, 70), bool) for _ in range(4))
    pair[10, 20:22] = True
    row[5, 5:65] = True
    diagonal[np.arange(35), np.arange(35) + 10] = True
    cv2.circle(disc_and_crumb.view(np.uint8), (25, 20), 12, 1, -1)
    disc_and_crumb[20, 50:53] = True  # a crumb beside the object
    return {"pair": pair, "row": row, "diagonal": diagonal, "disc_and_crumb": disc_and_crumb}


@pytest.mark.parametrize("name", thin_shapes())
def test_a_part_too_thin_to_simplify_keeps_its_traced_outline(name):
    mask = thin_shapes()[name]
    back = drawn(mask_polygons(mask, 1.0), mask.shape)
    thin = mask.copy()
    thin[8:33, 13:38] = False  # the disc, which simplification may change
    assert np.array_equal(back & thin, thin) and not (back & ~mask)[:, 45:].any()


def test_an_empty_mask_has_no_polygon():
    assert mask_polygons(np.zeros((5, 5), bool), 1.0) == []


def test_records_past_a_million_frames_are_assembled_in_frame_order(tmp_path):
    """Frame file names grow from six digits to seven at 1,000,000: the COCO file keeps frame order."""
    writer = CocoWriter()
    writer.open(tmp_path, [{"id": 1, "name": "duck"}])
    for index in (999999, 1000000, 100002, 1000001):
        record = {"image": {"id": index + 1, "frame_index": index}, "annotations": [{"image_id": index + 1}]}
        (tmp_path / "coco" / f"{frame_stem(index)}.json").write_text(json.dumps(record))
    writer.close()
    coco = json.loads((tmp_path / "annotations.json").read_text())
    assert [image["frame_index"] for image in coco["images"]] == [100002, 999999, 1000000, 1000001]
    assert [(a["id"], a["image_id"]) for a in coco["annotations"]] == [(1, 100003), (2, 1000000), (3, 1000001),
                                                                      (4, 1000002)]


RECORD_LAYOUTS = {
    "simgen's": lambda record: record_bytes(record["image"], record["annotations"]),
    "on one line (simgen before)": lambda record: json.dumps(record).encode(),
    "indented (edited by hand)": lambda record: json.dumps(record, indent=1).encode(),
    "one per line, spaced": lambda record: record_bytes(record["image"], record["annotations"]).replace(b":", b": "),
    "a space after a line's comma": lambda record: record_bytes(record["image"], record["annotations"])
    .replace(b",\n", b", \n"),
    "CRLF (saved on Windows)": lambda record: record_bytes(record["image"], record["annotations"]).replace(b"\n",
                                                                                                         b"\r\n"),
}


@pytest.mark.parametrize("layout", RECORD_LAYOUTS)
@pytest.mark.parametrize("frames", [0, 1, 3])
def test_the_assembled_file_is_the_compact_json_of_the_whole_dataset(tmp_path, frames, layout):
    """annotations.json is streamed a record at a time; its bytes are those of the whole COCO object dumped at once
    (an entry per line),
    frames without annotations and a shard of no frames included, and nothing else is left beside it; whichever
    layout the records have (those simgen writes have their bytes copied, others are encoded again)."""
    writer = CocoWriter()
    writer.open(tmp_path, [{"id": 1, "name": "dück"}])
    records = [{"image": {"id": i + 1, "frame_index": i, "file_name": "rgb/ü.png"},
                "annotations": [{"image_id": i + 1, "bbox": [0.5, 1e-05, -0.0, 3], "name": "a\nb\u00fc"}]
                * (i % 2 * 2)} for i in range(frames)]
    for index, record in enumerate(records):
        (tmp_path / "coco" / f"{frame_stem(index)}.json").write_bytes(RECORD_LAYOUTS[layout](record))
    writer.close()
    annotations = [ann for record in records for ann in record["annotations"]]
    whole = {**json.loads((tmp_path / "annotations.json").read_text()), "images": [r["image"] for r in records],
             "annotations": [{"id": k + 1, **ann} for k, ann in enumerate(annotations)]}
    assert (tmp_path / "annotations.json").read_bytes() == in_lines(whole)
    assert json.loads((tmp_path / "annotations.json").read_bytes()) == whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["annotations.json", "coco"]


@pytest.mark.parametrize("damaged", [b'{"image": {"id": 2}, "annot', b'{"image":{"id":2},"annotations":[1]}',
                                     b'{"image":{"id":2},"annotations":[\n{"a":1},\n{"b"\n]}',
                                     b'{"image":{"id":2},"annotations":[\n{"a":1,\n{"b":2}\n]}'])
def test_a_damaged_record_leaves_no_annotations_file(tmp_path, damaged):
    writer = CocoWriter()
    writer.open(tmp_path, [{"id": 1, "name": "duck"}])
    (tmp_path / "coco" / "000000.json").write_text('{"image": {"id": 1}, "annotations": []}')
    (tmp_path / "coco" / "000001.json").write_bytes(damaged)
    with pytest.raises(OutputError, match="000001.json: not a frame's COCO record"):
        writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coco"]


def test_records_simgen_writes_have_their_annotations_copied_as_bytes(tmp_path):
    """The assembly reads simgen's records line by line: each annotation's bytes as written, not encoded again."""
    annotations = [{"image_id": 7, "bbox": [1.5, 2, 3, 4]}, {"image_id": 7, "segmentation": {"counts": "a]b"}}]
    path = tmp_path / "000006.json"
    path.write_bytes(record_bytes({"id": 7, "frame_index": 6}, annotations))
    image, entries = record_entries(path)
    assert image == b'{"id":7,"frame_index":6}'
    assert entries == [json.dumps(a, separators=(",", ":")).encode() for a in annotations]
    assert json.loads(path.read_bytes()) == {"image": {"id": 7, "frame_index": 6}, "annotations": annotations}
