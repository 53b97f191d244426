"""Planning: exact media frames per format, and every range rule the task reference imposes."""

from __future__ import annotations

import os
import re
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aleph_otio.config import PlanSettings
from aleph_otio.media.probe import probe
from aleph_otio.plan import plan_timeline
from aleph_otio.shots import MediaFacts, Plan, Shot, SourceSegment, shot_id
from aleph_otio.synth import make_still, make_video
from aleph_otio.timeline import LoadedTimeline, read_timeline, timecode, write_timeline

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
HOUR = 86400  # 01:00:00:00 at 24 fps
NTSC24 = 24000 / 1001
NTSC30 = 30000 / 1001


def tr(start: float, duration: float, rate: float = 24) -> otio.opentime.TimeRange:
    return TR(RT(start, rate), RT(duration, rate))


def clip(
    name: str,
    start: float,
    duration: float,
    *,
    url: str | None = None,
    avail: tuple[float, float] | None = (HOUR, 240),
    rate: float = 24,
    avail_rate: float | None = None,
) -> otio.schema.Clip:
    ref = otio.schema.ExternalReference(
        target_url=url or f"{name}.mov",
        available_range=tr(*avail, avail_rate or rate) if avail else None,
    )
    return otio.schema.Clip(name=name, media_reference=ref, source_range=tr(start, duration, rate))


def mark(name: str, r: otio.opentime.TimeRange, **kw: object) -> otio.schema.Marker:
    return otio.schema.Marker(name=name, marked_range=r, **kw)  # type: ignore[arg-type]


def timeline(*tracks: otio.schema.Track, rate: float = 24) -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name="cut", global_start_time=RT(HOUR if rate < 25 else 0, rate))
    tl.tracks.extend(tracks)
    return tl


def plan_of(
    tl: otio.schema.Timeline,
    folder: Path,
    settings: PlanSettings | None = None,
    *,
    name: str = "cut.otio",
    facts: object = None,
) -> Plan:
    path = write_timeline(tl, folder / name)
    return plan_timeline(read_timeline(path), settings or PlanSettings(), media_facts=facts)  # type: ignore[arg-type]


def track(*children: otio.schema.Composable, name: str = "V1") -> otio.schema.Track:
    return otio.schema.Track(name=name, children=list(children))


def single(plan: Plan) -> Shot:
    assert plan.errors == []
    assert len(plan.shots) == 1
    return plan.shots[0]


# --- the basic shape ----------------------------------------------------------------------------


def test_every_segment_field_of_a_clip_marker(tmp_path: Path) -> None:
    a = clip("A", HOUR + 24, 72)
    a.markers.append(mark("aleph: make it snow", tr(HOUR + 30, 60)))
    shot = single(plan_of(timeline(track(a)), tmp_path))
    assert shot.segments == [
        SourceSegment(
            clip_name="A",
            track_name="V1",
            track_index=0,
            clip_index=0,
            media_path=str(tmp_path / "A.mov"),
            media_rate=24.0,
            available_start=HOUR,
            media_start_frame=30,
            media_frame_count=60,
            record_start=6,
            record_duration=60,
            record_rate=24.0,
            clip_source_start=HOUR + 30,
            clip_source_duration=60,
            clip_source_rate=24.0,
            time_scalar=1.0,
            source_tc_in="01:00:01:06",
            source_tc_out="01:00:03:18",
            record_tc_in="01:00:00:06",
        )
    ]
    assert (shot.head_frames, shot.tail_frames, shot.frame_count) == (0, 0, 60)
    assert shot.prompt == "make it snow"
    assert shot.name == "sh001 A"
    assert (
        shot.marker_location
        == "cut.otio, track V1, clip A, 01:00:00:06, marker 'aleph: make it snow'"
    )
    assert shot.id == shot_id(shot.prompt, shot.segments, [], 0, 0, shot.options)
    assert (shot.part, shot.parts, shot.warnings) == (1, 1, [])


def test_shot_id_is_stable_and_follows_the_prompt(tmp_path: Path) -> None:
    a = clip("A", HOUR + 24, 72)
    a.markers.append(mark("aleph: one", tr(HOUR + 24, 0)))
    first = single(plan_of(timeline(track(a)), tmp_path)).id
    assert single(plan_of(timeline(track(a)), tmp_path)).id == first
    a.markers[0].name = "aleph: two"
    assert single(plan_of(timeline(track(a)), tmp_path)).id != first


def test_options_from_settings_and_marker_metadata(tmp_path: Path) -> None:
    a = clip("A", HOUR + 24, 72)
    b = clip("B", HOUR + 24, 72)
    a.markers.append(
        mark(
            "m",
            tr(HOUR + 24, 0),
            metadata={"aleph": {"prompt": "p", "numberResults": 3, "outputFormat": "webm"}},
        )
    )
    b.markers.append(mark("aleph: q", tr(HOUR + 24, 0)))
    plan = plan_of(
        timeline(track(a, b)), tmp_path, PlanSettings(number_results=2, output_quality=80)
    )
    assert plan.errors == []
    assert [s.options.model_dump() for s in plan.shots] == [
        {"number_results": 3, "output_format": "WEBM", "output_quality": 80},
        {"number_results": 2, "output_format": "MP4", "output_quality": 80},
    ]


def test_bad_options_are_errors_of_that_marker(tmp_path: Path) -> None:
    a, b, c = clip("A", HOUR, 72), clip("B", HOUR, 72), clip("C", HOUR, 72)
    a.markers.append(
        mark("m", tr(HOUR, 0), metadata={"aleph": {"prompt": "p", "numberResults": 7}})
    )
    b.markers.append(mark("m", tr(HOUR, 0), metadata={"aleph": {"prompt": "p", "seed": 1}}))
    c.markers.append(mark("aleph: fine", tr(HOUR, 0)))
    plan = plan_of(timeline(track(a, b, c)), tmp_path)
    assert [s.segments[0].clip_name for s in plan.shots] == ["C"]
    assert len(plan.errors) == 2
    assert "clip A" in plan.errors[0] and "numberResults=7" in plan.errors[0]
    assert "clip B" in plan.errors[1] and "unknown option 'seed'" in plan.errors[1]


# --- handles, widening, splitting ---------------------------------------------------------------


def test_handles_are_clipped_at_media_edges(tmp_path: Path) -> None:
    near_start = clip("A", HOUR + 3, 72)  # 3 media frames before it
    near_end = clip("B", HOUR + 163, 72)  # ends 5 frames before the media's end (240)
    near_start.markers.append(mark("aleph: a", tr(HOUR + 3, 0)))
    near_end.markers.append(mark("aleph: b", tr(HOUR + 163, 0)))
    plan = plan_of(timeline(track(near_start, near_end)), tmp_path, PlanSettings(handles=12))
    assert plan.errors == []
    assert [(s.head_frames, s.tail_frames, s.frame_count) for s in plan.shots] == [
        (3, 12, 87),
        (12, 5, 89),
    ]
    # The segments themselves stay exactly the marked frames.
    assert [
        (s.segments[0].media_start_frame, s.segments[0].media_frame_count) for s in plan.shots
    ] == [
        (3, 72),
        (163, 72),
    ]


def test_one_second_marker_is_widened_symmetrically(tmp_path: Path) -> None:
    a = clip("A", HOUR + 24, 200)
    a.markers.append(mark("aleph: short", tr(HOUR + 100, 24)))
    shot = single(plan_of(timeline(track(a)), tmp_path))
    assert (shot.head_frames, shot.tail_frames) == (12, 12)
    assert shot.duration_seconds == 2.0
    assert shot.segments[0].media_start_frame == 100
    assert shot.warnings == ["widened to 2s with 12 frame(s) before and 12 after the marked range"]


def test_widening_takes_the_missing_frames_from_the_other_side(tmp_path: Path) -> None:
    a = clip("A", HOUR + 2, 200)
    a.markers.append(mark("aleph: short", tr(HOUR + 2, 24)))
    shot = single(plan_of(timeline(track(a)), tmp_path, PlanSettings(handles=6)))
    assert (shot.head_frames, shot.tail_frames, shot.frame_count) == (2, 22, 48)


def test_too_short_media_is_refused_and_the_rest_still_plans(tmp_path: Path) -> None:
    short = clip("S", HOUR, 30, avail=(HOUR, 30))
    short.markers.append(mark("aleph: tiny", tr(HOUR, 0)))
    ok = clip("A", HOUR, 72)
    ok.markers.append(mark("aleph: fine", tr(HOUR, 0)))
    plan = plan_of(timeline(track(short, ok)), tmp_path)
    assert [s.prompt for s in plan.shots] == ["fine"]
    (error,) = plan.errors
    assert error.startswith("cut.otio, track V1, clip S, 01:00:00:00, marker 'aleph: tiny': ")
    assert "the range is 1.25s; Aleph needs at least 2s" in error
    assert "only 1.25s" in error and "lengthen the marker" in error


def test_seventy_seconds_split_into_valid_parts(tmp_path: Path) -> None:
    a = clip("A", HOUR + 100, 1680, avail=(HOUR, 2000))
    a.markers.append(mark("aleph: long", tr(HOUR + 100, 0)))
    plan = plan_of(timeline(track(a)), tmp_path)
    assert plan.errors == []
    assert [(s.part, s.parts, s.frame_count) for s in plan.shots] == [
        (1, 3, 720),
        (2, 3, 720),
        (3, 3, 240),
    ]
    assert [s.name for s in plan.shots] == [
        "sh001 A part 1/3",
        "sh001 A part 2/3",
        "sh001 A part 3/3",
    ]
    segs = [s.segments[0] for s in plan.shots]
    assert [g.media_start_frame for g in segs] == [100, 820, 1540]
    assert [g.record_start for g in segs] == [0, 720, 1440]
    assert [g.clip_source_start for g in segs] == [HOUR + 100, HOUR + 820, HOUR + 1540]
    assert [g.record_tc_in for g in segs] == ["01:00:00:00", "01:00:30:00", "01:01:00:00"]
    assert len({s.id for s in plan.shots}) == 3
    assert all(2 <= s.duration_seconds <= 30 for s in plan.shots)


def test_split_rebalances_a_too_short_last_part(tmp_path: Path) -> None:
    a = clip("A", HOUR, 744, avail=(HOUR, 1000))  # 31 s
    a.markers.append(mark("aleph: long", tr(HOUR, 0)))
    plan = plan_of(timeline(track(a)), tmp_path)
    assert [s.frame_count for s in plan.shots] == [696, 48]
    assert plan.shots[1].segments[0].media_start_frame == 696


def test_split_keeps_handles_at_the_outer_ends(tmp_path: Path) -> None:
    a = clip("A", HOUR + 100, 1680, avail=(HOUR, 2000))
    a.markers.append(mark("aleph: long", tr(HOUR + 100, 0)))
    plan = plan_of(timeline(track(a)), tmp_path, PlanSettings(handles=12))
    assert [
        (s.head_frames, s.segments[0].media_frame_count, s.tail_frames) for s in plan.shots
    ] == [
        (12, 708, 0),
        (0, 720, 0),
        (0, 252, 12),
    ]
    assert plan.shots[1].segments[0].media_start_frame == 100 + 708


def test_long_range_refused_when_splitting_is_off(tmp_path: Path) -> None:
    a = clip("A", HOUR, 744, avail=(HOUR, 1000))
    a.markers.append(mark("aleph: long", tr(HOUR, 0)))
    plan = plan_of(timeline(track(a)), tmp_path, PlanSettings(split_long=False))
    assert plan.shots == []
    (error,) = plan.errors
    assert "the range is 31.00s; Aleph accepts at most 30s" in error


# --- prompts and guides -------------------------------------------------------------------------


def test_prompt_of_1000_characters_plans_1001_is_refused(tmp_path: Path) -> None:
    a, b = clip("A", HOUR, 72), clip("B", HOUR, 72)
    a.markers.append(mark("aleph: " + "x" * 1000, tr(HOUR, 0)))
    b.markers.append(mark("aleph: " + "y" * 1001, tr(HOUR, 0)))
    plan = plan_of(timeline(track(a, b)), tmp_path)
    assert [len(s.prompt) for s in plan.shots] == [1000]
    (error,) = plan.errors
    assert "clip B" in error and "the prompt is 1001 characters; Aleph accepts 1-1000" in error


def test_guide_stills_on_the_guide_track_become_frame_images(tmp_path: Path) -> None:
    for n in range(3):
        make_still(tmp_path / f"g{n}.png", size=(160, 90), index=n)
    v1 = track(clip("A", HOUR + 24, 72), clip("B", 2 * HOUR + 10, 60, avail=(2 * HOUR, 240)))
    v1.markers.append(mark("aleph: across", tr(48, 48)))

    def still(n: int) -> otio.schema.Clip:
        ref = otio.schema.ExternalReference(target_url=f"g{n}.png")
        return otio.schema.Clip(name=f"g{n}", media_reference=ref, source_range=tr(0, 1))

    gap = otio.schema.Gap
    guides = track(
        gap(duration=RT(48, 24)), still(0),  # record 48
        gap(duration=RT(11, 24)), still(1),  # record 60
        gap(duration=RT(34, 24)), still(2),  # record 95
        name="ALEPH GUIDES",
    )  # fmt: skip
    shot = single(plan_of(timeline(v1, guides), tmp_path, PlanSettings(handles=6)))
    assert (shot.head_frames, shot.tail_frames) == (6, 6)
    # Record 48 = first marked frame = input frame 6 (after the head); 60 -> frame 18; 95 -> 53.
    assert [(g.image, g.frame, g.timestamp) for g in shot.guides] == [
        (str(tmp_path / "g0.png"), None, 0.25),
        (str(tmp_path / "g1.png"), None, 0.75),
        (str(tmp_path / "g2.png"), None, 2.21),
    ]
    no_handles = single(plan_of(timeline(v1, guides), tmp_path))
    assert [(g.frame, g.timestamp) for g in no_handles.guides] == [
        ("first", None),
        (None, 0.5),
        ("last", None),
    ]


def test_metadata_guides_are_positioned_from_the_marked_range(tmp_path: Path) -> None:
    make_still(tmp_path / "a.png", size=(160, 90))
    a = clip("A", HOUR, 200)
    guides = [{"image": "a.png", "timestamp": 0.5}, {"image": "a.png", "frame": "last"}]
    a.markers.append(
        mark("m", tr(HOUR + 24, 72), metadata={"aleph": {"prompt": "p", "guides": guides}})
    )
    shot = single(plan_of(timeline(track(a)), tmp_path, PlanSettings(handles=12)))
    assert [(g.frame, g.timestamp) for g in shot.guides] == [(None, 1.0), ("last", None)]
    assert all(0 <= (g.timestamp or 0) <= shot.duration_seconds for g in shot.guides)


def test_at_most_five_guides(tmp_path: Path) -> None:
    make_still(tmp_path / "a.png", size=(160, 90))
    a, b = clip("A", HOUR, 72), clip("B", HOUR, 72)
    five = [{"image": "a.png", "timestamp": 0.1 * n} for n in range(5)]
    a.markers.append(mark("m", tr(HOUR, 0), metadata={"aleph": {"prompt": "p", "guides": five}}))
    six = [*five, {"image": "a.png", "frame": "last"}]
    b.markers.append(mark("m", tr(HOUR, 0), metadata={"aleph": {"prompt": "p", "guides": six}}))
    plan = plan_of(timeline(track(a, b)), tmp_path)
    assert [len(s.guides) for s in plan.shots] == [5]
    (error,) = plan.errors
    assert "clip B" in error and "6 guide frames; Aleph accepts at most 5" in error


def test_guide_timestamp_past_the_range_is_refused(tmp_path: Path) -> None:
    make_still(tmp_path / "a.png", size=(160, 90))
    a = clip("A", HOUR, 72)
    a.markers.append(
        mark(
            "m",
            tr(HOUR, 0),
            metadata={"aleph": {"prompt": "p", "guides": [{"image": "a.png", "timestamp": 4}]}},
        )
    )
    plan = plan_of(timeline(track(a)), tmp_path)
    assert plan.shots == [] and "timestamp 4.0s is past the marked range (3.00s)" in plan.errors[0]


# --- time effects and rates ---------------------------------------------------------------------


def test_speed_effect_maps_record_frames_to_media_frames(tmp_path: Path) -> None:
    fast = clip("F", HOUR + 24, 60)
    fast.effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))
    fast.markers.append(mark("aleph: fast", tr(HOUR + 34, 30)))
    (seg,) = single(plan_of(timeline(track(fast)), tmp_path)).segments
    assert (seg.media_start_frame, seg.media_frame_count, seg.time_scalar) == (44, 60, 2.0)
    assert (seg.record_start, seg.record_duration) == (10, 30)
    assert (seg.clip_source_start, seg.clip_source_duration) == (HOUR + 34, 30)
    assert (seg.source_tc_in, seg.source_tc_out) == ("01:00:01:20", "01:00:04:08")


@pytest.mark.parametrize(
    ("effect", "message"),
    [
        (otio.schema.FreezeFrame(), "freeze frame"),
        (otio.schema.LinearTimeWarp(time_scalar=-1.0), "plays in reverse"),
        (otio.schema.TimeEffect(name="Speed Ramp", effect_name="Ramp"), "time effect (Speed Ramp)"),
    ],
)
def test_unmappable_time_effects_are_refused(
    tmp_path: Path, effect: otio.schema.Effect, message: str
) -> None:
    a = clip("A", HOUR + 24, 72)
    a.effects.append(effect)
    a.markers.append(mark("aleph: x", tr(HOUR + 24, 0)))
    plan = plan_of(timeline(track(a)), tmp_path)
    assert plan.shots == []
    assert "clip A" in plan.errors[0] and message in plan.errors[0]


def test_ntsc_24_timecodes(tmp_path: Path) -> None:
    a = clip("A", HOUR + 24, 72, rate=NTSC24)
    a.markers.append(mark("aleph: x", tr(HOUR + 30, 60, NTSC24)))
    shot = single(plan_of(timeline(track(a), rate=NTSC24), tmp_path))
    (seg,) = shot.segments
    assert seg.media_rate == pytest.approx(NTSC24, abs=1e-12)
    assert (seg.media_start_frame, seg.media_frame_count) == (30, 60)
    assert (seg.source_tc_in, seg.source_tc_out, seg.record_tc_in) == (
        "01:00:01:06",
        "01:00:03:18",
        "01:00:00:06",
    )
    assert shot.duration_seconds == pytest.approx(60 * 1001 / 24000)


def test_ntsc_30_timecodes_are_non_drop_frame(tmp_path: Path) -> None:
    a = clip("A", 108000 + 30, 90, rate=NTSC30, avail=(108000, 300))
    a.markers.append(mark("aleph: x", tr(108000 + 30, 0, NTSC30)))
    (seg,) = single(plan_of(timeline(track(a), rate=NTSC30), tmp_path)).segments
    assert (seg.media_start_frame, seg.media_frame_count) == (30, 90)
    assert (seg.source_tc_in, seg.source_tc_out) == ("01:00:01:00", "01:00:04:00")


def test_resolve_style_timeline_rate_differs_from_media_rate(tmp_path: Path) -> None:
    # Resolve: source_range at the timeline rate (24), available_range at the media rate (30).
    a = clip("A", HOUR + 24, 72, url="C:/footage/A030.mov", avail=(108000, 300), avail_rate=30)
    a.markers.append(
        mark("m", tr(HOUR + 24, 48), metadata={"Resolve_OTIO": {"Note": "aleph: relight"}})
    )
    shot = single(plan_of(timeline(track(a)), tmp_path))
    (seg,) = shot.segments
    assert (seg.media_rate, seg.available_start) == (30.0, 108000)
    assert (seg.media_start_frame, seg.media_frame_count) == (30, 60)
    assert (seg.record_rate, seg.record_start, seg.record_duration) == (24.0, 0, 48)
    assert (seg.source_tc_in, seg.source_tc_out) == ("01:00:01:00", "01:00:03:00")
    assert shot.prompt == "relight" and shot.duration_seconds == 2.0


def test_cut_between_media_rates_is_refused(tmp_path: Path) -> None:
    a = clip("A", HOUR, 72)
    b = clip("B", HOUR, 72, avail=(90000, 300), avail_rate=25)
    v1 = track(a, b)
    v1.markers.append(mark("aleph: across", tr(48, 48)))
    plan = plan_of(timeline(v1), tmp_path)
    assert plan.shots == []
    assert "crosses a cut between media at 24 fps (A) and 25 fps (B)" in plan.errors[0]


# --- media --------------------------------------------------------------------------------------


def test_offline_media_is_reported_per_clip(tmp_path: Path) -> None:
    missing = otio.schema.Clip(
        name="M", media_reference=otio.schema.MissingReference(), source_range=tr(0, 72)
    )
    no_range = clip("N", HOUR, 72, avail=None)
    missing.markers.append(mark("aleph: a", tr(0, 0)))
    no_range.markers.append(mark("aleph: b", tr(HOUR, 0)))
    plan = plan_of(timeline(track(missing, no_range)), tmp_path, facts=lambda path: None)
    assert plan.shots == []
    # A clip naming no file may be found by its name under --media-search: the error says so.
    assert plan.errors[0].endswith(
        "clip M: this timeline names no media file: pass --media-search with the folder that "
        "holds M.mov"
    )
    assert f"clip N: media {tmp_path / 'N.mov'} is missing or offline" in plan.errors[1]


def test_media_facts_fill_in_missing_available_range(tmp_path: Path) -> None:
    no_range = clip("N", HOUR + 24, 72, avail=None, url=(tmp_path / "N.mov").as_uri())
    no_range.markers.append(mark("aleph: b", tr(HOUR + 24, 0)))
    seen: list[str] = []

    def facts(path: str) -> MediaFacts:
        seen.append(path)
        return MediaFacts(path=path, rate=24, frame_count=100, start_frame=HOUR)

    (seg,) = single(plan_of(timeline(track(no_range)), tmp_path, facts=facts)).segments
    assert seen == [str(tmp_path / "N.mov")]
    assert (seg.available_start, seg.media_start_frame, seg.media_frame_count) == (HOUR, 24, 72)


def test_clip_pointing_past_its_media(tmp_path: Path) -> None:
    a = clip("A", HOUR + 200, 72)  # media has 240 frames: 200..271 does not fit
    a.markers.append(mark("aleph: x", tr(HOUR + 200, 0)))
    plan = plan_of(timeline(track(a)), tmp_path)
    assert (
        "needs media frames 200-271 but" in plan.errors[0] and "has frames 0-239" in plan.errors[0]
    )


# --- real media in every format -----------------------------------------------------------------


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Timecoded source files: A (01:00:00:00), B (02:00:00:00) at 24, N at 24000/1001."""
    folder = tmp_path_factory.mktemp("media")
    make_video(folder / "A.mov", frames=240, rate=24, size=(160, 90), timecode="01:00:00:00")
    make_video(folder / "B.mov", frames=240, rate=24, size=(160, 90), timecode="02:00:00:00", hue=2)
    make_video(
        folder / "N.mov",
        frames=120,
        rate=Fraction(24000, 1001),
        size=(160, 90),
        timecode="01:00:00:00",
    )
    make_still(folder / "paint.png", size=(160, 90), index=7)
    return folder


def probed(path: str) -> MediaFacts | None:
    return probe(path) if Path(path).is_file() else None


def test_otio_timeline_with_real_media(media: Path, tmp_path: Path) -> None:
    # Media referenced relatively (../media) and by file:// URL, without available ranges: the
    # probe supplies rate, length and start timecode.
    edit = tmp_path / "edit"
    edit.mkdir()
    a = clip("A", HOUR + 24, 72, url=os.path.relpath(media / "A.mov", edit), avail=None)
    b = clip("B", 2 * HOUR + 10, 60, url=str(media / "B.mov"), avail=None)
    fast = clip("A-fast", HOUR + 120, 40, url=(media / "A.mov").as_uri(), avail=None)
    fast.effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))
    frozen = clip("A-freeze", HOUR, 24, url=(media / "A.mov").as_uri(), avail=None)
    frozen.effects.append(otio.schema.FreezeFrame())
    a.markers.append(mark("aleph: snow on the roof", tr(HOUR + 30, 60)))
    b.markers.append(mark("aleph: red car", tr(2 * HOUR + 20, 0)))
    fast.markers.append(mark("aleph: faster", tr(HOUR + 120, 0)))
    frozen.markers.append(mark("aleph: frozen", tr(HOUR, 0)))
    v1 = track(a, b, fast, frozen)
    v1.markers.append(mark("aleph: across the cut", tr(48, 48)))
    paint = otio.schema.ExternalReference(target_url=str(media / "paint.png"))
    still = otio.schema.Clip(name="paint", media_reference=paint, source_range=tr(0, 1))
    guides = track(otio.schema.Gap(duration=RT(60, 24)), still, name="ALEPH GUIDES")
    plan = plan_of(timeline(v1, guides), edit, facts=probed)
    assert [
        (s.prompt, [(g.clip_name, g.media_start_frame, g.media_frame_count) for g in s.segments])
        for s in plan.shots
    ] == [
        ("snow on the roof", [("A", 30, 60)]),
        ("across the cut", [("A", 72, 24), ("B", 10, 24)]),
        ("red car", [("B", 10, 60)]),
        ("faster", [("A-fast", 120, 80)]),
    ]
    assert all(
        g.media_path in (str(media / "A.mov"), str(media / "B.mov"))
        for s in plan.shots
        for g in s.segments
    )
    across = plan.shots[1]
    assert [(g.image, g.timestamp) for g in across.guides] == [(str(media / "paint.png"), 0.5)]
    assert [g.source_tc_in for g in across.segments] == ["01:00:03:00", "02:00:00:10"]
    assert [g.record_tc_in for g in across.segments] == ["01:00:02:00", "01:00:03:00"]
    (error,) = plan.errors
    assert "clip A-freeze" in error and "freeze frame" in error


EDL = """TITLE: SNOW
FCM: NON-DROP FRAME

001  A        V     C        01:00:01:00 01:00:05:00 01:00:00:00 01:00:04:00
* FROM CLIP NAME: A
* FROM FILE: {a}
* LOC: 01:00:01:12 YELLOW  aleph: make it snow
002  B        V     C        02:00:00:10 02:00:03:10 01:00:04:00 01:00:07:00
* FROM CLIP NAME: B
* FROM FILE: {b}
* LOC: 01:00:06:00 RED     aleph: red car
"""


def test_edl_with_record_timecode_locs(media: Path, tmp_path: Path) -> None:
    path = tmp_path / "snow.edl"
    path.write_text(EDL.format(a=media / "A.mov", b=media / "B.mov"))
    plan = plan_timeline(read_timeline(path), PlanSettings(), media_facts=probed)
    assert plan.errors == []
    # LOCs are points: each covers its whole event.
    assert [
        (s.prompt, s.segments[0].media_start_frame, s.segments[0].media_frame_count)
        for s in plan.shots
    ] == [
        ("make it snow", 24, 96),
        ("red car", 10, 72),
    ]
    assert [s.segments[0].record_tc_in for s in plan.shots] == ["01:00:00:00", "01:00:04:00"]
    assert [s.segments[0].available_start for s in plan.shots] == [HOUR, 2 * HOUR]


def test_ntsc_edl_read_at_24000_1001(media: Path, tmp_path: Path) -> None:
    path = tmp_path / "ntsc.edl"
    path.write_text(
        "TITLE: N\nFCM: NON-DROP FRAME\n\n"
        "001  N        V     C        01:00:00:12 01:00:03:12 01:00:00:00 01:00:03:00\n"
        f"* FROM FILE: {media / 'N.mov'}\n"
        "* LOC: 01:00:00:00 BLUE    aleph: night\n"
    )
    lt = read_timeline(path, rate="24000/1001")
    shot = single(plan_timeline(lt, PlanSettings(), media_facts=probed))
    (seg,) = shot.segments
    assert seg.media_rate == pytest.approx(NTSC24, abs=1e-9)
    assert (seg.media_start_frame, seg.media_frame_count) == (12, 72)
    assert (seg.source_tc_in, seg.source_tc_out, seg.record_tc_in) == (
        "01:00:00:12",
        "01:00:03:12",
        "01:00:00:00",
    )


def _fcp_timeline(media: Path) -> otio.schema.Timeline:
    a = clip("A", HOUR + 24, 72, url=(media / "A.mov").as_uri(), avail=(HOUR, 240))
    b = clip("B", 2 * HOUR + 10, 60, url=(media / "B.mov").as_uri(), avail=(2 * HOUR, 240))
    a.markers.append(mark("aleph: snow", tr(HOUR + 30, 60)))
    b.markers.append(mark("aleph: red car", tr(2 * HOUR + 20, 50)))
    tl = timeline(track(a, b))
    tl.tracks.markers.append(mark("aleph: whole A", tr(10, 0)))
    return tl


def test_fcp7_xml_written_by_the_adapter(media: Path, tmp_path: Path) -> None:
    plan = plan_of(_fcp_timeline(media), tmp_path, name="cut.xml", facts=probed)
    assert plan.errors == []
    assert [
        (
            s.prompt,
            s.segments[0].clip_name,
            s.segments[0].media_start_frame,
            s.segments[0].media_frame_count,
        )
        for s in plan.shots
    ] == [
        ("whole A", "A", 24, 72),
        ("snow", "A", 30, 60),
        ("red car", "B", 20, 50),
    ]


def test_fcp7_xml_with_markers_counted_from_the_file_start(media: Path, tmp_path: Path) -> None:
    # What Premiere/FCP 7 write: clip marker <in>/<out> count from the file's first frame.
    path = write_timeline(_fcp_timeline(media), tmp_path / "cut.xml")
    text = path.read_text()
    native = re.sub(r"<in>86430</in>\s*<out>86490</out>", "<in>30</in><out>90</out>", text)
    native = re.sub(r"<in>172820</in>\s*<out>172870</out>", "<in>20</in><out>70</out>", native)
    assert native.count("<in>30</in>") == 1 and native.count("<in>20</in>") == 1
    (tmp_path / "premiere.xml").write_text(native)
    plan = plan_timeline(
        read_timeline(tmp_path / "premiere.xml"), PlanSettings(), media_facts=probed
    )
    assert plan.errors == []
    assert [
        (s.prompt, s.segments[0].media_start_frame, s.segments[0].media_frame_count)
        for s in plan.shots
    ] == [
        ("whole A", 24, 72),
        ("snow", 30, 60),
        ("red car", 20, 50),
    ]


def test_fcpxml_written_by_the_adapter(media: Path, tmp_path: Path) -> None:
    tl = _fcp_timeline(media)
    tl.tracks.markers.pop()  # FCPXML keeps no timeline-level markers
    plan = plan_of(tl, tmp_path, name="cut.fcpxml", facts=probed)
    assert plan.errors == []
    assert [
        (
            s.prompt,
            s.segments[0].media_start_frame,
            s.segments[0].media_frame_count,
            s.segments[0].source_tc_in,
        )
        for s in plan.shots
    ] == [
        ("snow", 30, 60, "01:00:01:06"),
        ("red car", 20, 50, "02:00:00:20"),
    ]


def test_unreadable_media_refuses_only_that_marker(tmp_path: Path) -> None:
    from aleph_otio.errors import MediaError

    bad, good = clip("BAD", HOUR, 72, avail=None), clip("A", HOUR, 72)
    bad.markers.append(mark("aleph: a", tr(HOUR, 0)))
    good.markers.append(mark("aleph: b", tr(HOUR, 0)))

    def facts(path: str) -> MediaFacts | None:
        if path.endswith("BAD.mov"):
            raise MediaError(f"{path}: not a video file (invalid data)")
        return None

    plan = plan_of(timeline(track(bad, good)), tmp_path, facts=facts)
    assert [s.prompt for s in plan.shots] == ["b"]
    (error,) = plan.errors
    assert "clip BAD: " in error and "BAD.mov: not a video file" in error


def test_media_timecode_disagreeing_with_the_timeline_is_a_warning(tmp_path: Path) -> None:
    a = clip("A", HOUR + 24, 72)  # the timeline says the file starts at 01:00:00:00

    def facts(path: str) -> MediaFacts:
        return MediaFacts(path=path, rate=24, frame_count=240, start_frame=10 * HOUR)

    a.markers.append(mark("aleph: x", tr(HOUR + 24, 0)))
    shot = single(plan_of(timeline(track(a)), tmp_path, facts=facts))
    assert shot.segments[0].media_start_frame == 24
    assert shot.warnings == [
        f"clip A: {tmp_path / 'A.mov'} starts at 10:00:00:00 but the timeline says 01:00:00:00; "
        "frames follow the timeline"
    ]


@settings(max_examples=80, deadline=None)
@given(
    media=st.integers(min_value=30, max_value=2400),
    data=st.data(),
    handles=st.integers(min_value=0, max_value=30),
)
def test_any_marker_plans_within_the_limits_or_says_why(
    media: int, data: st.DataObject, handles: int
) -> None:
    """Any marker gives shots inside the media and Aleph's 2-30 s, or a reason why not."""
    clip_start = data.draw(st.integers(min_value=0, max_value=media - 1))
    clip_len = data.draw(st.integers(min_value=1, max_value=media - clip_start))
    mark_start = data.draw(st.integers(min_value=0, max_value=clip_len - 1))
    mark_len = data.draw(st.integers(min_value=0, max_value=clip_len - mark_start))
    a = clip("A", HOUR + clip_start, clip_len, avail=(HOUR, media))
    a.markers.append(mark("aleph: x", tr(HOUR + clip_start + mark_start, mark_len)))
    loaded = LoadedTimeline(timeline(track(a)), Path("/virtual/cut.otio"), "otio_json")
    plan = plan_timeline(loaded, PlanSettings(handles=handles))
    # Widening may use the whole file, so only media shorter than 2 s (48 frames) is refused.
    assert bool(plan.errors) == (media < 48)
    if plan.errors:
        assert plan.shots == [] and len(plan.errors) == 1
        assert "Aleph needs at least 2s" in plan.errors[0]
        return
    marked = clip_len if mark_len <= 1 else mark_len
    first = clip_start + (0 if mark_len <= 1 else mark_start)
    assert sum(s.segments[0].media_frame_count for s in plan.shots) == marked
    assert plan.shots[0].segments[0].media_start_frame == first
    position = first - plan.shots[0].head_frames
    assert position >= 0
    for shot in plan.shots:
        assert 48 <= shot.frame_count <= 720
        (seg,) = shot.segments
        assert seg.media_start_frame - shot.head_frames == position  # parts are contiguous
        position += shot.frame_count
        assert seg.source_tc_in == timecode(RT(HOUR + seg.media_start_frame, 24))
    assert position <= media
