"""Crash consistency (issue "Prove it", item 5): ``aleph-otio run`` killed with SIGKILL anywhere.

A real ``python -m aleph_otio run`` subprocess works against an emulator in this process (slowed
down: every HTTP answer waits, every task takes a while, so each stage lasts long enough to be
hit). The test watches the job ledger and, at seeded points spread over every stage, freezes the
process (SIGSTOP), records which stage the frozen ledger says it was in, and kills it (SIGKILL).
Then a rerun of the same job must finish with:

- every shot relinked exactly once (each marked range has exactly one version clip);
- one emulator job per shot, no taskUUID started twice, and the cost of exactly one result per
  shot (nothing paid twice);
- no partial file left: no ``*.part``, no temporary clip or output, no half-written output.

The default run kills at one point per stage (7); the ``slow`` test at 21 (3 per stage).
Results and runtime are recorded in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import opentimelineio as otio
import pytest

from aleph_otio.api.client import AlephClient
from aleph_otio.config import APISettings, PlanSettings
from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.pipeline import RunConfig, RunSummary, estimate_cost, plan_file, run_pipeline
from aleph_otio.sample import (
    BOOM_PROMPT,
    RATE,
    RELIGHT_PROMPT,
    SOURCES,
    SWAP_PROMPT,
    build_sample_timeline,
    code_index,
)
from aleph_otio.synth import make_still, make_video
from aleph_otio.timeline import write_timeline

KEY = "test-key-not-secret-crash"
PRICE = 0.28
#: The sample edit's layout at a tiny frame size: cheap to cut and render, same shots.
SIZE = (128, 72)
STAGES = ("prepare", "upload", "submit", "generate", "download", "verify", "relink/write")
#: Seeded delay (s) after a stage is seen before the kill: up to about half the stage's length
#: under the slow-downs below; 0 for the short local stages (kill as soon as seen).
MAX_DELAY = {
    "prepare": 0.03,
    "upload": 0.12,
    "submit": 0.12,
    "generate": 0.3,
    "download": 0.12,
    "verify": 0.0,
    "relink/write": 0.0,
}
#: Slow-downs while the process that gets killed runs: every HTTP answer waits SLOW seconds,
#: every task takes LATENCY seconds.
SLOW = 0.2
LATENCY = 1.2


# --- a tiny copy of the sample project (shared with test_fault_matrix) -----------------------


@dataclass(frozen=True)
class TinyProject:
    """The sample edit (aleph_otio.sample) over tiny media."""

    timeline: Path
    prompts: list[str]
    #: Version clips a complete relink holds: the shot across the C/D cut comes back as two.
    pieces: int


def make_tiny_project(folder: Path, *, shots: int = 3) -> TinyProject:
    """The sample edit at 128x72; ``shots=2`` drops the relight shot (keeps guide and cut)."""
    media = []
    (folder / "media").mkdir(parents=True, exist_ok=True)
    for number, src in enumerate(SOURCES):
        media.append(
            make_video(
                folder / "media" / f"{src.name}.mp4",
                frames=src.frames,
                rate=RATE,
                size=SIZE,
                timecode=src.timecode,
                hue=src.hue,
                first_index=code_index(number, 0),
            )
        )
    (folder / "guides").mkdir(parents=True, exist_ok=True)
    guide = make_still(folder / "guides" / "swap_first.png", size=SIZE, index=code_index(0, 24))
    timeline = build_sample_timeline(media, guide, relative_to=folder)
    prompts = [SWAP_PROMPT, RELIGHT_PROMPT, BOOM_PROMPT]
    if shots == 2:
        for clip in timeline.find_clips():
            clip.markers[:] = [m for m in clip.markers if RELIGHT_PROMPT not in m.name]
        prompts.remove(RELIGHT_PROMPT)
    path = write_timeline(timeline, folder / "tiny.otio")
    return TinyProject(timeline=path, prompts=prompts, pieces=len(prompts) + 1)


def version_clips(timeline: otio.schema.Timeline) -> list[otio.schema.Clip]:
    """Clips of the ``ALEPH v...`` version tracks (keep ``timeline`` alive while using them)."""
    return [
        clip
        for track in timeline.video_tracks()
        if track.name.startswith("ALEPH v")
        for clip in track.find_clips()
    ]


def version_ranges(path: Path) -> Counter[tuple[float, float]]:
    """How many version clips an output file has at each record range (start, duration)."""
    timeline = otio.adapters.read_from_file(str(path))
    ranges = (clip.range_in_parent() for clip in version_clips(timeline))
    return Counter((r.start_time.to_seconds(), r.duration.to_seconds()) for r in ranges)


# --- watching and killing the run ------------------------------------------------------------


def ledger_states(path: Path) -> list[str] | None:
    """Shot states in plan order, read without writing (None: no ledger or no shots yet)."""
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            rows = db.execute("SELECT state FROM shots ORDER BY rowid").fetchall()
        finally:
            db.close()
    except sqlite3.Error:  # created but not migrated yet
        return None
    return [row[0] for row in rows] or None


def stage_of(states: list[str] | None) -> str:
    """The stage a run with these shot states is in (shots go through submit one at a time,
    ``--concurrency 1``, then all are polled, downloaded, verified and relinked).

    ``prepared`` means the upload step (guide stills are converted just before it);
    ``uploaded`` and ``submitting`` the submit step (it uploads the guides, then POSTs).
    """
    if not states:
        return "plan"
    before = [s for s in states if s in ("planned", "prepared", "uploaded", "submitting")]
    if before:
        return {"planned": "prepare", "prepared": "upload"}.get(before[0], "submit")
    if "downloaded" in states:
        return "verify"
    if "succeeded" in states:
        return "download"
    if "submitted" in states:
        return "generate"
    if all(s == "relinked" for s in states):
        return "done"
    return "relink/write"


@dataclass
class KillPoint:
    target: str
    stage: str
    at: float  # seconds after the process started
    #: Partial files the killed process left (the rerun must remove them).
    left: int = 0


def _cli(project: TinyProject, out: Path, work: Path, emu: Emulator) -> subprocess.Popen[bytes]:
    args = [
        "run",
        str(project.timeline),
        "-o",
        str(out),
        "--work-dir",
        str(work),
        "--base-url",
        emu.base_url,
        "--concurrency",
        "1",
        "--poll-interval",
        "0.1",
        "--price",
        str(PRICE),
    ]
    return subprocess.Popen(
        [sys.executable, "-m", "aleph_otio", *args],
        env={**os.environ, "RUNWARE_API_KEY": KEY},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def kill_during(
    proc: subprocess.Popen[bytes], ledger: Path, target: str, delay: float, timeout: float = 60
) -> KillPoint | None:
    """Wait until the run is in ``target``, wait ``delay``, freeze it, note the stage, kill it.

    Returns None when the run got past ``target`` unseen or finished first (no kill point).
    """
    order = ("plan", *STAGES, "done")
    clips = ledger.parent / "clips"
    started = time.monotonic()
    while True:
        stage = stage_of(ledger_states(ledger))
        # A prepare kill waits for the cut to be writing its (temporary) clip: a kill there
        # leaves a partial file that only the next run can clean up.
        if stage == target and (target != "prepare" or _hidden_files(clips)):
            break
        if order.index(stage) > order.index(target) or proc.poll() is not None:
            proc.kill()
            proc.wait()
            return None
        if time.monotonic() - started > timeout:
            raise AssertionError(f"the run never reached {target} (stuck at {stage})")
        time.sleep(0.001)
    if delay:
        time.sleep(delay)
    try:
        os.killpg(proc.pid, signal.SIGSTOP)
    except ProcessLookupError:  # it finished during the delay
        proc.wait()
        return None
    # Frozen: the ledger cannot change between this read and the kill.
    stage = stage_of(ledger_states(ledger))
    at = time.monotonic() - started
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    if stage == "done":
        return None
    return KillPoint(target, stage, at)


def _hidden_files(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.name.startswith(".")]
    except OSError:
        return []


def _rerun(project: TinyProject, out: Path, work: Path, emu: Emulator) -> RunSummary:
    """The same job again (in-process: the same code path as the CLI, minus progress bars)."""
    settings = APISettings(
        base_url=emu.base_url,
        poll_interval=0.05,
        poll_max_interval=0.2,
        price_per_second=PRICE,
        deadline_seconds=60,  # bounded: a rerun that cannot finish fails the test, never hangs
    )
    config = RunConfig(
        timeline=project.timeline, output=out, work_dir=work, api_settings=settings, concurrency=1
    )

    async def go() -> RunSummary:
        async with AlephClient(api_key=KEY, settings=settings) as client:
            return await run_pipeline(config, client)

    return asyncio.run(go())


def partial_files(out: Path, work: Path) -> list[Path]:
    """Files a killed run may leave: downloads, temporary clips/stills, temporary outputs."""
    found = list(work.rglob("*.part"))
    for sub in ("clips", "guides", "results"):
        found.extend(p for p in (work / sub).glob(".*") if p.is_file())
    found.extend(out.parent.glob(f".{out.stem}.*"))
    return found


def plant_partial_files(out: Path, work: Path) -> None:
    """What a kill leaves in the millisecond windows no watcher can hit reliably: a half
    download (``*.part``) and a half-written temporary output, named as the real ones."""
    (work / "results").mkdir(parents=True, exist_ok=True)
    (work / "results" / "0123456789ab_deadbeef_0.mp4.part").write_bytes(b"\0" * 1000)
    (out.parent / f".{out.stem}.k1ll3d.tmp{out.suffix}").write_text('{"OTIO_SCHEMA": "Timel')


def check_finished_once(
    project: TinyProject, out: Path, work: Path, emu: Emulator, summary: RunSummary
) -> None:
    """The invariants every rerun after a kill must satisfy."""
    assert summary.exit_code == 0, [(s.name, s.state, s.reason) for s in summary.shots]
    ranges = version_ranges(out)
    assert len(ranges) == project.pieces and set(ranges.values()) == {1}, ranges
    # One job per shot: a taskUUID is started at most once (the emulator refuses a second
    # start), and no shot got a second taskUUID.
    assert len(emu.jobs) == len(project.prompts)
    prompts = Counter(str(job.task["positivePrompt"]) for job in emu.jobs.values())
    assert prompts == Counter(project.prompts), prompts
    assert {s.task_uuid.lower() for s in summary.shots} == set(emu.jobs)
    _, plan = plan_file(project.timeline, PlanSettings())
    once = sum(estimate_cost(shot, PRICE) for shot in plan.shots)
    assert emu.spent == pytest.approx(once), "a shot was paid twice"
    assert summary.cost == pytest.approx(once)
    assert not partial_files(out, work), partial_files(out, work)


def crash_and_resume(project: TinyProject, root: Path, target: str, seed: int) -> KillPoint | None:
    """One kill point: a fresh job killed during ``target``, then resumed and checked."""
    rng = random.Random(seed)
    delay = rng.uniform(0, MAX_DELAY[target])
    root.mkdir(parents=True)
    out, work = root / "out.otio", root / "work"
    with Emulator(
        EmulatorConfig(
            latency=LATENCY,
            concurrency=4,
            storage_dir=root / "emu",
            api_key=KEY,
            price_per_second=PRICE,
        )
    ) as emu:
        emu.faults.slow_response = SLOW
        proc = _cli(project, out, work, emu)
        point = kill_during(proc, work / "ledger.sqlite", target, delay)
        # An output is written atomically: after a kill it is absent or complete.
        if out.exists():
            otio.adapters.read_from_file(str(out))
        if point is not None:
            point.left = len(partial_files(out, work))
        plant_partial_files(out, work)
        emu.faults.slow_response = 0.0
        emu.config.latency = 0.1
        summary = _rerun(project, out, work, emu)
        check_finished_once(project, out, work, emu, summary)
    return point


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> TinyProject:
    # Two shots (one with a guide still, one across a cut: three version clips) keep each kill
    # point quick; one prepared project serves every kill point.
    return make_tiny_project(tmp_path_factory.mktemp("crash") / "proj", shots=2)


@dataclass
class KillRun:
    points: list[KillPoint]
    attempts: int  # runs started; an attempt whose run got past its target unseen kills nothing
    seconds: float

    def report(self) -> str:
        hits = Counter(p.stage for p in self.points)
        per = ", ".join(f"{s} {hits[s]}" for s in STAGES)
        left = sum(1 for p in self.points if p.left)
        return (
            f"{len(self.points)} kill points ({self.attempts} runs) in {self.seconds:.1f} s: "
            f"{per}; {left} kill(s) left partial files"
        )


def run_kill_points(
    project: TinyProject, root: Path, per_stage: int, max_attempts: int, workers: int = 2
) -> KillRun:
    """Kill until every stage was hit ``per_stage`` times (at most ``max_attempts`` runs).

    Kill points are independent (own emulator, work folder and output), so ``workers`` of them
    run at once; most of each is waiting on the slowed-down emulator.
    """
    started = time.monotonic()
    points: list[KillPoint] = []
    attempt = 0
    with ThreadPoolExecutor(workers) as pool:
        while attempt < max_attempts:
            hits = Counter(p.stage for p in points)
            wanted = [s for s in STAGES for _ in range(per_stage - hits[s])]
            if not wanted:
                break
            batch = wanted[: max_attempts - attempt]
            futures = [
                pool.submit(crash_and_resume, project, root / f"kill{n:02d}", target, seed=1000 + n)
                for n, target in enumerate(batch, start=attempt)
            ]
            attempt += len(batch)
            points.extend(p for f in futures if (p := f.result()) is not None)
    return KillRun(points, attempt, time.monotonic() - started)


def test_sigkill_at_every_stage_then_rerun_finishes_once(
    project: TinyProject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = run_kill_points(project, tmp_path, per_stage=1, max_attempts=12)
    with capsys.disabled():
        print(f"\ncrash consistency: {run.report()}")
    assert {p.stage for p in run.points} >= set(STAGES), run.report()
    assert any(p.left for p in run.points if p.stage == "prepare"), "no kill left a partial file"


@pytest.mark.slow
def test_sigkill_at_21_points_then_rerun_finishes_once(
    project: TinyProject, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Part of the default run (about 40 s): the issue asks for at least 20 seeded kill points.
    run = run_kill_points(project, tmp_path, per_stage=3, max_attempts=32)
    with capsys.disabled():
        print(f"\ncrash consistency: {run.report()}")
    hits = Counter(p.stage for p in run.points)
    assert len(run.points) >= 20 and all(hits[s] >= 3 for s in STAGES), run.report()
    assert any(p.left for p in run.points), "no kill left a partial file"


def test_stage_of_reads_the_ledger_as_documented() -> None:
    assert stage_of(None) == "plan"
    assert stage_of(["submitted", "planned", "planned"]) == "prepare"
    assert stage_of(["submitted", "prepared", "planned"]) == "upload"
    assert stage_of(["uploaded", "planned"]) == "submit"
    assert stage_of(["submitted", "submitting"]) == "submit"
    assert stage_of(["succeeded", "submitted"]) == "download"
    assert stage_of(["verified", "downloaded", "submitted"]) == "verify"
    assert stage_of(["verified", "submitted"]) == "generate"
    assert stage_of(["verified", "relinked"]) == "relink/write"
    assert stage_of(["relinked", "relinked"]) == "done"
