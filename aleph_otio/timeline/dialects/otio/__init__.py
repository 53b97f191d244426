"""Native OTIO files by the tools that export them: Hiero/Nuke Studio, Resolve, Premiere.

Each writer is known by its metadata (:mod:`.hiero`, :mod:`.resolve`, :mod:`.premiere`); a
file none of them wrote reads as plain OTIO. Per-marker facts are worked out when the planner
first asks for a marker, so an OTIO file pays nothing per clip for writers it is not from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import opentimelineio as otio

from aleph_otio.timeline.access import keys_of
from aleph_otio.timeline.dialects.base import MarkerReading, Reading, TimelineFile
from aleph_otio.timeline.dialects.otio import hiero, premiere, resolve


@dataclass
class _WriterReading(Reading):
    """A Reading whose per-marker facts come from the marker's own metadata on first ask."""

    # Markers asked about that have no facts (kept alive so their ids are never reused).
    _plain: dict[int, Any] = field(default_factory=dict)

    def marker(self, marker: otio.schema.Marker) -> MarkerReading | None:
        key = id(marker)
        hit = self._markers.get(key)
        if hit is not None and hit[0] is marker:
            return hit[1]
        if self._plain.get(key) is marker:
            return None
        meta = marker.metadata
        facts = None
        if isinstance(meta, Mapping) and len(meta):
            keys = keys_of(meta)
            facts = hiero.facts(meta, keys) or resolve.facts(meta, keys)
        if facts is None:
            self._plain[key] = marker
        else:
            self._markers[key] = (marker, facts)
        return facts


def read_writers(loaded: TimelineFile) -> Reading:
    """What the writer of an OTIO file implies for planning (see the module docstring)."""
    reading = _WriterReading()
    if premiere.wrote(loaded.timeline):
        premiere.note_copies(loaded.timeline, reading)
    return reading
