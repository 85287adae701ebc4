"""A writer of the user's own, as the README's "Writing your own writer" shows it: its files with any number of
workers, through shards and simgen-merge; a writer that fails to close leaves the dataset unfinished."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import SMALL, run_simgen

README = Path(__file__).resolve().parents[1] / "README.md"
BOXES = ["hydra.searchpath=[file://my_conf]", "writers=[images,coco,meta,boxes,boxes_csv]", "renderer=tiny",
         "num_frames=4"]


def readme_writer(tmp_path: Path) -> None:
    """The README's writer module and config file, written where its command expects them."""
    section = README.read_text().split("## Writing your own writer", 1)[1].split("\n## ", 1)[0]
    for name, text in re.findall(r"```(?:python|yaml)\n# (\S+)\n(.*?)```", section, re.DOTALL):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)


def boxes_of(root: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((root / "boxes").iterdir())}


def test_the_readmes_writer_writes_every_frame_with_workers_and_through_a_merge(tmp_path):
    readme_writer(tmp_path)
    whole = tmp_path / "whole"
    done = run_simgen([*BOXES, f"output_dir={whole}", *SMALL, "workers=2"], tmp_path)
    assert done.returncode == 0, done.stderr
    coco = json.loads((whole / "annotations.json").read_text())
    expected = {f"{image['frame_index']:06d}.txt": "".join(
        f"{a['category_id']} {' '.join(f'{v:g}' for v in a['bbox'])}\n"
        for a in coco["annotations"] if a["image_id"] == image["id"] and not a["iscrowd"]) for image in coco["images"]}
    assert boxes_of(whole) == expected and any(expected.values())
    rows = (whole / "boxes.csv").read_text().splitlines()  # the README's export: a line per box
    assert rows[0] == "image_id,category_id,x,y,width,height"
    assert len(rows) - 1 == sum(text.count("\n") for text in expected.values())
    for index in (0, 1):
        done = run_simgen([*BOXES, f"output_dir={tmp_path / 'shards' / str(index)}", *SMALL, "shard.count=2",
                           f"shard.index={index}"], tmp_path)
        assert done.returncode == 0, done.stderr
    merged = merge(tmp_path, "merged")
    assert merged.returncode == 0, merged.stderr
    assert boxes_of(tmp_path / "merged") == expected
    assert (tmp_path / "merged" / "boxes.csv").read_bytes() == (whole / "boxes.csv").read_bytes()
    (tmp_path / "shards" / "0" / "boxes" / "notes.txt").write_text("a stray file: half of boxes/ was left out")
    merged = merge(tmp_path, "again")
    assert merged.returncode == 2 and merged.stderr.strip() == (
        "simgen-merge: error: shards/0/boxes/notes.txt: not a file of one of this shard's frames, while "
        "boxes/ holds only such files in the other shards; remove it to merge the folder, or move the folder out of "
        "every shard to leave it out")


def merge(cwd: Path, out: str) -> subprocess.CompletedProcess:
    """simgen-merge as the README runs it for a user's writers: PYTHONPATH=. simgen-merge ... (the console script,
    which, unlike python -m, does not put the working directory on the import path itself)."""
    script = Path(sys.executable).parent / "simgen-merge"
    return subprocess.run([str(script), "shards/0", "shards/1", "--out", out], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": "."})


FAILS_TO_CLOSE = """
from my_writers import BoxesWriter


class FailsToClose(BoxesWriter):
    def close(self):
        raise RuntimeError("this writer fails to close")
"""


def test_a_writer_that_fails_to_close_leaves_the_dataset_unfinished(tmp_path):
    """COCO's annotations.json, which marks a finished dataset, was written before the user's writer closed."""
    readme_writer(tmp_path)
    (tmp_path / "my_failing.py").write_text(FAILS_TO_CLOSE)
    out = tmp_path / "out"
    done = run_simgen([*BOXES, f"output_dir={out}", *SMALL, "writers.boxes._target_=my_failing.FailsToClose"],
                      tmp_path)
    assert done.returncode != 0 and "this writer fails to close" in done.stderr
    assert (out / "boxes").is_dir() and not (out / "annotations.json").exists()


def test_an_export_without_export_is_refused_before_the_first_frame(tmp_path):
    readme_writer(tmp_path)
    (tmp_path / "my_export.py").write_text("from my_writers import BoxesWriter\n\n\n"
                                           "class NoExport(BoxesWriter):\n    reads_dataset = True\n")
    out = tmp_path / "out"
    done = run_simgen([*BOXES, f"output_dir={out}", *SMALL, "writers.boxes._target_=my_export.NoExport"], tmp_path)
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1] == (
        "simgen: error: writers.boxes._target_: expected an export (reads_dataset), with open, write, done, close "
        "and export; NoExport has no export()")
    assert [p.name for p in out.iterdir()] == ["simgen.log"]


KEPT_CSV = """
from simgen.writers.files import write_bytes_atomic
from my_exports import BoxesCsv


class KeptCsv(BoxesCsv):
    def export(self, data):
        write_bytes_atomic(data.root / "kept.csv", str(len(data.coco["annotations"])).encode())

    def files(self):
        return [self.root / "kept.csv"]
"""


def test_a_rerun_of_a_finished_dataset_leaves_the_exports_that_list_their_files(tmp_path):
    """The README's export, without files(), is made again; one whose files() are on disk is left as it is."""
    readme_writer(tmp_path)
    (tmp_path / "my_kept.py").write_text(KEPT_CSV)
    out = tmp_path / "out"
    args = [*BOXES, f"output_dir={out}", *SMALL, "+writers.kept={_target_:my_kept.KeptCsv}"]
    done = run_simgen(args, tmp_path)
    assert done.returncode == 0, done.stderr
    made = {name: (out / name).stat() for name in ("boxes.csv", "kept.csv", "annotations.json")}
    again = run_simgen(args, tmp_path)
    assert again.returncode == 0, again.stderr
    assert "(0 rendered, 4 already on disk)" in again.stdout
    for kept in ("kept.csv", "annotations.json"):
        assert (out / kept).stat().st_ino == made[kept].st_ino
    assert (out / "boxes.csv").stat().st_mtime_ns != made["boxes.csv"].st_mtime_ns


STREAMING_EXPORT = '''
from simgen.writers.exports import Export


class CountsCsv(Export):
    """counts.csv: each image's annotations, read a line at a time (no data.coco["annotations"])."""

    streams = True

    def export(self, data):
        assert "annotations" not in data.coco
        rows = [f"{image['id']},{len(anns)}\\n" for image, anns in data.by_image()]
        (data.root / "counts.csv").write_text("".join(rows))
'''


def test_an_export_that_streams_reads_each_image_with_its_annotations_in_a_run_and_a_merge(tmp_path):
    (tmp_path / "my_counts.py").write_text(STREAMING_EXPORT)
    args = ["+writers.counts={_target_:my_counts.CountsCsv}", "num_frames=4", "renderer=tiny", *SMALL]
    done = run_simgen([*args, f"output_dir={tmp_path / 'whole'}"], tmp_path)
    assert done.returncode == 0, done.stderr
    coco = json.loads((tmp_path / "whole" / "annotations.json").read_text())
    expected = "".join(f"{image['id']},{sum(a['image_id'] == image['id'] for a in coco['annotations'])}\n"
                       for image in coco["images"])
    assert (tmp_path / "whole" / "counts.csv").read_text() == expected and len(coco["annotations"]) > 0
    for index in (0, 1):
        done = run_simgen([*args, f"output_dir={tmp_path / 'shards' / str(index)}", "shard.count=2",
                           f"shard.index={index}"], tmp_path)
        assert done.returncode == 0, done.stderr
    assert merge(tmp_path, "merged").returncode == 0
    assert (tmp_path / "merged" / "counts.csv").read_text() == expected
