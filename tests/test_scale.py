"""Runs split across processes, shards and interruptions give the same dataset as one plain run."""

import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SMALL, compose_config, run_simgen, texture_folders, with_ctrl_c
from simgen import config, output_dir
from simgen.errors import AssetError
from simgen.generate import SceneJobs, Shard, generate
from simgen.world import World, egl_available


@pytest.mark.parametrize("num_frames, views, count", [(10, 1, 1), (10, 1, 3), (10, 4, 2), (7, 3, 3), (2, 5, 4)])
def test_shards_split_the_frames_scene_by_scene_and_jobs_group_the_unwritten_ones(num_frames, views, count):
    shards = [Shard(index, count).frames(num_frames, views) for index in range(count)]
    assert sorted(i for frames in shards for i in frames.tolist()) == list(range(num_frames))
    for index, frames in enumerate(shards):
        assert frames.tolist() == sorted(frames.tolist())
        assert all(i // views % count == index for i in frames.tolist())
        todo = frames[frames % 3 != 1]  # some frames on disk already
        jobs, expected = SceneJobs(todo, views), {}
        for i in todo.tolist():
            expected.setdefault(i // views, []).append(i % views)
        assert jobs.scenes == len(expected)
        popped = []
        while jobs:
            popped.append(jobs.popleft())
        assert popped == [(scene, tuple(v)) for scene, v in expected.items()]
        assert all(type(scene) is int and all(type(v) is int for v in vs) for scene, vs in popped)


def test_joblib_jobs_run_their_own_worker_processes(small_dataset, tmp_path):
    """joblib's loky workers make `loky` the default start method, which simgen's worker processes cannot use."""
    whole = small_dataset(frames=4, name="whole")
    sweep = tmp_path / "sweep"
    small = [a for a in SMALL if not a.startswith("workers=")]
    done = run_simgen(["-m", "shard.index=0,1", "shard.count=2", "hydra/launcher=joblib", "workers=2",
                       f"output_dir={sweep}", "num_frames=4", *small], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    shards = sorted(p for p in sweep.iterdir() if p.is_dir())
    images = [json.loads((s / "annotations.json").read_text())["images"] for s in shards]
    assert sorted(i["file_name"] for shard in images for i in shard) == \
        sorted(i["file_name"] for i in json.loads((whole / "annotations.json").read_text())["images"])


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_a_sharded_run_merges_into_the_unsharded_dataset(small_dataset, tmp_path, launcher):
    """The README's commands for one machine (joblib) and for Slurm (submitit, here its local executor)."""
    whole = small_dataset(frames=5, name="whole")
    sweep = tmp_path / "sweep"
    done = run_simgen(["-m", "shard.index=0,1,2", "shard.count=3", f"hydra/launcher={launcher}",
                       f"output_dir={sweep}", "num_frames=5", *SMALL], tmp_path)
    assert done.returncode == 0, done.stderr
    shards = sorted(p for p in sweep.iterdir() if p.is_dir() and not p.name.startswith("."))  # as a shell's DIR/*/
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


def test_the_errors_of_submitit_jobs_reach_the_console(tmp_path):
    """A submitit job writes its error to its own log (DIR/.submitit/); the sweep's summary repeats it."""
    sweep = tmp_path / "sweep"
    done = run_simgen(["-m", "hydra/launcher=submitit_local", "camera.fov=40,500", f"output_dir={sweep}",
                       "num_frames=1", *SMALL, "renderer=tiny"], tmp_path)
    errors = [line for line in done.stderr.splitlines() if line.startswith("simgen: error:")]
    job = next(sweep.glob("camera.fov=500,*"))
    assert done.returncode == 2 and errors == [
        f"simgen: error: job #1 ({job}): camera.fov: expected a number in [1, 179], got 500.0",
        "simgen: error: 1 job of the sweep failed (#1, errors above); the datasets of the jobs that did not fail are "
        "written"], done.stderr
    assert (next(sweep.glob("camera.fov=40,*")) / "annotations.json").is_file()


@pytest.mark.skipif(shutil.which("srun") is not None, reason="a Slurm cluster is here")
@pytest.mark.parametrize("launcher, message", [
    (["hydra/launcher=submitit_slurm"], 'RuntimeError: Could not detect "srun", are you indeed on a slurm cluster?'),
    (["hydra/launcher=submitit_local", "hydra.launcher.nodes=2"],
     "ValueError: LocalExecutor can use only one node. Use nodes=1"),
])
def test_a_launcher_that_cannot_run_the_sweep_is_one_line(tmp_path, launcher, message):
    done = run_simgen(["-m", *launcher, "shard.count=2", "shard.index=0,1", f"output_dir={tmp_path / 'sweep'}",
                       "num_frames=1", *SMALL], tmp_path)
    lines = [line for line in done.stderr.splitlines() if not line.startswith("[")]
    assert done.returncode == 2 and lines == [f"simgen: error: the sweep's launcher: {message}"], done.stderr


@pytest.mark.parametrize("stop, status, says", [
    (signal.SIGTERM, 143, "terminated (SIGTERM); the sweep's jobs run on under submitit: wait for them to end, or "
                          "cancel them (scancel on Slurm), before running the same command again to go on with the "
                          "sweep"),
    (signal.SIGINT, 130, "interrupted; run the same command again to go on with the sweep"),
])
def test_a_stopped_submitit_sweep_says_whether_its_jobs_run_on(tmp_path, stop, status, says):
    """SIGTERM to `simgen -m` does not reach submitit's jobs, which run detached (on Slurm, on the cluster);
    rerunning at once would find their folders held. A Ctrl-C at the terminal stops local jobs as well."""
    sweep, log = tmp_path / "sweep", tmp_path / "stderr.txt"
    args = [sys.executable, "-m", "simgen", "-m", "hydra/launcher=submitit_local", "seed=0,1", f"output_dir={sweep}",
            "num_frames=2000", *SMALL, "renderer=tiny"]
    with log.open("w") as stderr:  # not a pipe: the detached jobs hold it open
        sweeping = subprocess.Popen(args, cwd=tmp_path, stderr=stderr, start_new_session=True, preexec_fn=with_ctrl_c)
    try:
        deadline = time.monotonic() + 120
        while not list(sweep.glob("*/rgb/*")) and time.monotonic() < deadline:
            time.sleep(0.2)
        if stop == signal.SIGINT:
            os.killpg(sweeping.pid, stop)  # as a terminal sends it: to the whole foreground group
        else:
            sweeping.send_signal(stop)
        sweeping.wait(timeout=60)
    finally:
        kill_processes_naming(sweep)
    assert sweeping.returncode == status
    assert f"simgen: {says}" in log.read_text().splitlines()


def kill_processes_naming(path: Path) -> None:
    """Kill every process whose command line names `path` (submitit's detached jobs name their folder)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            if str(path) in cmdline.read_bytes().decode(errors="replace"):
                os.kill(int(cmdline.parent.name), signal.SIGKILL)


def test_merge_refuses_an_incomplete_set_of_shards(tmp_path):
    sweep = tmp_path / "sweep"
    run_simgen(["-m", "shard.index=0", "shard.count=2", f"output_dir={sweep}", "num_frames=2", *SMALL], tmp_path)
    shard = next(p for p in sweep.iterdir() if p.is_dir())
    joined = subprocess.run([sys.executable, "-m", "simgen.tools.merge", str(shard), "--out", str(tmp_path / "m")],
                            capture_output=True, text=True)
    assert joined.returncode == 2 and "expected shards 0..1" in joined.stderr


@pytest.mark.skipif(sys.version_info < (3, 11), reason="PYTHONSAFEPATH is Python 3.11's")
@pytest.mark.parametrize("module", ["random", "queue"])
def test_a_users_file_named_like_a_standard_module_leaves_the_workers_alone(tmp_path, module):
    """`simgen` run where the user keeps a `random.py`: worker processes start as `python -c`, which put the working
    directory first on sys.path, imported it in place of the standard library's and died (or printed a traceback)."""
    (tmp_path / f"{module}.py").write_text(f"raise SystemExit('the user\'s own {module}.py')\n")
    command = Path(sys.executable).with_name("simgen")  # the console script, whose sys.path holds no working directory
    done = subprocess.run([str(command), f"output_dir={tmp_path / 'out'}", "num_frames=4", *SMALL, "workers=2"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert (tmp_path / "out" / "annotations.json").is_file()


def test_ctrl_c_exits_cleanly_and_says_how_to_resume(small_dataset, tmp_path):
    reference = small_dataset(frames=6, name="reference")
    out = tmp_path / "stopped"
    proc = subprocess.Popen([sys.executable, "-m", "simgen", f"output_dir={out}", "num_frames=6", *SMALL],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=with_ctrl_c)
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


def test_a_sweep_stopped_mid_job_says_to_rerun_the_sweep_and_the_rerun_finishes_it(tmp_path):
    sweep = tmp_path / "sweep"
    args = [sys.executable, "-m", "simgen", "-m", "seed=0,1", f"output_dir={sweep}", "num_frames=20",
            "hydra.sweep.subdir=${hydra.job.num}", *SMALL]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (sweep / "0" / "coco" / "000001.json").exists() and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.strip().splitlines()[-1] == ("simgen: terminated (SIGTERM); frames written so far are kept. Run the "
                                            f"same command again to go on with the sweep (the job in {sweep / '0'} "
                                            "resumes).")
    done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert all(len(json.loads((sweep / job / "annotations.json").read_text())["images"]) == 20 for job in "01")


def stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name: state, parent pid, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def workers_of(parent: int) -> list[int]:
    """The pool worker processes of `parent`, read from /proc: forked by its fork server (a child of it that
    runs multiprocessing.forkserver), or spawned by it where there is no fork server."""
    processes = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            processes[int(proc.name)] = (int(stat_fields(int(proc.name))[1]), (proc / "cmdline").read_bytes())
        except (OSError, IndexError, ValueError):
            continue
    servers = {pid for pid, (ppid, cmd) in processes.items() if ppid == parent and b"multiprocessing.forkserver" in cmd}
    return [pid for pid, (ppid, cmd) in processes.items()
            if ppid in servers or (ppid == parent and b"multiprocessing.spawn" in cmd)]


def running(pid: int) -> bool:
    """Whether a process exists and is not a zombie (an orphan's reaper may be slow)."""
    try:
        return stat_fields(pid)[0] != "Z"
    except OSError:
        return False


def start_two_workers(out: Path, tmp_path: Path, *extra: str, **popen: object) -> tuple:
    """simgen with two workers into `out`, once its first frames are written: (process, its args, worker pids)."""
    args = [f"output_dir={out}", *[a for a in SMALL if not a.startswith("workers=")], "workers=2", *extra]
    proc = subprocess.Popen([sys.executable, "-m", "simgen", *args], cwd=tmp_path, **popen)
    deadline = time.time() + 120
    while not (out / "coco" / "000001.json").exists() and time.time() < deadline:
        time.sleep(0.02)
    workers = workers_of(proc.pid)
    assert len(workers) == 2
    return proc, args, workers


def test_a_worker_that_dies_stops_the_run_with_one_line_and_it_resumes(tmp_path):
    """A killed worker (out-of-memory killer, a crash in PyBullet) must not leave the run waiting forever."""
    out = tmp_path / "crashed"
    before = texture_folders()
    proc, args, workers = start_two_workers(out, tmp_path, "num_frames=80", stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True)
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "Traceback" not in err
    assert texture_folders() <= before  # the killed worker's files too
    assert err.strip().splitlines()[-1].startswith("simgen: error: a worker process died")
    assert not (out / "annotations.json").exists()
    done = run_simgen(args, tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(json.loads((out / "annotations.json").read_text())["images"]) == 80


def test_ctrl_c_ends_a_worker_that_was_stopped_with_sigstop(tmp_path):
    """A stopped process holds SIGTERM until it goes on: the run waited on it forever after Ctrl-C."""
    before = texture_folders()
    proc, _, workers = start_two_workers(tmp_path / "out", tmp_path, "num_frames=200", stdout=subprocess.PIPE,
                                         stderr=subprocess.PIPE, text=True)
    os.kill(workers[0], signal.SIGSTOP)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith("simgen: interrupted; frames written so far are kept")
    assert not any(map(running, workers))
    assert texture_folders() <= before


def test_workers_leave_no_temporary_files(small_dataset):
    """Each worker keeps textures, meshes and URDF copies in a temporary folder, removed as it exits."""
    before = texture_folders()
    small_dataset("workers=2", "randomizers=[color,texture]", "randomizers.texture.probability=1", frames=6)
    assert texture_folders() <= before


def test_workers_end_when_the_run_is_killed_outright(tmp_path):
    """...and take their generated textures with them; multiprocessing's resource tracker removes the pools'
    semaphores without the two lines of warning it printed."""
    before = texture_folders()
    proc, _, workers = start_two_workers(tmp_path / "killed", tmp_path, "num_frames=400", "renderer=tiny",
                                         "randomizers=[color,texture]", stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE)
    proc.kill()
    assert proc.communicate(timeout=60)[1] == b""  # until every process holding stderr is gone
    deadline = time.time() + 30
    while any(map(running, workers)) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(map(running, workers))
    assert texture_folders() <= before


def test_sigterm_stops_like_ctrl_c_and_the_run_resumes_to_the_same_dataset(small_dataset, tmp_path):
    """A scheduler (Slurm at its time limit, Kubernetes) sends SIGTERM to every process of the job."""
    reference = small_dataset(frames=30, name="reference")
    before = texture_folders()
    out = tmp_path / "terminated"
    proc, args, workers = start_two_workers(out, tmp_path, "num_frames=30", stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    os.killpg(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == ("simgen: terminated (SIGTERM); frames written so far are kept. Run the "
                                            f"same command again to resume (output_dir={out}).")
    assert not any(map(running, workers)) and texture_folders() <= before
    assert not (out / "annotations.json").exists()
    done = run_simgen(args, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (out / "annotations.json").read_bytes() == (reference / "annotations.json").read_bytes()

@pytest.mark.skipif(not egl_available(), reason="no EGL here: only EGL holds mesh textures")
def test_processes_that_hold_too_many_textures_are_replaced_and_the_dataset_is_the_same(small_dataset):
    """PyBullet keeps the pixels of every mesh texture until its process ends: simgen replaces worn-out
    processes (world.texture_memory_mb), which must not change a byte."""
    textured = ["renderer=egl", "randomizers=[texture]", "randomizers.texture.probability=1"]
    whole = small_dataset(*textured, name="whole", frames=8)  # more scenes than two workers take at first
    for workers in (1, 2):
        replaced = small_dataset(*textured, "world.texture_memory_mb=1", f"workers={workers}",
                                 name=f"replaced{workers}", frames=8)
        assert "going on in fresh worker processes" in (replaced / "simgen.log").read_text()
        assert (whole / "annotations.json").read_bytes() == (replaced / "annotations.json").read_bytes()
        for kind in ("rgb", "instance", "depth"):
            assert [f.read_bytes() for f in sorted((whole / kind).iterdir())] == \
                [f.read_bytes() for f in sorted((replaced / kind).iterdir())]


@pytest.mark.skipif(not egl_available(), reason="no EGL here: only EGL replaces workers for textures")
def test_ctrl_c_while_new_workers_start_prints_no_traceback(tmp_path):
    """A terminal's Ctrl-C reaches every process of the group, workers still importing simgen included."""
    out = tmp_path / "ds"
    proc = subprocess.Popen([sys.executable, "-m", "simgen", f"output_dir={out}", "num_frames=40", *SMALL, "workers=2",
                             "renderer=egl", "randomizers=[texture]", "randomizers.texture.probability=1",
                             "world.texture_memory_mb=1"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=with_ctrl_c)
    log, deadline = out / "simgen.log", time.time() + 120
    while "fresh worker processes" not in (log.read_text() if log.exists() else "") and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # the next pool's workers are starting: importing takes over a second
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Run the same command again to resume" in err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err


def factory_failing_in_workers():
    """A pipeline factory that fails in worker processes, as when a file the config names goes away mid-run."""
    assert multiprocessing.parent_process() is not None, "only workers call the factory"
    raise AssetError("/data/gone.obj: cannot read this mesh (No such file or directory)")


def test_a_worker_that_cannot_start_says_why(tmp_path):
    """Its error reaches the parent as raised (one line on the command line), not as 'a worker died'."""
    pipeline = config.build_pipeline(compose_config(["camera.width=64", "camera.height=48"]))
    try:
        with pytest.raises(AssetError, match="gone.obj: cannot read this mesh"):
            generate(pipeline, 0, 4, tmp_path / "ds", progress=False, workers=2, factory=factory_failing_in_workers)
    finally:
        pipeline.world.close()


class FailsFirstThenSlowToStart:
    """A pipeline factory that fails in the first worker process to claim it and takes a second to start in
    the others, which then open the writers (and so make the dataset's folders)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def __call__(self):
        try:
            os.close(os.open(self.folder / "claimed", os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            time.sleep(1.0)
            return config.build_pipeline(compose_config(["camera.width=64", "camera.height=48"]))
        raise AssetError("/data/gone.obj: cannot read this mesh (No such file or directory)")


def test_a_failed_run_leaves_no_worker_to_write_after_it(tmp_path):
    """The command removes the folders of a run that failed before any frame; a worker still starting must
    not make them again afterwards (they would block rerunning into the same output_dir)."""
    pipeline = config.build_pipeline(compose_config(["camera.width=64", "camera.height=48"]))
    root = tmp_path / "ds"
    try:
        with pytest.raises(AssetError, match="gone.obj"):
            generate(pipeline, 0, 8, root, progress=False, workers=2, factory=FailsFirstThenSlowToStart(tmp_path))
    finally:
        pipeline.world.close()
    output_dir.discard_if_empty(root)
    time.sleep(2.0)
    assert not root.exists() or list(root.iterdir()) == [], list(root.rglob("*"))


class WearsOutInOneProcess:
    """A pipeline factory whose world wears out in the first worker process to claim it, and which records
    the process id of every worker it starts."""

    def __init__(self, folder: Path):
        self.folder = folder

    def __call__(self):
        (self.folder / f"worker-{os.getpid()}").touch()
        pipeline = config.build_pipeline(compose_config(["camera.width=64", "camera.height=48"]))
        try:
            os.close(os.open(self.folder / "claimed", os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return pipeline
        pipeline.world.__class__ = WornOutWorld
        return pipeline


class WornOutWorld(World):
    """A world that says it is worn out from its first scene on."""

    @property
    def worn_out(self) -> bool:
        return True


def test_a_worn_out_worker_is_replaced_alone(tmp_path):
    """Only the worker whose world wore out makes way for a fresh process; the others keep theirs."""
    (tmp_path / "workers").mkdir()
    pipeline = config.build_pipeline(compose_config(["camera.width=64", "camera.height=48"]))
    try:
        summary = generate(pipeline, 0, 24, tmp_path / "ds", progress=False, workers=2,
                           factory=WearsOutInOneProcess(tmp_path / "workers"))
    finally:
        pipeline.world.close()
    assert summary.rendered == 24 and len(list((tmp_path / "ds" / "rgb").iterdir())) == 24
    assert len(list((tmp_path / "workers").glob("worker-*"))) == 3  # two, and one in place of the worn-out one


def test_workers_ignore_a_simgen_folder_in_the_working_directory(tmp_path):
    """Python's fork server imports with the working directory first on its path: a `simgen` folder there (a
    source checkout beside a non-editable install) must not become the workers' simgen."""
    (tmp_path / "simgen").mkdir()
    (tmp_path / "simgen" / "__init__.py").touch()
    command = Path(sys.executable).with_name("simgen")
    small = [a for a in SMALL if not a.startswith("workers=")]
    done = subprocess.run([command, f"output_dir={tmp_path / 'ds'}", "num_frames=4", *small, "workers=2"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "ds" / "rgb").iterdir())) == 4
