"""What the adapter's clips learn from their events: media names, event numbers, Resolve markers.

OTIO's adapter keeps ``FROM CLIP NAME`` as the clip's name and ``SOURCE FILE`` only inside an
unsorted comment list; a dissolve's incoming clip is named by ``TO CLIP NAME`` and its
``FROM CLIP NAME`` names the *outgoing* clip. Each clip is tagged with its event while
preparing (:func:`.prepare.tag_of`), so here every clip gets the names of its own source in
``metadata["cmx_3600"]`` (``event``, ``clip_name``, ``source_file``), and Resolve's marker
lines become real markers.
"""

from __future__ import annotations

from collections.abc import Iterator

import opentimelineio as otio

from aleph_otio.timeline.dialects.edl.events import ResolveMarker
from aleph_otio.timeline.dialects.edl.prepare import Prepared, names_of, speed_of, tag_of

RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange

#: Resolve's marker colours on OTIO's (the raw name stays in metadata for --marker-color).
RESOLVE_COLORS = {
    "BLUE": "BLUE", "CYAN": "CYAN", "GREEN": "GREEN", "YELLOW": "YELLOW", "RED": "RED",
    "PINK": "PINK", "PURPLE": "PURPLE", "FUCHSIA": "MAGENTA", "ROSE": "PINK",
    "LAVENDER": "PURPLE", "SKY": "CYAN", "MINT": "GREEN", "LEMON": "YELLOW", "SAND": "ORANGE",
    "COCOA": "ORANGE", "CREAM": "WHITE",
}  # fmt: skip


def _clips(timeline: otio.schema.Timeline) -> Iterator[tuple[otio.schema.Track, otio.schema.Clip]]:
    for track in timeline.tracks:
        if isinstance(track, otio.schema.Track):
            for child in track:
                if isinstance(child, otio.schema.Clip):
                    yield track, child


def _basename(value: str) -> str:
    return value.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].strip()


def resolve_marker(found: ResolveMarker, start: otio.opentime.RationalTime) -> otio.schema.Marker:
    """A Resolve marker line as an OTIO marker at ``start`` (record time, as ``* LOC:``)."""
    raw = found.color.strip()
    plain = raw.upper().removeprefix("RESOLVECOLOR")
    marker = otio.schema.Marker(
        name=found.name,
        marked_range=TR(start, RT(found.frames, start.rate)),
        color=RESOLVE_COLORS.get(plain, "RED"),
        metadata={"cmx_3600": {"color": raw}},
    )
    marker.comment = found.note
    return marker


def decorate(timeline: otio.schema.Timeline, prepared: Prepared) -> None:
    """Event facts onto the adapter's clips; marker copies on linked audio dropped."""
    seen: set[int] = set()
    by_record: list[tuple[float, float, otio.schema.Clip]] = []
    rate = prepared.rate
    for track, clip in _clips(timeline):
        cmx = dict(clip.metadata.get("cmx_3600", {}))
        comments = list(cmx.get("comments", []))
        index = next((i for i in prepared.events if tag_of(i) in comments), None)
        if index is None:
            continue
        comments = [c for c in comments if c != tag_of(index)]
        if comments:
            cmx["comments"] = comments
        else:
            cmx.pop("comments", None)
        event = prepared.events[index]
        cmx["event"] = event.number
        names = names_of(event)
        if names:
            cmx["clip_name"] = names[0]
        source = event.value("SOURCE FILE")
        if source:
            cmx["source_file"] = source
        if event.media.reel.upper() != "AX":
            cmx["reel"] = event.media.reel
        clip.metadata["cmx_3600"] = cmx
        speed = speed_of(event)
        if speed is not None:
            # M2: frames of source per second of record (reverse < 0, a freeze 0), as OTIO
            # models a retime: the source range is the record's length, scaled by the effect.
            del clip.effects[:]
            scalar = speed / rate
            clip.effects.append(
                otio.schema.FreezeFrame()
                if scalar == 0
                else otio.schema.LinearTimeWarp(time_scalar=scalar)
            )
        video = track.kind == otio.schema.TrackKind.Video
        if index in seen or not video:
            # An AA/V or B event is one event on several tracks: its markers mean the picture.
            if not video:
                del clip.markers[:]
            continue
        seen.add(index)
        record_in = otio.opentime.from_timecode(event.media.tcs[2], rate)
        for found in event.markers:
            clip.markers.append(resolve_marker(found, record_in))
        by_record.append((record_in.value, record_in.value + clip.duration().value, clip))
    _place(prepared, by_record)


def _place(prepared: Prepared, by_record: list[tuple[float, float, otio.schema.Clip]]) -> None:
    """Resolve's marker-only events onto the video clip under each (a marker EDL of its own
    has none: that is said once)."""
    if prepared.floating and not by_record:
        count = sum(len(e.markers) for e in prepared.floating)
        prepared.warnings.append(
            f"holds {count} marker(s) and no edit (DaVinci Resolve's timeline-marker EDL): "
            "export the edit itself (an EDL of the timeline, or AAF/XML/OTIO) to plan them"
        )
        return
    for event in prepared.floating:
        at = otio.opentime.from_timecode(event.media.tcs[2], prepared.rate)
        clip = next((c for a, b, c in by_record if a <= at.value < b), None)
        for found in event.markers:
            if clip is None:
                prepared.warnings.append(
                    f"event {event.number:03d}: marker {found.name!r} at {event.media.tcs[2]} "
                    "is on no video clip of the edit, skipped"
                )
            else:
                clip.markers.append(resolve_marker(found, at))


def media_names(clip: otio.schema.Clip) -> list[tuple[str, str]]:
    """The names an EDL clip's media may have, most trusted first, each with its origin."""
    cmx = clip.metadata.get("cmx_3600", {})
    found: list[tuple[str, str]] = []

    def add(value: object, where: str) -> None:
        if isinstance(value, str) and value.strip():
            name = _basename(value)
            if name and all(name.lower() != have.lower() for have, _ in found):
                found.append((name, where))

    add(cmx.get("clip_name"), "FROM CLIP NAME")
    add(cmx.get("source_file"), "SOURCE FILE")
    add(cmx.get("reel"), "reel name")
    event = cmx.get("event")
    if clip.name and clip.name != f"{event}" and clip.name != str(event).zfill(3):
        add(clip.name, "clip name")
    return found
