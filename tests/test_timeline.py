"""Reading/writing timelines and finding edit-request markers, on real OTIO/EDL/XML files."""

from __future__ import annotations

import os
import re
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest

from aleph_otio.config import PlanSettings
from aleph_otio.errors import AlephOtioError, TimelineReadError, TimelineWriteError
from aleph_otio.synth import make_still
from aleph_otio.timeline import (
    LoadedTimeline,
    MarkedRange,
    find_marked_ranges,
    marker_clip_range,
    media_path,
    parse_rate,
    read_timeline,
    timecode,
    write_timeline,
)

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
HOUR = 86400  # 01:00:00:00 at 24 fps


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
) -> otio.schema.Clip:
    ref = otio.schema.ExternalReference(
        target_url=url or f"{name}.mov",
        available_range=tr(*avail, rate) if avail else None,
    )
    return otio.schema.Clip(name=name, media_reference=ref, source_range=tr(start, duration, rate))


def timeline(*tracks: otio.schema.Track, start: float | None = HOUR) -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name="cut", global_start_time=RT(start, 24) if start else None)
    tl.tracks.extend(tracks)
    return tl


def loaded(tl: otio.schema.Timeline, tmp_path: Path, name: str = "cut.otio") -> LoadedTimeline:
    """Write ``tl`` to disk and read it back: every test goes through a real file."""
    return read_timeline(write_timeline(tl, tmp_path / name))


def marker(
    name: str = "", r: otio.opentime.TimeRange | None = None, **kw: object
) -> otio.schema.Marker:
    return otio.schema.Marker(name=name, marked_range=r or tr(0, 0), **kw)  # type: ignore[arg-type]


def one(ranges: list[MarkedRange], errors: list[str]) -> MarkedRange:
    assert errors == []
    assert len(ranges) == 1
    return ranges[0]


def two_clip_track() -> otio.schema.Track:
    """V1: A (source 01:00:01:00, 72 frames) then B (source 02:00:00:10, 60 frames)."""
    a = clip("A", HOUR + 24, 72)
    b = clip("B", 2 * HOUR + 10, 60, avail=(2 * HOUR, 240))
    return otio.schema.Track(name="V1", children=[a, b])


# --- reading ------------------------------------------------------------------------------------


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(TimelineReadError, match=r"nope\.otio: no such file"):
        read_timeline(tmp_path / "nope.otio")


def test_unknown_suffix_lists_known_suffixes(tmp_path: Path) -> None:
    path = tmp_path / "cut.txt"
    path.write_text("hello")
    with pytest.raises(TimelineReadError) as info:
        read_timeline(path)
    message = str(info.value)
    assert "cut.txt" in message and ".txt" in message
    for suffix in (".otio", ".edl", ".xml", ".fcpxml", ".aaf"):
        assert suffix in message
    assert "\n" not in message


def test_corrupt_file_is_one_line_read_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.otio"
    path.write_text('{"OTIO_SCHEMA": "Timeline.1", "tracks": ')
    with pytest.raises(TimelineReadError) as info:
        read_timeline(path)
    assert "broken.otio: cannot read as otio_json" in str(info.value)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, AlephOtioError)


def test_garbage_edl_names_its_line_without_a_rate_hint(tmp_path: Path) -> None:
    path = tmp_path / "bad.edl"
    path.write_text("001  A V C 01:00:00:00 xx:00:01:00 01:00:00:00 01:00:01:00\n")
    no_event = r"bad\.edl: holds no CMX 3600 event line.*line 1"
    with pytest.raises(TimelineReadError, match=no_event) as info:
        read_timeline(path)
    assert "--rate" not in str(info.value)  # no rate makes 'xx' a timecode


def test_collection_without_timeline_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.otio"
    otio.adapters.write_to_file(otio.schema.SerializableCollection(name="bin"), str(path))
    with pytest.raises(TimelineReadError, match="holds no timeline"):
        read_timeline(path)


def test_a_collection_of_sequences_is_read_by_the_name_chosen(tmp_path: Path) -> None:
    path = tmp_path / "library.otio"
    inner = otio.schema.SerializableCollection(name="event", children=[timeline(), timeline()])
    inner[0].name, inner[1].name = "first", "second"
    outer = otio.schema.SerializableCollection(name="library", children=[inner])
    otio.adapters.write_to_file(outer, str(path))
    with pytest.raises(TimelineReadError, match=r"holds 2 sequences \('first', 'second'\)"):
        read_timeline(path)
    assert read_timeline(path, sequence="second").timeline.name == "second"
    assert read_timeline(path, sequence="FIRST").timeline.name == "first"
    single = tmp_path / "one.otio"
    otio.adapters.write_to_file(
        otio.schema.SerializableCollection(name="bin", children=[timeline()]), str(single)
    )
    assert isinstance(read_timeline(single).timeline, otio.schema.Timeline)


EDL = """TITLE: CUT
FCM: NON-DROP FRAME

001  A010C004 V     C        01:00:01:00 01:00:05:00 01:00:00:00 01:00:04:00
* FROM CLIP NAME: A010C004
* FROM FILE: media/A010C004.mov
"""


@pytest.mark.parametrize("rate", ["24000/1001", Fraction(24000, 1001), 23.976, "23.976"])
def test_edl_rate_accepts_ntsc_spellings(tmp_path: Path, rate: object) -> None:
    path = tmp_path / "cut.edl"
    path.write_text(EDL)
    before = path.read_bytes()
    result = read_timeline(path, rate=rate)  # type: ignore[arg-type]
    assert result.adapter_name == "cmx_3600"
    (only,) = result.timeline.find_clips()
    assert only.source_range.start_time.rate == pytest.approx(24000 / 1001, abs=1e-12)
    assert only.source_range.start_time.value == HOUR + 24
    assert path.read_bytes() == before  # the input is never modified


def test_edl_default_rate_is_24_and_bad_rate_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.edl"
    path.write_text(EDL)
    (only,) = read_timeline(path).timeline.find_clips()
    assert only.source_range.duration == RT(96, 24)
    with pytest.raises(TimelineReadError, match="not a frame rate"):
        read_timeline(path, rate="fast")


def test_adapter_name_overrides_suffix(tmp_path: Path) -> None:
    path = tmp_path / "cut.txt"
    path.write_text(EDL)
    assert read_timeline(path, adapter_name="cmx_3600").adapter_name == "cmx_3600"
    with pytest.raises(TimelineReadError, match="unknown adapter 'nope'"):
        read_timeline(path, adapter_name="nope")


# --- writing ------------------------------------------------------------------------------------


def test_write_round_trips_and_leaves_nothing_else(tmp_path: Path) -> None:
    tl = timeline(two_clip_track())
    for name in ("cut.otio", "cut.edl", "cut.xml"):
        out = write_timeline(tl, tmp_path / name)
        assert out == (tmp_path / name).resolve()
        back = read_timeline(out).timeline
        assert [c.name for c in back.find_clips()] == ["A", "B"]
        assert [c.source_range.start_time.value for c in back.find_clips()] == [
            HOUR + 24,
            2 * HOUR + 10,
        ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.edl", "cut.otio", "cut.xml"]


def test_write_uses_normal_file_permissions(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        out = write_timeline(timeline(two_clip_track()), tmp_path / "cut.otio")
    finally:
        os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o644


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "cut.xml"
    target.write_text("previous version")
    # The FCP 7 XML writer crashes on media without an available range (OTIO issue #629).
    tl = timeline(otio.schema.Track(name="V1", children=[clip("A", 0, 24, avail=None)]))
    with pytest.raises(TimelineWriteError) as info:
        write_timeline(tl, target)
    assert "cut.xml: cannot write as fcp_xml" in str(info.value)
    assert target.read_text() == "previous version"
    assert [p.name for p in tmp_path.iterdir()] == ["cut.xml"]


def test_write_errors_name_the_problem(tmp_path: Path) -> None:
    tl = timeline(two_clip_track())
    with pytest.raises(TimelineWriteError, match="does not exist"):
        write_timeline(tl, tmp_path / "missing" / "cut.otio")
    with pytest.raises(TimelineWriteError, match=r"suffix \.mp4 has no timeline adapter.*\.otio"):
        write_timeline(tl, tmp_path / "cut.mp4")


def test_write_passes_adapter_arguments(tmp_path: Path) -> None:
    tl = timeline(two_clip_track(), start=None)
    assert "* FROM CLIP:" in write_timeline(tl, tmp_path / "avid.edl").read_text()
    nucoda = write_timeline(tl, tmp_path / "nucoda.edl", style="nucoda").read_text()
    assert "* FROM FILE:" in nucoda and "* FROM CLIP:" not in nucoda


# --- rates, timecode, paths ---------------------------------------------------------------------


def test_timecode_ntsc_is_non_drop_frame() -> None:
    assert timecode(RT(86400, 24000 / 1001)) == "01:00:00:00"
    assert timecode(RT(108000, 30000 / 1001)) == "01:00:00:00"
    assert timecode(RT(108000, 29.97)) == "01:00:00:00"  # literal 29.97 is normalised
    assert timecode(RT(86400 + 47, 23.976)) == "01:00:01:23"
    assert timecode(RT(90000, 25)) == "01:00:00:00"


@pytest.mark.parametrize("rate", [24000 / 1001, 24, 25, 30000 / 1001, 30, 50, 60000 / 1001, 60])
def test_timecode_matches_otio_over_a_whole_day(rate: float) -> None:
    # timecode() formats below 23 h itself; OTIO is the reference, including its 24 h wrap.
    step = 997  # prime: every frame position within a second and minute comes up
    for frames in [*range(0, round(rate * 86400) + 3 * step, step), 10**9]:
        expected = otio.opentime.to_timecode(RT(frames, rate), rate, drop_frame=False)
        assert timecode(RT(frames, rate)) == expected, frames


def test_parse_rate() -> None:
    assert parse_rate("30000/1001") == 30000 / 1001
    assert parse_rate(29.97) == 30000 / 1001
    assert parse_rate("25") == 25.0
    with pytest.raises(ValueError):
        parse_rate("0")


def test_media_path_forms(tmp_path: Path) -> None:
    assert media_path("A.mov", tmp_path) == str(tmp_path / "A.mov")
    assert media_path("../m/A.mov", tmp_path / "edit") == str(tmp_path / "m" / "A.mov")
    assert media_path("/abs/A.mov", tmp_path) == "/abs/A.mov"
    assert media_path("file:///abs/with%20space.mov", tmp_path) == "/abs/with space.mov"
    assert media_path("file://localhost/abs/A.mov", tmp_path) == "/abs/A.mov"
    assert media_path("https://x.test/A.mov", tmp_path) == "https://x.test/A.mov"


# --- which markers are edit requests ------------------------------------------------------------


def test_prefix_in_name_or_comment_case_insensitive(tmp_path: Path) -> None:
    track = two_clip_track()
    track[0].markers.append(marker("ALEPH:  make it snow ", tr(HOUR + 30, 24)))
    track[1].markers.append(marker("note", tr(2 * HOUR + 20, 12), comment="Aleph: red car"))
    track[1].markers.append(marker("just a note", tr(2 * HOUR + 20, 12)))
    ranges, errors = find_marked_ranges(loaded(timeline(track), tmp_path), PlanSettings())
    assert errors == []
    assert [r.prompt for r in ranges] == ["make it snow", "red car"]


def test_adapter_comment_fields_hold_prompts(tmp_path: Path) -> None:
    track = two_clip_track()
    track[0].markers.append(
        marker("m1", tr(HOUR + 30, 24), metadata={"fcp_xml": {"comment": "aleph: from fcp"}})
    )
    track[1].markers.append(
        marker("m2", tr(2 * HOUR + 20, 12), metadata={"Resolve_OTIO": {"Note": "aleph: resolve"}})
    )
    ranges, errors = find_marked_ranges(loaded(timeline(track), tmp_path), PlanSettings())
    assert errors == []
    assert [r.prompt for r in ranges] == ["from fcp", "resolve"]


def test_aleph_metadata_object(tmp_path: Path) -> None:
    track = two_clip_track()
    meta = {"aleph": {"prompt": "swap the can", "numberResults": 2, "outputFormat": "MOV"}}
    track[0].markers.append(marker("any name", tr(HOUR + 30, 24), metadata=meta))
    found = one(*find_marked_ranges(loaded(timeline(track), tmp_path), PlanSettings()))
    assert found.prompt == "swap the can"
    assert found.options == {"numberResults": 2, "outputFormat": "MOV"}
    assert found.marker_name == "any name"


def test_marker_colour_rule(tmp_path: Path) -> None:
    track = two_clip_track()
    track[0].markers.append(marker("by name", tr(HOUR + 30, 24), color="BLUE"))
    track[1].markers.append(
        marker("name", tr(2 * HOUR + 20, 12), color="BLUE", comment="comment wins")
    )
    track[1].markers.append(marker("other colour", tr(2 * HOUR + 20, 12), color="RED"))
    lt = loaded(timeline(track), tmp_path)
    ranges, errors = find_marked_ranges(lt, PlanSettings(marker_color="blue"))
    assert errors == []
    assert [r.prompt for r in ranges] == ["by name", "comment wins"]
    assert find_marked_ranges(lt, PlanSettings()) == ([], [])  # colour rule is off by default


def test_unknown_colour_is_an_error_unless_the_file_uses_it(tmp_path: Path) -> None:
    track = two_clip_track()
    track[0].markers.append(marker("x", tr(HOUR + 30, 24), color="Cream"))
    lt = loaded(timeline(track), tmp_path)
    ranges, errors = find_marked_ranges(lt, PlanSettings(marker_color="teal"))
    assert ranges == []
    assert len(errors) == 1 and "unknown marker colour 'teal'" in errors[0]
    assert errors[0].startswith("cut.otio: ")
    ranges, errors = find_marked_ranges(lt, PlanSettings(marker_color="cream"))
    assert errors == [] and [r.prompt for r in ranges] == ["x"]


def test_empty_prompt_and_bad_metadata_are_errors_of_that_marker(tmp_path: Path) -> None:
    track = two_clip_track()
    track[0].markers.append(marker("aleph:   ", tr(HOUR + 30, 24)))
    track[0].markers.append(marker("m", tr(HOUR + 30, 24), metadata={"aleph": "not an object"}))
    track[1].markers.append(marker("aleph: fine", tr(2 * HOUR + 20, 12)))
    ranges, errors = find_marked_ranges(loaded(timeline(track), tmp_path), PlanSettings())
    assert [r.prompt for r in ranges] == ["fine"]
    assert len(errors) == 2
    assert "cut.otio, track V1, clip A, 01:00:00:06" in errors[0]
    assert "prompt is empty" in errors[0]
    assert 'metadata "aleph" must be an object' in errors[1]


# --- ranges -------------------------------------------------------------------------------------


def test_clip_marker_range_and_location(tmp_path: Path) -> None:
    track = two_clip_track()
    track[1].markers.append(marker("aleph: snow", tr(2 * HOUR + 20, 30)))
    found = one(*find_marked_ranges(loaded(timeline(track), tmp_path), PlanSettings()))
    (piece,) = found.pieces
    assert (piece.track_index, piece.clip_index, piece.clip.name) == (0, 1, "B")
    assert piece.source_range == tr(2 * HOUR + 20, 30)
    assert piece.record_range == tr(72 + 10, 30)
    assert found.location == "cut.otio, track V1, clip B, 01:00:03:10, marker 'aleph: snow'"
    assert found.scope == "clip"


@pytest.mark.parametrize("length", [0, 1])
def test_point_marker_covers_the_whole_clip(tmp_path: Path, length: int) -> None:
    track = two_clip_track()
    track[0].markers.append(marker("aleph: all of it", tr(HOUR + 50, length)))
    found = one(*find_marked_ranges(loaded(timeline(track), tmp_path), PlanSettings()))
    assert found.pieces[0].source_range == tr(HOUR + 24, 72)
    assert found.anchor == RT(HOUR + 50, 24)


def test_marker_outside_its_clip(tmp_path: Path) -> None:
    track = two_clip_track()
    track[0].markers.append(marker("aleph: off the end", tr(HOUR + 200, 10)))
    track[0].markers.append(marker("aleph: half on", tr(HOUR + 90, 20)))
    ranges, errors = find_marked_ranges(loaded(timeline(track), tmp_path), PlanSettings())
    assert len(errors) == 1
    assert "clip A" in errors[0] and "outside its clip" in errors[0]
    assert "01:00:01:00-01:00:04:00" in errors[0]  # the clip's own range, to compare with
    (half,) = ranges
    assert half.pieces[0].source_range == tr(HOUR + 90, 6)
    assert half.warnings == ["marker extends past its clip; only the part on the clip is used"]


def test_track_marker_across_a_cut_is_one_range(tmp_path: Path) -> None:
    track = two_clip_track()
    track.markers.append(marker("aleph: across", tr(48, 48)))
    found = one(*find_marked_ranges(loaded(timeline(track), tmp_path), PlanSettings()))
    assert found.scope == "track"
    assert [(p.clip.name, p.clip_index) for p in found.pieces] == [("A", 0), ("B", 1)]
    assert found.pieces[0].source_range == tr(HOUR + 24 + 48, 24)
    assert found.pieces[1].source_range == tr(2 * HOUR + 10, 24)
    assert [p.record_range for p in found.pieces] == [tr(48, 24), tr(72, 24)]
    assert found.location == "cut.otio, track V1, 01:00:02:00, marker 'aleph: across'"


def test_track_point_marker_covers_the_clip_under_it(tmp_path: Path) -> None:
    track = two_clip_track()
    track.markers.append(marker("aleph: b only", tr(80, 0)))
    found = one(*find_marked_ranges(loaded(timeline(track), tmp_path), PlanSettings()))
    assert [(p.clip.name, p.source_range) for p in found.pieces] == [("B", tr(2 * HOUR + 10, 60))]
    assert found.anchor == RT(2 * HOUR + 10 + 8, 24)


def test_track_marker_over_a_gap_is_refused(tmp_path: Path) -> None:
    a, b = clip("A", HOUR, 48), clip("B", HOUR, 48)
    track = otio.schema.Track(name="V1", children=[a, otio.schema.Gap(duration=RT(12, 24)), b])
    track.markers.append(marker("aleph: over the gap", tr(24, 60)))
    ranges, errors = find_marked_ranges(loaded(timeline(track), tmp_path), PlanSettings())
    assert ranges == []
    assert len(errors) == 1 and "spans a gap at 01:00:02:00" in errors[0]


def compound(name: str = "Comp 1") -> otio.schema.Stack:
    """A compound clip / nested sequence of 48 frames: one inner track with clip C."""
    inner = otio.schema.Track(name="V1", children=[clip("C", 3 * HOUR, 48, avail=(3 * HOUR, 96))])
    return otio.schema.Stack(name=name, children=[inner])


def test_track_marker_over_a_compound_clip_says_to_decompose_it(tmp_path: Path) -> None:
    a = clip("A", HOUR, 48)
    track = otio.schema.Track(name="V1", children=[a, compound()])
    track.markers.append(marker("aleph: across the nest", tr(24, 48)))
    ranges, errors = find_marked_ranges(loaded(timeline(track), tmp_path), PlanSettings())
    assert ranges == [] and len(errors) == 1
    assert "nested sequence/compound clip 'Comp 1' at 01:00:02:00" in errors[0]
    assert "Decompose in Place" in errors[0] and "track V1" in errors[0]


@pytest.mark.parametrize("scope", ["track point", "timeline"])
def test_a_compound_clip_is_never_passed_over_for_the_clip_under_it(
    tmp_path: Path, scope: str
) -> None:
    """What an editor sees at a nested clip is the nest: the plate below must not be sent."""
    v1 = otio.schema.Track(name="V1", children=[clip("plate", HOUR, 96, avail=(HOUR, 240))])
    v2 = otio.schema.Track(
        name="V2", children=[otio.schema.Gap(duration=RT(24, 24)), compound("Sky comp")]
    )
    tl = timeline(v1, v2)
    if scope == "timeline":
        tl.tracks.markers.append(marker("aleph: relight", tr(36, 0)))
    else:
        v2.markers.append(marker("aleph: relight", tr(36, 0)))
    ranges, errors = find_marked_ranges(loaded(tl, tmp_path), PlanSettings())
    assert ranges == [] and len(errors) == 1
    assert "compound clip 'Sky comp' at 01:00:01:12" in errors[0], errors


def test_marker_inside_a_compound_clip_names_it(tmp_path: Path) -> None:
    nest = compound("Comp 2")
    nest[0][0].markers.append(marker("aleph: inside", tr(3 * HOUR, 0)))
    track = otio.schema.Track(name="V1", children=[clip("A", HOUR, 48), nest])
    ranges, errors = find_marked_ranges(loaded(timeline(track), tmp_path), PlanSettings())
    assert ranges == [] and len(errors) == 1
    assert "inside a nested sequence/compound clip 'Comp 2'" in errors[0]
    assert "Decompose in Place" in errors[0]


def test_stack_marker_uses_the_topmost_clip_with_media(tmp_path: Path) -> None:
    v1 = two_clip_track()
    title = otio.schema.Clip(
        name="title",
        media_reference=otio.schema.GeneratorReference(generator_kind="SolidColor"),
        source_range=tr(0, 48),
    )
    v2 = otio.schema.Track(
        name="V2", children=[otio.schema.Gap(duration=RT(72, 24)), clip("C", HOUR, 60)]
    )
    v3 = otio.schema.Track(name="V3", children=[title])
    tl = timeline(v1, v2, v3)
    tl.tracks.markers.append(marker("aleph: under the title", tr(10, 0)))
    tl.tracks.markers.append(marker("aleph: on top", tr(80, 0)))
    ranges, errors = find_marked_ranges(loaded(tl, tmp_path), PlanSettings())
    assert errors == []
    assert [(r.scope, r.pieces[0].clip.name, r.pieces[0].track_index) for r in ranges] == [
        ("stack", "A", 0),
        ("stack", "C", 1),
    ]
    assert (
        ranges[0].location
        == "cut.otio, timeline marker, 01:00:00:10, marker 'aleph: under the title'"
    )


def test_markers_on_audio_and_guide_tracks(tmp_path: Path) -> None:
    v1 = two_clip_track()
    audio = otio.schema.Track(
        name="A1", kind=otio.schema.TrackKind.Audio, children=[clip("snd", HOUR, 96)]
    )
    audio[0].markers.append(marker("aleph: wrong track", tr(HOUR, 10)))
    guides = otio.schema.Track(name="ALEPH GUIDES", children=[clip("g", HOUR, 10)])
    guides.markers.append(marker("aleph: ignored", tr(0, 10)))
    guides[0].markers.append(marker("aleph: ignored too", tr(HOUR, 10)))
    ranges, errors = find_marked_ranges(
        loaded(timeline(v1, audio, guides), tmp_path), PlanSettings()
    )
    assert ranges == []
    assert len(errors) == 1
    assert "track A1, clip snd" in errors[0] and "audio clip" in errors[0]


def test_ranges_come_back_in_record_order(tmp_path: Path) -> None:
    track = two_clip_track()
    track[1].markers.append(marker("aleph: second", tr(2 * HOUR + 20, 12)))
    track[0].markers.append(marker("aleph: first", tr(HOUR + 30, 12)))
    ranges, _ = find_marked_ranges(loaded(timeline(track), tmp_path), PlanSettings())
    assert [r.prompt for r in ranges] == ["first", "second"]


# --- guide frames -------------------------------------------------------------------------------


def test_guide_track_stills_overlapping_the_range(tmp_path: Path) -> None:
    make_still(tmp_path / "paint.png", size=(160, 90))
    make_still(tmp_path / "later.png", size=(160, 90))
    v1 = two_clip_track()
    v1.markers.append(marker("aleph: across", tr(48, 48)))
    still = otio.schema.Clip(
        name="paint",
        media_reference=otio.schema.ExternalReference(target_url="paint.png"),
        source_range=tr(0, 1),
    )
    far = otio.schema.Clip(
        name="later",
        media_reference=otio.schema.ExternalReference(target_url="later.png"),
        source_range=tr(0, 1),
    )
    not_still = clip("movie", HOUR, 1)
    guides = otio.schema.Track(
        name="aleph guides",  # the name matches case-insensitively
        children=[
            otio.schema.Gap(duration=RT(60, 24)),
            still,
            not_still,
            otio.schema.Gap(duration=RT(100, 24)),
            far,
        ],
    )
    found = one(*find_marked_ranges(loaded(timeline(v1, guides), tmp_path), PlanSettings()))
    (guide,) = found.guides
    assert guide.image == str(tmp_path / "paint.png")
    assert guide.stack_time == RT(60, 24)
    assert "aleph guides clip paint at 01:00:02:12" == guide.origin


def test_metadata_guides(tmp_path: Path) -> None:
    make_still(tmp_path / "a.png", size=(160, 90))
    track = two_clip_track()
    meta = {
        "aleph": {
            "prompt": "x",
            "guides": [
                {"image": "a.png", "frame": "first"},
                {"image": "a.png", "frame": -1},
                {"image": "a.png", "timestamp": 0.5},
            ],
        }
    }
    track[0].markers.append(marker("m", tr(HOUR + 30, 48), metadata=meta))
    bad = {"aleph": {"prompt": "y", "guides": [{"image": "missing.png", "frame": "first"}]}}
    track[1].markers.append(marker("n", tr(2 * HOUR + 20, 12), metadata=bad))
    ranges, errors = find_marked_ranges(loaded(timeline(track), tmp_path), PlanSettings())
    (found,) = ranges
    assert [(g.frame, g.timestamp) for g in found.guides] == [
        ("first", None),
        ("last", None),
        (None, 0.5),
    ]
    assert {g.image for g in found.guides} == {str(tmp_path / "a.png")}
    assert len(errors) == 1 and "clip B" in errors[0] and "missing.png not found" in errors[0]


# --- adapter quirks -----------------------------------------------------------------------------

RECORD_LOC_EDL = """TITLE: SNOW
FCM: NON-DROP FRAME

001  A010C004 V     C        01:00:10:00 01:00:14:00 01:00:00:00 01:00:04:00
* FROM CLIP NAME: A010C004
* FROM FILE: A010C004.mov
* LOC: 01:00:01:12 YELLOW  aleph: make it snow
002  B020C001 V     C        02:00:00:00 02:00:03:00 01:00:04:00 01:00:07:00
* FROM CLIP NAME: B020C001
* FROM FILE: B020C001.mov
* LOC: 01:00:06:00 RED     aleph: red car
"""


def test_edl_loc_record_timecode_is_mapped_into_the_clip(tmp_path: Path) -> None:
    path = tmp_path / "snow.edl"
    path.write_text(RECORD_LOC_EDL)
    ranges, errors = find_marked_ranges(read_timeline(path), PlanSettings())
    assert errors == []
    # LOC 01:00:01:12 is 36 frames into event 001 (record 01:00:00:00) -> source 01:00:11:12.
    # LOC 01:00:06:00 is 48 frames into event 002 (record 01:00:04:00) -> source 02:00:02:00.
    assert [(r.pieces[0].clip.name, r.anchor.value) for r in ranges] == [
        ("A010C004", HOUR + 240 + 36),
        ("B020C001", 2 * HOUR + 48),
    ]
    assert ranges[0].location.startswith("snow.edl, track V, clip A010C004, 01:00:01:12")


def test_otio_written_edl_locs_keep_their_source_time(tmp_path: Path) -> None:
    # OTIO's own EDL writer puts the clip-space time on the LOC line; it must not be shifted.
    track = two_clip_track()
    track[1].markers.append(marker("aleph: snow", tr(2 * HOUR + 20, 0)))
    lt = loaded(timeline(track, start=None), tmp_path, "cut.edl")
    found = one(*find_marked_ranges(lt, PlanSettings()))
    assert found.anchor == RT(2 * HOUR + 20, 24)


def test_fcp7_clip_markers_get_the_file_timecode(tmp_path: Path) -> None:
    track = two_clip_track()
    track[1].markers.append(marker("aleph: snow", tr(2 * HOUR + 20, 12)))
    path = write_timeline(timeline(track), tmp_path / "cut.xml")
    written = loaded_marker = read_timeline(path)
    (b_marker,) = written.timeline.find_clips()[1].markers
    # OTIO's writer keeps clip space; FCP 7 and Premiere count from the file's first frame.
    assert b_marker.marked_range.start_time.value == 2 * HOUR + 20
    assert one(*find_marked_ranges(loaded_marker, PlanSettings())).anchor.value == 2 * HOUR + 20
    text = path.read_text()
    fixed = re.sub(r"<in>172820</in>\s*<out>172832</out>", "<in>20</in><out>32</out>", text)
    assert fixed != text
    native = tmp_path / "premiere.xml"
    native.write_text(fixed)
    lt = read_timeline(native)
    found = one(*find_marked_ranges(lt, PlanSettings()))
    assert found.anchor.value == 2 * HOUR + 20
    assert found.pieces[0].source_range == tr(2 * HOUR + 20, 12)
    clip_b = lt.timeline.find_clips()[1]
    (raw,) = clip_b.markers
    assert marker_clip_range(lt, clip_b, raw) == tr(2 * HOUR + 20, 12)


def test_marker_on_a_gap_is_reported(tmp_path: Path) -> None:
    # AAF attaches markers to whatever item lies under them, gaps included.
    gap = otio.schema.Gap(duration=RT(24, 24))
    gap.markers.append(marker("aleph: nothing here", tr(5, 0)))
    track = otio.schema.Track(name="V1", children=[clip("A", HOUR, 48), gap])
    ranges, errors = find_marked_ranges(loaded(timeline(track), tmp_path), PlanSettings())
    assert ranges == []
    (error,) = errors
    assert error.startswith("cut.otio, track V1, 01:00:02:05, marker 'aleph: nothing here': ")
    assert "sits on a gap" in error


def test_timeline_marker_counted_from_the_start_timecode(tmp_path: Path) -> None:
    # A writer that counts timeline markers from the timeline's start TC (01:00:00:00) puts
    # them past the end of the edit; they are read back as offsets into the edit.
    tl = timeline(two_clip_track())
    tl.tracks.markers.append(marker("aleph: tc based", tr(HOUR + 80, 0)))
    tl.tracks.markers.append(marker("aleph: zero based", tr(10, 0)))
    ranges, errors = find_marked_ranges(loaded(tl, tmp_path), PlanSettings())
    assert errors == []
    assert [(r.prompt, r.pieces[0].clip.name) for r in ranges] == [
        ("zero based", "A"),
        ("tc based", "B"),
    ]
    assert ranges[1].location.endswith("01:00:03:08, marker 'aleph: tc based'")
