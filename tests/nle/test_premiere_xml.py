"""FCP 7 XML as Premiere Pro (xmeml 4) and DaVinci Resolve (xmeml 5) export it.

The fixtures are written here in the shape those NLEs write (element order, ids, ``<file
id>`` written once then referenced empty, ``<link>`` between a clip's video and audio
clipitems, ``<pproTicksIn>``, ``<masterclipid>``, ``<pproColor>``). Premiere copies every
master-clip marker into every clipitem of that clip and into its linked audio clipitems: only
the copy on the video clipitem that uses the marked frame is a request.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import opentimelineio as otio
import pytest

from aleph_otio.config import PlanSettings
from aleph_otio.errors import TimelineReadError
from aleph_otio.plan import plan_timeline
from aleph_otio.timeline import read_timeline, timecode
from aleph_otio.timeline.dialects.fcp7 import ppro_color
from aleph_otio.timeline.markers import scan_markers

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
TICKS = 254016000000 // 24  # Premiere ticks per frame at 24 fps
FILE_TC = 864000  # the camera file starts at 10:00:00:00 (24 fps)

RATE = "<rate>\n\t<timebase>24</timebase>\n\t<ntsc>FALSE</ntsc>\n</rate>"


def _marker(name: str, start: int, end: int = -1, *, comment: str = "", color: str = "") -> str:
    # Premiere: comment, name, in, out (-1 for a point), then pproColor unless green.
    ppro = f"\n\t<pproColor>{color}</pproColor>" if color else ""
    return (
        f"<marker>\n\t<comment>{comment}</comment>\n\t<name>{name}</name>\n"
        f"\t<in>{start}</in>\n\t<out>{end}</out>{ppro}\n</marker>"
    )


def _file(full: bool) -> str:
    if not full:
        return '<file id="file-1"/>'
    return f"""<file id="file-1">
	<name>A001C003.mov</name>
	<pathurl>file://localhost/Volumes/RAID/A001C003.mov</pathurl>
	{RATE}
	<duration>480</duration>
	<timecode>
		{RATE}
		<string>10:00:00:00</string>
		<frame>{FILE_TC}</frame>
		<displayformat>NDF</displayformat>
	</timecode>
	<media>
		<video>
			<samplecharacteristics>
				{RATE}
				<width>1920</width>
				<height>1080</height>
				<anamorphic>FALSE</anamorphic>
				<pixelaspectratio>square</pixelaspectratio>
				<fielddominance>none</fielddominance>
			</samplecharacteristics>
		</video>
		<audio>
			<samplecharacteristics>
				<depth>16</depth>
				<samplerate>48000</samplerate>
			</samplecharacteristics>
			<channelcount>2</channelcount>
		</audio>
	</media>
</file>"""


def _links(video_id: str, audio_id: str, index: int) -> str:
    return f"""<link>
	<linkclipref>{video_id}</linkclipref>
	<mediatype>video</mediatype>
	<trackindex>1</trackindex>
	<clipindex>{index}</clipindex>
</link>
<link>
	<linkclipref>{audio_id}</linkclipref>
	<mediatype>audio</mediatype>
	<trackindex>1</trackindex>
	<clipindex>{index}</clipindex>
	<groupindex>1</groupindex>
</link>"""


def _clipitem(
    item_id: str,
    start: int,
    end: int,
    source_in: int,
    source_out: int,
    *,
    full_file: bool,
    links: str,
    markers: str,
    audio: bool = False,
) -> str:
    track = "<sourcetrack>\n\t<mediatype>audio</mediatype>\n\t<trackindex>1</trackindex>\n"
    track += "</sourcetrack>\n" if audio else ""
    video_bits = (
        ""
        if audio
        else "<alphatype>none</alphatype>\n<pixelaspectratio>square</pixelaspectratio>\n"
        "<anamorphic>FALSE</anamorphic>\n"
    )
    return f"""<clipitem id="{item_id}"{' premiereChannelType="stereo"' if audio else ""}>
<masterclipid>masterclip-1</masterclipid>
<name>A001C003.mov</name>
<enabled>TRUE</enabled>
<duration>480</duration>
{RATE}
<start>{start}</start>
<end>{end}</end>
<in>{source_in}</in>
<out>{source_out}</out>
<pproTicksIn>{source_in * TICKS}</pproTicksIn>
<pproTicksOut>{source_out * TICKS}</pproTicksOut>
{video_bits}{_file(full_file)}
{track if audio else ""}{links}
<logginginfo>
	<description></description>
	<scene></scene>
	<shottake></shottake>
	<lognote></lognote>
</logginginfo>
<colorinfo>
	<lut></lut>
	<lut1></lut1>
	<asc_sop></asc_sop>
	<asc_sat></asc_sat>
	<lut2></lut2>
</colorinfo>
<labels>
	<label2>Iris</label2>
</labels>
{markers}
</clipitem>"""


#: The master clip's markers, in the camera file's own frames (0 = its first frame). Premiere
#: writes all of them into each of the four clipitems below.
MASTER_MARKERS = "\n".join(
    [
        _marker("aleph: relight the sky", 30),  # point, green (no pproColor)
        _marker("aleph: add snow", 220, 270, color="4281740498"),  # 50 frames, red
        _marker("aleph: warmer", 90, 150, comment="straddles the cut"),  # 60 frames
        _marker("call the DIT", 100),  # not a request: never counted
    ]
)


def premiere_xml(markers: tuple[str, str, str, str] = (MASTER_MARKERS,) * 4) -> str:
    """A Premiere Pro 2024 export: one 24 fps sequence starting 01:00:00:00, the camera file
    A001C003.mov (TC 10:00:00:00, 480 frames) cut in twice on V1, with linked stereo audio
    on A1.

    clipitem-1: record 0-96, source in 24 out 120 (file frames)
    clipitem-2: record 96-196, source in 200 out 300
    clipitem-3/-4: their audio (same ranges, linked)
    """
    v1 = _clipitem(
        "clipitem-1", 0, 96, 24, 120, full_file=True,
        links=_links("clipitem-1", "clipitem-3", 1), markers=markers[0],
    )  # fmt: skip
    v2 = _clipitem(
        "clipitem-2", 96, 196, 200, 300, full_file=False,
        links=_links("clipitem-2", "clipitem-4", 2), markers=markers[1],
    )  # fmt: skip
    a1 = _clipitem(
        "clipitem-3", 0, 96, 24, 120, full_file=False, audio=True,
        links=_links("clipitem-1", "clipitem-3", 1), markers=markers[2],
    )  # fmt: skip
    a2 = _clipitem(
        "clipitem-4", 96, 196, 200, 300, full_file=False, audio=True,
        links=_links("clipitem-2", "clipitem-4", 2), markers=markers[3],
    )  # fmt: skip
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE xmeml>
<xmeml version="4">
<sequence id="sequence-1" TL.SQAudioVisibleBase="0" TL.SQVideoVisibleBase="0" MZ.EditLine="0">
<uuid>5a1b2c3d-0000-4000-8000-00000000a001</uuid>
<duration>196</duration>
{RATE}
<name>Cut 01</name>
<media>
<video>
<format>
<samplecharacteristics>
{RATE}
<codec><name>Apple ProRes 422</name></codec>
<width>1920</width>
<height>1080</height>
<anamorphic>FALSE</anamorphic>
<pixelaspectratio>square</pixelaspectratio>
<fielddominance>none</fielddominance>
<colordepth>24</colordepth>
</samplecharacteristics>
</format>
<track TL.SQTrackShy="0" TL.SQTrackExpandedHeight="41" TL.SQTrackExpanded="0" MZ.TrackTargeted="1">
{v1}
{v2}
<enabled>TRUE</enabled>
<locked>FALSE</locked>
</track>
</video>
<audio>
<numOutputChannels>2</numOutputChannels>
<format>
<samplecharacteristics>
<depth>16</depth>
<samplerate>48000</samplerate>
</samplecharacteristics>
</format>
<track TL.SQTrackAudioKeyframeStyle="0" PannerCurrentValue="0.5" premiereTrackType="Stereo">
{a1}
{a2}
<enabled>TRUE</enabled>
<locked>FALSE</locked>
<outputchannelindex>1</outputchannelindex>
</track>
</audio>
</media>
<timecode>
{RATE}
<string>01:00:00:00</string>
<frame>86400</frame>
<displayformat>NDF</displayformat>
</timecode>
<labels>
<label2>Forest</label2>
</labels>
</sequence>
</xmeml>
"""


OUTSIDE_LINE = (
    "premiere_cut.xml: ignored 3 copies of clip markers outside the part of the clip the edit "
    "uses (Premiere copies every clip marker into every use of the clip)"
)
AUDIO_LINE = (
    "premiere_cut.xml: ignored 6 audio copies of clip markers already on the video of the same "
    "clip (Premiere copies clip markers into the linked audio)"
)


@pytest.fixture
def premiere_cut(tmp_path: Path) -> Path:
    path = tmp_path / "premiere_cut.xml"
    path.write_text(premiere_xml(), encoding="utf-8")
    return path


def _record_tc(piece_record: TR) -> tuple[str, str]:
    start = piece_record.start_time + RT(86400, 24)
    return timecode(start), timecode(start + piece_record.duration)


def test_only_in_range_copies_of_master_clip_markers_are_requests(premiere_cut: Path) -> None:
    scan = scan_markers(read_timeline(premiere_cut), PlanSettings())
    assert scan.errors == []
    # Worked out by hand (file frames; the source TC adds 10:00:00:00 = 864000):
    # - "relight the sky" at file frame 30 lies in clipitem-1 (24..120): a point marker, so
    #   the whole clip, source 864024..864120 = 10:00:01:00-10:00:05:00, record
    #   01:00:00:00-01:00:04:00. Its copy on clipitem-2 (200..300) is outside: ignored.
    # - "warmer" 90..150 straddles clipitem-1's out point (120): 90..120 is used, source
    #   10:00:03:18-10:00:05:00, record 0 + (90 - 24) = 66 -> 01:00:02:18-01:00:04:00, with
    #   the "extends past its clip" warning. Its copy on clipitem-2 is outside: ignored.
    # - "add snow" 220..270 lies in clipitem-2 (200..300): source 10:00:09:04-10:00:11:06,
    #   record 96 + (220 - 200) = 116 -> 01:00:04:20-01:00:06:22. Its clipitem-1 copy: ignored.
    found = [
        (
            m.prompt,
            m.pieces[0].clip_index,
            m.pieces[0].source_range,
            _record_tc(m.pieces[0].record_range),
            m.warnings,
        )
        for m in scan.ranges
    ]
    assert found == [
        ("relight the sky", 0, TR(RT(864024, 24), RT(96, 24)),
         ("01:00:00:00", "01:00:04:00"), []),
        ("warmer", 0, TR(RT(864090, 24), RT(30, 24)), ("01:00:02:18", "01:00:04:00"),
         ["marker extends past its clip; only the part on the clip is used"]),
        ("add snow", 1, TR(RT(864220, 24), RT(50, 24)), ("01:00:04:20", "01:00:06:22"), []),
    ]  # fmt: skip
    # Three requests x (one out-of-range video copy) and x (two audio copies); the marker
    # that is no request ("call the DIT") is not counted.
    assert scan.warnings == [OUTSIDE_LINE, AUDIO_LINE]


def test_premiere_plan_prints_one_line_per_kind_of_copy_and_no_error(premiere_cut: Path) -> None:
    plan = plan_timeline(read_timeline(premiere_cut), PlanSettings())
    assert plan.errors == []
    assert plan.warnings == [OUTSIDE_LINE, AUDIO_LINE]
    exact = {s.prompt: s.segments[0] for s in plan.shots}
    relight, snow = exact["relight the sky"], exact["add snow"]
    assert (relight.clip_name, relight.source_tc_in, relight.record_tc_in) == (
        "A001C003.mov", "10:00:01:00", "01:00:00:00",
    )  # fmt: skip
    assert (snow.clip_name, snow.source_tc_in, snow.record_tc_in) == (
        "A001C003.mov", "10:00:09:04", "01:00:04:20",
    )  # fmt: skip


def test_premiere_marker_colours_come_from_ppro_color(premiere_cut: Path) -> None:
    # Green is Premiere's default and written as no <pproColor>; OTIO reads every FCP 7
    # marker as RED, so without the dialect --marker-color red would take all of them.
    scan = scan_markers(read_timeline(premiere_cut), PlanSettings(prefix="", marker_color="red"))
    assert [(m.prompt, m.marker_color) for m in scan.ranges] == [("aleph: add snow", "RED")]
    green = scan_markers(read_timeline(premiere_cut), PlanSettings(prefix="", marker_color="green"))
    # Point markers cover their whole clip (record 0), "warmer" starts at record 66.
    assert [m.marker_name for m in green.ranges] == [
        "aleph: relight the sky", "call the DIT", "aleph: warmer",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("number", "color"),
    [
        ("4281740498", "RED"), ("4280578025", "ORANGE"), ("4281049552", "YELLOW"),
        ("4294967295", "WHITE"), ("4294741314", "BLUE"), ("4289825711", "PURPLE"),
        ("4292277273", "CYAN"), ("4278255360", "GREEN"), ("junk", None), ("-1", None),
    ],
)  # fmt: skip
def test_ppro_color_numbers(number: str, color: str | None) -> None:
    # 0xAABBGGRR: 4281740498 = 0xFF362CD2 -> R 210, G 44, B 54 (Premiere's red swatch).
    assert ppro_color(number) == color


def test_a_stray_marker_outside_its_clip_in_one_clipitem_keeps_its_error(tmp_path: Path) -> None:
    # The same Premiere file, but the marker exists once (on clipitem-2 only, at file frame
    # 30, before its in point 200): an editor put it there, so it is refused, not counted.
    text = premiere_xml(("", _marker("aleph: stray", 30), "", ""))
    path = tmp_path / "stray.xml"
    path.write_text(text, encoding="utf-8")
    scan = scan_markers(read_timeline(path), PlanSettings())
    assert scan.ranges == [] and scan.warnings == []
    # 30 file frames = 10:00:01:06; the clip uses 200..300 = 10:00:08:08-10:00:12:12. The
    # location is the clip's record start (96 -> 01:00:04:00), never a negative timecode.
    assert scan.errors == [
        "stray.xml, track V1, clip A001C003.mov, 01:00:04:00, marker 'aleph: stray': "
        "marker at source 10:00:01:06 is outside its clip: it is 170 frames before its first "
        "frame (the clip uses 10:00:08:08-10:00:12:12); move it onto the clip"
    ]


def resolve_xml() -> str:
    """A DaVinci Resolve 18 export (xmeml 5): 25 fps timeline at 01:00:00:00, clip B012C004.mov
    (TC 14:20:00:00 = 1290000 at 25 fps, 500 frames) cut in at record 0-75 from file frames
    100-175; Resolve writes each marker once, on the clipitem it was put on."""
    rate = "<rate>\n\t<timebase>25</timebase>\n\t<ntsc>FALSE</ntsc>\n</rate>"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE xmeml>
<xmeml version="5">
    <sequence id="Timeline 1">
        <name>Timeline 1</name>
        <duration>75</duration>
        {rate}
        <in>-1</in>
        <out>-1</out>
        <timecode>
            <string>01:00:00:00</string>
            <frame>90000</frame>
            <displayformat>NDF</displayformat>
            {rate}
        </timecode>
        <media>
            <video>
                <track>
                    <clipitem id="B012C004.mov 0">
                        <name>B012C004.mov</name>
                        <duration>500</duration>
                        {rate}
                        <start>0</start>
                        <end>75</end>
                        <enabled>TRUE</enabled>
                        <in>100</in>
                        <out>175</out>
                        <file id="B012C004.mov 2">
                            <duration>500</duration>
                            {rate}
                            <name>B012C004.mov</name>
                            <pathurl>file:///Users/grade/Media/B012C004.mov</pathurl>
                            <timecode>
                                <string>14:20:00:00</string>
                                <displayformat>NDF</displayformat>
                                {rate}
                            </timecode>
                            <media>
                                <video>
                                    <duration>500</duration>
                                    <samplecharacteristics>
                                        <width>3840</width>
                                        <height>2160</height>
                                    </samplecharacteristics>
                                </video>
                            </media>
                        </file>
                        <compositemode>normal</compositemode>
                        <marker>
                            <name>aleph: remove the boom</name>
                            <comment></comment>
                            <in>120</in>
                            <out>170</out>
                        </marker>
                        <marker>
                            <name>aleph: left over</name>
                            <comment></comment>
                            <in>400</in>
                            <out>-1</out>
                        </marker>
                        <comments/>
                    </clipitem>
                    <enabled>TRUE</enabled>
                    <locked>FALSE</locked>
                </track>
                <format>
                    <samplecharacteristics>
                        <width>3840</width>
                        <height>2160</height>
                        <pixelaspectratio>square</pixelaspectratio>
                        {rate}
                    </samplecharacteristics>
                </format>
            </video>
        </media>
    </sequence>
</xmeml>
"""


def test_resolve_xmeml_5_marker_once_is_a_request_or_its_own_error(tmp_path: Path) -> None:
    path = tmp_path / "Timeline 1.xml"
    path.write_text(resolve_xml(), encoding="utf-8")
    scan = scan_markers(read_timeline(path), PlanSettings())
    # "remove the boom": file frames 120..170 on a clip using 100..175: source
    # 1290120..1290170 = 14:20:04:20-14:20:06:20, record 20..70 -> 01:00:00:20-01:00:02:20.
    (boom,) = scan.ranges
    piece = boom.pieces[0]
    assert (boom.prompt, piece.clip.name) == ("remove the boom", "B012C004.mov")
    assert piece.source_range == TR(RT(1290120, 25), RT(50, 25))
    start = piece.record_range.start_time + RT(90000, 25)
    assert (timecode(start), timecode(start + piece.record_range.duration)) == (
        "01:00:00:20", "01:00:02:20",
    )  # fmt: skip
    # "left over" (file frame 400 = 14:20:16:00) exists once: not a copy, so its own error;
    # no ignored-copies line. The clip ends at 175, so it is 400 - 175 + 1 = 226 frames after
    # the clip's last frame; the location is the clip's last record frame (74 = 01:00:02:24).
    assert scan.warnings == []
    assert scan.errors == [
        "Timeline 1.xml, track V1, clip B012C004.mov, 01:00:02:24, marker 'aleph: left over': "
        "marker at source 14:20:16:00 is outside its clip: it is 226 frames after its last "
        "frame (the clip uses 14:20:04:00-14:20:07:00); move it onto the clip"
    ]


@pytest.mark.parametrize(
    "broken",
    [
        lambda t: t[: len(t) // 2],  # truncated
        lambda t: t.replace("<in>30</in>", "", 1),  # a marker without its in point
        lambda t: t.replace("<timebase>24</timebase>", "<timebase>0</timebase>", 1),
        lambda t: t.replace("<pproColor>4281740498</pproColor>", "<pproColor>x</pproColor>"),
    ],
)
def test_damaged_premiere_files_are_one_line_never_a_traceback(
    tmp_path: Path, broken: Callable[[str], str]
) -> None:
    path = tmp_path / "damaged.xml"
    path.write_text(broken(premiere_xml()), encoding="utf-8")
    try:
        plan = plan_timeline(read_timeline(path), PlanSettings())
    except TimelineReadError as exc:
        assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)
    else:
        assert all("\n" not in line for line in plan.errors + plan.warnings)


# A 29.97 drop-frame sequence as Premiere writes one: the sequence's and the file's <timecode>
# carry <displayformat>DF</displayformat> and a ';' string.
NTSC = "<rate>\n\t<timebase>30</timebase>\n\t<ntsc>TRUE</ntsc>\n</rate>"
DF_XML = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE xmeml>
<xmeml version="4">
<sequence id="sequence-1">
<uuid>3c5e1a2b-0f6d-4c39-9e0a-5b7d1f2e4a68</uuid>
<duration>60</duration>
{NTSC}
<name>News DF</name>
<media><video><format><samplecharacteristics>{NTSC}<width>1920</width><height>1080</height>
</samplecharacteristics></format>
<track>
<clipitem id="clipitem-1">
<masterclipid>masterclip-1</masterclipid>
<name>C001.mov</name>
<enabled>TRUE</enabled>
<duration>300</duration>
{NTSC}
<start>0</start>
<end>60</end>
<in>30</in>
<out>90</out>
<file id="file-1">
<name>C001.mov</name>
<pathurl>file://localhost/Volumes/Media/C001.mov</pathurl>
{NTSC}
<duration>300</duration>
<timecode>{NTSC}<string>01:00:00;00</string><frame>107892</frame>
<displayformat>DF</displayformat></timecode>
<media><video><samplecharacteristics>{NTSC}<width>1920</width><height>1080</height>
</samplecharacteristics></video></media>
</file>
<marker><comment></comment><name>aleph: remove the boom mic</name><in>30</in><out>90</out>
</marker>
</clipitem>
</track>
</video></media>
<timecode>{NTSC}<string>01:00:00;00</string><frame>107892</frame>
<displayformat>DF</displayformat></timecode>
</sequence>
</xmeml>
"""


def test_drop_frame_sequence_shows_drop_frame_time_code(tmp_path: Path) -> None:
    path = tmp_path / "news_df.xml"
    path.write_text(DF_XML, encoding="utf-8")
    plan = plan_timeline(read_timeline(path), PlanSettings(handles=0), media_facts=None)
    assert plan.errors == []
    # The clip uses file frames 30-89 (in 30, out 90) from record frame 0 of a sequence that
    # starts at 01:00:00;00 (frame 107892); the file starts 01:00:00;00 too, so its frame 30
    # is 01:00:01;00. Non-drop, the record in would read 00:59:56:12.
    (shot,) = plan.shots
    (segment,) = shot.segments
    assert (segment.media_start_frame, segment.media_frame_count) == (30, 60)
    assert segment.record_tc_in == "01:00:00;00"
    assert (segment.source_tc_in, segment.source_tc_out) == ("01:00:01;00", "01:00:03;00")
