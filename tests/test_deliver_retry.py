"""A delivery that cannot be written fails its shots clearly, and the next run delivers them.

The conform artist asks for DPX returns of an edit already relinked as returned, on a work disk
where the delivery cannot be written (here: a file where the ``delivered`` folder goes, as a
full or read-only disk would refuse it). Each shot fails with the reason, in one line, the
results kept; once the disk is fixed the same command delivers and relinks every shot, and no
task is ever paid again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import opentimelineio as otio

from aleph_otio.ledger import Ledger
from aleph_otio.sample import make_sample_project


def _run(timeline: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aleph_otio", "run", str(timeline), "-o", str(tmp_path / "out.otio"),
         "--work-dir", str(tmp_path / "work"), "--emulator", "--emulator-latency", "0.1", *args],
        env={**os.environ, "RUNWARE_API_KEY": "k"}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _tasks(work: Path) -> dict[str, tuple[str, str]]:
    with Ledger(work / "ledger.sqlite") as ledger:
        return {r.shot.name: (r.state, r.task_uuid) for r in ledger.shots()}


def test_an_unwritable_delivery_fails_its_shots_and_the_next_run_delivers_them(
    tmp_path: Path,
) -> None:
    make_sample_project(tmp_path / "proj")
    timeline = next((tmp_path / "proj").rglob("*.otio"))
    work = tmp_path / "work"
    first = _run(timeline, tmp_path)
    assert first.returncode == 0, first.stderr
    paid = _tasks(work)
    assert {state for state, _ in paid.values()} == {"relinked"}, paid

    (work / "delivered").write_text("not a folder")
    blocked = _run(timeline, tmp_path, "--deliver", "dpx")
    assert blocked.returncode != 0
    assert "Traceback" not in blocked.stderr
    errors = [line for line in blocked.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == len(paid), blocked.stderr
    assert all("cannot write the delivered media" in e and "nothing is paid again" in e
               for e in errors), errors  # fmt: skip
    after = _tasks(work)
    assert {state for state, _ in after.values()} == {"failed"}
    assert {n: t for n, (_, t) in after.items()} == {n: t for n, (_, t) in paid.items()}

    (work / "delivered").unlink()
    fixed = _run(timeline, tmp_path, "--deliver", "dpx")
    assert fixed.returncode == 0, fixed.stderr
    done = _tasks(work)
    assert done == paid, "every shot relinked again under the task it was paid for"
    relinked = otio.adapters.read_from_file(str(tmp_path / "out.otio"))
    versions = [
        c for t in relinked.video_tracks() if t.name.startswith("ALEPH v") for c in t.find_clips()
    ]
    assert versions and all(
        isinstance(c.media_reference, otio.schema.ImageSequenceReference)
        and c.media_reference.name_suffix == ".dpx"
        for c in versions
    )
