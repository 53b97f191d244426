"""A job ledger belongs to one endpoint; a rehearsal resumed under a new emulator re-uploads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.ledger import Ledger
from aleph_otio.pipeline import endpoint_label
from aleph_otio.sample import make_sample_project

KEY = "endpoint-test-key"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUNWARE_API_KEY": KEY}
    return subprocess.run(
        [sys.executable, "-m", "aleph_otio", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_endpoint_label_groups_loopback_emulators() -> None:
    assert endpoint_label("http://127.0.0.1:4000/v1") == endpoint_label("http://localhost:5/v1")
    assert endpoint_label("http://127.0.0.2:9/v1") == endpoint_label("http://[::1]:7/v1")
    assert endpoint_label("https://api.runware.ai/v1") == "https://api.runware.ai/v1"
    assert endpoint_label("https://api.runware.ai/v1?x=1") == "https://api.runware.ai/v1"


def test_a_real_run_refuses_a_rehearsals_work_folder(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path / "proj")
    work = tmp_path / "work"
    out = tmp_path / "out.otio"
    rehearsal = _cli(
        "run", str(project.timeline), "-o", str(out), "--emulator", "--work-dir", str(work),
        "--emulator-latency", "0.1",
    )  # fmt: skip
    assert rehearsal.returncode == 0, rehearsal.stderr
    # Aimed at a closed local port dressed as a remote host would still be loopback; use a
    # non-routable documentation address: the guard must refuse before any request is made.
    real = _cli(
        "run", str(project.timeline), "-o", str(tmp_path / "real.otio"), "--work-dir",
        str(work), "--base-url", "https://api.example.invalid/v1",
    )  # fmt: skip
    assert real.returncode != 0
    assert "belongs to a local emulator (rehearsal)" in real.stderr
    assert "--work-dir" in real.stderr and "Traceback" not in real.stderr
    assert not (tmp_path / "real.otio").exists()
    with Ledger(work / "ledger.sqlite") as ledger:
        assert {r.state for r in ledger.shots()} == {"relinked"}


def test_a_rehearsal_resumed_under_a_new_emulator_uploads_again(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path / "proj")
    work = tmp_path / "work"
    out = tmp_path / "out.otio"
    base = ["run", str(project.timeline), "-o", str(out), "--work-dir", str(work)]
    with Emulator(EmulatorConfig(latency=0.1, api_key=KEY, storage_dir=tmp_path / "e1")) as first:
        # The budget pays for one shot; the others stay uploaded on the first emulator.
        partial = _cli(*base, "--base-url", first.base_url, "--budget", "1", "--concurrency", "1")
        assert partial.returncode == 4, partial.stderr
    with Emulator(EmulatorConfig(latency=0.1, api_key=KEY, storage_dir=tmp_path / "e2")) as fresh:
        done = _cli(*base, "--base-url", fresh.base_url)
        assert done.returncode == 0, done.stdout + done.stderr
        assert len(fresh.jobs) == 2, "the two waiting shots ran once each on the new emulator"
        uploads = [t for t in fresh.received if t.get("taskType") == "mediaStorage"]
        assert len(uploads) >= 2, "their clips were uploaded again"
