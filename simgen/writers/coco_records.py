"""A frame's COCO record (coco/000012.json): its image entry and annotations, as written and as read back.

The record is compact JSON with each annotation on a line of its own:

    {"image":{...},"annotations":[
    {"image_id":13,...},
    {"image_id":13,...}
    ]}

so that assembling annotations.json copies each entry's bytes and puts its id in front, rather than encoding every
entry again. Records written before (all on one line) read the same and are encoded again; either way the
assembled bytes are the same.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Optional, Union

from simgen.annotations_file import RENAMED, with_todays_names
from simgen.errors import OutputError
from simgen.writers.files import json_bytes

HEAD, IMAGES_END, END = b'{"image":', b',"annotations":[', b"]}"
OLD_NAMES = [b'"%s":' % old.encode() for old in RENAMED]
Entry = Union[bytes, dict]  # an annotation as its record's compact JSON (without an id), or as read


def record_bytes(image: dict, annotations: list[dict]) -> bytes:
    """The record as simgen writes it (see the module's docstring)."""
    lines = [HEAD + json_bytes(image) + IMAGES_END, b",\n".join(map(json_bytes, annotations)), END]
    return b"\n".join(lines) if annotations else b"\n".join((lines[0], END))


def record_entries(path: Path) -> tuple[bytes, list[Entry]]:
    """The record's image entry as compact JSON, and its annotations: each line's bytes where it is laid out as
    record_bytes lays it out (and names no field by an old name), else the annotations as read (checked either
    way)."""
    data = path.read_bytes()
    record = _checked(path, data)
    lines = data.split(b"\n")
    image = _image_line(lines[0])
    annotations = [line.removesuffix(b",") for line in lines[1:-1]]
    if image is not None and len(lines) > 1 and lines[-1] == END and len(annotations) == len(record["annotations"]) \
            and _one_per_line(lines[1:-1]) and not any(old in data for old in OLD_NAMES):
        return image, annotations
    return json_bytes(record["image"]), record["annotations"]


def _one_per_line(lines: list[bytes]) -> bool:
    """Whether these lines of a record (that parsed) hold an annotation each as record_bytes writes them: each an
    object, `,` ending every line but the last, nothing else (a space or a carriage return left by an editor would
    be copied into annotations.json)."""
    return all(line[:2] == b'{"' and line.endswith(b"},") for line in lines[:-1]) and \
        (not lines or (lines[-1][:2] == b'{"' and lines[-1].endswith(b"}")))


def image_of(path: Path) -> dict:
    """The record's image entry: parsed from its first line where the record is laid out as record_bytes lays it out
    (its annotations are checked as annotations.json is assembled), else from the whole record, checked."""
    with open(path, "rb") as fh:
        line = _image_line(fh.readline().removesuffix(b"\n"))
    if line is not None:
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            image = json.loads(line)
            if isinstance(image, dict):
                return image
    return read_record(path)["image"]


def read_record(path: Path) -> dict:
    """The record, parsed whole and checked, its annotations under today's names."""
    return _checked(path, path.read_bytes())


def _image_line(first: bytes) -> Optional[bytes]:
    """The image entry's bytes in a record's first line as record_bytes writes it; None in another layout."""
    return first[len(HEAD):-len(IMAGES_END)] if first.startswith(HEAD) and first.endswith(IMAGES_END) else None


def with_id(ann_id: int, ann: Entry) -> bytes:
    """The annotation as annotations.json lists it: its id first, then its own fields."""
    if isinstance(ann, bytes):
        return b'{"id":%d,' % ann_id + ann[1:]
    return json_bytes({"id": ann_id, **ann})


def _checked(path: Path, data: bytes) -> dict:
    """The record; one damaged outside simgen (they are written whole) is an error saying what to do."""
    try:
        record = json.loads(data)
    except (ValueError, UnicodeDecodeError) as err:
        record = err
    if not (isinstance(record, dict) and isinstance(record.get("image"), dict)
            and isinstance(record.get("annotations"), list)
            and all(isinstance(ann, dict) for ann in record["annotations"])):
        raise OutputError(f"{path}: not a frame's COCO record (damaged?); delete it and run the simgen command "
                          "that made it again to make the frame anew")
    with_todays_names(record["annotations"])  # a record made before a field was renamed
    return record
