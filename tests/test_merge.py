"""simgen-merge: only complete shards of one run merge, into exactly the unsharded dataset, and a bad input is one
line with nothing left at --out."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SMALL, run_simgen
from simgen.annotations_file import read_head


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Shards 0 and 1 of 2, shard 1 of 3 and the unsharded run, all of 4 frames."""
    root = tmp_path_factory.mktemp("merge")
    for name, args in (("two", ["-m", "shard.index=0,1", "shard.count=2"]),
                       ("three", ["shard.index=1", "shard.count=3"]), ("whole", [])):
        done = run_simgen([*args, f"output_dir={root / name}", "num_frames=4", *SMALL], root)
        assert done.returncode == 0, done.stderr
    first, second = sorted(p for p in (root / "two").iterdir() if p.is_dir())
    return {"0/2": first, "1/2": second, "1/3": root / "three", "whole": root / "whole"}


@pytest.fixture
def shards(runs, tmp_path) -> tuple[Path, Path]:
    """Copies of shards 0 and 1 of 2, to spoil."""
    return shutil.copytree(runs["0/2"], tmp_path / "a"), shutil.copytree(runs["1/2"], tmp_path / "b")


def merge(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simgen.tools.merge", *map(str, args)], capture_output=True, text=True)


def assert_refused(done: subprocess.CompletedProcess, *words: str) -> None:
    """Exit status 2 and one line `simgen-merge: error: ...` holding `words`, no traceback."""
    lines = [line for line in done.stderr.splitlines() if line.startswith("simgen-merge")]
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(lines) == 1 and lines[0].startswith("simgen-merge: error: "), done.stderr
    assert all(word in lines[0] for word in words), lines[0]


def tree(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_shards_must_hold_exactly_the_frames_of_one_run(runs, shards):
    a, b = shards
    shutil.copy(b / "coco" / "000001.json", b / "coco" / "000003.json")
    for args, words in (([runs["0/2"], runs["1/3"]], ["config.yaml", "shard.count is 3"]),
                        ([a, b], [f"{b / 'coco' / '000003.json'}", "not the COCO record of frame 3"])):
        assert_refused(merge(*args, "--out", b.parent / "out"), *words)
        assert not (b.parent / "out").exists()


def test_files_of_another_shards_frames_are_left_out(runs, shards):
    """Shard 1 also holds frame 0 of shard 0 (copied there by hand): the merge takes each frame from its shard."""
    a, b = shards
    for kind in ("rgb", "depth", "instance", "semantic"):
        shutil.copy(a / kind / "000000.png", b / kind)
    for kind in ("meta", "coco"):
        shutil.copy(a / kind / "000000.json", b / kind)
    out = b.parent / "out"
    assert merge(a, b, "--out", out).returncode == 0
    whole = tree(runs["whole"])
    whole.pop("simgen.log")
    assert tree(out) == whole


def test_the_categories_are_read_from_the_head_of_a_shards_annotations(runs, tmp_path):
    """A shard's annotations.json is read only as far as its categories; one laid out otherwise (rewritten by
    another tool, indented) is read whole, to the same categories."""
    path = runs["0/2"] / "annotations.json"
    coco = json.loads(path.read_text())
    assert read_head(path) == {key: coco[key] for key in ("info", "licenses", "categories")}
    indented = tmp_path / "annotations.json"
    indented.write_text(json.dumps({"images": coco["images"], **coco}, indent=1))
    assert read_head(indented)["categories"] == coco["categories"]


@pytest.mark.parametrize("lost", ["rgb/000003.png", "coco/000001.json", "depth/000001.png", "meta/000003.json"])
def test_a_shard_missing_a_file_of_a_frame_does_not_merge(shards, lost):
    a, b = shards
    (b / lost).unlink()
    assert_refused(merge(a, b, "--out", b.parent / "out"), f"{b / lost}: missing")
    assert not (b.parent / "out").exists()


def test_the_shards_own_exports_and_tool_outputs_are_not_merged(runs, shards):
    a, b = shards
    for shard in shards:
        for extra in ("viz/contact_sheet.png", "report/index.html", "yolo/detect/data.yaml", "bop/train/x.json",
                      "annotations_train.json"):
            (shard / extra).parent.mkdir(parents=True, exist_ok=True)
            (shard / extra).write_text(shard.name)
    out = b.parent / "out"
    done = merge(a, b, "--out", out)
    assert done.returncode == 0, done.stderr
    whole = tree(runs["whole"])
    whole.pop("simgen.log")
    assert tree(out) == whole


def test_out_must_lie_outside_the_shards(shards):
    a, b = shards
    before = tree(a.parent)
    for out, words in ((a / "merged", "inside the shard"), (a, "inside the shard"), (a.parent, "holds the shard")):
        assert_refused(merge(a, b, "--out", out), "--out", words)
    assert tree(a.parent) == before


def spoil_annotations(shard: Path) -> None:
    (shard / "annotations.json").write_text("{")


def config(shard: Path, text: str) -> None:
    (shard / "config.yaml").write_text(text)


def no_shard_key(shard: Path) -> None:
    lines = (shard / "config.yaml").read_text().splitlines()
    at = lines.index("shard:")
    config(shard, "\n".join(lines[:at] + lines[at + 3:]))


def spoil_record_annotation(shard: Path) -> None:
    """A record whose image line is sound and whose annotation is cut short: found as annotations.json is made."""
    path = shard / "coco" / "000003.json"
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join([lines[0], lines[1][:20], lines[-1]]))


MISNAMED = '{"image": {"frame_index": 3, "file_name": "rgb/3.png"}, "annotations": []}'


@pytest.mark.parametrize("spoil, words", [
    (spoil_annotations, ["b/annotations.json: not a readable JSON file"]),
    (lambda b: (b / "annotations.json").write_text('{"images":[]}'), ["b/annotations.json: not a simgen COCO file"]),
    (lambda b: (b / "coco" / "000003.json").write_text("{"), ["b/coco/000003.json: not a frame's COCO record"]),
    (spoil_record_annotation, ["b/coco/000003.json: not a frame's COCO record"]),
    (lambda b: config(b, "seed: ["), ["b/config.yaml: not valid YAML"]),
    (no_shard_key, ["b/config.yaml: expected shard.index and shard.count"]),
    (lambda b: (b / "coco" / "000003.json").write_text(MISNAMED), ["names rgb/3.png, expected rgb/000003.*"]),
    (lambda b: (b / "rgb" / "000003.png").write_bytes(b""), ["b/rgb/000003.png: empty (0 bytes)"]),
], ids=["annotations", "no-categories", "record", "record-annotation", "config", "no-shard-key", "rgb-name",
        "empty-rgb"])
def test_a_corrupt_shard_is_one_line_and_leaves_out_as_it_was(shards, spoil, words):
    a, b = shards
    out = b.parent / "out"
    out.mkdir()
    spoil(b)
    assert_refused(merge(a, b, "--out", out), *words)
    assert list(out.iterdir()) == [] and sorted(p.name for p in b.parent.iterdir()) == ["a", "b", "out"]


@pytest.mark.skipif(not Path("/proc/self/mem").is_file(), reason="needs Linux's /proc/self/mem, which cannot be read")
def test_a_merge_failing_while_writing_leaves_nothing_and_the_rerun_works(runs, shards):
    a, b = shards
    lost = b / "semantic" / "000003.png"
    lost.unlink()
    lost.symlink_to("/proc/self/mem")  # a file that fails to read once half of the dataset is linked
    out = b.parent / "new" / "out"
    assert_refused(merge(a, b, "--out", out), f"{lost}")
    assert sorted(p.name for p in b.parent.iterdir()) == ["a", "b"]
    lost.unlink()
    shutil.copy(runs["1/2"] / "semantic" / "000003.png", lost)
    assert merge(a, b, "--out", out).returncode == 0
    assert (out / "annotations.json").read_bytes() == (runs["whole"] / "annotations.json").read_bytes()


EXPORT_WRITERS = "writers=[images,coco,meta,yolo,bop,splits]"


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict:
    """Shards 0 and 1 of 2 and the unsharded run, all of 4 frames, with every export writer."""
    root = tmp_path_factory.mktemp("merge-exports")
    for name, args in (("two", ["-m", "shard.index=0,1", "shard.count=2"]), ("whole", [])):
        done = run_simgen([*args, f"output_dir={root / name}", "num_frames=4", EXPORT_WRITERS, *SMALL], root)
        assert done.returncode == 0, done.stderr
    return {"shards": sorted(p for p in (root / "two").iterdir() if p.is_dir()), "whole": root / "whole"}


def test_the_merged_dataset_gets_the_runs_exports(exported, tmp_path):
    out = tmp_path / "out"
    done = merge(*exported["shards"], "--out", out)
    assert done.returncode == 0, done.stderr
    whole = tree(exported["whole"])
    whole.pop("simgen.log")
    merged = tree(out)
    for task in ("detect", "segment"):  # data.yaml names the folder it lies in
        name = f"yolo/{task}/data.yaml"
        assert merged.pop(name) == whole.pop(name).replace(str(exported["whole"]).encode(), str(out).encode())
    assert merged == whole
    assert any(name.startswith("bop/") for name in merged) and "annotations_train.json" in merged


USERS_EXPORT = """
from simgen.errors import SimgenError
from simgen.writers.exports import SplitsWriter


class Failing(SplitsWriter):
    def export(self, data):
        raise SimgenError(f"{data.root}: this export fails")
"""


def test_an_export_failing_leaves_out_as_it_was(exported, tmp_path):
    """A user's export writer that fails on the merged dataset: one line, and --out as it was (an empty folder)."""
    shards = [shutil.copytree(shard, tmp_path / f"shard{k}") for k, shard in enumerate(exported["shards"])]
    for shard in shards:
        text = (shard / "config.yaml").read_text()
        (shard / "config.yaml").write_text(text.replace("simgen.writers.exports.SplitsWriter", "users_export.Failing"))
    (tmp_path / "users_export.py").write_text(USERS_EXPORT)
    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run([sys.executable, "-m", "simgen.tools.merge", *map(str, shards), "--out", str(out)],
                          capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert_refused(done, "this export fails")
    assert list(out.iterdir()) == []


SLOW_WRITER = """
import time

from simgen.writers.coco import CocoWriter


class SlowCoco(CocoWriter):
    def __init__(self, **kwargs):
        open("slow-coco-started", "w").close()
        time.sleep(60)
        super().__init__(**kwargs)
"""


def test_sigterm_stops_a_merge_with_one_line_and_leaves_nothing(shards, tmp_path):
    """Slurm's SIGTERM killed simgen-merge without a word (exit status -15)."""
    for shard in shards:  # a COCO writer of the user's own, slow to start: the merge is stopped while it waits
        text = (shard / "config.yaml").read_text()
        (shard / "config.yaml").write_text(text.replace("simgen.writers.coco.CocoWriter", "users_slow.SlowCoco"))
    (tmp_path / "users_slow.py").write_text(SLOW_WRITER)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "simgen.tools.merge", *map(str, shards), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(tmp_path)})
    deadline = time.time() + 60
    while not (tmp_path / "slow-coco-started").exists() and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and err.strip().splitlines()[-1] == "simgen-merge: terminated (SIGTERM)", err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "slow-coco-started",
                                                                              "users_slow.py"]


def test_the_hidden_folder_of_a_killed_merge_goes_at_the_next_but_not_a_live_ones(runs, shards, tmp_path):
    """A merge killed outright leaves its hidden folder; the next merge into the same --out removes it, but not one
    a live process holds (another host's, on a shared file system)."""
    from simgen.temp_folders import hold

    a, b = shards
    out = tmp_path / "out"
    abandoned = tmp_path / ".out.tmp999999999"
    live = tmp_path / ".out.tmp999999998"  # its process id means nothing here: another host's, which holds it
    for stage in (abandoned, live):
        (stage / "rgb").mkdir(parents=True)
    held = hold(str(live))
    try:
        assert merge(a, b, "--out", out).returncode == 0
    finally:
        os.close(held)
    assert not abandoned.exists() and sorted(p.name for p in tmp_path.iterdir()) == [live.name, "a", "b", "out"]


def test_a_writer_that_cannot_be_imported_where_the_merge_runs_is_left_out(shards, tmp_path):
    """Only export writers are built: a per-frame writer of a module installed where the shards were made only."""
    for shard in shards:
        text = (shard / "config.yaml").read_text()
        (shard / "config.yaml").write_text(text.replace("writers:\n", "writers:\n  mine:\n    _target_: "
                                                        "not_installed_here.Writer\n", 1))
    done = merge(*shards, "--out", tmp_path / "out")
    assert done.returncode == 0 and "writers.mine: not_installed_here.Writer cannot be imported here" in done.stderr
    assert "PYTHONPATH=. simgen-merge" in done.stderr and "[ERROR]" not in done.stderr  # Hydra's own line, gone
    assert (tmp_path / "out" / "annotations.json").is_file()


@pytest.mark.parametrize("args", [[], ["--bogus"], ["a", "--out"], ["a"], ["a", "--out", "o", "--bogus"]])
def test_a_bad_option_is_one_line(args):
    done = merge(*args)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("simgen-merge: error: ")
