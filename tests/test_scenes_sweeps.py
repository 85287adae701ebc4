"""Scenes, sweeps over experiments (serial and with the joblib launcher) and a user's own randomizer."""

import json
import shutil
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from conftest import SMALL, run_simgen
from test_cli import check_dataset


@pytest.mark.parametrize("args", [["scene=floor"], ["scene=shelf"]])
def test_new_scenes_give_valid_datasets_with_objects_on_their_support(small_dataset, args):
    root = small_dataset(*args, "renderer=tiny", frames=2)
    coco = check_dataset(root)
    assert coco.dataset["annotations"]
    support = yaml.safe_load((root / "config.yaml").read_text())["scene"]["support_height"]
    for meta in sorted((root / "meta").glob("*.json")):
        objects = json.loads(meta.read_text())["objects"]
        resting = [o for o in objects if o["state"] != "fell"]
        assert resting and all(o["position"][2] > support for o in resting)


def test_distractors_are_drawn_but_never_annotated(small_dataset):
    root = small_dataset("distractors=[clutter,floating]", "distractors.clutter.count=[4,4]",
                         "distractors.floating.count=[2,2]", "renderer=tiny", frames=3)
    check_dataset(root)
    import cv2
    for meta in sorted((root / "meta").glob("*.json")):
        objects = json.loads(meta.read_text())["objects"]
        labeled = {k + 1 for k, o in enumerate(objects) if o["labeled"]}
        assert sum(not o["labeled"] for o in objects) == 6
        instance = cv2.imread(str(root / "instance" / f"{meta.stem}.png"), cv2.IMREAD_UNCHANGED)
        assert set(np.unique(instance).tolist()) <= labeled | {0}
    coco = json.loads((root / "annotations.json").read_text())
    assert all(a["category_id"] > 0 for a in coco["annotations"])


def test_effects_leave_masks_and_depth_byte_identical(small_dataset):
    plain = small_dataset("renderer=tiny", name="plain", frames=2)
    noisy = small_dataset("renderer=tiny", "effects=[gaussian_noise,jpeg,vignette,background_image]",
                          "effects.jpeg.probability=1", name="noisy", frames=2)
    for kind in ("instance", "semantic", "depth"):
        for f in sorted((plain / kind).glob("*.png")):
            assert f.read_bytes() == (noisy / kind / f.name).read_bytes()
    assert (plain / "annotations.json").read_bytes() == (noisy / "annotations.json").read_bytes()
    assert all(f.read_bytes() != (noisy / "rgb" / f.name).read_bytes() for f in (plain / "rgb").glob("*.png"))


def sweep(tmp_path: Path, name: str, *launcher: str) -> Path:
    out = tmp_path / name
    done = run_simgen(["-m", "experiment=dr_none,dr_strong", f"output_dir={out}", "num_frames=2", *SMALL,
                       "renderer=tiny", *launcher], tmp_path)
    assert done.returncode == 0, done.stderr
    return out


def test_sweep_writes_one_dataset_per_experiment_and_joblib_matches_serial(tmp_path):
    serial = sweep(tmp_path, "serial")
    parallel = sweep(tmp_path, "parallel", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    names = sorted(p.name for p in serial.iterdir() if p.is_dir())
    assert len(names) == 2 and "experiment=dr_none" in names[0] and "experiment=dr_strong" in names[1]
    assert sorted(p.name for p in parallel.iterdir() if p.is_dir()) == names
    configs = [yaml.safe_load((serial / n / "config.yaml").read_text()) for n in names]
    assert configs[0]["effects"] == {} and "jpeg" in configs[1]["effects"]
    for n in names:
        check_dataset(serial / n)
        for f in sorted((serial / n).rglob("*")):
            if f.is_file() and f.name != "simgen.log":
                assert f.read_bytes() == (parallel / n / f.relative_to(serial / n)).read_bytes(), f


@pytest.mark.parametrize("workers", ["workers=1", "workers=2"])
def test_a_users_own_randomizer_is_enabled_from_yaml_alone(tmp_path, workers):
    """The README's example, end to end: a class in the user's module, a YAML file in the user's config folder; the
    worker processes import the module as the main process does."""
    (tmp_path / "my_dr.py").write_text(textwrap.dedent('''
        import numpy as np

        from simgen import validate
        from simgen.scene import Scene


        class DropFixtures:
            def __init__(self, names=("floor",), probability: float = 0.5):
                self.names = set(names)
                self.probability = validate.number("probability", probability, 0, 1)

            def __call__(self, scene: Scene, rng: np.random.Generator) -> None:
                if rng.uniform() < self.probability:
                    scene.fixtures = [f for f in scene.fixtures if f.category not in self.names]
    '''))
    (tmp_path / "my_conf" / "randomizers").mkdir(parents=True)
    (tmp_path / "my_conf" / "randomizers" / "drop_fixtures.yaml").write_text(
        "drop_fixtures:\n  _target_: my_dr.DropFixtures\n  names: [floor]\n  probability: 1.0\n")
    out = tmp_path / "out"
    done = run_simgen([f"output_dir={out}", "num_frames=2", *SMALL, workers, "renderer=tiny",
                       "hydra.searchpath=[file://my_conf]", "randomizers=[color,drop_fixtures]",
                       "effects=[background_image]"], tmp_path)
    assert done.returncode == 0, done.stderr
    for meta in sorted((out / "meta").glob("*.json")):
        assert [f["category"] for f in json.loads(meta.read_text())["fixtures"]] == ["table"]
    check_dataset(out)


def files_of(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in ("simgen.log", "multirun.yaml")}


def test_values_added_to_a_sweep_render_only_the_new_combinations(tmp_path):
    """Folders are named by their overrides alone: a value added to any parameter leaves the finished datasets where
    they are (with job numbers in the names, one added to the last parameter renamed them all)."""
    out = tmp_path / "sweep"
    common = [f"output_dir={out}", "num_frames=1", *SMALL, "renderer=tiny"]
    first = run_simgen(["-m", "seed=0,1", "camera.fov=40,60", *common], tmp_path)
    assert first.returncode == 0, first.stderr
    before = files_of(out)
    names = sorted(p.name for p in out.iterdir() if p.is_dir())
    more = run_simgen(["-m", "seed=0,1", "camera.fov=40,50,60", *common], tmp_path)
    assert more.returncode == 0, more.stderr
    assert more.stdout.count("(0 rendered, 1 already on disk)") == 4 and more.stdout.count("(1 rendered)") == 2
    after = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(after) == 6 and set(names) < set(after) and all("camera.fov=50" in n for n in set(after) - set(names))
    assert {k: v for k, v in files_of(out).items() if k.split("/")[0] in names} == before


def test_a_stopped_sweep_goes_on_when_the_same_command_runs_again(tmp_path):
    """What Ctrl-C during job 1 leaves (job 0 finished, job 1 with some frames, job 2 not begun) is completed by the
    same command, to the bytes an uninterrupted sweep writes; finished datasets are not refused."""
    out = tmp_path / "sweep"
    args = ["-m", "seed=0,1,2", f"output_dir={out}", "num_frames=2", *SMALL, "renderer=tiny"]
    done = run_simgen(args, tmp_path)
    assert done.returncode == 0, done.stderr
    reference = files_of(out)
    jobs = sorted(p for p in out.iterdir() if p.is_dir())
    assert len(jobs) == 3
    (jobs[1] / "annotations.json").unlink()
    for frame in jobs[1].glob("*/000001.*"):
        frame.unlink()
    shutil.rmtree(jobs[2])
    again = run_simgen(args, tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("simgen: 2 frames (0 rendered, 2 already on disk)") == 1
    assert again.stdout.count("simgen: 2 frames (1 rendered, 1 already on disk)") == 1
    assert again.stdout.count("simgen: 2 frames (2 rendered)") == 1
    assert files_of(out) == reference


@pytest.mark.parametrize("launcher", [[], ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]])
def test_a_failing_job_does_not_stop_the_sweep(tmp_path, launcher):
    out = tmp_path / "sweep"
    done = run_simgen(["-m", "camera.fov=40,abc,200,60", f"output_dir={out}", "num_frames=1", *SMALL, "renderer=tiny",
                       *launcher], tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    fov = {"40": "0", "abc": "1", "200": "2", "60": "3"}  # each job's number
    jobs = {fov[p.name.split("camera.fov=")[1].split(",")[0]]: p for p in out.iterdir() if p.is_dir()}
    assert sorted(jobs) == ["0", "1", "2", "3"]
    assert (jobs["0"] / "annotations.json").is_file() and (jobs["3"] / "annotations.json").is_file()
    assert [p.name for p in jobs["1"].iterdir()] in ([], ["simgen.log"])  # nothing left of a failed job but its log
    errors = [line for line in done.stderr.splitlines() if line.startswith("simgen: error:")]
    assert sorted(errors[:2]) == [
        f"simgen: error: job #1 ({jobs['1']}): camera.fov: expected a number, [low, high] or a sampler with "
        "_target_, got 'abc'",
        f"simgen: error: job #2 ({jobs['2']}): camera.fov: expected a number in [1, 179], got 200.0"]
    assert errors[2:] == ["simgen: error: 2 jobs of the sweep failed (#1, #2, errors above); the datasets of the "
                          "jobs that did not fail are written"]
    assert "Error executing job" not in done.stderr, done.stderr  # Hydra's line for each, said again


def test_a_sweep_whose_every_job_failed_says_so(tmp_path):
    """It said "the datasets of the jobs that did not fail are written" of a sweep that wrote none."""
    done = run_simgen(["-m", "camera.fov=abc,200", f"output_dir={tmp_path / 'sweep'}", "num_frames=1", *SMALL],
                      tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == "simgen: error: every job of the sweep failed (#0, #1, errors above)"


@pytest.mark.parametrize("values", ["seed=range(0,0)", "camera.fov=glob(*)"])
def test_a_sweep_without_jobs_is_an_error(tmp_path, values):
    """Hydra launched 0 jobs and the command exited 0, leaving a folder with its multirun.yaml."""
    done = run_simgen(["-m", values, f"output_dir={tmp_path / 'sweep'}", "num_frames=1", *SMALL], tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "simgen: error: the sweep has no jobs: a parameter's list of values is empty (range(0,0), or a glob() that "
        "matches no option of a config group)")
    assert not (tmp_path / "sweep").exists()


@pytest.mark.parametrize("launcher", [[], ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]])
def test_a_bug_in_a_jobs_own_code_keeps_its_traceback(tmp_path, launcher):
    """A ValueError of a user's randomizer is no bad input that simgen can name: it is shown with its traceback,
    also where the launcher hands it back through Hydra's code."""
    (tmp_path / "my_bug.py").write_text("class Buggy:\n    def __call__(self, scene, rng):\n"
                                        "        raise ValueError('a bug in my randomizer')\n")
    (tmp_path / "my_conf" / "randomizers").mkdir(parents=True)
    (tmp_path / "my_conf" / "randomizers" / "buggy.yaml").write_text("buggy:\n  _target_: my_bug.Buggy\n")
    done = run_simgen(["-m", "seed=0,1", f"output_dir={tmp_path / 'sweep'}", "num_frames=1", *SMALL,
                       "renderer=tiny", "hydra.searchpath=[file://my_conf]", "randomizers=[buggy]", *launcher],
                      tmp_path)
    assert done.returncode == 1 and "Traceback" in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "ValueError: a bug in my randomizer"


def test_a_value_no_job_can_compose_stops_the_sweep_before_it_runs(tmp_path):
    """And leaves no folder behind (it held Hydra's multirun.yaml alone); a folder that holds more stays."""
    out = tmp_path / "sweep"
    done = run_simgen(["-m", "num_frames=1,abc", f"output_dir={out}", *SMALL], tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "simgen: error: num_frames: Value 'abc' of type 'str' could not be converted to Integer"]
    assert not out.exists()
    (out / "seed=0").mkdir(parents=True)
    assert run_simgen(["-m", "num_frames=1,abc", f"output_dir={out}", *SMALL], tmp_path).returncode == 2
    assert sorted(p.name for p in out.iterdir()) == ["multirun.yaml", "seed=0"]


@pytest.mark.parametrize("added", [["-m", "+sed=1,2"], ["-m", "++sed=1,2"], ["+sed=1"]])
def test_a_key_added_at_the_top_level_is_refused(tmp_path, added):
    """`+sed=1,2` (seed misspelt) made two identical datasets, each with `sed` in its config.yaml; a sweep now stops
    before its first job, leaving no folder. A group added with + (`+my_group=...`) is not refused."""
    out, sweep = tmp_path / "sweep", "-m" in added
    done = run_simgen([*added, f"output_dir={out}", "num_frames=1", *SMALL], tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == ("simgen: error: sed: unknown key: simgen reads no such setting "
                                                    "(did you mean seed?)")
    assert not out.exists() if sweep else sorted(p.name for p in out.iterdir()) == ["simgen.log"]
    (tmp_path / "my_conf" / "my_group").mkdir(parents=True)
    (tmp_path / "my_conf" / "my_group" / "wide.yaml").write_text("# @package _global_\ncamera:\n  fov: 70\n")
    done = run_simgen(["-m", "+my_group=wide", "hydra.searchpath=[file://my_conf]", f"output_dir={out}",
                       "num_frames=1", *SMALL, "renderer=tiny"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "fov: 70" in next(out.glob("+my_group=wide*/config.yaml")).read_text()


def test_a_sweep_folder_name_too_long_is_one_line_saying_what_to_do(tmp_path):
    out = tmp_path / "sweep"
    long = ["objects.categories=[duck,teddy,lego,jenga,soccerball,mug,blob,box,sphere,cylinder,capsule]",
            "effects=[gaussian_noise,jpeg,vignette,blur]", "distractors=[clutter,floating]",
            "camera.distance=[0.5,0.9]"]
    args = ["-m", *long, "seed=1,2", f"output_dir={out}", "num_frames=1", *SMALL, "renderer=tiny"]
    done = run_simgen(args, tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("simgen: error: output_dir: cannot create the folder 'camera.distance=") and \
        f"in {out}: its name is " in last and "hydra.sweep.subdir='${hydra.job.num}'" in last, last
    numbered = run_simgen([*args, "hydra.sweep.subdir=${hydra.job.num}"], tmp_path)
    assert numbered.returncode == 0, numbered.stderr
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["0", "1"]



def test_a_slash_in_a_swept_value_names_one_folder_in_the_sweep(tmp_path):
    """Values with a slash (photo folders, catalog globs) made nested folders, and `..` a dataset outside
    output_dir."""
    for folder in ("photos/indoor", "photos/outdoor"):
        (tmp_path / folder).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / folder / "a.png"), np.full((60, 80, 3), 128, np.uint8))
    out = tmp_path / "sweep"
    folders = "effects.background_image.folder=photos/indoor,photos/../photos/outdoor"
    done = run_simgen(["-m", "effects=[background_image]", folders, f"output_dir={out}", "num_frames=1", *SMALL,
                       "renderer=tiny"], tmp_path)
    assert done.returncode == 0, done.stderr
    jobs = sorted(p for p in out.iterdir() if p.is_dir())
    named = {p.name.split("folder=")[1].split(",")[0]:
             yaml.safe_load((p / "config.yaml").read_text())["effects"]["background_image"]["folder"] for p in jobs}
    assert named == {"photos%2Findoor": "photos/indoor", "photos%2F..%2Fphotos%2Foutdoor": "photos/../photos/outdoor"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos", "sweep"]
