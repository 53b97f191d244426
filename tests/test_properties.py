"""Properties of plan and relink over random edits (hypothesis; no media decoding).

For random timelines (clip lengths, media start timecodes and source offsets, 24/25/23.976
fps, gaps, clip markers with and without durations, track markers across cuts, handles):

- every planned range, handles included, lies inside its clip's available media, and the
  marked frames are exactly the part of the marker that lies on the clip(s);
- the input clip's frame count (head + segments + tail) is what the media cutter will decode,
  2-30 s, and the parts of a split range are contiguous;
- relinking a fake result per shot (right frame count and rate) and writing the timeline to
  .otio and reading it back gives version clips that show exactly the original frames: a shot
  within one clip has the original's source range; a shot across a cut has one version clip
  per piece, at the piece's record range, reading the result file from the frame where that
  piece's media starts;
- a valid timeline file with a few values changed to hostile ones (zero, negative, huge and
  fractional numbers; markup, path, NUL, RTL and 3000-character strings) goes through
  ``aleph-otio plan`` to a plan or to one-line errors, never a traceback
  (``FUZZ_EXAMPLES=1000`` runs it longer).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import opentimelineio as otio
import pytest
from corpus_gen import cli
from edits import write_marked_clip
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from aleph_otio.config import PlanSettings
from aleph_otio.media.cut import _shot_ranges
from aleph_otio.plan import plan_timeline
from aleph_otio.relink import RelinkResult, relink_timeline, segment_offsets
from aleph_otio.shots import Plan, Shot
from aleph_otio.timeline import LoadedTimeline, write_timeline

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
RATES = (24.0, 25.0, 24000 / 1001)


@dataclass(frozen=True)
class ClipSpec:
    media_start: int  # the media's start timecode, in frames
    media_frames: int
    offset: int  # first used media frame
    frames: int  # clip duration
    gap_before: int  # frames of gap before the clip (0: a straight cut)
    marker: tuple[int, int] | None  # (start within the clip, duration); 0: whole clip


@st.composite
def clip_specs(draw: st.DrawFn) -> ClipSpec:
    # Short takes (widening, refusals) and long ones (over 30 s: split into parts).
    media_frames = draw(
        st.one_of(
            st.integers(min_value=30, max_value=300), st.integers(min_value=700, max_value=1000)
        )
    )
    offset = draw(st.one_of(st.just(0), st.integers(min_value=0, max_value=media_frames - 1)))
    frames = draw(
        st.one_of(
            st.just(media_frames - offset),
            st.integers(min_value=1, max_value=media_frames - offset),
        )
    )
    marker = None
    if draw(st.integers(min_value=0, max_value=2)):  # most clips carry a marker
        start = draw(st.integers(min_value=0, max_value=frames - 1))
        duration = st.integers(min_value=0, max_value=frames - start)
        marker = (start, draw(st.one_of(st.just(0), duration)))  # 0: the whole clip
    return ClipSpec(
        media_start=draw(st.integers(min_value=0, max_value=23 * 3600 * 24)),
        media_frames=media_frames,
        offset=offset,
        frames=frames,
        gap_before=draw(st.sampled_from([0, 0, 0, 0, 5])),
        marker=marker,
    )


@dataclass(frozen=True)
class Edit:
    rate: float
    clips: list[ClipSpec]
    track_markers: list[tuple[int, int]]  # (record start, duration) in track frames
    handles: int
    timeline_start: int


@st.composite
def edits(draw: st.DrawFn) -> Edit:
    clips = draw(st.lists(clip_specs(), min_size=1, max_size=4))
    length = sum(c.gap_before + c.frames for c in clips)
    track_markers = []
    cuts = []
    at = 0
    for spec in clips[:-1]:
        at += spec.gap_before + spec.frames
        cuts.append(at)
    for _ in range(draw(st.integers(min_value=0 if not cuts else 1, max_value=2))):
        if cuts and draw(st.booleans()):
            # Across a cut: some frames each side (possibly past the neighbouring clips).
            cut = draw(st.sampled_from(cuts))
            start = max(0, cut - draw(st.integers(min_value=1, max_value=80)))
            end = min(length, cut + draw(st.integers(min_value=1, max_value=80)))
            track_markers.append((start, end - start))
        else:
            start = draw(st.integers(min_value=0, max_value=length - 1))
            duration = draw(st.integers(min_value=2, max_value=length - start + 2))
            track_markers.append((start, duration))
    return Edit(
        rate=draw(st.sampled_from(RATES)),
        clips=clips,
        track_markers=track_markers,
        handles=draw(st.integers(min_value=0, max_value=30)),
        timeline_start=draw(st.sampled_from([0, 3600])),
    )


def build(edit: Edit) -> otio.schema.Timeline:
    rate = edit.rate
    track = otio.schema.Track(name="V1")
    for i, spec in enumerate(edit.clips):
        if spec.gap_before:
            track.append(otio.schema.Gap(source_range=TR(RT(0, rate), RT(spec.gap_before, rate))))
        ref = otio.schema.ExternalReference(
            target_url=f"/media/clip{i}.mov",
            available_range=TR(RT(spec.media_start, rate), RT(spec.media_frames, rate)),
        )
        first = spec.media_start + spec.offset
        clip = otio.schema.Clip(
            name=f"C{i}",
            media_reference=ref,
            source_range=TR(RT(first, rate), RT(spec.frames, rate)),
        )
        if spec.marker is not None:
            start, duration = spec.marker
            clip.markers.append(
                otio.schema.Marker(
                    name=f"aleph: clip {i}",
                    marked_range=TR(RT(first + start, rate), RT(duration, rate)),
                )
            )
        track.append(clip)
    for j, (start, duration) in enumerate(edit.track_markers):
        track.markers.append(
            otio.schema.Marker(
                name=f"aleph: track {j}", marked_range=TR(RT(start, rate), RT(duration, rate))
            )
        )
    timeline = otio.schema.Timeline(
        name="random", global_start_time=RT(edit.timeline_start * round(rate), rate)
    )
    timeline.tracks.append(track)
    return timeline


def plan_edit(edit: Edit) -> tuple[otio.schema.Timeline, Plan]:
    timeline = build(edit)
    loaded = LoadedTimeline(timeline, Path("/virtual/random.otio"), "otio_json")
    return timeline, plan_timeline(loaded, PlanSettings(handles=edit.handles))


def _clip_and_range(
    timeline: otio.schema.Timeline, name: str
) -> tuple[otio.schema.Clip, otio.opentime.TimeRange]:
    track = timeline.tracks[0]
    (clip,) = [c for c in track.find_clips() if c.name == name]
    return clip, track.range_of_child(clip)


def _frames(time: otio.opentime.RationalTime, rate: float) -> int:
    return round(time.value_rescaled_to(rate))


def check_ranges(edit: Edit, timeline: otio.schema.Timeline, plan: Plan) -> None:
    rate = edit.rate
    for error in plan.errors:
        # The only reasons a marker on this kind of edit may be refused.
        assert "\n" not in error and error.startswith("random.otio, ")
        assert (
            "Aleph needs at least 2s" in error
            or "marker spans a gap" in error
            or "no clip under the marker" in error
        ), error
    by_marker: dict[str, list[Shot]] = {}
    for shot in plan.shots:
        by_marker.setdefault(shot.marker_name, []).append(shot)
        # Inside the media, handles included, and 2-30 s.
        first, last = shot.segments[0], shot.segments[-1]
        index = {s.clip_name: int(s.clip_name[1:]) for s in shot.segments}
        assert first.media_start_frame - shot.head_frames >= 0
        last_spec = edit.clips[index[last.clip_name]]
        assert last.media_start_frame + last.media_frame_count + shot.tail_frames <= (
            last_spec.media_frames
        )
        for seg in shot.segments:
            spec = edit.clips[index[seg.clip_name]]
            assert spec.offset <= seg.media_start_frame
            assert seg.media_start_frame + seg.media_frame_count <= spec.offset + spec.frames
            assert seg.available_start == spec.media_start
        # The cutter decodes exactly the input clip's frames.
        ranges = _shot_ranges(shot)
        assert sum(r.count for r in ranges) == shot.frame_count
        assert shot.frame_count == (
            shot.head_frames + sum(s.media_frame_count for s in shot.segments) + shot.tail_frames
        )
        assert math.ceil(2 * rate - 1e-6) <= shot.frame_count <= math.floor(30 * rate + 1e-6)
    for name, shots in by_marker.items():
        shots.sort(key=lambda s: s.part)
        assert [s.part for s in shots] == list(range(1, len(shots) + 1))
        # Parts are contiguous in the input, and together hold exactly the marked frames.
        marked = [
            (seg.clip_name, seg.media_start_frame + k)
            for shot in shots
            for seg in shot.segments
            for k in range(seg.media_frame_count)
        ]
        assert len(marked) == len(set(marked))
        assert len(marked) == expected_marked_frames(edit, timeline, name)


def expected_marked_frames(edit: Edit, timeline: otio.schema.Timeline, marker_name: str) -> int:
    """Frames a marker covers, computed from the edit description alone."""
    kind, _, number = marker_name.removeprefix("aleph: ").partition(" ")
    if kind == "clip":
        spec = edit.clips[int(number)]
        assert spec.marker is not None
        start, duration = spec.marker
        # One frame or less is a point marker: the whole clip.
        return spec.frames if duration <= 1 else min(duration, spec.frames - start)
    start, duration = edit.track_markers[int(number)]
    covered, at = 0, 0
    for spec in edit.clips:
        at += spec.gap_before
        covered += max(0, min(at + spec.frames, start + duration) - max(at, start))
        at += spec.frames
    return covered


def check_relink(timeline: otio.schema.Timeline, plan: Plan, folder: Path) -> None:
    results = [
        RelinkResult(
            shot=shot,
            variant=0,
            path=f"/results/{shot.id}.mp4",
            frame_count=shot.frame_count,
            rate=shot.media_rate,
        )
        for shot in plan.shots
    ]
    relinked = relink_timeline(timeline, results)
    path = write_timeline(relinked, folder / "relinked.otio")
    back = otio.adapters.read_from_file(str(path))
    shots = {shot.id: shot for shot in plan.shots}
    pieces_seen = 0
    for track in back.video_tracks()[1:]:
        assert track.name.startswith("ALEPH v")
        for version in track.find_clips():
            meta = version.metadata["aleph_otio"]
            shot = shots[meta["shot_id"]]
            index = int(meta["piece"])
            seg = shot.segments[index]
            original, record = _clip_and_range(back, seg.clip_name)
            pieces_seen += 1
            rate = seg.media_rate
            # The result file is read from the frame where this piece's media starts.
            ref = version.media_reference
            assert ref.target_url == f"/results/{shot.id}.mp4"
            assert ref.available_range.duration.value == shot.frame_count
            first = _frames(version.source_range.start_time - ref.available_range.start_time, rate)
            assert first == segment_offsets(shot)[index]
            assert _frames(version.source_range.duration, rate) == seg.media_frame_count
            # ... and it sits over the piece of the original clip it replaces.
            in_clip = version.source_range.start_time - original.source_range.start_time
            assert version.range_in_parent() == TR(
                record.start_time + in_clip, version.source_range.duration
            )
            # The piece's own source range: the original clip's time code for those frames.
            assert version.source_range == TR(
                RT(seg.available_start + seg.media_start_frame, rate),
                RT(seg.media_frame_count, rate),
            )
            if seg.media_frame_count == _frames(original.source_range.duration, rate):
                assert version.source_range == original.source_range
            # Inside the original clip's source range: same frames, same time code.
            assert original.source_range.start_time <= version.source_range.start_time
            assert version.source_range.end_time_exclusive() <= (
                original.source_range.end_time_exclusive()
            )
    assert pieces_seen == sum(len(s.segments) for s in plan.shots)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(edits())
def test_random_edits_plan_inside_the_media_and_relink_frame_accurately(edit: Edit) -> None:
    timeline, plan = plan_edit(edit)
    for shot in plan.shots:
        event("shot across a cut" if len(shot.segments) > 1 else "shot within a clip")
        event("split into parts" if shot.parts > 1 else "one part")
        event("handles" if shot.head_frames or shot.tail_frames else "no handles")
    event("some marker refused" if plan.errors else "every marker planned")
    check_ranges(edit, timeline, plan)
    with tempfile.TemporaryDirectory() as folder:
        check_relink(timeline, plan, Path(folder))


# --- mutated timeline files through the command line ----------------------------------------

_NUMBERS = (0, -1, -48, 1, 0.5, 1e-7, 1e15, 2**63, 86399 * 24, 23.976, 1001)
_TEXTS = (
    "", "[/]", "aleph:", "aleph: ", "aleph: [bold]x", "../../evil", "nul\x00", "\u202e",
    "L" * 3000, "https://x.invalid/a.mov", "file:///nonexistent/a.mov", "V1", "ALEPH GUIDES",
)  # fmt: skip


def _leaves(node: object, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Paths of every number and string in the JSON (schema names included)."""
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _leaves(v, (*path, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _leaves(v, (*path, i))]
    return [path] if isinstance(node, int | float | str) and not isinstance(node, bool) else []


def _set(node: object, path: tuple[object, ...], value: object) -> None:
    for key in path[:-1]:
        node = node[key]  # type: ignore[index]
    node[path[-1]] = value  # type: ignore[index]


@pytest.fixture(scope="module")
def seed_timeline(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small valid edit (clip and track markers, a gap, a guide track) as OTIO JSON text."""
    edit = Edit(
        rate=24.0,
        clips=[
            ClipSpec(86400, 120, 12, 60, 0, (5, 30)),
            ClipSpec(0, 200, 0, 100, 5, (0, 0)),
            ClipSpec(3600, 90, 10, 70, 0, None),
        ],
        track_markers=[(150, 40)],
        handles=4,
        timeline_start=3600,
    )
    timeline = build(edit)
    guide = otio.schema.Clip(
        name="paint",
        media_reference=otio.schema.ExternalReference(target_url="/guides/paint.png"),
        source_range=TR(RT(0, 24), RT(24, 24)),
    )
    timeline.tracks.append(otio.schema.Track(name="ALEPH GUIDES", children=[guide]))
    path = write_timeline(timeline, tmp_path_factory.mktemp("seed") / "seed.otio")
    return _Seed(path.read_text())


class _Seed(str):
    """The seed file's text, shown by name in hypothesis's failure reports."""

    def __repr__(self) -> str:
        return "<seed timeline: 3 clips, a gap, clip and track markers, a guide track>"


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_mutated_timelines_plan_or_fail_with_one_line_errors(
    seed_timeline: str, tmp_path: Path, data: st.DataObject
) -> None:
    """Any few values of a valid file changed to hostile ones: a plan, or clear errors."""
    tree = json.loads(seed_timeline)
    leaves = _leaves(tree)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(leaves))
        if path[-1] == "OTIO_SCHEMA":
            continue  # a schema change makes another object, not a hostile value
        value = data.draw(st.sampled_from(_NUMBERS if not isinstance(
            _get(tree, path), str) else _TEXTS))  # fmt: skip
        _set(tree, path, value)
    file = tmp_path / f"mutated-{data.draw(st.integers(0, 10**9))}.otio"
    file.write_text(json.dumps(tree))
    done = cli("plan", str(file))  # fails the test on any traceback
    assert done.code in (0, 2, 3), (done.code, done.stderr[-2000:])
    if done.code:
        assert done.error_lines, done.stderr
        assert all(line.isprintable() for line in done.error_lines), done.error_lines


def _get(node: object, path: tuple[object, ...]) -> object:
    for key in path:
        node = node[key]  # type: ignore[index]
    return node


@pytest.mark.parametrize(
    "target", ["L" * 5000, "/tmp/" + "M" * 300 + "/A001.%04d.exr"], ids=["movie", "sequence"]
)
def test_a_media_path_the_os_refuses_is_missing_media_not_a_crash(
    tmp_path: Path, target: str
) -> None:
    """A path longer than the OS takes (the fuzz test's find) plans as media not found."""
    used = otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(48, 24)
    )
    ref = otio.schema.ExternalReference(target_url=target, available_range=used)
    path = write_marked_clip(tmp_path / "long.otio", ref, used, clip="A001C003", timeline="long")
    done = cli("plan", str(path))  # fails the test on any traceback
    assert done.code == 0, done.stderr
    assert "not found" in done.stdout
