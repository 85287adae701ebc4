import os
import subprocess
import sys
from pathlib import Path

MAKE = "from simgen import temp_folders; folder = temp_folders.make('simgen-textures-'); print(folder, flush=True)"


def start(code: str, tmp: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", f"{MAKE}; {code}"], env=dict(os.environ, TMPDIR=str(tmp)),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def test_the_folders_of_processes_killed_outright_are_removed_by_the_next_one(tmp_path):
    """SIGKILL leaves no chance to clean up: a texture folder (up to world's 256 MB) stayed in /tmp for good."""
    killed = start("import os, signal; open(folder + '/t.bmp', 'w').write('x'); os.kill(os.getpid(), 9)", tmp_path)
    dead = Path(killed.stdout.readline().strip())
    assert killed.wait() == -9 and (dead / "t.bmp").exists()
    alive = start("import sys; sys.stdin.read()", tmp_path)
    living = Path(alive.stdout.readline().strip())
    try:
        after = start("", tmp_path)
        assert after.stdout.readline().strip() and after.wait() == 0
        assert not dead.exists() and living.is_dir()
    finally:
        alive.communicate("")
    again = start("", tmp_path)
    assert again.stdout.readline().strip() and again.wait() == 0
    assert not living.exists()


def test_a_run_with_workers_removes_abandoned_texture_folders_too(tmp_path):
    """The main process of a run with workers makes only the run's folder: it sweeps every kind."""
    killed = start("import os; os.kill(os.getpid(), 9)", tmp_path)
    dead = Path(killed.stdout.readline().strip())
    assert killed.wait() == -9 and dead.is_dir()
    code = "from simgen import temp_folders; temp_folders.make(temp_folders.WORKERS)"
    run = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, TMPDIR=str(tmp_path)))
    assert run.returncode == 0 and not dead.exists()
