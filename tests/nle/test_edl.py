"""CMX 3600 EDLs as Avid Media Composer, DaVinci Resolve and Premiere Pro write them.

Each fixture is written here in the shape its NLE exports (Avid's EDL Manager pads reels to 32
characters and writes ``* FROM CLIP NAME:``, ``* SOURCE FILE:``, ``* LOC:``, ``AUD`` and ``M2``
lines; Resolve writes ``AX`` reels, file names as clip names, two trailing spaces and
``|C:ResolveColor... |M:name |D:frames`` marker lines; Premiere writes ``AX`` or tape reels and
six-digit event numbers). The media is made with PyAV with its start timecode written in, and
every expected frame is worked out by hand in a comment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import opentimelineio as otio
import pytest

from aleph_otio import synth
from aleph_otio.config import PlanSettings
from aleph_otio.errors import TimelineReadError
from aleph_otio.media.probe import probe
from aleph_otio.plan import plan_timeline
from aleph_otio.shots import MediaFacts, Plan
from aleph_otio.timeline import read_timeline

RT = otio.opentime.RationalTime
NTSC30 = 30000 / 1001


def probed(path: str) -> MediaFacts | None:
    return probe(path) if Path(path).is_file() else None


def movie(path: Path, timecode: str, frames: int, rate: float | int = 24) -> Path:
    from fractions import Fraction

    path.parent.mkdir(parents=True, exist_ok=True)
    exact = Fraction(30000, 1001) if rate == NTSC30 else Fraction(rate)
    return synth.make_video(path, frames=frames, rate=exact, size=(64, 36), timecode=timecode)


def write(folder: Path, name: str, text: str, *, newline: str = "\n", tail: bytes = b"") -> Path:
    path = folder / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8") + tail)
    return path


def plan_of(path: Path, search: Path | None = None, **rate: object) -> Plan:
    settings = PlanSettings(media_search=(str(search),) if search else ())
    return plan_timeline(read_timeline(path, **rate), settings, media_facts=probed)  # type: ignore[arg-type]


def reasons(plan: Plan) -> list[str]:
    """Each refusal without its location (which ends with the marker's quoted name)."""
    return [e.split("': ", 1)[1] for e in plan.errors]


def rows(plan: Plan) -> list[tuple[str, str, int, int, str]]:
    """(prompt, media file name, first media frame, frame count, record TC) of each shot."""
    return [
        (
            s.prompt,
            Path(s.segments[0].media_path).name,
            s.segments[0].media_start_frame,
            s.segments[0].media_frame_count,
            s.segments[0].record_tc_in,
        )
        for s in plan.shots
    ]


# --- Avid Media Composer -----------------------------------------------------------------------

# EDL Manager, "File_32" template: reels are 32-character tape names, media is named only by
# clip name, source file and tape. LOCs are in record timecode.
AVID_CUT = """TITLE:   SNOW CUT V3
FCM: NON-DROP FRAME

001  A001C003_220101_R1AB             V     C        01:00:12:00 01:00:14:00 01:00:00:00 01:00:02:00 
* FROM CLIP NAME:  A001C003_220101_R1AB
* SOURCE FILE: A001C003_220101_R1AB
* LOC: 01:00:00:12 YELLOW  aleph: make it snow

002  BL                               V     C        00:00:00:00 00:00:01:00 01:00:02:00 01:00:03:00 

003  B002C001_220101_R2CD             AA/V  C        02:00:01:00 02:00:03:00 01:00:03:00 01:00:05:00 
AUD  3    4
* FROM CLIP NAME:  B002C001 WIDE
* SOURCE FILE: B002C001_220101_R2CD
* LOC: 01:00:04:00 RED     aleph: red car
"""  # noqa: E501, W291 - Avid's 32-character reels; it ends event lines with a space


@pytest.fixture()
def avid_media(tmp_path: Path) -> Path:
    """The Avid cut's media on this machine. B002C001 exists twice (a re-ingest of another
    take under the same name): only day1's timecode 02:00:00:00 holds event 003's source."""
    media = tmp_path / "media"
    movie(media / "A001C003_220101_R1AB.mov", "01:00:10:00", 120)
    movie(media / "day1" / "B002C001_220101_R2CD.mov", "02:00:00:00", 96)
    movie(media / "day2" / "B002C001_220101_R2CD.mov", "05:00:00:00", 96)
    return media


def test_avid_cut_finds_its_media_by_name_and_timecode(tmp_path: Path, avid_media: Path) -> None:
    path = write(tmp_path, "snow.edl", AVID_CUT)
    plan = plan_of(path, avid_media)
    assert plan.errors == []
    # 001: source 01:00:12:00 in a file starting 01:00:10:00 = frame 2 s x 24 = 48; the LOC is a
    #      point, so the whole 2 s event (48 frames) at record 01:00:00:00.
    # 003: source 02:00:01:00 in day1's file (02:00:00:00) = frame 24, 48 frames, record
    #      01:00:03:00 (the BL slug before it is skipped, leaving a gap).
    assert rows(plan) == [
        ("make it snow", "A001C003_220101_R1AB.mov", 48, 48, "01:00:00:00"),
        ("red car", "B002C001_220101_R2CD.mov", 24, 48, "01:00:03:00"),
    ]
    assert Path(plan.shots[1].segments[0].media_path).parent.name == "day1"
    a, b = avid_media / "A001C003_220101_R1AB.mov", avid_media / "day1/B002C001_220101_R2CD.mov"
    assert plan.shots[0].warnings == [
        f"clip A001C003_220101_R1AB: matched to {a} by FROM CLIP NAME"
    ]
    # FROM CLIP NAME "B002C001 WIDE" names no file; SOURCE FILE names two: timecode decides.
    assert plan.shots[1].warnings == [
        f"clip B002C001 WIDE: matched to {b} by SOURCE FILE (its timecode holds the clip's "
        "source; 1 other file(s) of that name do not)"
    ]
    assert plan.warnings == ["snow.edl: event 002 (BL) is black, skipped: nothing to edit there"]


def test_avid_cut_without_media_search_says_what_to_do(tmp_path: Path) -> None:
    path = write(tmp_path, "snow.edl", AVID_CUT)
    plan = plan_of(path)
    assert plan.shots == []
    assert reasons(plan) == [
        "clip A001C003_220101_R1AB: this EDL names no media file: pass --media-search with the "
        "folder that holds A001C003_220101_R1AB.mov",
        "clip B002C001 WIDE: this EDL names no media file: pass --media-search with the folder "
        "that holds B002C001_220101_R2CD.mov",
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    (error, _) = plan_of(path, empty).errors
    assert error.endswith(
        "clip A001C003_220101_R1AB: this EDL names no media file and no file is named "
        "A001C003_220101_R1AB (FROM CLIP NAME) under " + str(empty) + ": pass --media-search "
        "with the folder that holds A001C003_220101_R1AB.mov"
    )


def test_avid_cut_runs_against_the_emulator_and_is_relinked(
    tmp_path: Path, avid_media: Path
) -> None:
    path = write(tmp_path, "snow.edl", AVID_CUT)
    out = tmp_path / "out.otio"
    env = {**os.environ, "RUNWARE_API_KEY": "k"}
    done = subprocess.run(
        [sys.executable, "-m", "aleph_otio", "run", str(path), "-o", str(out), "--emulator",
         "--emulator-latency", "0.1", "--media-search", str(avid_media)],
        env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning: snow.edl: event 002 (BL) is black, skipped" in done.stderr
    relinked = otio.adapters.read_from_file(str(out))
    versions = [t for t in relinked.tracks if t.name.startswith("ALEPH")]
    assert len(versions) == 1
    results = versions[0].find_clips()
    assert len(results) == 2
    for result in results:
        assert Path(otio.url_utils.filepath_from_url(result.media_reference.target_url)).is_file()
    # The editor's clips keep what the EDL said: no path was invented for them.
    originals = {c.name: c for t in relinked.tracks if t.name == "V" for c in t.find_clips()}
    assert isinstance(
        originals["A001C003_220101_R1AB"].media_reference, otio.schema.MissingReference
    )


# An Avid promo: a fade from black, a dissolve, an M2 speed change, a title on the SIGNATUR
# reel, a reverse and a freeze. Written with CR-only line ends and a trailing ^Z, as old
# Windows/Mac Avid builds leave them.
AVID_PROMO = """TITLE:   PROMO
FCM: NON-DROP FRAME
001  BL       V     C        00:00:00:00 00:00:00:00 01:00:00:00 01:00:00:00
001  A001C003 V     D    012 01:00:12:00 01:00:14:00 01:00:00:00 01:00:02:00
EFFECTS NAME IS CROSS DISSOLVE
* TO CLIP NAME:  A001C003_220101_R1AB
002  A001C003 V     C        01:00:14:00 01:00:14:00 01:00:02:00 01:00:02:00
002  B002C001 V     D    012 02:00:01:00 02:00:03:00 01:00:02:00 01:00:04:00
* EFFECT NAME: CROSS DISSOLVE
* FROM CLIP NAME:  A001C003_220101_R1AB
* TO CLIP NAME:  B002C001_220101_R2CD
* LOC: 01:00:03:00 RED     aleph: red car
003  C003C001 V     C        03:00:00:00 03:00:04:00 01:00:04:00 01:00:06:00
M2   C003C001       048.0                03:00:00:00
* FROM CLIP NAME:  C003C001_220101_R3EF
*ASC_SOP (1.0 1.0 1.0)(0.0 0.0 0.0)(1.0 1.0 1.0)
*ASC_SAT 1.0
* LOC: 01:00:04:12 GREEN   aleph: sky
004  SIGNATUR V     C        00:00:00:00 00:00:03:00 01:00:06:00 01:00:09:00
* EFFECT NAME: TITLE
* LOC: 01:00:07:00 BLUE    aleph: on a title
005  D004C001 V     C        04:00:01:00 04:00:00:00 01:00:09:00 01:00:10:00
M2   D004C001       -024.0               04:00:01:00
* FROM CLIP NAME:  D004C001
* LOC: 01:00:09:06 CYAN    aleph: reverse
006  E005C001 V     C        05:00:00:00 05:00:00:01 01:00:10:00 01:00:12:00
M2   E005C001       000.0                05:00:00:00
* FROM CLIP NAME:  E005C001
* LOC: 01:00:10:06 PINK    aleph: freeze
"""


def test_avid_promo_dissolves_speed_titles_reverse_and_freeze(tmp_path: Path) -> None:
    media = tmp_path / "media"
    movie(media / "A001C003_220101_R1AB.mov", "01:00:10:00", 120)
    movie(media / "B002C001_220101_R2CD.mov", "02:00:00:00", 96)
    movie(media / "C003C001_220101_R3EF.mov", "03:00:00:00", 100)
    path = write(tmp_path, "promo.edl", AVID_PROMO, newline="\r", tail=b"\x1a\x1a")
    before = path.read_bytes()
    plan = plan_of(path, media)
    assert path.read_bytes() == before
    # 002: the dissolve's incoming clip B002C001 (TO CLIP NAME) from 02:00:01:00 = frame 24 of
    #      a file starting 02:00:00:00, its 48 frames, at record 01:00:02:00.
    # 003: M2 48 fps in a 24 fps EDL plays 2 source frames per record frame: record 2 s =
    #      48 frames -> 96 source frames from 03:00:00:00 (frame 0), at record 01:00:04:00.
    assert rows(plan) == [
        ("red car", "B002C001_220101_R2CD.mov", 24, 48, "01:00:02:00"),
        ("sky", "C003C001_220101_R3EF.mov", 0, 96, "01:00:04:00"),
    ]
    assert plan.shots[1].segments[0].time_scalar == 2.0
    assert reasons(plan) == [
        "the clip plays in reverse; render the reverse or remove the effect",
        "the clip is a freeze frame; Aleph edits moving footage: remove it",
    ]
    assert plan.warnings == [
        "promo.edl: event 004 (SIGNATUR) is a title, skipped: nothing to edit there; its 1 "
        "marker(s) there plan nothing"
    ]


# --- DaVinci Resolve -----------------------------------------------------------------------------

# Resolve's timeline EDL: AX reels, the file name as clip name, two spaces ending event lines;
# its marker lines as Resolve writes them, one after a clip and others as marker events
# (reel 001, source = record, one frame) as in its timeline-marker EDL.
RESOLVE = """TITLE: Timeline 1
FCM: NON-DROP FRAME

001  AX       V     C        01:00:12:00 01:00:15:00 01:00:00:00 01:00:03:00  
* FROM CLIP NAME: A001C003_220101_R1AB.mov
 |C:ResolveColorBlue |M:aleph: remove the sign |D:12

002  AX       V     C        02:00:00:00 02:00:03:00 01:00:03:00 01:00:06:00  
* FROM CLIP NAME: B002C001_220101_R2CD.MP4

003  001      V     C        01:00:04:00 01:00:04:01 01:00:04:00 01:00:04:01  
aleph: clean plate |C:ResolveColorFuchsia |M:Marker 2 |D:24

004  001      V     C        01:00:20:00 01:00:20:01 01:00:20:00 01:00:20:01  
 |C:ResolveColorGreen |M:aleph: past the end |D:1
"""  # noqa: W291


def test_resolve_edl_markers_have_colour_name_and_duration(tmp_path: Path) -> None:
    media = tmp_path / "media"
    movie(media / "A001C003_220101_R1AB.mov", "01:00:10:00", 120)
    movie(media / "B002C001_220101_R2CD.mov", "02:00:00:00", 96)  # .MP4 named: any suffix
    path = write(tmp_path, "resolve.edl", RESOLVE, newline="\r\n")
    loaded = read_timeline(path)
    (sign,) = loaded.timeline.tracks[0][0].markers
    assert (sign.name, sign.color, sign.marked_range.duration) == (
        "aleph: remove the sign", "BLUE", RT(12, 24),
    )  # fmt: skip
    plan = plan_of(path, media)
    # 001: |D:12 from the event's record in (01:00:00:00): 12 frames from source 01:00:12:00 =
    #      frame 48 of a file starting 01:00:10:00; Aleph's 2 s minimum adds 18 frames each side.
    # 003: marker event at record 01:00:04:00, 24 frames, on clip 002 (record 01:00:03:00,
    #      source 02:00:00:00): 1 s in = source 02:00:01:00 = frame 24; 12 frames each side.
    assert rows(plan) == [
        ("remove the sign", "A001C003_220101_R1AB.mov", 48, 12, "01:00:00:00"),
        ("clean plate", "B002C001_220101_R2CD.mov", 24, 24, "01:00:04:00"),
    ]
    assert [(s.head_frames, s.tail_frames) for s in plan.shots] == [(18, 18), (12, 12)]
    (plate,) = [m for c in loaded.timeline.find_clips() for m in c.markers if m.name == "Marker 2"]
    assert (plate.color, plate.comment) == ("MAGENTA", "aleph: clean plate")
    assert plan.warnings == [
        "resolve.edl: event 004: marker 'aleph: past the end' at 01:00:20:00 is on no video "
        "clip of the edit, skipped"
    ]


def test_resolve_marker_only_edl_says_to_export_the_edit(tmp_path: Path) -> None:
    markers = "TITLE: Timeline 1\nFCM: NON-DROP FRAME\n\n003  " + RESOLVE.split("003  ", 1)[1]
    path = write(tmp_path, "markers.edl", markers)
    plan = plan_of(path)
    assert plan.shots == [] and plan.errors == []
    assert plan.warnings == [
        "markers.edl: holds 2 marker(s) and no edit (DaVinci Resolve's timeline-marker EDL): "
        "export the edit itself (an EDL of the timeline, or AAF/XML/OTIO) to plan them"
    ]


# --- Premiere Pro --------------------------------------------------------------------------------

# Premiere's "Export > EDL": six-digit event numbers, the tape name (or AX) as reel, the file
# name as clip name, a title as an AX event at 00:00:00:00 naming no file.
PREMIERE = """TITLE: Sequence 01
FCM: NON-DROP FRAME

000001  A001C003 V     C        01:00:12:00 01:00:15:00 00:00:00:00 00:00:03:00
* FROM CLIP NAME: A001C003_220101_R1AB.mov

000002  AX       V     C        00:00:00:00 00:00:02:00 00:00:03:00 00:00:05:00

000003  AX       AA/V  C        00:00:01:00 00:00:03:12 00:00:05:00 00:00:07:12
* FROM CLIP NAME: phone clip.mp4
"""


def test_premiere_edl_clips_and_names(tmp_path: Path) -> None:
    path = write(tmp_path, "premiere.edl", PREMIERE)
    loaded = read_timeline(path)
    video = loaded.timeline.tracks[0]
    clips = video.find_clips()
    # 000001 at record 00:00:00:00, 72 frames from 01:00:12:00 (86400 + 288 = 86688);
    # 000002 (an AX title at 00:00:00:00) skipped: a 48-frame gap; 000003 from 00:00:01:00 (24)
    # for 2 s 12 f (60 frames) at record 00:00:05:00 (frame 120).
    assert [
        (c.name, c.source_range.start_time.value, c.source_range.duration.value) for c in clips
    ] == [
        ("A001C003_220101_R1AB.mov", 86688, 72),
        ("phone clip.mp4", 24, 60),
    ]
    assert [video.range_of_child(c).start_time.value for c in clips] == [0, 120]
    assert loaded.dialect.media_names(clips[0]) == [
        ("A001C003_220101_R1AB.mov", "FROM CLIP NAME"),
        ("A001C003", "reel name"),
    ]
    assert loaded.reading.warnings == [
        "event 002 (AX) is a slug/title (reel AX at 00:00:00:00 naming no clip), skipped: "
        "nothing to edit there"
    ]


# --- Quirks --------------------------------------------------------------------------------------

ONE = """TITLE: ONE
FCM: NON-DROP FRAME

001  A001C003 V     C        01:00:12:00 01:00:14:00 01:00:00:00 01:00:02:00
* FROM CLIP NAME:  A001C003_220101_R1AB
* LOC: 01:00:00:12 YELLOW  aleph: make it snow
"""


@pytest.mark.parametrize(
    ("newline", "head", "tail"),
    [("\r", b"", b"\x1a"), ("\r\n", b"\xef\xbb\xbf", b"\x1a\x00"), ("\n", b"", b"\x04\x1a\x1a")],
)
def test_line_ends_bom_and_trailing_control_bytes(
    tmp_path: Path, newline: str, head: bytes, tail: bytes
) -> None:
    media = tmp_path / "media"
    movie(media / "A001C003_220101_R1AB.mov", "01:00:10:00", 120)
    spaced = ONE.replace("001  A001C003 V     C", "001\tA001C003   V  C ")
    path = tmp_path / "one.edl"
    path.write_bytes(head + spaced.replace("\n", newline).encode() + tail)
    # source 01:00:12:00 in a file starting 01:00:10:00: frame 48, the 48-frame event.
    assert rows(plan_of(path, media)) == [
        ("make it snow", "A001C003_220101_R1AB.mov", 48, 48, "01:00:00:00")
    ]


HFR = """TITLE: HFR
FCM: NON-DROP FRAME

001  A001C003 V     C        01:00:12:00 01:00:14:00 01:00:00:00 01:00:02:00
* FROM CLIP NAME:  A001C003_220101_R1AB
002  H002C001 V     C        02:00:00:00 02:00:04:00 01:00:02:00 01:00:04:00
* FROM CLIP NAME:  H002C001
* LOC: 01:00:02:12 RED     aleph: slow it
"""


def test_lengths_differing_without_m2_read_as_the_record_says(tmp_path: Path) -> None:
    media = tmp_path / "media"
    movie(media / "H002C001.mov", "02:00:00:00", 100)
    path = write(tmp_path, "hfr.edl", HFR)
    plan = plan_of(path, media)
    # 002: source 4 s (96 frames) but record 2 s (48): read as source 02:00:00:00 + 48 frames,
    # i.e. frames 0-47 of a file starting 02:00:00:00, at record 01:00:02:00. No --rate hint:
    # no rate makes 96 frames of source fit 48 of record.
    assert rows(plan) == [("slow it", "H002C001.mov", 0, 48, "01:00:02:00")]
    assert plan.warnings == [
        "hfr.edl: event 002 (H002C001): source 02:00:00:00-02:00:04:00 is 96 frames but record "
        "01:00:02:00-01:00:04:00 is 48, with no M2 speed line; read as the record says (source "
        "out 02:00:02:00): a high-frame-rate or retimed clip? check it in the editing application"
    ]


# A 25 fps cut: at 24 fps the lengths of events that cross a second differently disagree.
PAL = """TITLE: PAL
FCM: NON-DROP FRAME

001  A001C003 V     C        01:00:10:20 01:00:11:05 01:00:00:00 01:00:00:10
002  B002C001 V     C        02:00:00:00 02:00:02:00 01:00:00:10 01:00:02:10
"""


def test_rate_hint_only_when_another_rate_makes_every_event_agree(tmp_path: Path) -> None:
    path = write(tmp_path, "pal.edl", PAL)
    # Event 001: source 10:20-11:05 is 9 frames at 24 fps (4 + 5) but 10 at 25 (5 + 5); the
    # record 00:00-00:10 is 10 at both. Event 002 agrees at both.
    with pytest.raises(TimelineReadError) as info:
        read_timeline(path)
    assert str(info.value) == (
        f"{path}: source and record lengths differ in 1 event(s) (001) at 24 fps but agree in "
        "every event at 25 fps: is the EDL rate right? pass --rate 25"
    )
    (clip, _) = read_timeline(path, rate=25).timeline.find_clips()
    assert clip.source_range.duration == RT(10, 25)
    # A frame 24 cannot be at 24 fps: the real cause, with the rate that reads every event.
    write(tmp_path, "pal2.edl", PAL.replace("01:00:11:05", "01:00:11:24").replace(
        "01:00:00:10 01:00:02:10", "01:00:01:04 01:00:03:04").replace(
        "01:00:00:00 01:00:00:10", "01:00:00:00 01:00:01:04"))  # fmt: skip
    frame_24 = (
        r"event 001 \(line 4\): timecode 01:00:11:24 has no frame 24 at 24 fps; is the EDL "
        r"rate right\? pass --rate 25"
    )
    with pytest.raises(TimelineReadError, match=frame_24):
        read_timeline(tmp_path / "pal2.edl")


DROP = """TITLE: NTSC
FCM: DROP FRAME

001  A001C003 V     C        01:00:59;20 01:01:02;02 01:00:00;00 01:00:02;10
* FROM CLIP NAME:  A001C003_220101_R1AB
* LOC: 01:00:00;12 YELLOW  aleph: night
"""


def test_drop_frame_timecodes_are_read_at_29_97(tmp_path: Path) -> None:
    media = tmp_path / "media"
    movie(media / "A001C003_220101_R1AB.mov", "01:00:59;00", 120, rate=NTSC30)
    path = write(tmp_path, "ntsc.edl", DROP)
    # Drop frame: 01:01:00;00 and ;01 do not exist. Source 01:00:59;20 is frame 20 of a file
    # starting 01:00:59;00; to 01:01:02;02 is 10 + 30 + 30 = 70 frames (59;20..59;29, then
    # 01:01:00;02..01:01:01;29 is 58 frames, then 01:01:02;00..;01 is 2): 10 + 58 + 2 = 70;
    # the record 01:00:00;00-01:00:02;10 is 70 frames too (no drop at minute 60).
    # The plan shows time code as the EDL counts it (drop-frame), so the editor reads the same
    # numbers as in the bin: record 01:00:00;00 (107892 frames; non-drop that frame would read
    # 00:59:56:12), source in/out exactly the event's.
    plan = plan_of(path, media)
    assert rows(plan) == [("night", "A001C003_220101_R1AB.mov", 20, 70, "01:00:00;00")]
    (segment,) = plan.shots[0].segments
    assert segment.media_rate == pytest.approx(NTSC30)
    assert (segment.source_tc_in, segment.source_tc_out) == ("01:00:59;20", "01:01:02;02")


def test_a_non_drop_29_97_edl_keeps_non_drop_time_code(tmp_path: Path) -> None:
    media = tmp_path / "media"
    movie(media / "A001C003_220101_R1AB.mov", "01:00:59:00", 120, rate=NTSC30)
    ndf = (
        DROP.replace("FCM: DROP FRAME", "FCM: NON-DROP FRAME")
        .replace("01:00:59;20 01:01:02;02 01:00:00;00 01:00:02;10", "01:00:59:20 01:01:02:00 "
                 "01:00:00:00 01:00:02:10")
        .replace("01:00:00;12", "01:00:00:12")
    )  # fmt: skip
    path = write(tmp_path, "ndf.edl", ndf)
    # 01:00:59:20-01:01:02:00 counted non-drop is 10 + 60 = 70 frames, record 01:00:00:00 as is.
    plan = plan_of(path, media, rate="30000/1001")
    assert rows(plan) == [("night", "A001C003_220101_R1AB.mov", 20, 70, "01:00:00:00")]
    (segment,) = plan.shots[0].segments
    assert (segment.source_tc_in, segment.source_tc_out) == ("01:00:59:20", "01:01:02:00")


def test_odd_lines_and_cdl_are_warned_about_not_fatal(tmp_path: Path) -> None:
    text = ONE.replace("* LOC:", "*ASC_SOP (1.0 1.0)(bad)\n*ASC_SAT high\n0O2 garbage line\n* LOC:")
    path = write(tmp_path, "odd.edl", text)
    loaded = read_timeline(path)
    assert loaded.reading.warnings == [
        "line 8 is not an event line, skipped: '0O2 garbage line'",
        "event 001: ASC_SOP on line 6 is unreadable, ignored",
        "event 001: ASC_SAT on line 7 is unreadable, ignored",
    ]
    (clip,) = loaded.timeline.find_clips()
    assert clip.name == "A001C003_220101_R1AB"


@pytest.mark.parametrize(
    "text",
    ["", "TITLE: X\n", "001  A V C 01:00:00:00", "\x00\x1a\x1a", "001 " + "9" * 400, "M2 x 1 0"],
)
def test_broken_edls_are_one_line_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "broken.edl"
    path.write_text(text)
    with pytest.raises(TimelineReadError) as info:
        read_timeline(path)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message and "--rate" not in message
