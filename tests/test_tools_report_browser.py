"""The HTML report opened in a real headless Chromium: its headings and embedded figures render."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import SMALL, run_simgen
from tools_support import read_png, run_tool

BROWSER = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
HEADINGS = ["Summary", "Instances per category", "Instances per image", "Box size", "Box aspect ratio",
            "Object centres", "Depth range", "Sample overlays"]
MATPLOTLIB_BLUE = (31, 119, 180)  # "C0", the colour of one dataset's bars

pytestmark = pytest.mark.skipif(BROWSER is None, reason="needs Chromium (.ci/run installs Debian's chromium)")


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    done = run_simgen([f"output_dir={root / 'ds'}", "num_frames=3", *SMALL], root)
    assert done.returncode == 0, done.stderr
    made = run_tool("stats", root / "ds", "--out", root / "report", "--no-progress", "--samples", "3")
    assert made.returncode == 0, made.stderr
    return root / "report" / "report.html"


def chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    """Headless Chromium as root on a machine without display, GPU or network."""
    return subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={profile}", *args, page.as_uri()],
                          capture_output=True, text=True, timeout=120, cwd=profile)


def test_report_dom_has_every_section_and_figure(report, tmp_path):
    dom = chromium(report, tmp_path, "--dump-dom").stdout
    assert "<h1>simgen dataset report: ds</h1>" in dom
    assert re.findall(r"<h2[^>]*>([^<]+)</h2>", dom) == HEADINGS
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', dom)) == len(HEADINGS) - 1


def test_report_renders_its_figures(report, tmp_path):
    shot = tmp_path / "report.png"
    done = chromium(report, tmp_path, f"--screenshot={shot}", "--window-size=1200,3000", "--hide-scrollbars")
    assert shot.is_file(), done.stderr
    picture = read_png(shot)[..., :3].astype(int)
    assert picture.shape[:2] == (3000, 1200)
    assert picture.std() > 20
    blue = (np.abs(picture - MATPLOTLIB_BLUE).max(axis=2) <= 3).sum()
    assert blue > 1000  # the category bars: the embedded PNGs were decoded and drawn
