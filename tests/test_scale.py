"""Runs split across processes, shards and interruptions give the same dataset as one plain run."""

import signal
import subprocess
import sys
import time

from conftest import SMALL, run_simgen


def test_joblib_sharded_run_merges_into_the_unsharded_dataset(small_dataset, tmp_path):
    whole = small_dataset(frames=5, name="whole")
    sweep = tmp_path / "sweep"
    done = run_simgen(["-m", "shard.index=0,1,2", "shard.count=3", "hydra/launcher=joblib",
                       f"output_dir={sweep}", "num_frames=5", *SMALL], tmp_path)
    assert done.returncode == 0, done.stderr
    shards = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert len(shards) == 3 and all((s / "annotations.json").is_file() for s in shards)
    merged = tmp_path / "merged"
    joined = subprocess.run([sys.executable, "-m", "simgen.tools.merge", *map(str, shards), "--out", str(merged)],
                            capture_output=True, text=True)
    assert joined.returncode == 0, joined.stderr
    for name in ("annotations.json", "config.yaml"):
        assert (merged / name).read_bytes() == (whole / name).read_bytes()
    for kind in ("rgb", "depth", "instance", "semantic", "meta", "coco"):
        names = sorted(p.name for p in (whole / kind).iterdir())
        assert names == sorted(p.name for p in (merged / kind).iterdir())
        assert all((whole / kind / n).read_bytes() == (merged / kind / n).read_bytes() for n in names)


def test_merge_refuses_an_incomplete_set_of_shards(tmp_path):
    sweep = tmp_path / "sweep"
    run_simgen(["-m", "shard.index=0", "shard.count=2", f"output_dir={sweep}", "num_frames=2", *SMALL], tmp_path)
    shard = next(p for p in sweep.iterdir() if p.is_dir())
    joined = subprocess.run([sys.executable, "-m", "simgen.tools.merge", str(shard), "--out", str(tmp_path / "m")],
                            capture_output=True, text=True)
    assert joined.returncode == 2 and "expected shards 0..1" in joined.stderr


def test_ctrl_c_exits_cleanly_and_says_how_to_resume(small_dataset, tmp_path):
    reference = small_dataset(frames=6, name="reference")
    out = tmp_path / "stopped"
    proc = subprocess.Popen([sys.executable, "-m", "simgen", f"output_dir={out}", "num_frames=6", *SMALL],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (out / "coco" / "000001.json").exists() and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Run the same command again to resume" in err
    assert not (out / "annotations.json").exists()
    done = run_simgen([f"output_dir={out}", "num_frames=6", *SMALL], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (out / "annotations.json").read_bytes() == (reference / "annotations.json").read_bytes()
