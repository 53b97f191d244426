"""The benchmarks still run: each one at a tiny size, end to end, printing its ratio.

No timing is asserted (CI machines vary); what is asserted is what a reader of the benchmark
output relies on: every planned marker became a shot, the pipeline relinked every shot against
the emulator, the download arrived whole, and each prints its ratio against its baseline.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def load(name: str) -> ModuleType:
    """Import ``benchmarks/<name>.py`` (the folder is not a package; scripts import ``common``)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    assert found, f"no {pattern!r} in:\n{text}"
    return float(found.group(1))


def test_bench_plan_plans_every_marker_and_reports_the_ratio(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bench = load("bench_plan")
    assert bench.main(["--sizes", "50,250", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    # One row per size, 20% of the clips marked (the benchmark exits if a marker did not plan).
    rows = re.findall(r"^\| (\d+) \| (\d+) \|", out, re.M)
    assert [(int(c), int(m)) for c, m in rows] == [(50, 10), (250, 50)]
    assert number(r"worst (\d+\.\d+)", out) > 0
    assert number(r"clips: (\d+\.\d+)x", out) > 0


def test_bench_plan_timeline_is_what_the_docs_say() -> None:
    """The synthetic timeline: N clips, a marker on every fifth, three kinds of marker."""
    bench = load("bench_plan")
    timeline = bench.make_timeline(30)
    clips = list(timeline.find_clips())
    markers = [m for c in clips for m in c.markers]
    assert len(clips) == 30 and len(markers) == 6
    assert {m.name for m in markers} >= {"VFX", "sky"}
    assert any(m.name.startswith("aleph:") for m in markers)


def test_bench_orchestration_runs_the_pipeline_against_the_emulator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bench = load("bench_orchestration")
    argv = ["--shots", "3", "--latency", "0.3", "--concurrency", "2", "--size", "64x36"]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    assert number(r"actual / ideal: (\d+\.\d+)", out) > 0
    # Every shot needs at least an upload and a submit; batched polling keeps the rest small.
    posts = number(r"HTTP requests per task: (\d+\.\d+) API POSTs", out)
    assert 2.0 <= posts <= 6.0
    assert number(r"\+ (\d+\.\d+) downloads", out) == 1.0


def test_bench_orchestration_queues_tasks_on_the_server_with_server_slots(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--server-slots 2 with 4 shots: two waves, each at least the latency, the ideal says so."""
    bench = load("bench_orchestration")
    argv = ["--shots", "4", "--latency", "0.5", "--concurrency", "2", "--server-slots", "2"]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out
    assert "running 2 tasks at once (2 waves)" in out
    ideal = number(
        r"\| ideal: tasks sent as the baseline readies them, 2 at once \| (\d+\.\d+)", out
    )
    wall = number(r"\| pipeline wall time \(run_pipeline\) \| (\d+\.\d+)", out)
    # Queued on the server, the second wave cannot end before two latencies have passed.
    assert ideal >= 1.0 and wall >= 1.0


def test_ideal_wall_is_a_first_come_first_served_server() -> None:
    bench = load("bench_orchestration")
    ready = [0.4, 0.1, 0.2, 0.3]
    # A slot per shot: the last shot ready + one latency.
    assert bench.ideal_wall(ready, slots=4, latency=3.0) == pytest.approx(3.4)
    # Two slots: 0.1 and 0.2 run first; 0.3 and 0.4 wait for them (3.1, 3.2) and end 3 s later.
    assert bench.ideal_wall(ready, slots=2, latency=3.0) == pytest.approx(6.2)
    # One slot: strictly one after another from the first ready shot.
    assert bench.ideal_wall(ready, slots=1, latency=1.0) == pytest.approx(4.1)
    # Never more than baseline + waves x latency, never less than one wave after the last shot.
    assert 3.4 <= bench.ideal_wall(ready, slots=2, latency=3.0) <= 0.4 + 2 * 3.0


def test_bench_download_streams_a_whole_file_in_a_subprocess(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bench = load("bench_download")
    assert bench.main(["--mb", "4", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert number(r"plain httpx: (\d+\.\d+)", out) > 0
    assert 0 < number(r"client peak RSS (\d+) MB", out) < 1000


def test_cached_track_geometry_gives_otios_own_ranges(tmp_path: Path) -> None:
    """bench_plan's speed-up caches track geometry: every piece must still be where OTIO says.

    A trimmed track with a transition, a gap, different clip rates and markers on clips, on the
    track and on the timeline: each piece's record and stack range equal OTIO's own
    ``transformed_time_range`` (computed here without the cache).
    """
    import opentimelineio as otio

    from aleph_otio.config import PlanSettings
    from aleph_otio.timeline import find_marked_ranges, read_timeline, write_timeline

    rt, tr = otio.opentime.RationalTime, otio.opentime.TimeRange

    def clip(name: str, start: float, frames: float, rate: float = 24) -> otio.schema.Clip:
        ref = otio.schema.ExternalReference(
            target_url=f"media/{name}.mov", available_range=tr(rt(0, rate), rt(10000, rate))
        )
        return otio.schema.Clip(
            name=name, media_reference=ref, source_range=tr(rt(start, rate), rt(frames, rate))
        )

    a, b, c, d = clip("A", 100, 72), clip("B", 200, 60), clip("C", 50, 75, 25), clip("D", 0, 96)
    a.markers.append(otio.schema.Marker(name="aleph: a", marked_range=tr(rt(110, 24), rt(0, 24))))
    c.markers.append(otio.schema.Marker(name="aleph: c", marked_range=tr(rt(60, 25), rt(50, 25))))
    v1 = otio.schema.Track(name="V1", source_range=tr(rt(12, 24), rt(250, 24)))
    v1.extend(
        [
            a,
            otio.schema.Transition(in_offset=rt(6, 24), out_offset=rt(6, 24)),
            b,
            otio.schema.Gap(duration=rt(24, 24)),
            c,
        ]
    )
    v1.markers.append(
        otio.schema.Marker(name="aleph: cut", marked_range=tr(rt(60, 24), rt(48, 24)))
    )
    v2 = otio.schema.Track(name="V2", children=[otio.schema.Gap(duration=rt(30, 24)), d])
    timeline = otio.schema.Timeline(name="geometry", global_start_time=rt(86400, 24))
    timeline.tracks.extend([v1, v2])
    timeline.tracks.markers.append(
        otio.schema.Marker(name="aleph: top", marked_range=tr(rt(40, 24), rt(0, 24)))
    )
    loaded = read_timeline(write_timeline(timeline, tmp_path / "geometry.otio"))
    ranges, errors = find_marked_ranges(loaded, PlanSettings())
    assert not errors and len(ranges) == 4
    stack = loaded.timeline.tracks
    pieces = [p for r in ranges for p in r.pieces]
    assert len(pieces) == 5  # the track marker spans the A/B cut
    for piece in pieces:
        track = piece.clip.parent()
        assert piece.record_range == piece.clip.transformed_time_range(piece.source_range, track)
        assert piece.stack_range == piece.clip.transformed_time_range(piece.source_range, stack)


def test_bench_colour_cuts_through_colour_and_reports_its_ratios(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bench = load("bench_colour")
    assert bench.main(["--quick", "--cache", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert number(r"\| plain decode \+ encode \| (\d+\.\d+)", out) > 0
    assert number(r"\| colour \(baked LUT, lut3d\) \| \d+\.\d+ \| (\d+\.\d+)", out) > 0
    assert number(r"over the exact processor: (\d+\.\d+)x", out) > 0
    # Both memory runs cut every frame they were asked for (6 and 24 of the 1 s plate).
    assert re.findall(r"\((\d+) frames cut", out) == ["6", "24"]


def test_bench_deliver_writes_both_sequences_and_reports_the_ratio(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bench = load("bench_deliver")
    assert bench.main(["--quick", "--cache", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "320x180@24 -> EXR half zip1 640x360, 24 files" in out
    assert number(r"\| plain PyAV image2 write \| (\d+\.\d+)", out) > 0
    assert number(r"delivered / plain: (\d+\.\d+)x", out) > 0
    # The benchmark exits unless both wrote every file and the frames are the same pixels.
    assert "same pixels, first and last file: True" in out
