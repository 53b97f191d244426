"""Marker normalisation proven on the adapters' own sample files (fetched from PyPI, not committed).

Each adapter puts markers in a different time space; these tests read real exports (Avid EDL,
FCP 7/Premiere XML, FCPXML) and check every marker lands on the frame its NLE showed it on.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest
from sampledata import sample_data

from aleph_otio.config import PlanSettings
from aleph_otio.errors import TimelineReadError
from aleph_otio.plan import plan_timeline
from aleph_otio.timeline import find_marked_ranges, marker_clip_range, read_timeline
from aleph_otio.timeline.markers import scan_markers

pytestmark = pytest.mark.network

RT = otio.opentime.RationalTime


@pytest.fixture(scope="module")
def cmx_samples() -> Path:
    return sample_data("otio-cmx3600-adapter", "1.0.0")


@pytest.fixture(scope="module")
def fcp_samples() -> Path:
    return sample_data("otio-fcp-adapter", "1.0.0")


@pytest.fixture(scope="module")
def fcpx_samples() -> Path:
    return sample_data("otio-fcpx-xml-adapter", "1.0.0")


def tc(text: str, rate: int = 24) -> int:
    hours, minutes, seconds, frames = (int(p) for p in text.split(":"))
    return ((hours * 60 + minutes) * 60 + seconds) * rate + frames


# --- EDL: LOC lines are record timecode ---------------------------------------------------------


def test_screening_example_locs_land_inside_their_clips(cmx_samples: Path) -> None:
    path = cmx_samples / "screening_example.edl"
    loaded = read_timeline(path)
    clips = {c.name: c for c in loaded.timeline.find_clips()}
    # Expected from the EDL text: source in + (LOC - record in).
    #   004 src 01:00:10:01, rec 00:59:58:00: LOC 01:00:01:14 RED, LOC 01:00:02:14 PINK
    #   007 src 01:00:09:12, rec 01:00:13:17: LOC 01:00:15:13 GREEN
    ev4 = tc("01:00:10:01") - tc("00:59:58:00")
    ev7 = tc("01:00:09:12") - tc("01:00:13:17")
    expected = {
        ("ZZ100_504C (LAY1)", "RED"): tc("01:00:01:14") + ev4,
        ("ZZ100_504C (LAY1)", "PINK"): tc("01:00:02:14") + ev4,
        ("ZZ100_508 (LAY2)", "GREEN"): tc("01:00:15:13") + ev7,
    }
    found = {}
    for name, item in clips.items():
        for marker in item.markers:
            r = marker_clip_range(loaded, item, marker)
            assert item.source_range.contains(r.start_time), (name, marker.color, r)
            found[(name, marker.color)] = r.start_time.value
    assert found == expected
    # Each is the frame as media time: inside the event's source range.
    assert clips["ZZ100_504C (LAY1)"].source_range.start_time.value == tc("01:00:10:01")


def test_screening_example_locs_as_edit_requests(cmx_samples: Path) -> None:
    loaded = read_timeline(cmx_samples / "screening_example.edl")
    ranges, errors = find_marked_ranges(loaded, PlanSettings(marker_color="pink"))
    assert errors == []
    (pink,) = ranges
    assert pink.prompt == "ANIM FIX NEEDED"
    assert pink.anchor.value == tc("01:00:02:14") + tc("01:00:10:01") - tc("00:59:58:00")
    assert [p.clip.name for p in pink.pieces] == ["ZZ100_504C (LAY1)"]
    assert pink.location == (
        "screening_example.edl, track V, clip ZZ100_504C (LAY1), 01:00:02:14, "
        "marker 'ANIM FIX NEEDED'"
    )
    # The GREEN LOC has no text: an error at its own record timecode, not a silent skip.
    ranges, errors = find_marked_ranges(loaded, PlanSettings(marker_color="green"))
    assert ranges == []
    (error,) = errors
    assert error.startswith("screening_example.edl, track V, clip ZZ100_508 (LAY2), 01:00:15:13: ")
    assert "prompt is empty" in error


# --- FCP 7 XML: clip markers lack the file timecode; sequence markers are record time ----------


def test_empty_name_tags_clip_marker_sits_on_the_first_frame(fcp_samples: Path) -> None:
    loaded = read_timeline(fcp_samples / "empty_name_tags.xml")
    marked = [c for c in loaded.timeline.tracks.find_clips() if c.markers]
    assert marked, "the sample has a clip marker"
    for item in marked:
        for marker in item.markers:
            r = marker_clip_range(loaded, item, marker)
            first = item.source_range.start_time
            assert abs((r.start_time - first).to_seconds()) < 1e-6, (item.name, r, first)
            # Un-normalised, the marker would sit far outside the clip (before its media TC).
            assert not item.source_range.contains(marker.marked_range.start_time)
    item = marked[0]
    item.markers[0].comment = "aleph: sky replacement"  # as an editor would type it
    ranges, errors = find_marked_ranges(loaded, PlanSettings())
    (found,) = [r for r in ranges if r.prompt == "sky replacement"]
    assert found.pieces[0].clip is item
    assert found.pieces[0].source_range == item.source_range  # point marker: whole clip
    assert abs((found.anchor - item.source_range.start_time).to_seconds()) < 1e-6


def test_premiere_example_sequence_markers_map_to_their_clips(fcp_samples: Path) -> None:
    loaded = read_timeline(fcp_samples / "premiere_example.xml")
    for marker in loaded.timeline.tracks.markers:
        if not marker.name:
            marker.comment = "aleph: unnamed"
    # Premiere writes no <pproColor> for its default marker colour, green (OTIO's adapter
    # would call every FCP 7 XML marker red).
    ranges, errors = find_marked_ranges(loaded, PlanSettings(marker_color="green"))
    # The one clip marker has neither name nor comment: reported where it sits.
    (error,) = errors
    assert "track V2, clip sc01_sh030_anim.mov" in error and "prompt is empty" in error
    stack = {r.marker_name or "unnamed": r for r in ranges if r.scope == "stack"}
    # Sequence frames (30 fps): 'dsf' at 492 is 170 frames into sc01_sh030 (record 322-557);
    # the unnamed one at 298 is 133 frames into sc01_sh020 (record 165-322); 'My MArker 1' at
    # 113 has only the title generator under it.
    assert {k: (r.pieces[0].clip.name, r.anchor.value) for k, r in stack.items()} == {
        "dsf": ("sc01_sh030_anim.mov", 170),
        "unnamed": ("sc01_sh020_anim.mov", 133),
        "My MArker 1": ("test_title", 108000 + 113 - 15),  # title source starts at 108000
    }
    assert stack["dsf"].prompt == "fsfsfs"  # the FCP marker comment
    assert stack["dsf"].location.startswith("premiere_example.xml, timeline marker, 00:00:16:12")
    # Planning: the title has no file media, the others plan from their available ranges.
    plan = plan_timeline(loaded, PlanSettings(marker_color="green"))
    planned = {s.marker_name or "unnamed": s for s in plan.shots}
    assert planned["dsf"].segments[0].clip_name == "sc01_sh030_anim.mov"
    assert any("clip test_title has no source media" in e for e in plan.errors)


# --- FCPXML: markers are in clip time already ---------------------------------------------------


def _fcpx_seconds(value: str) -> Fraction:
    return Fraction(value.rstrip("s"))


def _expected_fcpx_markers(path: Path) -> dict[str, Fraction]:
    """marker value -> start seconds, for markers on video clips of the project's main spine."""
    root = ET.parse(path).getroot()
    expected: dict[str, Fraction] = {}
    project = root.find(".//project")
    assert project is not None
    for element in project.iter():
        if element.tag not in ("clip", "asset-clip") or int(element.get("lane", "0")) < 0:
            continue
        for marker in element.findall("marker"):
            expected[marker.get("value", "")] = _fcpx_seconds(marker.get("start", "0s"))
    return expected


def test_fcpx_project_markers_land_inside_their_clips(fcpx_samples: Path) -> None:
    path = fcpx_samples / "fcpx_project.fcpxml"
    loaded = read_timeline(path)
    expected = _expected_fcpx_markers(path)
    assert set(expected) == {"Marker 1", "Marker 4", "Marker 5"}
    found: dict[str, Fraction] = {}
    # FCP's kinds as FCP colours them: standard blue, to-do red, completed green.
    for color in ("blue", "red", "green"):
        ranges, _ = find_marked_ranges(loaded, PlanSettings(marker_color=color))
        for r in ranges:
            item = r.pieces[0].clip
            assert item.trimmed_range().contains(r.anchor), (r.marker_name, r.anchor)
            found[r.marker_name] = Fraction(r.anchor.to_seconds()).limit_denominator(3000)
    # Marker 7 is on the compound clip at its time 109/30 s, where IMG_0233 (from media 0 s)
    # plays inside it: planned on that clip.
    assert found == {**expected, "Marker 7": Fraction(109, 30)}
    # Audio-only markers are counted as nothing to edit; a marker over a gap inside the compound
    # is refused by name.
    scan = scan_markers(loaded, PlanSettings(marker_color="blue"))
    assert any("Marker 8" in e and "gap inside the compound clip" in e for e in scan.errors)
    assert any("(audio only)" in w and "nothing to edit" in w for w in scan.warnings)


def test_fcpx_library_plans_the_sequence_named(fcpx_samples: Path) -> None:
    """A library holds two projects: planning one of them silently could send the wrong cut."""
    path = fcpx_samples / "fcpx_library.fcpxml"
    names = r"\('OpenTimeline_Project', 'OpenTimeline_Project 1'\); choose one with --sequence"
    with pytest.raises(TimelineReadError, match=names):
        read_timeline(path)
    loaded = read_timeline(path, sequence="OpenTimeline_Project")
    assert loaded.timeline.name == "OpenTimeline_Project"
    ranges, _ = find_marked_ranges(loaded, PlanSettings(marker_color="blue"))
    assert {r.marker_name for r in ranges} >= {"Marker 1", "Marker 4"}


# --- AAF: real Avid Media Composer exports ------------------------------------------------------


@pytest.fixture(scope="module")
def aaf_samples() -> Path:
    return sample_data("otio-aaf-adapter", "2.0.0")


def _record_frame(location: str) -> int:
    """Record frames from the sequence start (01:00:00:00) of a marker location or error line."""
    found = re.search(r"(\d\d:\d\d:\d\d:\d\d), marker", location)
    assert found, location
    return tc(found.group(1)) - tc("01:00:00:00")


def test_avid_markers_land_on_the_record_frames_avid_lists(aaf_samples: Path) -> None:
    """multiple-markers-over-transitions.aaf: red markers over cuts, dissolves and filler.

    Avid's own marker list (the .txt beside it: position in the sequence per marker) is the
    reference. Markers on clips become shots, markers on filler are refused with a reason, and
    each is reported at the record frame Avid lists it at. The AAF reader drops the three
    markers past the end of the sequence (positions 392, 398, 404); they never reach the plan.
    """
    listed = sorted(
        int(line.split("\t")[1])
        for line in (aaf_samples / "multiple-markers-over-transitions.txt").read_text().splitlines()
        if line.strip()
    )
    plan = plan_timeline(
        read_timeline(aaf_samples / "multiple-markers-over-transitions.aaf"),
        PlanSettings(marker_color="red"),
    )
    seen = [_record_frame(s.marker_location) for s in plan.shots]
    seen += [_record_frame(w) for s in plan.shots for w in s.warnings if "identical marker" in w]
    seen += [_record_frame(e) for e in plan.errors]
    assert sorted(seen) == [p for p in listed if p < 392]
    assert len(plan.shots) == 42
    assert all("sits on a gap" in e for e in plan.errors) and len(plan.errors) == 17
    # The marker's name is Avid's comment; every shot is a whole clip (Avid markers are points).
    assert {s.prompt for s in plan.shots} <= {str(p) for p in range(60)}
    # Clips of 1-2 s are widened into their media to Aleph's 2 s minimum.
    assert all(48 <= s.frame_count <= 30 * 24 for s in plan.shots)
    # mk020_0040.mov 997-1044 is cut in twice (record 145 and 344) with the same markers: the
    # same shot ids at both places (paid once, relinked at both).
    twice = [
        s for s in plan.shots if s.prompt == "47" and s.segments[0].clip_name == "mk020_0040.mov"
    ]
    assert len({s.id for s in twice}) == 1 and len(twice) == 2
    assert sorted(s.segments[0].record_start for s in twice) == [145, 344]


def test_avid_marker_attached_to_two_slots_is_one_request(aaf_samples: Path) -> None:
    """marker-over-transition.aaf: Avid attaches each blue marker to two slots; OTIO's reader
    gives the clip both copies. Each clip plans once, and the marker on 999_2 that lies
    before the part of the source the clip uses is refused with the clip and the times."""
    plan = plan_timeline(
        read_timeline(aaf_samples / "marker-over-transition.aaf"),
        PlanSettings(marker_color="blue"),
    )
    assert [(s.segments[0].clip_index, s.segments[0].record_tc_in) for s in plan.shots] == [
        (0, "01:00:00:00"),
        (3, "01:00:03:22"),
    ]
    assert all(s.prompt == "s999_1.gt_2" for s in plan.shots)
    assert all(any("identical marker" in w for w in s.warnings) for s in plan.shots)
    assert len(plan.errors) == 1
    assert "clip 999_2" in plan.errors[0] and "is outside its clip" in plan.errors[0]
