"""Premiere Pro's OTIO export (25.x): ``PremierePro_OTIO`` metadata.

Premiere marks the timeline (``PremierePro_OTIO.MetadataVersion``) and each clip (``LinkID``
joining a clip's video and audio). Markers use OTIO's own name, comment and colour. As in its
FCP 7 XML, a clip marker repeated on several uses of one media file is a master-clip marker
copied into each: only copies on a video clip that covers the marked frames are requests
(:mod:`..copies`).
"""

from __future__ import annotations

from collections.abc import Mapping

import opentimelineio as otio

from aleph_otio.timeline.access import clean_text, items_of, keys_of, nested_get
from aleph_otio.timeline.dialects.base import Reading
from aleph_otio.timeline.dialects.copies import MarkerCopies, lands_on


def wrote(timeline: otio.schema.Timeline) -> bool:
    """Whether Premiere wrote ``timeline`` (its metadata says so)."""
    meta = timeline.metadata
    return isinstance(meta, Mapping) and len(meta) > 0 and "PremierePro_OTIO" in keys_of(meta)


def note_copies(timeline: otio.schema.Timeline, reading: Reading) -> None:
    """Mark the clip-marker copies of a Premiere timeline as ignored, in one pass."""
    copies = MarkerCopies()
    for track in items_of(timeline.tracks):
        if not isinstance(track, otio.schema.Track):
            continue
        video = track.kind == otio.schema.TrackKind.Video
        for clip in items_of(track):
            if not isinstance(clip, otio.schema.Clip):
                continue
            markers = items_of(clip.markers)
            ref = clip.media_reference
            url = getattr(ref, "target_url", "") if markers and ref is not None else ""
            if not url:
                continue
            try:
                bounds = clip.trimmed_range()
            except Exception:  # noqa: BLE001 - a clip without a range is refused by the planner
                continue
            for marker in markers:
                marked = marker.marked_range
                note = clean_text(getattr(marker, "comment", "")) or clean_text(
                    nested_get(marker.metadata, "PremierePro_OTIO", "Comment")
                )
                key = (url, marked.start_time.to_seconds(), marked.duration.to_seconds(),
                       marker.name, note)  # fmt: skip
                on_clip = lands_on(bounds, marked, marked.start_time)
                copies.add(key, marker, video=video, on_clip=on_clip)
    copies.note(reading)
