"""``.fcpxml``: Final Cut Pro X through the ``fcpx_xml`` adapter (refused at NTSC rates)."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio

from aleph_otio.errors import TimelineWriteError
from aleph_otio.exports.conform import conform_results_to_files, sequences_as_first_files
from aleph_otio.exports.paths import to_file_urls
from aleph_otio.timeline import timecode, write_timeline


def _rates(timeline: otio.schema.Timeline) -> set[float]:
    rates: set[float] = set()
    for clip in timeline.find_clips():
        if clip.source_range is not None:
            rates.add(clip.source_range.duration.rate)
        ref = clip.media_reference
        if ref is not None and ref.available_range is not None:
            rates.add(ref.available_range.duration.rate)
    return rates


def write_fcpxml(timeline: otio.schema.Timeline, path: Path) -> Path:
    ntsc = sorted(r for r in _rates(timeline) if abs(r - round(r)) > 1e-6)
    if ntsc:
        where = next(
            (
                c
                for c in timeline.find_clips()
                if c.source_range is not None and c.source_range.duration.rate in ntsc
            ),
            None,
        )
        clip = (
            f" (clip {where.name!r} at {timecode(where.range_in_parent().start_time)})"
            if where is not None
            else ""
        )
        raise TimelineWriteError(
            f"{path}: the FCPXML adapter cannot write {ntsc[0]:.3f} fps{clip}; write .xml "
            "(FCP 7 XML) or .otio instead"
        )
    sequences_as_first_files(timeline)
    conform_results_to_files(timeline)
    to_file_urls(timeline, localhost=False)
    return write_timeline(timeline, path)
