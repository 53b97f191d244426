"""Markers: what Resolve's ``GetMarkers()`` knows and its OTIO export lacks (colour names,
notes, ``customData``), filled into the exported timeline."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import opentimelineio as otio

from aleph_otio.resolve.connect import timeline_rate
from aleph_otio.timeline import frames_at

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange

#: Resolve's marker colours (``AddMarker``/``GetMarkers``) -> the nearest OTIO ``MarkerColor``.
#: The first seven exist in both; the rest are our nearest choice (OTIO has no Sand or Cream).
RESOLVE_COLORS: dict[str, str] = {
    "Blue": "BLUE",
    "Cyan": "CYAN",
    "Green": "GREEN",
    "Yellow": "YELLOW",
    "Red": "RED",
    "Pink": "PINK",
    "Purple": "PURPLE",
    "Fuchsia": "MAGENTA",
    "Rose": "PINK",
    "Lavender": "PURPLE",
    "Sky": "CYAN",
    "Mint": "GREEN",
    "Lemon": "YELLOW",
    "Sand": "ORANGE",
    "Cocoa": "ORANGE",
    "Cream": "WHITE",
}


def otio_color(resolve_color: str) -> str:
    """The OTIO ``MarkerColor`` for a Resolve marker colour (RED when unknown)."""
    for name, color in RESOLVE_COLORS.items():
        if name.lower() == str(resolve_color).strip().lower():
            return color
    upper = str(resolve_color).strip().upper()
    return upper if upper in RESOLVE_COLORS.values() else "RED"


def _aleph_from_custom_data(custom: str) -> dict[str, Any] | None:
    """``customData`` (set by scripts, not shown in the UI) as an ``aleph`` metadata object.

    Accepted: ``{"aleph": {...}}``, ``{"prompt": ...}`` or ``aleph: <prompt>``.
    """
    text = custom.strip() if isinstance(custom, str) else ""
    if not text:
        return None
    if text.lower().startswith("aleph:"):
        return {"prompt": text[len("aleph:") :].strip()}
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("aleph"), dict):
        return dict(data["aleph"])
    if isinstance(data, dict) and "prompt" in data:
        return data
    return None


def markers_from_resolve(timeline: Any, rate: float | None = None) -> list[otio.schema.Marker]:
    """The timeline's markers from ``GetMarkers()`` as OTIO markers in stack time.

    ``GetMarkers()`` gives ``{frameId: {color, duration, note, name, customData}}`` with
    ``frameId`` counted from the timeline's first frame, which is stack time (0 = first frame
    of the edit). Each marker keeps Resolve's colour name in ``metadata["Resolve_OTIO"]["Color"]``
    and its note in ``["Note"]`` (where the planner reads them), and a ``customData`` holding an
    aleph request becomes ``metadata["aleph"]``.
    """
    rate = rate if rate is not None else timeline_rate(timeline)
    found = timeline.GetMarkers() or {}
    return [
        _marker_from_api(frame, info, rate)
        for frame, info in sorted(found.items(), key=lambda kv: float(kv[0]))
    ]


def _marker_from_api(frame_id: Any, info: Any, rate: float) -> otio.schema.Marker:
    """One ``GetMarkers()`` entry as an OTIO marker at ``frame_id`` (``rate``)."""
    info = info if isinstance(info, Mapping) else {}
    color = str(info.get("color") or "")
    note = str(info.get("note") or "")
    custom = str(info.get("customData") or "")
    duration = max(1.0, float(info.get("duration") or 1))
    metadata: dict[str, Any] = {
        "Resolve_OTIO": {"Keywords": [], "Note": note, "Color": color},
        "resolve_api": {"frameId": float(frame_id), "customData": custom},
    }
    aleph = _aleph_from_custom_data(custom)
    if aleph is not None:
        metadata["aleph"] = aleph
    return otio.schema.Marker(
        name=str(info.get("name") or ""),
        marked_range=TR(RT(float(frame_id), rate), RT(duration, rate)),
        color=otio_color(color),
        metadata=metadata,
    )


def _marker_frame_candidates(marker: otio.schema.Marker, rate: float, start: float) -> set[int]:
    """Frames (from the timeline start) an exported stack marker may mean.

    Whether Resolve counts stack markers from 0 or from the start timecode is unverified, so both
    readings are offered (the planner does the same).
    """
    frame = frames_at(marker.marked_range.start_time, rate)
    return {round(frame), round(frame - start)}


def fill_markers(
    timeline: otio.schema.Timeline, markers: list[otio.schema.Marker], *, start_frame: float = 0
) -> list[str]:
    """Complete the export's timeline markers from ``GetMarkers()``; returns what was added.

    A Resolve marker matches the exported stack marker on the same frame (Resolve allows one per
    frame; the same name is preferred). A match gains what it lacks: Resolve's colour name, the
    note, an ``aleph`` object from ``customData``. A Resolve marker without a match is added to
    the stack.
    """
    stack_markers = list(timeline.tracks.markers)
    used: set[int] = set()
    added: list[str] = []
    for marker in markers:
        rate = marker.marked_range.start_time.rate
        frame = round(marker.marked_range.start_time.value)
        label = f"marker {marker.name or '(unnamed)'!r} at frame {frame}"
        candidates = [
            (i, m)
            for i, m in enumerate(stack_markers)
            if i not in used and frame in _marker_frame_candidates(m, rate, start_frame)
        ]
        # Resolve keeps one timeline marker per frame, so the frame decides; the name only
        # breaks a tie between the two time-base readings. Never add a twin of an exported
        # marker: a doubled request would be paid twice.
        named = [(i, m) for i, m in candidates if m.name == marker.name]
        match = (named or candidates)[:1]
        if not match:
            timeline.tracks.markers.append(marker.clone())
            added.append(f"{label}: added (the export did not carry it)")
            continue
        index, exported = match[0]
        used.add(index)
        changes = _complete(exported, marker)
        if changes:
            added.append(f"{label}: {', '.join(changes)} from GetMarkers()")
    return added


def fill_clip_markers(timeline: otio.schema.Timeline, resolve_timeline: Any) -> list[str]:
    """Complete the export's clip markers from each timeline item's ``GetMarkers()``.

    Items are matched to exported clips by video track and record position; their markers by
    order and name (the frame base of item ``frameId`` is not pinned down by Resolve's docs, so
    frames are not compared). A clip whose markers do not pair up one to one is left as exported.
    """
    rate = timeline_rate(resolve_timeline)
    start = float(resolve_timeline.GetStartFrame() or 0)
    video = [t for t in timeline.tracks if getattr(t, "kind", None) == otio.schema.TrackKind.Video]
    notes: list[str] = []
    for number, track in enumerate(video, start=1):
        by_start = {
            round(frames_at(clip.range_in_parent().start_time, rate)): clip
            for clip in track.find_clips(shallow_search=True)
        }
        for item in resolve_timeline.GetItemListInTrack("video", number) or []:
            clip = by_start.get(round(float(item.GetStart()) - start))
            found = item.GetMarkers() or {}
            if clip is None or not found or len(found) != len(clip.markers):
                continue
            ordered = sorted(clip.markers, key=lambda m: m.marked_range.start_time.to_seconds())
            theirs = [
                _marker_from_api(frame, info, rate)
                for frame, info in sorted(found.items(), key=lambda kv: float(kv[0]))
            ]
            if any(a.name != b.name for a, b in zip(ordered, theirs, strict=True)):
                continue
            for exported, source in zip(ordered, theirs, strict=True):
                changes = _complete(exported, source)
                if changes:
                    notes.append(
                        f"clip {clip.name!r} marker {exported.name or '(unnamed)'!r}: "
                        f"{', '.join(changes)} from GetMarkers()"
                    )
    return notes


def _complete(exported: otio.schema.Marker, source: otio.schema.Marker) -> list[str]:
    """Copy onto ``exported`` what only ``source`` (from GetMarkers) knows."""
    changes = []
    theirs = dict(source.metadata.get("Resolve_OTIO", {}))
    ours = dict(exported.metadata.get("Resolve_OTIO", {}))
    if theirs.get("Color") and not ours.get("Color"):
        ours["Color"] = theirs["Color"]
        changes.append(f"colour {theirs['Color']}")
    note = str(theirs.get("Note") or "")
    if note and not str(ours.get("Note") or "").strip() and not (exported.comment or "").strip():
        ours["Note"] = note
        changes.append("note")
    ours.setdefault("Keywords", [])
    exported.metadata["Resolve_OTIO"] = ours
    if not exported.name and source.name:
        exported.name = source.name
        changes.append("name")
    if "aleph" in source.metadata and "aleph" not in exported.metadata:
        exported.metadata["aleph"] = dict(source.metadata["aleph"])
        changes.append("aleph request (customData)")
    if "resolve_api" in source.metadata:
        exported.metadata["resolve_api"] = dict(source.metadata["resolve_api"])
    return changes
