"""OTIO files as Hiero/Nuke Studio, DaVinci Resolve and Premiere Pro export them.

Hiero's exporters (OpenTimelineIO's contrib ``OTIOExportTask``, OpenPype/AYON's
``hiero_export``) build the timeline with OTIO's Python API and write it with
``otio.adapters.write_to_file``; the fixtures below are built the same way, with the metadata
each exporter writes, and go through a real ``.otio`` file. Resolve (``Resolve_OTIO``) and
Premiere (``PremierePro_OTIO``) write the same JSON schema with their own metadata.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import opentimelineio as otio

from aleph_otio.config import PlanSettings
from aleph_otio.plan import plan_timeline
from aleph_otio.timeline import read_timeline, timecode
from aleph_otio.timeline.markers import MarkerScan, scan_markers

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
HOUR = 86400  # 01:00:00:00 at 24 fps


def tr(start: float, duration: float, rate: float = 24) -> otio.opentime.TimeRange:
    return TR(RT(start, rate), RT(duration, rate))


def _clip(
    name: str, source: tuple[float, float], avail: tuple[float, float], **metadata: Any
) -> otio.schema.Clip:
    ref = otio.schema.ExternalReference(
        target_url=f"/shows/abc/plates/{name}.mov", available_range=tr(*avail)
    )
    return otio.schema.Clip(
        name=name, media_reference=ref, source_range=tr(*source), metadata=metadata
    )


def _write(tmp_path: Path, name: str, timeline: otio.schema.Timeline) -> Path:
    path = tmp_path / name
    otio.adapters.write_to_file(timeline, str(path))
    return path


def _found(scan: MarkerScan, start: float = HOUR) -> list[tuple[str, str, Any, tuple[str, str]]]:
    """(prompt, clip, source range, record TC in/out) of every request, record order."""
    out = []
    for marked in scan.ranges:
        piece = marked.pieces[0]
        rec = piece.record_range.start_time + RT(start, 24)
        out.append(
            (
                marked.prompt,
                piece.clip.name,
                piece.source_range,
                (timecode(rec), timecode(rec + piece.record_range.duration)),
            )
        )
    return out


# --- Hiero / Nuke Studio ------------------------------------------------------------------------


def _hiero_tag(
    name: str, note: str, *, whole: bool, length: int = 0, on: str = "TrackItem"
) -> dict[str, Any]:
    """A tag as OTIOExportTask.add_markers writes it: at tag.inTime() (0 for a track item's
    whole-item tag), Hiero's tag metadata dict under "Hiero", colour from the tag's icon."""
    return {
        "name": name,
        "color": otio.schema.MarkerColor.RED,
        "metadata": {
            "Hiero": {
                "tag.applieswhole": "1" if whole else "0",
                "tag.label": name,
                "tag.note": note,
                "tag.length": str(length),
                "source_type": on,
            }
        },
    }


def hiero_timeline() -> otio.schema.Timeline:
    """A Nuke Studio sequence at 01:00:00:00 (24 fps) with two plates on "Video 1":

    sh010: plate TC 01:00:00:00 (avail 86400 + 240), source 86476 + 48 (01:00:03:04), record 0
    sh020: plate avail 86400 + 240, source 86500 + 72 (01:00:04:04), record 48
    """
    sh010 = _clip("sh010", (HOUR + 76, 48), (HOUR, 240))
    sh020 = _clip("sh020", (HOUR + 100, 72), (HOUR, 240))
    # Whole-item tag on sh010: inTime 0, relative to the track item (not its source frames).
    tag = _hiero_tag("Aleph", "aleph: replace the shop sign", whole=True)
    sh010.markers.append(otio.schema.Marker(marked_range=tr(0, 0), **tag))
    # A ranged tag on sh020's source clip: 24 frames from source 86510 (clip source space).
    ranged = _hiero_tag("Aleph", "aleph: sky to dusk", whole=False, length=24, on="Clip")
    sh020.markers.append(otio.schema.Marker(marked_range=tr(HOUR + 110, 24), **ranged))
    # A tag that is no request ("Approved"), and a ranged tag left at 0 by a broken script.
    ok = _hiero_tag("Approved", "", whole=True)
    sh020.markers.append(otio.schema.Marker(marked_range=tr(0, 0), **ok))
    stray = _hiero_tag("Aleph", "aleph: lost", whole=False, length=12, on="Clip")
    sh020.markers.append(otio.schema.Marker(marked_range=tr(0, 12), **stray))
    track = otio.schema.Track(name="Video 1", kind=otio.schema.TrackKind.Video)
    track.extend([sh010, sh020])
    timeline = otio.schema.Timeline(name="abc_edit_v012", global_start_time=RT(HOUR, 24))
    timeline.tracks.append(track)
    return timeline


def test_hiero_whole_item_tags_are_whole_clip_requests(tmp_path: Path) -> None:
    scan = scan_markers(
        read_timeline(_write(tmp_path, "abc_edit_v012.otio", hiero_timeline())), PlanSettings()
    )
    # By hand:
    # - sh010's tag (applieswhole 1, at 0) means the whole clip: source 86476..86524
    #   (01:00:03:04-01:00:05:04), record 0..48 -> 01:00:00:00-01:00:02:00; the prompt is the
    #   tag's note.
    # - sh020's ranged tag 86510 + 24 lies in its source 86500..86572: source
    #   01:00:04:14-01:00:05:14, record 48 + (86510 - 86500) = 58 -> 01:00:02:10-01:00:03:10.
    assert _found(scan) == [
        ("replace the shop sign", "sh010", tr(HOUR + 76, 48), ("01:00:00:00", "01:00:02:00")),
        ("sky to dusk", "sh020", tr(HOUR + 110, 24), ("01:00:02:10", "01:00:03:10")),
    ]
    # The ranged tag at 0 is outside its clip: reported at the clip's first record frame
    # (48 = 01:00:02:00) and in frames from the clip, never as -00:59:55:... .
    assert scan.errors == [
        "abc_edit_v012.otio, track Video 1, clip sh020, 01:00:02:00, marker 'Aleph': marker "
        "00:00:00:00-00:00:00:12 is outside its clip: it ends 86489 frames before its first "
        "frame (the clip uses 01:00:04:04-01:00:07:04); move it onto the clip"
    ]
    assert not any(re.search(r"(^|[ (,])-\d\d:", line) for line in scan.errors)


def test_openpype_hiero_export_flat_tag_metadata(tmp_path: Path) -> None:
    # OpenPype/AYON's hiero_export strips "tag." and literal_evals the values: applieswhole
    # is the number 1, the note and the source type sit at the top of the marker metadata.
    timeline = hiero_timeline()
    sh010 = timeline.tracks[0][0]
    sh010.markers[0].metadata.clear()
    sh010.markers[0].metadata.update(
        {
            "applieswhole": 1,
            "label": "Aleph",
            "note": "aleph: replace the shop sign",
            "hiero_source_type": "TrackItem",
        }
    )
    plan = plan_timeline(read_timeline(_write(tmp_path, "op.otio", timeline)), PlanSettings())
    shot = next(s for s in plan.shots if s.prompt == "replace the shop sign")
    # Whole clip sh010: source 01:00:03:04, record 01:00:00:00, 48 frames.
    seg = shot.segments[0]
    assert (seg.clip_name, seg.source_tc_in, seg.record_tc_in, seg.media_frame_count) == (
        "sh010", "01:00:03:04", "01:00:00:00", 48,
    )  # fmt: skip


# --- DaVinci Resolve 18.5+ ----------------------------------------------------------------------


def resolve_timeline() -> otio.schema.Timeline:
    """Resolve's own export: Resolve_OTIO metadata on the timeline, tracks, clips and markers;
    clip markers in the clip's source frames, one frame long for a point marker."""
    a = _clip("A003C012", (HOUR + 24, 96), (HOUR, 480), Resolve_OTIO={"Link Group ID": 1})
    b = _clip("A003C015", (HOUR + 200, 60), (HOUR, 480), Resolve_OTIO={"Link Group ID": 2})

    def marker(
        name: str, at: float, length: float, color: str, rcolor: str, note: str
    ) -> otio.schema.Marker:
        return otio.schema.Marker(
            name=name,
            marked_range=tr(at, length),
            color=color,
            metadata={"Resolve_OTIO": {"Color": rcolor, "Keywords": [], "Note": note}},
        )

    a.markers.append(marker("Marker 1", HOUR + 48, 1, "BLUE", "Blue", "aleph: clean plate"))
    b.markers.append(marker("Sky", HOUR + 210, 30, "WHITE", "Cream", "dusk, orange sky"))
    track = otio.schema.Track(
        name="Video 1", kind=otio.schema.TrackKind.Video, metadata={"Resolve_OTIO": {"Locked": 0}}
    )
    track.extend([a, b])
    timeline = otio.schema.Timeline(
        name="Timeline 1",
        global_start_time=RT(HOUR, 24),
        metadata={"Resolve_OTIO": {"Resolve OTIO Meta Version": "1.0"}},
    )
    timeline.tracks.append(track)
    return timeline


def test_resolve_otio_note_is_the_prompt_and_colours_by_resolve_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "Timeline 1.otio", resolve_timeline())
    # "Marker 1": its Note holds the request; one frame long = the whole clip A003C012:
    # source 86424..86520 (01:00:01:00-01:00:05:00), record 01:00:00:00-01:00:04:00.
    scan = scan_markers(read_timeline(path), PlanSettings())
    assert _found(scan) == [
        ("clean plate", "A003C012", tr(HOUR + 24, 96), ("01:00:00:00", "01:00:04:00"))
    ]
    # The cream marker, chosen by Resolve's colour name (OTIO has no cream): on B's source
    # 86600..86660 the marker 86610 + 30 -> record 96 + 10 = 106 -> 01:00:04:10-01:00:05:16;
    # the note is the prompt.
    cream = scan_markers(read_timeline(path), PlanSettings(prefix="", marker_color="cream"))
    assert _found(cream) == [
        ("dusk, orange sky", "A003C015", tr(HOUR + 210, 30), ("01:00:04:10", "01:00:05:16"))
    ]
    assert cream.errors == [] and scan.errors == []


# --- Premiere Pro 25 ----------------------------------------------------------------------------


def premiere_timeline() -> otio.schema.Timeline:
    """Premiere's OTIO export: PremierePro_OTIO metadata; the camera file C0042.MP4 cut in
    twice on Video 1 (source 86424 + 48 and 86600 + 48), each with its linked audio (LinkID);
    the master clip's marker (86430, 24 frames, note in OTIO's comment) copied into all four."""
    clips = []
    for link, start in ((1, HOUR + 24), (2, HOUR + 200)):
        for kind in ("video", "audio"):
            clip = _clip(
                "C0042", (start, 48), (HOUR, 480),
                PremierePro_OTIO={"LinkID": str(link), "SourceClipIndex": 0},
            )  # fmt: skip
            mark = otio.schema.Marker(
                name="Marker", marked_range=tr(HOUR + 30, 24), comment="aleph: sharpen the logo"
            )
            clip.markers.append(mark)
            clips.append((kind, clip))
    video = otio.schema.Track(name="Video 1", kind=otio.schema.TrackKind.Video)
    audio = otio.schema.Track(name="Audio 1", kind=otio.schema.TrackKind.Audio)
    video.extend([c for k, c in clips if k == "video"])
    audio.extend([c for k, c in clips if k == "audio"])
    timeline = otio.schema.Timeline(
        name="Sequence 01",
        global_start_time=RT(0, 24),
        metadata={"PremierePro_OTIO": {"MetadataVersion": "1.0"}},
    )
    timeline.tracks.extend([video, audio])
    return timeline


def test_premiere_otio_copies_of_master_clip_markers_are_counted(tmp_path: Path) -> None:
    scan = scan_markers(
        read_timeline(_write(tmp_path, "Sequence 01.otio", premiere_timeline())), PlanSettings()
    )
    # The first use (86424..86472) holds 86430 + 24: source 01:00:00:06-01:00:01:06, record
    # 0 + 6 -> 00:00:00:06-00:00:01:06. The second use (86600..) does not: a copy, ignored;
    # both audio copies too.
    assert _found(scan, start=0) == [
        ("sharpen the logo", "C0042", tr(HOUR + 30, 24), ("00:00:00:06", "00:00:01:06"))
    ]
    assert scan.errors == []
    assert scan.warnings == [
        "Sequence 01.otio: ignored 1 copies of clip markers outside the part of the clip the "
        "edit uses (Premiere copies every clip marker into every use of the clip)",
        "Sequence 01.otio: ignored 2 audio copies of clip markers already on the video of the "
        "same clip (Premiere copies clip markers into the linked audio)",
    ]


def test_plain_otio_files_are_untouched(tmp_path: Path) -> None:
    # The same cut without Premiere's metadata: the second use's marker is outside its clip
    # and refused, the audio ones are on audio clips: nothing is taken for a copy.
    timeline = premiere_timeline()
    timeline.metadata.clear()
    scan = scan_markers(read_timeline(_write(tmp_path, "plain.otio", timeline)), PlanSettings())
    assert len(scan.ranges) == 1 and scan.warnings == []
    assert len(scan.errors) == 3
    assert sum("outside its clip" in e for e in scan.errors) == 1
    assert sum("on an audio clip" in e for e in scan.errors) == 2
