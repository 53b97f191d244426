"""``aleph-otio submit`` then ``run``: a planned batch is sent once and collected later."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.sample import make_sample_project

KEY = "submit-test-key"


@pytest.fixture()
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(latency=0.2, api_key=KEY, storage_dir=tmp_path / "emu")) as e:
        yield e


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUNWARE_API_KEY": KEY}
    return subprocess.run(
        [sys.executable, "-m", "aleph_otio", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_submit_a_batch_then_run_collects_without_resubmitting(
    emu: Emulator, tmp_path: Path
) -> None:
    project = make_sample_project(tmp_path / "proj")
    batch = tmp_path / "cut.aleph.json"
    work = tmp_path / "work"
    planned = _cli("plan", str(project.timeline), "-o", str(batch))
    assert planned.returncode == 0, planned.stderr

    submitted = _cli("submit", str(batch), "--work-dir", str(work), "--base-url", emu.base_url)
    assert submitted.returncode == 0, submitted.stderr
    assert len(emu.jobs) == 3
    status = _cli("status", str(work))
    assert status.returncode == 0 and status.stdout.count("submitted") >= 3, status.stdout

    out = tmp_path / "relinked.otio"
    ran = _cli(
        "run", str(batch), "-o", str(out), "--work-dir", str(work), "--base-url", emu.base_url
    )
    assert ran.returncode == 0, ran.stderr
    assert out.is_file()
    assert len(emu.jobs) == 3, "run submitted again what submit had sent"
    tasks = [t for t in emu.received if t.get("taskType") == "videoInference"]
    assert len(tasks) == 3
    assert KEY not in submitted.stdout + submitted.stderr + ran.stdout + ran.stderr
