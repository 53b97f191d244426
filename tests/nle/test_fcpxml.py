# ruff: noqa: E501  (fixtures keep the long lines Final Cut Pro writes)
"""FCPXML as Final Cut Pro 10.4-11 writes it (1.8-1.13, .fcpxmld bundles), read by aleph_fcpxml.

Every fixture is written here in the shape FCP exports: DOCTYPE line, <resources> with
format/asset/media-rep/effect, library > event > project > sequence > spine, rational times.
Expected clips, media frames and record timecodes are worked out by hand in the comments.
"""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest

from aleph_otio.config import PlanSettings
from aleph_otio.errors import TimelineReadError
from aleph_otio.plan import plan_timeline
from aleph_otio.shots import Plan
from aleph_otio.synth import make_video
from aleph_otio.timeline import read_timeline

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n\n'


def write(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def plan(path: Path, **settings: object) -> Plan:
    return plan_timeline(read_timeline(path), PlanSettings(**settings), media_facts=None)  # type: ignore[arg-type]


def shots(p: Plan) -> list[tuple[str, str, str, int, int, str]]:
    """(prompt, clip, track, first media frame, media frame count, record TC in) per segment."""
    return [
        (
            s.prompt,
            g.clip_name,
            g.track_name,
            g.media_start_frame,
            g.media_frame_count,
            g.record_tc_in,
        )
        for s in p.shots
        for g in s.segments
    ]


# --- 1.11, 24p, tcStart 01:00:00:00: clips, a title over a gap, a connected clip, kinds ------

V111 = """<fcpxml version="1.11">
    <resources>
        <format id="r1" name="FFVideoFormat1080p24" frameDuration="100/2400s" width="1920" height="1080" colorSpace="1-1-1 (Rec. 709)"/>
        <asset id="r2" name="A001C003" uid="5B1F0E6C2A8D4E7F" start="0s" duration="20s" hasVideo="1" format="r1" hasAudio="1" videoSources="1" audioSources="1" audioChannels="2" audioRate="48000">
            <media-rep kind="original-media" sig="5B1F0E6C2A8D4E7F" src="file:///Volumes/Media/A001C003.mov"/>
            <media-rep kind="proxy-media" sig="11" src="file:///Users/ed/Movies/Cut.fcpbundle/Proxy/A001C003.mov"/>
        </asset>
        <asset id="r3" name="B002" uid="77" start="3600s" duration="30s" hasVideo="1" format="r1" videoSources="1">
            <media-rep kind="original-media" sig="77" src="file:///Volumes/Media/B002.mov"/>
        </asset>
        <effect id="r4" name="Basic Title" uid=".../Titles.localized/Bumper:Opener.localized/Basic Title.localized/Basic Title.moti"/>
    </resources>
    <library location="file:///Users/ed/Movies/Cut.fcpbundle/">
        <event name="Day 1" uid="E1">
            <project name="Cut" uid="P1" modDate="2024-05-01 10:00:00 +0200">
                <sequence format="r1" duration="11s" tcStart="3600s" tcFormat="NDF" audioLayout="stereo" audioRate="48k">
                    <spine>
                        <asset-clip ref="r2" offset="3600s" name="A001C003" start="2s" duration="5s" format="r1" tcFormat="NDF" audioRole="dialogue">
                            <marker start="3s" duration="100/2400s" value="aleph: make it night"/>
                        </asset-clip>
                        <gap name="Gap" offset="3605s" start="3600s" duration="2s">
                            <title ref="r4" lane="1" offset="3600s" name="Opener" start="3600s" duration="2s">
                                <text><text-style ref="ts1">Day one</text-style></text>
                                <text-style-def id="ts1"><text-style font="Helvetica" fontSize="63"/></text-style-def>
                                <marker start="3601s" duration="100/2400s" value="aleph: sparkles"/>
                            </title>
                        </gap>
                        <asset-clip ref="r3" offset="3607s" name="B002" start="3610s" duration="4s" tcFormat="NDF">
                            <asset-clip ref="r2" lane="1" offset="3611s" name="Over" start="10s" duration="2s" tcFormat="NDF">
                                <marker start="21/2s" duration="1s" value="aleph: blue sky"/>
                            </asset-clip>
                            <marker start="3612s" duration="100/2400s" value="fix" completed="0" note="aleph: replace the sign"/>
                            <marker start="3613s" duration="100/2400s" value="done" completed="1"/>
                            <chapter-marker start="3610s" duration="100/2400s" value="Part 2" posterOffset="11/24s"/>
                        </asset-clip>
                    </spine>
                </sequence>
            </project>
        </event>
    </library>
</fcpxml>
"""


def test_111_markers_plan_to_their_clips_and_media_frames(tmp_path: Path) -> None:
    p = plan(write(tmp_path, "cut.fcpxml", V111))
    # A001C003: record 3600s = tcStart -> 01:00:00:00; start 2s -> media frame 48, 5 s = 120
    #   frames; the point marker means the whole clip.
    # B002 (asset start 3600s): start 3610s -> media frame (3610-3600)*24 = 240, 4 s = 96
    #   frames, at record 3607s -> 01:00:07:00; its to-do marker's note holds the prompt.
    # Over (lane 1, anchored in B002 at its local 3611s): record 3607 + (3611-3610) = 3608s;
    #   marker 10.5 s..11.5 s -> media frames 252..275 (24), record 3608.5s -> 01:00:08:12.
    assert shots(p) == [
        ("make it night", "A001C003", "Primary storyline", 48, 120, "01:00:00:00"),
        ("replace the sign", "B002", "Primary storyline", 240, 96, "01:00:07:00"),
        ("blue sky", "Over", "Lane 1", 252, 24, "01:00:08:12"),
    ]
    assert p.errors == []
    # The title's marker (local 3601s in the gap at 3605s -> 01:00:06:00) plans nothing.
    assert p.warnings == [
        "cut.fcpxml: ignored 1 marker(s) on the title 'Opener' at 01:00:06:00: nothing to edit "
        "here; put the marker on the video clip under it"
    ]


def test_111_reading_media_start_and_marker_kinds(tmp_path: Path) -> None:
    loaded = read_timeline(write(tmp_path, "cut.fcpxml", V111))
    assert loaded.adapter_name == "aleph_fcpxml"
    tl = loaded.timeline
    # tcStart is the timeline's start, never a leading gap.
    assert tl.global_start_time == otio.opentime.RationalTime(86400, 24)
    story = tl.tracks[0]
    assert isinstance(story[0], otio.schema.Clip) and story[0].name == "A001C003"
    # Original media, not the proxy.
    assert story[0].media_reference.target_url == "file:///Volumes/Media/A001C003.mov"
    b002 = story[2]
    kinds = {m.name: (str(m.color), m.metadata["fcpxml"]["kind"]) for m in b002.markers}
    assert kinds == {
        "fix": ("RED", "todo"),
        "done": ("GREEN", "completed"),
        "Part 2": ("ORANGE", "chapter"),
    }
    assert story[0].markers[0].color == "BLUE"
    assert b002.markers[0].comment == "aleph: replace the sign"


def test_marker_colour_selects_fcp_kinds(tmp_path: Path) -> None:
    # --marker-color red: the to-do marker "fix" is a request by its colour (prompt = its note).
    p = plan(write(tmp_path, "cut.fcpxml", V111), prefix="", marker_color="red")
    assert [(s.prompt, s.segments[0].clip_name) for s in p.shots] == [
        ("aleph: replace the sign", "B002")
    ]


# --- 1.13 .fcpxmld bundle, 23.976: sync, multicam and compound clips, a generator -------------

V113 = """<fcpxml version="1.13">
    <resources>
        <format id="r1" name="FFVideoFormat1080p2398" frameDuration="1001/24000s" width="1920" height="1080" colorSpace="1-1-1 (Rec. 709)"/>
        <asset id="r2" name="A002C007" uid="A2" start="0s" duration="2402400/24000s" hasVideo="1" format="r1" hasAudio="1" videoSources="1" audioSources="1" audioChannels="2" audioRate="48000">
            <media-rep kind="original-media" sig="A2" src="file:///Volumes/Media/A002C007.mov"/>
        </asset>
        <asset id="r3" name="Boom" uid="S3" start="0s" duration="100s" hasAudio="1" audioSources="1" audioChannels="1" audioRate="48000">
            <media-rep kind="original-media" sig="S3" src="file:///Volumes/Sound/Boom.wav"/>
        </asset>
        <asset id="r7" name="B001C002" uid="B7" start="0s" duration="2402400/24000s" hasVideo="1" format="r1" videoSources="1">
            <media-rep kind="original-media" sig="B7" src="file:///Volumes/Media/B001C002.mov"/>
        </asset>
        <media id="r6" name="Interview MC" uid="MC6">
            <multicam format="r1" tcStart="0s" tcFormat="NDF">
                <mc-angle name="Cam A" angleID="a1">
                    <asset-clip ref="r2" offset="0s" name="A002C007" duration="480480/24000s" format="r1" tcFormat="NDF"/>
                </mc-angle>
                <mc-angle name="Cam B" angleID="b2">
                    <gap name="Gap" offset="0s" duration="48048/24000s"/>
                    <asset-clip ref="r7" offset="48048/24000s" name="B001C002" duration="480480/24000s" format="r1" tcFormat="NDF"/>
                </mc-angle>
            </multicam>
        </media>
        <media id="r8" name="Compound 1" uid="C8">
            <sequence format="r1" duration="240240/24000s" tcStart="0s" tcFormat="NDF" audioLayout="stereo" audioRate="48k">
                <spine>
                    <asset-clip ref="r2" offset="0s" name="A002C007" start="1201200/24000s" duration="240240/24000s" format="r1" tcFormat="NDF"/>
                </spine>
            </sequence>
        </media>
        <effect id="r9" name="Custom" uid=".../Generators.localized/Solids.localized/Custom.localized/Custom.motn"/>
    </resources>
    <library location="file:///Users/ed/Movies/Doc.fcpbundle/">
        <event name="Interviews" uid="E2">
            <project name="Doc" uid="P2" modDate="2024-06-01 09:00:00 +0200">
                <sequence format="r1" duration="480480/24000s" tcStart="86486400/24000s" tcFormat="NDF" audioLayout="stereo" audioRate="48k">
                    <spine>
                        <asset-clip ref="r2" offset="86486400/24000s" name="A002C007" start="24024/24000s" duration="240240/24000s" format="r1" tcFormat="NDF">
                            <marker start="48048/24000s" duration="1001/24000s" value="aleph: snow"/>
                        </asset-clip>
                        <sync-clip offset="86726640/24000s" name="Sync 1" start="120120/24000s" duration="96096/24000s" format="r1" tcFormat="NDF">
                            <asset-clip ref="r2" offset="0s" name="A002C007" duration="480480/24000s" format="r1" tcFormat="NDF">
                                <audio ref="r3" lane="-1" offset="0s" duration="480480/24000s" role="dialogue"/>
                            </asset-clip>
                            <marker start="144144/24000s" duration="1001/24000s" value="aleph: rain"/>
                            <sync-source sourceID="storyline"/>
                        </sync-clip>
                        <mc-clip ref="r6" offset="86822736/24000s" name="Interview MC" start="240240/24000s" duration="48048/24000s">
                            <mc-source angleID="b2" srcEnable="video"/>
                            <mc-source angleID="a1" srcEnable="audio"/>
                            <marker start="264264/24000s" duration="1001/24000s" value="aleph: fog"/>
                        </mc-clip>
                        <ref-clip ref="r8" offset="86870784/24000s" name="Compound 1" start="24024/24000s" duration="48048/24000s">
                            <marker start="48048/24000s" duration="1001/24000s" value="aleph: dusk"/>
                        </ref-clip>
                        <video ref="r9" offset="86918832/24000s" name="Custom" start="0s" duration="48048/24000s">
                            <marker start="1001/24000s" duration="1001/24000s" value="aleph: glow"/>
                        </video>
                    </spine>
                </sequence>
            </project>
        </event>
    </library>
</fcpxml>
"""


def bundle(folder: Path, body: str) -> Path:
    path = folder / "Doc.fcpxmld"
    path.mkdir()
    write(path, "Info.fcpxml", body)
    return path


def test_113_bundle_opens_sync_multicam_and_compound_clips(tmp_path: Path) -> None:
    p = plan(bundle(tmp_path, V113))
    # 23.976: tcStart 86486400/24000 s = frame 86400 = 01:00:00:00 (NDF).
    # A002C007: start frame 24, 240 frames; record 01:00:00:00.
    # Sync 1 at record frame 86400+240 = 86640 (01:00:10:00), its local start 120, 96 frames:
    #   the inner A002C007 (local = sync time) shows media frames 120..215.
    # Interview MC at record frame 86736 (01:00:14:00), multicam start 240, 48 frames; active
    #   video angle Cam B: B001C002 starts at multicam frame 48, so media frames 192..239.
    # Compound 1 at record frame 86784 (01:00:16:00), its sequence time 24..72: the inner
    #   A002C007 starts at media frame 1200, so media frames 1224..1271.
    assert shots(p) == [
        ("snow", "A002C007", "Primary storyline", 24, 240, "01:00:00:00"),
        ("rain", "A002C007", "Primary storyline", 120, 96, "01:00:10:00"),
        ("fog", "B001C002", "Primary storyline", 192, 48, "01:00:14:00"),
        ("dusk", "A002C007", "Primary storyline", 1224, 48, "01:00:16:00"),
    ]
    # The generator (record frame 86832 = 01:00:18:00) plans nothing; its marker at +1 frame.
    assert p.warnings == [
        "Doc.fcpxmld: ignored 1 marker(s) on the generator 'Custom' at 01:00:18:01: nothing "
        "to edit here; put the marker on the video clip under it"
    ]
    assert p.errors == []


def test_113_marker_anchors_worked_out_by_hand(tmp_path: Path) -> None:
    tl = read_timeline(bundle(tmp_path, V113)).timeline
    story = tl.tracks[0]
    # Where each marker points in its clip's media (frames at 23.976):
    # snow: 48; rain: sync frame 144 -> media 144; fog: multicam 264 -> angle B 264-48 = 216;
    # dusk: compound 48 -> media 1200+48 = 1248.
    anchors = {
        m.name: round(m.marked_range.start_time.value)
        for c in story
        if isinstance(c, otio.schema.Clip)
        for m in c.markers
    }
    assert anchors == {
        "aleph: snow": 48,
        "aleph: rain": 144,
        "aleph: fog": 216,
        "aleph: dusk": 1248,
        "aleph: glow": 1,
    }
    audio = [t for t in tl.tracks if t.kind == otio.schema.TrackKind.Audio]
    assert [c.name for t in audio for c in t.find_clips()] == ["Boom"]


def test_multicam_without_a_video_angle_is_refused_by_name(tmp_path: Path) -> None:
    body = V113.replace(
        '<mc-source angleID="b2" srcEnable="video"/>', '<mc-source angleID="b2" srcEnable="none"/>'
    )
    p = plan(bundle(tmp_path, body))
    assert [s.prompt for s in p.shots] == ["snow", "rain", "dusk"]
    assert p.errors == [
        "Doc.fcpxmld, track Primary storyline, clip Interview MC, 01:00:15:00, marker "
        "'aleph: fog': the multicam clip 'Interview MC' shows no video angle (its mc-source "
        "elements enable audio only); choose a video angle in Final Cut Pro's angle viewer and "
        "export again"
    ]


# --- 1.10: conform-rate (25p media in a 24p sequence) and timeMap speeds ------------------------

V110 = """<fcpxml version="1.10">
    <resources>
        <format id="r1" name="FFVideoFormat1080p24" frameDuration="100/2400s" width="1920" height="1080"/>
        <format id="r3" name="FFVideoFormat1080p25" frameDuration="100/2500s" width="1920" height="1080"/>
        <asset id="r2" name="PAL" uid="P" start="0s" duration="30s" hasVideo="1" format="r3" videoSources="1">
            <media-rep kind="original-media" sig="P" src="file:///Volumes/Media/PAL.mov"/>
        </asset>
    </resources>
    <library>
        <event name="E">
            <project name="Speeds">
                <sequence format="r1" duration="16s" tcStart="3600s" tcFormat="NDF">
                    <spine>
                        <asset-clip ref="r2" offset="3600s" name="Conformed" start="10s" duration="5s" format="r3" tcFormat="NDF">
                            <conform-rate srcFrameRate="25"/>
                            <marker start="264/25s" duration="2s" value="aleph: conformed"/>
                        </asset-clip>
                        <asset-clip ref="r2" offset="3605s" name="Real time" start="0s" duration="2s" format="r3" tcFormat="NDF">
                            <conform-rate scaleEnabled="0" srcFrameRate="25"/>
                            <marker start="1s" duration="1/25s" value="aleph: real time"/>
                        </asset-clip>
                        <asset-clip ref="r2" offset="3607s" name="Slow" start="20s" duration="4s" format="r3" tcFormat="NDF">
                            <timeMap>
                                <timept time="0s" value="0s" interp="smooth2"/>
                                <timept time="60s" value="30s" interp="smooth2"/>
                            </timeMap>
                            <marker start="22s" duration="2s" value="aleph: slow"/>
                        </asset-clip>
                        <asset-clip ref="r2" offset="3611s" name="Ramp" start="0s" duration="4s" format="r3" tcFormat="NDF">
                            <timeMap>
                                <timept time="0s" value="0s" interp="linear"/>
                                <timept time="2s" value="1s" interp="linear"/>
                                <timept time="4s" value="5s" interp="linear"/>
                            </timeMap>
                            <marker start="1s" duration="1/25s" value="aleph: ramp"/>
                        </asset-clip>
                    </spine>
                </sequence>
            </project>
        </event>
    </library>
</fcpxml>
"""


def test_110_conform_rate_and_time_maps(tmp_path: Path) -> None:
    p = plan(write(tmp_path, "speeds.fcpxml", V110))
    # Conformed (scaleEnabled defaults to 1, Apple's reference): 25p frames play 1:1 in the 24p
    #   sequence. start 10 s = media frame 250; the marker at media time 264/25 s is media
    #   frame 264, 14 frames in, so record 01:00:00:14; its 2 s of media = 50 frames.
    # Real time (scaleEnabled="0"): no conform, 2 s of the sequence play 2 s = 50 media frames.
    # Slow (timeMap 60 s -> 30 s: 50 %): clip time 22 s -> media 11 s = frame 275; its 2 s of
    #   clip time are 1 s of media = 25 frames; record 3607 + (22-20) = 3609 s -> 01:00:09:00.
    assert shots(p) == [
        ("conformed", "Conformed", "Primary storyline", 264, 50, "01:00:00:14"),
        ("real time", "Real time", "Primary storyline", 0, 50, "01:00:05:00"),
        ("slow", "Slow", "Primary storyline", 275, 25, "01:00:09:00"),
    ]
    # Ramp: 50 % then 200 %: refused per shot with the reason.
    assert p.errors == [
        "speeds.fcpxml, track Primary storyline, clip Ramp, 01:00:12:00, marker 'aleph: ramp': "
        "the clip has a time effect (speed ramp 50% to 200%) that cannot be mapped to "
        "media frames; render it or remove the effect"
    ]


# --- 1.8: asset@src (no media-rep), project at the top, 25p; lanes, storylines, audio ---------

V18 = """<fcpxml version="1.8">
    <resources>
        <format id="r1" name="FFVideoFormat1080p25" frameDuration="100/2500s" width="1920" height="1080"/>
        <asset id="r2" name="C010" uid="C1" src="file:///Volumes/Media/C010.mov" start="0s" duration="60s" hasVideo="1" format="r1" videoSources="1"/>
        <asset id="r3" name="Music" uid="M1" src="file:///Volumes/Sound/Music.wav" start="0s" duration="60s" hasAudio="1" audioSources="1" audioChannels="2" audioRate="48000"/>
        <asset id="r4" name="D020" uid="D2" src="file:///Volumes/Media/D020.mov" start="0s" duration="60s" hasVideo="1" format="r1" videoSources="1"/>
        <effect id="r5" name="Cross Dissolve" uid="FxPlug:4731E73A-8DAC-4113-9A30-AE85B1761265"/>
    </resources>
    <project name="Old">
        <sequence format="r1" duration="20s" tcStart="36000s" tcFormat="NDF">
            <spine>
                <asset-clip ref="r2" offset="36000s" name="C010" start="0s" duration="10s" format="r1" tcFormat="NDF">
                    <spine lane="1" offset="4s" format="r1">
                        <asset-clip ref="r4" offset="0s" name="D020 a" start="20s" duration="1s" format="r1"/>
                        <asset-clip ref="r4" offset="1s" name="D020 b" start="30s" duration="2s" format="r1">
                            <marker start="31s" duration="1/25s" value="aleph: storyline"/>
                        </asset-clip>
                    </spine>
                    <audio ref="r3" lane="-1" offset="0s" start="0s" duration="10s" role="music">
                        <marker start="2s" duration="1/25s" value="aleph: louder"/>
                    </audio>
                </asset-clip>
                <transition name="Cross Dissolve" offset="360095/10s" duration="1s">
                    <filter-video ref="r5" name="Cross Dissolve"/>
                </transition>
                <asset-clip ref="r2" offset="36010s" name="C010 b" start="40s" duration="10s" format="r1" tcFormat="NDF">
                    <marker start="45s" duration="2s" value="aleph: after the dissolve"/>
                </asset-clip>
            </spine>
        </sequence>
    </project>
</fcpxml>
"""


def test_18_old_asset_src_lanes_storylines_and_audio(tmp_path: Path) -> None:
    p = plan(write(tmp_path, "old.fcpxml", V18))
    # tcStart 36000 s = 10:00:00:00 at 25.
    # Storyline in lane 1 at C010's local 4 s: D020 b at storyline time 1 s -> record 5 s;
    #   its start 30 s; the point marker at 31 s means the whole clip: frames 750..799.
    # C010 b: start 40 s, record 10 s; marker 45 s..47 s -> frames 1125..1174, 10:00:15:00.
    assert shots(p) == [
        ("storyline", "D020 b", "Lane 1", 750, 50, "10:00:05:00"),
        ("after the dissolve", "C010 b", "Primary storyline", 1125, 50, "10:00:15:00"),
    ]
    assert p.errors == []
    # The music marker (record 2 s) is on audio only.
    assert p.warnings == [
        "old.fcpxml: ignored 1 marker(s) on the audio clip 'Music' (audio only) at 10:00:02:00: "
        "nothing to edit here; put the marker on the video clip under it"
    ]
    story = read_timeline(tmp_path / "old.fcpxml").timeline.tracks[0]
    # The dissolve is centred on the cut at 10 s: 0.5 s each side.
    transition = story[1]
    assert isinstance(transition, otio.schema.Transition)
    assert (transition.in_offset.value, transition.out_offset.value) == (12.5, 12.5)


# --- refusals: never a traceback ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (V111[: len(V111) // 2], "not well-formed XML"),
        (
            '<xmeml version="4"><sequence/></xmeml>',
            "not FCPXML: its root element is <xmeml> (that is FCP 7 XML",
        ),
        ('<fcpxml version="1.11"><resources/><event name="E"/></fcpxml>', "holds no project"),
        (V111.replace('frameDuration="100/2400s" ', ""), "has no frame rate"),
        (
            V111.replace('duration="5s"', 'duration="5x"'),
            "<asset-clip 'A001C003'> duration is not an FCPXML time: '5x'",
        ),
        (V111.replace('offset="3600s"', 'offset="1/0s"', 1), "divides by zero"),
        (V111.replace('lane="1"', 'lane="one"', 1), "<title 'Opener'> lane is not a number: 'one'"),
    ],
)
def test_broken_files_get_one_line(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, "bad.fcpxml", text)
    with pytest.raises(TimelineReadError) as caught:
        read_timeline(path)
    assert expected in str(caught.value)
    assert str(caught.value).startswith(str(path))
    assert "\n" not in str(caught.value)


def test_bundle_without_info_fcpxml(tmp_path: Path) -> None:
    (tmp_path / "Empty.fcpxmld").mkdir()
    with pytest.raises(TimelineReadError, match="holds Info.fcpxml, this folder does not"):
        read_timeline(tmp_path / "Empty.fcpxmld")


def test_an_asset_missing_from_resources_refuses_its_markers(tmp_path: Path) -> None:
    p = plan(
        write(
            tmp_path,
            "cut.fcpxml",
            V111.replace(
                '<asset-clip ref="r2" offset="3600s"', '<asset-clip ref="r20" offset="3600s"'
            ),
        )
    )
    assert p.errors[0].endswith(
        "the clip 'A001C003' refers to asset 'r20', which the file's <resources> do not hold; "
        "export the project again from Final Cut Pro"
    )


def test_otioconvert_reads_bundles_and_writes_fcpxml(tmp_path: Path) -> None:
    src = bundle(tmp_path, V113)
    out = tmp_path / "doc.otio"
    done = subprocess.run(
        [sys.executable, "-m", "opentimelineio.console.otioconvert", "-i", str(src), "-o", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    tl = otio.adapters.read_from_file(str(out))
    assert tl.global_start_time.value == 86400
    # Writing .fcpxml still works (handed to fcpx_xml), whichever adapter OTIO picks.
    old = read_timeline(write(tmp_path, "old.fcpxml", V18)).timeline
    otio.adapters.write_to_file(old, str(tmp_path / "again.fcpxml"), adapter_name="aleph_fcpxml")
    assert "<fcpxml" in (tmp_path / "again.fcpxml").read_text()


# --- end to end: real media, emulator, relinked ---------------------------------------------------


def test_run_with_the_emulator_relinks_an_fcpxml_cut(tmp_path: Path) -> None:
    media = make_video(tmp_path / "A001.mov", frames=96, rate=24)
    body = f"""<fcpxml version="1.11">
    <resources>
        <format id="r1" name="FFVideoFormat1080p24" frameDuration="100/2400s" width="320" height="180"/>
        <asset id="r2" name="A001" uid="A1" start="0s" duration="4s" hasVideo="1" format="r1" videoSources="1">
            <media-rep kind="original-media" sig="A1" src="{media.as_uri()}"/>
        </asset>
    </resources>
    <library><event name="E"><project name="Run">
        <sequence format="r1" duration="3s" tcStart="3600s" tcFormat="NDF">
            <spine>
                <asset-clip ref="r2" offset="3600s" name="A001" start="1/2s" duration="3s" format="r1">
                    <marker start="1s" duration="1s" value="aleph: make it snow"/>
                </asset-clip>
            </spine>
        </sequence>
    </project></event></library>
</fcpxml>
"""
    path = write(tmp_path, "run.fcpxml", body)
    out = tmp_path / "out.otio"
    env = {**os.environ, "RUNWARE_API_KEY": "k"}
    done = subprocess.run(
        [sys.executable, "-m", "aleph_otio", "run", str(path), "-o", str(out), "--emulator",
         "--emulator-latency", "0.1"],
        env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    tl = otio.adapters.read_from_file(str(out))
    assert tl.global_start_time.value == 86400
    versions = [
        c for t in tl.video_tracks() for c in t.find_clips() if "ALEPH" in (t.name + c.name)
    ]
    assert versions, [t.name for t in tl.video_tracks()]
    url = versions[0].media_reference.target_url
    assert url != media.as_uri() and Path(
        otio.url_utils.filepath_from_url(url) if url.startswith("file:") else url
    ).name.endswith(".mp4")
    # Marker 1 s..2 s of the clip's media = frames 24..47 (24 frames), at record 01:00:00:12.
    rng = versions[0].range_in_parent()
    assert (rng.start_time.value, rng.duration.value) == (12, 24)
    assert Fraction(versions[0].source_range.duration.value) == 24


# --- 29.97 drop-frame: time code shown as Final Cut Pro shows it ------------------------------

DF_2997 = """<fcpxml version="1.10">
    <resources>
        <format id="r1" name="FFVideoFormat1080p2997" frameDuration="1001/30000s" width="1920" height="1080" colorSpace="1-1-1 (Rec. 709)"/>
        <asset id="r2" name="C001" uid="C1" start="107999892/30000s" duration="300300/30000s" hasVideo="1" format="r1" videoSources="1">
            <media-rep kind="original-media" sig="C1" src="file:///Volumes/Media/C001.mov"/>
        </asset>
    </resources>
    <library>
        <event name="News">
            <project name="Package">
                <sequence format="r1" duration="60060/30000s" tcStart="107999892/30000s" tcFormat="DF">
                    <spine>
                        <asset-clip ref="r2" offset="107999892/30000s" name="C001" start="108029922/30000s" duration="60060/30000s" format="r1" tcFormat="DF">
                            <marker start="108029922/30000s" duration="60060/30000s" value="aleph: remove the boom mic"/>
                        </asset-clip>
                    </spine>
                </sequence>
            </project>
        </event>
    </library>
</fcpxml>
"""  # noqa: E501 - FCP's own long lines


def test_drop_frame_sequence_shows_drop_frame_time_code(tmp_path: Path) -> None:
    p = plan(write(tmp_path, "df.fcpxml", DF_2997), handles=0)
    assert p.errors == []
    # tcStart 107999892/30000 s = 107892 frames of 1001/30000 s = 01:00:00;00 drop-frame (it
    # would read 00:59:56:12 non-drop). The clip starts 30 frames into its asset, whose own
    # time code starts 01:00:00;00 too: source 01:00:01;00 for 60 frames, to 01:00:03;00.
    assert shots(p) == [("remove the boom mic", "C001", "Primary storyline", 30, 60, "01:00:00;00")]
    (segment,) = p.shots[0].segments
    assert (segment.source_tc_in, segment.source_tc_out) == ("01:00:01;00", "01:00:03;00")
