"""Benchmark 3: orchestration overhead. A batch of shots through run_pipeline against the emulator.

The sample edit is made here: tiny H.264 sources (64x36, synth code strip) and an OTIO timeline
with one clip per shot, each with a zero-length ``aleph:`` marker (a 2 s shot). The emulator runs
in its own process (``--in-process``: in this one) with a fixed per-task latency (a task's whole
time on the server). By default it runs every task at once (one wave: the server is never the
bottleneck, so every second the client adds shows); ``--server-slots N`` makes it run N at a time
and queue the rest, as a model's capacity on the real service does (``waves`` = shots / N). The
client has a concurrency cap (local prepare/upload/download work, not tasks on the server) and
polls as ``run --emulator`` does.

Baseline, measured in the same run on the same files: the local work alone, i.e. ``plan_file``
and ``prepare_shot`` for every shot on as many threads as the pipeline cuts on
(``media_threads(--concurrency)``: the cap, at most one per core), which is what the pipeline
does before anything can be sent; it records when each shot's clip is ready. The ideal wall
time: each shot submitted the moment the baseline had it ready, the server running its slots
first come first served, each task taking the latency (``ideal_wall``). With one wave that is
the baseline + the latency; with several it is at most the baseline + waves x latency, which is
also printed (the later waves overlap the cutting). Reported: actual / ideal (target: within
10%), and HTTP requests per task (``AlephClient.request_count`` and ``download_request_count``,
divided by the shots).

With ``--repeats N`` the baseline and the pipeline run N times in turn on the same files, one
row each, and the ratio is reported as the median with its range: on a shared machine one run
can be 0.1 off either way.

    python benchmarks/bench_orchestration.py [--quick] [--shots 50] [--latency 3] [--concurrency 10]
        [--server-slots 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import opentimelineio as otio
from common import machine, timed

from aleph_otio.api.client import AlephClient
from aleph_otio.config import (
    EMULATOR_POLL_INTERVAL,
    EMULATOR_POLL_MAX_INTERVAL,
    APISettings,
    PlanSettings,
)
from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.media import prepare_shot
from aleph_otio.pipeline import RunConfig, RunSummary, media_threads, plan_file, run_pipeline
from aleph_otio.shots import Shot
from aleph_otio.synth import make_video

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
RATE = 24
KEY = "bench-key-not-secret"
SHOTS_PER_SOURCE = 10


def make_project(folder: Path, shots: int, size: tuple[int, int], seconds: float) -> Path:
    """Sources and a timeline with ``shots`` marked clips of ``seconds`` each; returns the .otio."""
    media = folder / "media"
    media.mkdir(parents=True, exist_ok=True)
    clip_frames = round(seconds * RATE)
    step = clip_frames + RATE  # one second between the ranges of two clips from one source
    sources = math.ceil(shots / SHOTS_PER_SOURCE)
    files = []
    for number in range(sources):
        path = media / f"src{number:02d}.mp4"
        make_video(path, frames=SHOTS_PER_SOURCE * step, size=size, hue=number)
        files.append(path)
    timeline = otio.schema.Timeline(name=f"bench {shots} shots")
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for i in range(shots):
        path = files[i // SHOTS_PER_SOURCE]
        start = (i % SHOTS_PER_SOURCE) * step
        clip = otio.schema.Clip(
            name=f"{path.stem}_{i:03d}",
            media_reference=otio.schema.ExternalReference(
                target_url=f"media/{path.name}",
                available_range=TR(RT(0, RATE), RT(SHOTS_PER_SOURCE * step, RATE)),
            ),
            source_range=TR(RT(start, RATE), RT(clip_frames, RATE)),
        )
        clip.markers.append(
            otio.schema.Marker(
                name=f"aleph: make shot {i} look like dusk",
                marked_range=TR(RT(start, RATE), RT(0, RATE)),
            )
        )
        track.append(clip)
    out = folder / "edit.otio"
    otio.adapters.write_to_file(timeline, str(out))
    return out


def prepare_all(timeline: Path, work: Path, threads: int) -> tuple[float, float, list[float]]:
    """(plan seconds, prepare seconds, when each shot was ready): the local work, as the pipeline
    does it. A shot is ready when its clip is cut, counted from the start of planning."""
    plan_s, (_, plan) = timed(lambda: plan_file(timeline, PlanSettings()))
    work.mkdir(parents=True, exist_ok=True)
    ready: list[float] = []
    started = 0.0

    def one(shot: Shot) -> None:
        prepare_shot(shot, work / f"{shot.id}.mp4")
        ready.append(plan_s + time.perf_counter() - started)

    def all_shots() -> None:
        nonlocal started
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(one, plan.shots))

    prep_s, _ = timed(all_shots)
    return plan_s, prep_s, ready


def ideal_wall(ready: list[float], *, slots: int, latency: float) -> float:
    """When the last task would end if each shot were submitted the moment the baseline had it
    ready and the server ran ``slots`` tasks at a time, first come first served, each taking
    ``latency``: the baseline plus the waves, with the waves overlapping the cutting as they
    may. With a slot per shot this is the baseline + one latency."""
    free = [0.0] * max(1, slots)
    for at in sorted(ready):
        start = max(at, heapq.heappop(free))
        heapq.heappush(free, start + latency)
    return max(free)


def process_cpu(pid: int | None) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far; 0 where /proc is missing."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are fields 14 and 15 of /proc/PID/stat (11 and 12 after the name).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def emulator_process(
    folder: Path, *, latency: float, workers: int
) -> Iterator[tuple[str, int | None]]:
    """``aleph-otio emulator`` in its own process (a server is not in the client's process);
    yields its base URL and pid and stops it (SIGTERM, which it handles like Ctrl-C)."""
    cmd = [
        sys.executable, "-m", "aleph_otio", "emulator", "--port", "0", "--api-key", KEY,
        "--latency", str(latency), "--concurrency", str(workers),
        "--storage", str(folder / "emulator"),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("RUNWARE_BASE_URL="):
            raise SystemExit(f"the emulator did not start: {line!r}")
        yield line.split("=", 1)[1], proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def emulator_thread(
    folder: Path, *, latency: float, workers: int
) -> Iterator[tuple[str, int | None]]:
    """The emulator in this process, as ``aleph-otio run --emulator`` runs it."""
    config = EmulatorConfig(
        latency=latency, concurrency=workers, storage_dir=folder / "emulator", api_key=KEY
    )
    with Emulator(config) as emu:
        yield emu.base_url, None


def run(
    timeline: Path,
    folder: Path,
    *,
    latency: float,
    concurrency: int,
    poll: float,
    poll_max: float,
    slots: int,
    in_process: bool,
) -> dict[str, Any]:
    """One pipeline run; wall time, stage times (from its events) and request counts."""
    marks: dict[str, float] = {}
    began = 0.0

    def on_event(stage: str, shot: Shot | None, status: str) -> None:
        now = time.perf_counter() - began
        marks.setdefault(f"{stage} {status} first", now)
        marks[f"{stage} {status} last"] = now

    serve = emulator_thread if in_process else emulator_process
    with serve(folder, latency=latency, workers=slots) as (base_url, server_pid):
        settings = APISettings(
            base_url=base_url, poll_interval=poll, poll_max_interval=max(poll_max, poll)
        )
        cfg = RunConfig(
            timeline=timeline,
            output=folder / "edit_aleph.otio",
            work_dir=folder / "work",
            api_settings=settings,
            concurrency=concurrency,
        )

        async def go() -> tuple[RunSummary, int, int]:
            async with AlephClient(api_key=KEY, settings=settings) as client:
                summary = await run_pipeline(cfg, client, on_event=on_event)
                return summary, client.request_count, client.download_request_count

        server_cpu = process_cpu(server_pid)
        client_cpu = time.process_time()
        began = time.perf_counter()
        summary, requests, downloads = asyncio.run(go())
        wall = time.perf_counter() - began
        client_cpu = time.process_time() - client_cpu
        server_cpu = process_cpu(server_pid) - server_cpu
    if summary.exit_code != 0:
        failed = [(s.name, s.state, s.reason) for s in summary.shots if s.state != "relinked"]
        raise SystemExit(f"the run did not relink every shot: {failed[:3]}")
    return {
        "wall": wall,
        "marks": marks,
        "requests": requests,
        "downloads": downloads,
        "shots": len(summary.shots),
        "client_cpu": client_cpu,
        "server_cpu": server_cpu,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 shots, 1 s latency")
    parser.add_argument("--shots", type=int, default=None, help="default 50 (10 with --quick)")
    parser.add_argument("--latency", type=float, default=None, help="seconds per task (3; 1)")
    parser.add_argument("--concurrency", type=int, default=10, help="client concurrency cap")
    parser.add_argument(
        "--server-slots",
        type=int,
        default=None,
        help="tasks the emulator runs at once, the rest queue (default: one per shot, one wave)",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=EMULATOR_POLL_INTERVAL,
        help="first poll interval (what `run --emulator` uses; grows 1.5x per poll)",
    )
    parser.add_argument(
        "--poll-max-interval",
        type=float,
        default=EMULATOR_POLL_MAX_INTERVAL,
        help="longest poll interval (what `run --emulator` uses)",
    )
    parser.add_argument("--size", default="64x36", help="source frame size")
    parser.add_argument("--seconds", type=float, default=2.0, help="shot length")
    parser.add_argument("--target", type=float, default=1.10, help="allowed actual/ideal")
    parser.add_argument(
        "--repeats", type=int, default=1, help="baseline + pipeline runs, in turn (median kept)"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the emulator in this process (as `run --emulator` does) instead of its own",
    )
    args = parser.parse_args(argv)
    shots = args.shots or (10 if args.quick else 50)
    latency = args.latency if args.latency is not None else (1.0 if args.quick else 3.0)
    width, height = (int(v) for v in args.size.split("x"))
    slots = min(args.server_slots or shots, shots)
    waves = math.ceil(shots / slots)
    # The pipeline cuts on this many threads (``concurrency``, at most one per core); the
    # baseline does the same cuts the same way.
    threads = media_threads(args.concurrency)
    print(f"# bench_orchestration: {machine()}")
    print(
        f"# {shots} shots of {args.seconds:g} s at {args.size}, emulator latency {latency:g} s "
        f"running {slots} tasks at once ({waves} wave{'s' if waves > 1 else ''}), "
        f"client concurrency {args.concurrency}, "
        f"polls {args.poll_interval:g} s apart at first, at most {args.poll_max_interval:g} s; "
        f"emulator "
        f"{'in this process' if args.in_process else 'in its own process'}"
    )
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="aleph-bench-orch-") as tmp:
        folder = Path(tmp)
        made, timeline = timed(lambda: make_project(folder, shots, (width, height), args.seconds))
        for number in range(max(1, args.repeats)):
            plan_s, prep_s, ready = prepare_all(timeline, folder / f"baseline{number}", threads)
            if len(ready) != shots:
                raise SystemExit(f"planned {len(ready)} shots, expected {shots}")
            result = run(
                timeline,
                folder / f"run{number}",
                latency=latency,
                concurrency=args.concurrency,
                poll=args.poll_interval,
                poll_max=args.poll_max_interval,
                slots=slots,
                in_process=args.in_process,
            )
            result.update(
                plan_s=plan_s,
                prep_s=prep_s,
                ideal=ideal_wall(ready, slots=slots, latency=latency),
            )
            rows.append(result)
    for row in rows:
        row["ratio"] = row["wall"] / row["ideal"]
    if len(rows) > 1:
        print("| run | plan_file | prepare_shot x shots | ideal | pipeline wall | actual / ideal |")
        print("|---|---|---|---|---|---|")
        for number, row in enumerate(rows, 1):
            print(
                f"| {number} | {row['plan_s']:.2f} | {row['prep_s']:.2f} | {row['ideal']:.2f} "
                f"| {row['wall']:.2f} | {row['ratio']:.2f} |"
            )
        print(f"\nThe median run ({len(rows)} runs) in detail:\n")
    ratios = [row["ratio"] for row in rows]
    median = statistics.median(ratios)
    result = min(rows, key=lambda row: abs(row["ratio"] - median))
    plan_s, prep_s, ideal = result["plan_s"], result["prep_s"], result["ideal"]
    formula = plan_s + prep_s + waves * latency
    marks = result["marks"]
    print("| measure | seconds |")
    print("|---|---|")
    print(f"| baseline: plan_file | {plan_s:.2f} |")
    print(f"| baseline: prepare_shot x {shots} ({threads} threads) | {prep_s:.2f} |")
    print(f"| baseline + {waves} wave{'s' if waves > 1 else ''} x {latency:g} s | {formula:.2f} |")
    print(f"| ideal: tasks sent as the baseline readies them, {slots} at once | {ideal:.2f} |")
    print(f"| pipeline wall time (run_pipeline) | {result['wall']:.2f} |")
    print(f"|   CPU of the client process during it | {result['client_cpu']:.2f} |")
    if not args.in_process:
        print(f"|   CPU of the emulator process during it | {result['server_cpu']:.2f} |")
    for label, key in (
        ("  last shot prepared", "prepare done last"),
        ("  last shot submitted", "submit done last"),
        ("  last result generated (seen by a poll)", "generate done last"),
        ("  last result verified", "verify done last"),
        ("  output written", "write done last"),
    ):
        if key in marks:
            print(f"| {label} | {marks[key]:.2f} |")
    spread = (
        f" (median of {len(rows)}: {min(ratios):.2f}-{max(ratios):.2f})" if len(rows) > 1 else ""
    )
    print(
        f"\nactual / ideal: {median:.2f}{spread} "
        f"({'meets' if median <= args.target else 'misses'} the "
        f"{args.target:.2f} target); against baseline + waves x latency: "
        f"{result['wall'] / formula:.2f}.\n"
        f"HTTP requests per task: {result['requests'] / shots:.2f} API POSTs "
        f"(uploads, submits, batched polls) + {result['downloads'] / shots:.2f} downloads "
        f"({result['requests']} + {result['downloads']} for {shots} tasks); "
        f"sources made in {made:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
