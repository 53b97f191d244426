"""Benchmark 1: planning scale. How much planning adds to reading a big timeline, and how it grows.

Synthetic OTIO timelines of 1k, 10k and 50k clips on one video track (the worst case for
per-track walks), 200 source files, an edit-request marker on every fifth clip (zero-length
``aleph:`` names, ranged markers with the prompt in the comment, ``aleph`` metadata with
numberResults 2, in turn). Each clip's media reference has an available_range and the planner's
media facts come from a dict, so planning touches no disk (the pipeline probes each file once).

Baseline, measured in the same run on the same file: ``otio.adapters.read_from_file``.
Measured: ``read_timeline`` (the read plus aleph-otio's checks) and ``plan_timeline`` on the
loaded timeline; planning overhead = (read_timeline - OTIO read) + plan_timeline.
Target (issue): overhead <= 25% of the read, and a constant cost per clip (linear growth).

Also measured, as a floor: ``bare_walk``, the least any planner written in Python on OTIO's
bindings must do (visit every clip, look at its markers, and read the dozen OTIO values one
marked shot is made of), with no planning logic at all. Each value read is a C++ call of about
1 us, so the floor shows how much of the overhead is the bindings and how much is aleph-otio.

    python benchmarks/bench_plan.py [--quick] [--sizes 1000,10000,50000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

import opentimelineio as otio
from common import best_of, machine, timed

from aleph_otio.config import PlanSettings
from aleph_otio.plan import plan_timeline
from aleph_otio.shots import MediaFacts
from aleph_otio.timeline import read_timeline

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
RATE = 24
SOURCES = 200
SOURCE_FRAMES = 10 * 60 * RATE  # 10 minutes per source file
SOURCE_TC = 3600 * RATE  # files start at 01:00:00:00
CLIP_FRAMES = 3 * RATE


def make_timeline(clips: int) -> otio.schema.Timeline:
    """``clips`` clips on V1, an edit-request marker on every fifth (three kinds, in turn)."""
    timeline = otio.schema.Timeline(
        name=f"bench {clips} clips", global_start_time=RT(SOURCE_TC, RATE)
    )
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for i in range(clips):
        source = i % SOURCES
        ref = otio.schema.ExternalReference(
            target_url=f"media/A{source:03d}C{source % 7:03d}.mov",
            available_range=TR(RT(SOURCE_TC, RATE), RT(SOURCE_FRAMES, RATE)),
        )
        start = SOURCE_TC + (i * 997) % (SOURCE_FRAMES - CLIP_FRAMES)
        clip = otio.schema.Clip(
            name=f"A{source:03d}C{source % 7:03d}_{i}",
            media_reference=ref,
            source_range=TR(RT(start, RATE), RT(CLIP_FRAMES, RATE)),
        )
        if i % 5 == 0:
            kind = (i // 5) % 3
            if kind == 0:  # a point marker: the whole clip
                marker = otio.schema.Marker(
                    name=f"aleph: swap the can for a bottle ({i})",
                    marked_range=TR(RT(start, RATE), RT(0, RATE)),
                )
            elif kind == 1:  # 1.5 s range, widened to 2 s; prompt in the comment
                marker = otio.schema.Marker(
                    name="VFX",
                    marked_range=TR(RT(start + 12, RATE), RT(36, RATE)),
                    color=otio.schema.MarkerColor.RED,
                    comment=f"aleph: remove the boom mic ({i})",
                )
            else:  # metadata, two results
                marker = otio.schema.Marker(
                    name="sky",
                    marked_range=TR(RT(start, RATE), RT(CLIP_FRAMES, RATE)),
                    metadata={
                        "aleph": {"prompt": f"make the sky stormy ({i})", "numberResults": 2}
                    },
                )
            clip.markers.append(marker)
        track.append(clip)
    return timeline


def bare_walk(timeline: otio.schema.Timeline) -> int:
    """Visit every clip and read what one marked shot needs from OTIO; returns markers seen.

    Not a planner: the floor under any planner that reads the timeline through OTIO's Python
    bindings (markers via len/next: running an OTIO iterator to its end raises in C++).
    """
    seen = 0
    for track in timeline.tracks:
        children = list(track)  # wrapped before range_of_all_children (see timeline.py)
        spans = track.range_of_all_children()
        for child in children:
            markers = child.markers
            count = len(markers)
            if not count:
                continue
            it = iter(markers)
            for _ in range(count):
                marker = next(it)
                seen += 1
                ref = child.media_reference
                _ = (marker.name, marker.comment, len(marker.metadata), marker.marked_range)
                _ = (child.name, child.trimmed_range(), spans[child], len(child.effects))
                _ = (ref.target_url, ref.available_range)
    return seen


def media_facts(folder: Path) -> dict[str, MediaFacts]:
    """What a probe of each source would say, keyed by the absolute path the planner asks for."""
    facts = {}
    for source in range(SOURCES):
        path = str(folder / "media" / f"A{source:03d}C{source % 7:03d}.mov")
        facts[path] = MediaFacts(
            path=path, rate=RATE, frame_count=SOURCE_FRAMES, start_frame=SOURCE_TC
        )
    return facts


def measure(clips: int, folder: Path, repeats: int) -> dict[str, float]:
    """Seconds for the OTIO read, read_timeline and plan_timeline of one timeline (best runs)."""
    path = folder / f"bench_{clips}.otio"
    otio.adapters.write_to_file(make_timeline(clips), str(path))
    facts = media_facts(folder.resolve())
    settings = PlanSettings()
    # The two reads take turns, and each one's timeline is freed before the next read: a read
    # made while another big timeline is still alive gets fresh memory (page faults) and was
    # up to 1.5x slower, which once made read_timeline look twice as slow as the OTIO read.
    read = aleph_read = math.inf
    loaded = None
    for _ in range(max(1, repeats)):
        loaded = None
        gc.collect()
        seconds, timeline = timed(lambda: otio.adapters.read_from_file(str(path)))
        read = min(read, seconds)
        del timeline
        gc.collect()
        seconds, loaded = timed(lambda: read_timeline(path))
        aleph_read = min(aleph_read, seconds)
    assert loaded is not None
    plan_s, plan = best_of(lambda: plan_timeline(loaded, settings, media_facts=facts.get), repeats)
    floor, seen = best_of(lambda: bare_walk(loaded.timeline), repeats)
    markers = len(range(0, clips, 5))
    if seen != markers:
        raise SystemExit(f"{clips} clips: the bare walk saw {seen} markers of {markers}")
    # A benchmark that plans the wrong thing measures nothing: every marker must become a shot.
    if plan.errors or len(plan.shots) != markers:
        raise SystemExit(f"{clips} clips: {len(plan.shots)} shots of {markers}: {plan.errors[:3]}")
    return {
        "clips": clips,
        "markers": markers,
        "read": read,
        "checks": max(0.0, aleph_read - read),
        "plan": plan_s,
        "overhead": max(0.0, aleph_read - read) + plan_s,
        "floor": floor,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k clips only")
    parser.add_argument("--sizes", default=None, help="clip counts, e.g. 1000,10000,50000")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (best kept)")
    parser.add_argument("--target", type=float, default=0.25, help="allowed overhead/read")
    args = parser.parse_args(argv)
    sizes = [
        int(s)
        for s in (args.sizes or ("1000,10000" if args.quick else "1000,10000,50000")).split(",")
    ]
    began = time.perf_counter()
    print(f"# bench_plan: {machine()}; OTIO {otio.__version__}")
    print(
        "| clips | markers | OTIO read s | read_timeline extra s | plan_timeline s"
        " | overhead / read | read us/clip | overhead us/clip | bare walk / read |"
    )
    print("|" + "---|" * 9)
    rows = []
    with tempfile.TemporaryDirectory(prefix="aleph-bench-plan-") as tmp:
        for clips in sizes:
            # The biggest timeline is slow to build and read: one run is enough there.
            row = measure(clips, Path(tmp), args.repeats if clips <= 10000 else 1)
            rows.append(row)
            print(
                f"| {clips} | {row['markers']} | {row['read']:.3f} | {row['checks']:.3f}"
                f" | {row['plan']:.3f} | {row['overhead'] / row['read']:.2f}"
                f" | {row['read'] / clips * 1e6:.0f} | {row['overhead'] / clips * 1e6:.0f}"
                f" | {row['floor'] / row['read']:.2f} |",
                flush=True,
            )
    worst = max(r["overhead"] / r["read"] for r in rows)
    per_clip = [r["overhead"] / r["clips"] for r in rows]
    growth = per_clip[-1] / per_clip[0]
    verdict = "meets" if worst <= args.target else "misses"
    print(
        f"\nplanning overhead / OTIO read: worst {worst:.2f} ({verdict} the {args.target:.2f} "
        f"target); overhead per clip at {rows[-1]['clips']} vs {rows[0]['clips']} clips: "
        f"{growth:.2f}x (1.00 = linear); {time.perf_counter() - began:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
