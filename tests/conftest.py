"""Shared fixtures: composing the real config, building small scenes, running the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

import pytest
from hydra import compose, initialize_config_module
from omegaconf import DictConfig

from simgen import config
from simgen.world import World, egl_available

config.register_schema()

# Each renderer, for tests that must hold under both; EGL is skipped where it does not initialise.
RENDERERS = ["tiny", pytest.param("egl", marks=pytest.mark.skipif(not egl_available(), reason="no EGL here"))]

SMALL = ["camera.width=160", "camera.height=120", "progress=false", "workers=1"]


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    with initialize_config_module(config_module="simgen.conf", version_base=None):
        return compose(config_name="config", overrides=list(overrides), return_hydra_config=False)


def with_ctrl_c() -> None:
    """Popen's preexec_fn for a process a test stops with SIGINT: Python's own Ctrl-C handling, also where the tests
    run in a shell's background job, whose processes ignore SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(autouse=True)
def own_temp_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's own temporary directory, for this process and those it starts: tests run side by side
    (pytest-xdist), and some count the temporary folders simgen leaves."""
    temp = tmp_path_factory.mktemp("temp")
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))


def run_simgen(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run the real command line (`python -m simgen`) in `cwd`."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run([sys.executable, "-m", "simgen", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.fixture
def small_dataset(tmp_path: Path):
    """A function that generates a small dataset with extra overrides and returns its directory."""
    def make(*overrides: str, name: str = "ds", frames: int = 3) -> Path:
        out = tmp_path / name
        done = run_simgen([f"output_dir={out}", f"num_frames={frames}", *SMALL, *overrides], tmp_path)
        assert done.returncode == 0, done.stderr
        return out
    return make


def render_once(renderer: str, scene):
    """Build and render a scene in a world of its own (no settling)."""
    world = World(renderer=renderer)
    try:
        world.build(scene)
        return world.render(scene)
    finally:
        world.close()


def texture_folders() -> set:
    """simgen's temporary folders: a process's textures and meshes, a run's folder for its workers' ones."""
    temp = Path(tempfile.gettempdir())
    return {*temp.glob("simgen-textures-*"), *temp.glob("simgen-workers-*")}


def in_lines(coco: dict) -> bytes:
    """The COCO object as simgen lays out annotations.json: compact, each image and annotation on a line."""
    def dump(entry: object) -> bytes:
        return json.dumps(entry, separators=(",", ":")).encode()

    head = {key: value for key, value in coco.items() if key not in ("images", "annotations")}
    return (dump(head)[:-1] + b',"images":[\n' + b",\n".join(map(dump, coco["images"])) + b'\n],"annotations":[\n'
            + b",\n".join(map(dump, coco["annotations"])) + b"\n]}")
