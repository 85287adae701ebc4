"""A finished dataset's annotations.json: read, and each entry checked against the fields its reader needs.

The one reader behind the exporters and simgen-check (simgen.export.dataset) and the viewing tools
(simgen.tools.dataset). Each names the fields it requires in a Schema; RULES says what a field must be wherever it
is checked, so a malformed entry is the same one-line DatasetError in every tool: the file, the entry
(`annotations[3] (id 12)`), the field and what was expected.
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Optional

from simgen.errors import SimgenError
from simgen.writers.files import FINISHED_MARKER, LOG_FILE

ANNOTATIONS = FINISHED_MARKER
KINDS = ("images", "annotations", "categories")
HEAD_BYTES = 1 << 20  # how far into annotations.json read_head looks for the images' start
# annotations.json as simgen writes it: compact JSON, each image and each annotation on a line of its own,
#   {"info":{...},"licenses":[],"categories":[...],"images":[
#   {"id":1,...},
#   ],"annotations":[
#   {"id":1,"image_id":1,...}
#   ]}
# so that a reader can take the annotations a line at a time (read_lines) instead of holding them all.
IMAGES_START, ANNOTATIONS_START, LIST_END, SEPARATOR = b',"images":[\n', b'\n],"annotations":[\n', b"\n]}", b",\n"
MAX_COORDINATE = 1e7  # pixels: boxes, keypoints and polygons beyond this are not coordinates of an image
MAX_SIDE = 1 << 16  # pixels: an image's width or height beyond is no image's (a mask of it would not fit memory)
# Annotation fields simgen wrote under other names before: instance_id, which FiftyOne's importer cannot take.
RENAMED = {"instance_id": "instance_value"}


class DatasetError(SimgenError):
    """A dataset folder is missing, or a file in it is unreadable or not what the tools read."""


# ---- what each field of an entry must be ----

def _integer(value: Any, low: float = -math.inf) -> bool:
    return type(value) is int and value >= low


def finite_number(value: Any) -> bool:
    """A finite JSON number (not a boolean)."""
    return type(value) is int or (type(value) is float and math.isfinite(value))


def _coordinate(value: Any) -> bool:
    """A finite pixel coordinate that drawing can take (OpenCV's are 32-bit)."""
    return finite_number(value) and abs(value) <= MAX_COORDINATE


def _box(value: Any) -> bool:
    return type(value) is list and len(value) == 4 and all(map(_coordinate, value)) and min(value[2:]) >= 0


def _points(value: Any, size: int) -> bool:
    """A flat list of `size`-tuples of coordinates: keypoints [x, y, v, ...] or a polygon [x, y, ...]."""
    return type(value) is list and len(value) % size == 0 and all(map(_coordinate, value))


def _segmentation(value: Any) -> bool:
    """Polygons of at least 3 points, or an RLE; whether an RLE fits its image is check_references' concern."""
    if type(value) is list:  # none at all draws nothing, and pycocotools fails on it
        return bool(value) and all(_points(polygon, 2) and len(polygon) >= 6 for polygon in value)
    return type(value) is dict and "counts" in value


def _skeleton(value: Any) -> bool:
    return type(value) is list and all(type(e) is list and len(e) == 2 and all(map(_integer, e)) for e in value)


def _inside(value: Any) -> bool:
    """Whether `value` is a path inside the dataset's folder: the exports place each image from there."""
    return type(value) is str and bool(value) and not value.startswith(("/", "\\")) and \
        ".." not in value.replace("\\", "/").split("/")


Rule = tuple[Callable[[Any], bool], str]  # whether a value is fit, and the fit values as "expected ..." names them
RULES: dict[str, dict[str, Rule]] = {
    "images": {
        "id": (_integer, "an integer"),
        "file_name": (_inside, "a file's path inside the dataset (relative, without ..)"),
        "width": (lambda v: _integer(v, 1) and v <= MAX_SIDE, f"a positive integer up to {MAX_SIDE}"),
        "height": (lambda v: _integer(v, 1) and v <= MAX_SIDE, f"a positive integer up to {MAX_SIDE}"),
        "frame_index": (lambda v: _integer(v, 0), "an integer >= 0"),
        "depth_scale": (lambda v: finite_number(v) and v > 0, "a positive number"),
    },
    "annotations": {
        "id": (_integer, "an integer"),
        "image_id": (_integer, "an integer"),
        "category_id": (_integer, "an integer"),
        "bbox": (_box, "[x, y, width, height] in pixels (finite, width and height >= 0)"),
        "area": (lambda v: finite_number(v) and v >= 0, "a number >= 0"),
        "segmentation": (_segmentation, "one or more polygons [x1, y1, x2, y2, x3, y3, ...] of at least 3 points "
                                        "of finite numbers, or an RLE {size, counts}"),
        "keypoints": (lambda v: _points(v, 3), "a list of [x, y, v] triples of finite numbers"),
        "visible_fraction": (finite_number, "a finite number"),
    },
    "categories": {
        "id": (_integer, "an integer"),
        "name": (lambda v: type(v) is str, "a string"),
        "skeleton": (_skeleton, "a list of [a, b] keypoint numbers"),
    },
}


Check = tuple[str, Rule, bool]  # a field, its rule, and whether the entry must have it


@dataclass(frozen=True)
class Schema:
    """What a reader needs of each kind of entry: the fields it requires (each checked by its rule); where
    `check_present`, also every other field of RULES, where an entry has it."""

    required: dict[str, tuple[str, ...]]
    check_present: bool = False

    def checks(self, kind: str) -> list[Check]:
        """(field, rule, required) for each field checked in coco[kind], the required first."""
        required = self.required[kind]
        present = [name for name in RULES[kind] if name not in required] if self.check_present else []
        return [(name, RULES[kind][name], name in required) for name in (*required, *present)]


# ---- reading ----

def short(value: Any, limit: int = 60) -> str:
    """The value as JSON (as the file has it), cut to `limit` characters."""
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def first_line(err: BaseException) -> str:
    return (str(err).splitlines() or [type(err).__name__])[0]


def _unreadable(path: Path, err: OSError) -> DatasetError:
    """The one line for a file of the dataset that cannot be read."""
    return DatasetError(f"{path}: unreadable ({err.strerror or type(err).__name__})")


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except OSError as err:
        raise _unreadable(path, err) from None
    except (ValueError, RecursionError) as err:  # JSONDecodeError, UnicodeDecodeError
        raise DatasetError(f"{path}: not a readable JSON file ({first_line(err)})") from None


def read(root: Path, schema: Schema) -> dict:
    """The COCO object in `root`/annotations.json, every entry checked against `schema`; a DatasetError names
    what is missing or the first malformed entry."""
    return read_file(annotations_path(root), schema)


def read_file(path: Path, schema: Schema) -> dict:
    """read() for a COCO file of another name (the COCO split files). The entries are checked in the order
    read_lines checks them (images, categories, annotations): the same first problem in either reader."""
    coco = read_json(path)
    if type(coco) is not dict:
        raise DatasetError(f"{path}: expected a COCO object with images, annotations and categories, "
                           f"got {short(coco)}")
    for kind in KINDS:
        if kind not in coco:
            raise DatasetError(f"{path}: no {kind!r} list; not a COCO instances file")
        if type(coco[kind]) is not list:
            raise DatasetError(f"{path}: {kind!r}: expected a list, got {short(coco[kind])}")
    for kind in ("images", "categories", "annotations"):
        check_entries(path, kind, coco[kind], schema)
    with_todays_names(coco["annotations"])
    return coco


def annotations_path(root: Path) -> Path:
    """root/annotations.json, which must be there."""
    path = root / ANNOTATIONS
    if not root.is_dir():
        raise DatasetError(f"{root}: no such dataset directory")
    if not path.is_file():
        raise DatasetError(f"{path}: missing; {not_finished(root)}")
    return path


def read_lines(root: Path, schema: Schema) -> Optional[tuple[dict, int]]:
    """The COCO object in `root`/annotations.json without its annotations, checked against `schema`, and the byte
    offset of its first annotation line (for streamed_annotations), where the file is laid out as simgen writes it
    (see IMAGES_START), image ids unique and the annotations in id order, grouped by image in the images' order;
    None for a file laid out otherwise (edited, or written by another tool), which read() reads whole."""
    return read_lines_of(annotations_path(root), schema)


def read_lines_of(path: Path, schema: Schema) -> Optional[tuple[dict, int]]:
    """read_lines for a COCO file of another name laid out as annotations.json is (the COCO split files)."""
    try:
        with open(path, "rb") as fh:
            found = _head_and_images(fh)
            if found is None or type(found[0].get("categories")) is not list or \
                    not _annotations_in_order(fh, found[0]["images"]):
                return None
    except OSError as err:
        raise _unreadable(path, err) from None
    for kind in ("images", "categories"):  # checked once the whole file is known to be JSON, as read() does
        check_entries(path, kind, found[0][kind], schema)
    return found


def _head_and_images(fh: BinaryIO) -> Optional[tuple[dict, int]]:
    """The head and images of a file in simgen's line layout, and where its annotation lines start."""
    first = fh.readline()
    head = _object(first[:-len(IMAGES_START)] + b"}") if first.endswith(IMAGES_START) else None
    if head is None or "images" in head or "annotations" in head:
        return None
    images: list[dict] = []

    def keep(image: dict) -> bool:
        images.append(image)
        return True

    listed = _each_entry(fh, keep)
    return ({**head, "images": images}, fh.tell()) if listed and fh.readline() == ANNOTATIONS_START[1:] else None


def _annotations_in_order(fh: BinaryIO, images: list[dict]) -> bool:
    """Whether the annotation lines from here on are entries as _each_entry reads them, each with an integer id and
    the id of an image (in id order, grouped by image in the images' order), then the last line, `]}`."""
    position = {image.get("id"): k for k, image in enumerate(images) if type(image.get("id")) is int}
    last = {"image": 0, "id": -math.inf}

    def in_order(ann: dict) -> bool:
        at = position.get(ann["image_id"]) if type(ann.get("image_id")) is int else None
        if type(ann.get("id")) is not int or at is None or at < last["image"] or ann["id"] <= last["id"]:
            return False
        last.update(image=at, id=ann["id"])
        return True

    return len(position) == len(images) and _each_entry(fh, in_order) and \
        fh.readline().rstrip() == LIST_END[1:] and not fh.read().strip()


def _each_entry(fh: BinaryIO, visit: Callable[[dict], bool]) -> bool:
    """Whether the lines from here on list JSON objects one per line, each line but the last ending in `,` (as
    compact JSON: nothing after it), and `visit` takes each; reads up to the list's last entry (or its empty line)."""
    line = fh.readline()
    if line == b"\n":  # an empty list
        return True
    while line.endswith(b"\n"):
        entry = _object(_entry_bytes(line))
        if entry is None or not visit(entry):
            return False
        if not line.endswith(SEPARATOR):  # the list's last entry
            return True
        line = fh.readline()
    return False


def _entry_bytes(line: bytes) -> bytes:
    """An entry's JSON in its line of the layout: the line without its `,` and its line end."""
    return line[:-len(SEPARATOR)] if line.endswith(SEPARATOR) else line.removesuffix(b"\n")


def _object(line: bytes) -> Optional[dict]:
    try:
        entry = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return entry if type(entry) is dict else None


def streamed_annotations(path: Path, start: int, schema: Schema) -> Iterator[dict]:
    """The annotations of a file read_lines found in simgen's layout, a line at a time from byte `start`, each
    checked against `schema` as it is read."""
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            k = 0
            for line in fh:
                if line.strip() in (b"", LIST_END[1:]):
                    continue
                try:
                    entry = json.loads(_entry_bytes(line))
                except (ValueError, UnicodeDecodeError, RecursionError) as err:
                    raise DatasetError(f"{path}: annotations[{k}]: not readable JSON ({first_line(err)})") from None
                check_entries(path, "annotations", [entry], schema, first=k)
                yield todays_names(entry)
                k += 1
    except OSError as err:
        raise _unreadable(path, err) from None


def read_head(path: Path) -> dict:
    """What an annotations.json holds before its images (info, licenses, categories), read from its first bytes where
    simgen laid it out (a million frames' file need not be parsed for its categories), else from the whole file."""
    try:
        with open(path, "rb") as fh:
            start = fh.read(HEAD_BYTES)
    except OSError as err:
        raise _unreadable(path, err) from None
    cut = start.find(b',"images":[')  # a key of the top object: inside a string the quotes are escaped
    with contextlib.suppress(ValueError):
        head = json.loads(start[:cut] + b"}") if cut > 0 else None  # cut deeper in, the braces do not balance
        if type(head) is dict:
            return head
    coco = read_json(path)
    if type(coco) is not dict:
        raise DatasetError(f"{path}: expected a COCO object with images, annotations and categories, "
                           f"got {short(coco)}")
    return {key: value for key, value in coco.items() if key not in ("images", "annotations")}


def not_finished(root: Path) -> str:
    """Why a folder without annotations.json is no finished dataset, and what to do: a run's unfinished dataset, the
    log of a run that failed, or a sweep's folder (or another) holding datasets, or neither."""
    records = root / "coco"
    if records.is_dir():
        written = sum(1 for _ in records.glob("*.json"))
        return (f"an unfinished dataset ({written} frames written): run the simgen command that made it again to "
                "finish it")
    if [p.name for p in root.iterdir()] == [LOG_FILE]:
        return ("no dataset, only simgen.log: a run that stopped before its first frame (a sweep job that failed?); "
                "its log says why")
    inside = sorted(p for p in root.iterdir() if (p / ANNOTATIONS).is_file())
    if inside:
        return (f"a folder of {len(inside)} dataset{'s' * (len(inside) > 1)} (a sweep's?), not one: pass a "
                f"dataset's folder, such as {inside[0]}")
    return "not a finished simgen dataset"


def with_todays_names(annotations: list) -> None:
    """Annotations of a dataset written before a field was renamed (RENAMED), under today's names (see
    todays_names)."""
    annotations[:] = map(todays_names, annotations)


def todays_names(ann: Any) -> Any:
    """An annotation written before a field was renamed (RENAMED), under today's names, each in the field's place;
    the annotation itself where nothing is renamed (an entry that is no mapping is left to the checks)."""
    if isinstance(ann, dict) and any(old in ann and new not in ann for old, new in RENAMED.items()):
        return {_today(key, ann): value for key, value in ann.items()}
    return ann


def _today(key: str, ann: dict) -> str:
    """An annotation's field name as it is today (RENAMED), where the annotation lacks today's."""
    new = RENAMED.get(key)
    return new if new is not None and new not in ann else key


# ---- checking ----

def where(kind: str, k: int, entry: Any) -> str:
    """An entry as messages name it: `images[0] (id 7)`, or `annotations[3]` where it has no id."""
    return f"{kind}[{k}]" + (f" (id {short(entry['id'])})" if type(entry) is dict and "id" in entry else "")


def check_entries(path: Path, kind: str, entries: list, schema: Schema, first: int = 0) -> None:
    """A DatasetError at the first entry of coco[kind] that is not an object, lacks a required field or has one
    its rule refuses (`first`: the index in coco[kind] of entries[0]); a plain loop, fast enough for 100k images."""
    checks = schema.checks(kind)
    for k, entry in enumerate(entries, first):
        if type(entry) is not dict or not all(valid(entry[name]) if name in entry else not needed
                                              for name, (valid, _), needed in checks):
            raise DatasetError(f"{path}: {where(kind, k, entry)}: {_problem(entry, checks)}")


def _problem(entry: Any, checks: list[Check]) -> str:
    if type(entry) is not dict:
        return f"expected an object, got {short(entry)}"
    for name, (valid, expected), needed in checks:
        if name not in entry and needed:
            return f"no {name!r}"
        if name in entry and not valid(entry[name]):
            return f"{name!r}: expected {expected}, got {short(entry[name])}"
    raise AssertionError("an entry that fails a check has a problem")


def check_references(path: Path, coco: dict) -> None:
    """Image ids are unique, and every annotation names an image, whose size its segmentation fits; for a file
    read with a schema that requires images' id, width and height and annotations' image_id."""
    images: dict[int, dict] = {}
    for k, image in enumerate(coco["images"]):
        if images.setdefault(image["id"], image) is not image:
            raise DatasetError(f"{path}: {where('images', k, image)}: 'id': expected an id no earlier image has, "
                               f"got {image['id']}")
    for k, ann in enumerate(coco["annotations"]):
        image = images.get(ann["image_id"])
        if image is None:
            problem = f"'image_id': expected the id of one of the images, got {short(ann['image_id'])}"
        else:
            problem = rle_problem(ann.get("segmentation"), image["height"], image["width"])
        if problem:
            raise DatasetError(f"{path}: {where('annotations', k, ann)}: {problem}")


def rle_problem(segmentation: Any, height: int, width: int) -> str | None:
    """Why a COCO segmentation, where it is an RLE, is no mask of a `height` x `width` image; None when it is."""
    if type(segmentation) is not dict:
        return None
    if segmentation.get("size") != [height, width]:
        return f"'segmentation': expected an RLE of the image's size [{height}, {width}], " \
               f"got size {short(segmentation.get('size'))}"
    counts = segmentation["counts"]
    if (type(counts) is str and counts) or (type(counts) is list and all(_integer(c, 0) for c in counts)
                                            and sum(counts) == height * width):
        return None
    return f"'segmentation': expected RLE counts as a string or as run lengths adding up to {height * width}, " \
           f"got {short(counts)}"
