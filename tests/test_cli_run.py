"""``aleph-otio run`` exit codes and outputs when planning refuses markers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import opentimelineio as otio

from aleph_otio.sample import make_sample_project


def _refuse_every_marker(timeline: Path, out: Path) -> Path:
    """The sample edit with every prompt one character over Aleph's 1000."""
    tl = otio.adapters.read_from_file(str(timeline))
    for item in [tl.tracks, *tl.tracks, *tl.find_clips()]:
        for marker in item.markers:
            if marker.name.lower().startswith("aleph:"):
                marker.name = "aleph: " + "x" * 1001
    otio.adapters.write_to_file(tl, str(out))
    return out


def test_run_with_every_marker_refused_exits_3_and_writes_nothing(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path / "proj")
    bad = _refuse_every_marker(project.timeline, project.folder / "bad.otio")
    out = tmp_path / "out.otio"
    env = {**os.environ, "RUNWARE_API_KEY": "k"}
    done = subprocess.run(
        [sys.executable, "-m", "aleph_otio", "run", str(bad), "-o", str(out), "--emulator"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert "1000" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists(), "an unchanged copy of the input was written as if relinked"


def test_unreadable_source_media_is_refused_at_plan_time_by_run(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path / "proj")
    project.media[1].write_bytes(b"not a movie at all")
    out = tmp_path / "out.otio"
    env = {**os.environ, "RUNWARE_API_KEY": "k"}
    done = subprocess.run(
        [sys.executable, "-m", "aleph_otio", "run", str(project.timeline), "-o", str(out),
         "--emulator", "--emulator-latency", "0.1"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    # the shot on the broken clip is refused when planning; the others are relinked
    assert done.returncode == 4, done.stdout + done.stderr
    assert "B020C001" in done.stderr and "Traceback" not in done.stderr
    assert out.is_file()
