"""Timelines in and out through OTIO adapters, and edit-request markers as normalised ranges.

This package (besides media and pipeline) is the only code that touches timeline files. Its rooms:

- :mod:`.reading`, :mod:`.writing`: files through OTIO adapters (reads pick a dialect, writes are
  atomic); :mod:`.sanity` refuses impossible times.
- :mod:`.dialects`: one module per source dialect (EDL, FCP 7 XML/Premiere, FCPXML, AAF,
  Hiero/Resolve OTIO) holding how that writer's files are normalised; nothing else knows which
  NLE wrote a file.
- :mod:`.rates`: frame rates and timecode. :mod:`.media_refs`: where a clip's media lives.
- :mod:`.requests`: what makes a marker an edit request. :mod:`.markers`, :mod:`.pieces`,
  :mod:`.guides`, :mod:`.geometry`: every request as a :class:`MarkedRange` in each clip's own
  source space.
"""

from aleph_otio.timeline.access import display_name, items_of, track_label
from aleph_otio.timeline.geometry import intersect, planning_cache, start_at
from aleph_otio.timeline.markers import find_marked_ranges
from aleph_otio.timeline.media_refs import (
    IMAGE_SUFFIXES,
    clip_media_path,
    is_still,
    media_path,
    still_image_path,
)
from aleph_otio.timeline.pieces import marker_clip_range
from aleph_otio.timeline.ranges import GuideSpec, MarkedRange, Piece
from aleph_otio.timeline.rates import (
    frames_at,
    normalise_rate,
    parse_rate,
    same_rate,
    smpte_rate,
    timecode,
    timecode_of,
)
from aleph_otio.timeline.reading import LoadedTimeline, known_suffixes, read_timeline
from aleph_otio.timeline.requests import KNOWN_COLORS
from aleph_otio.timeline.writing import write_timeline

__all__ = [
    "IMAGE_SUFFIXES",
    "KNOWN_COLORS",
    "GuideSpec",
    "LoadedTimeline",
    "MarkedRange",
    "Piece",
    "clip_media_path",
    "display_name",
    "find_marked_ranges",
    "frames_at",
    "intersect",
    "is_still",
    "items_of",
    "known_suffixes",
    "marker_clip_range",
    "media_path",
    "normalise_rate",
    "parse_rate",
    "planning_cache",
    "read_timeline",
    "same_rate",
    "smpte_rate",
    "start_at",
    "still_image_path",
    "timecode",
    "timecode_of",
    "track_label",
    "write_timeline",
]
