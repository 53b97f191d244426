"""CMX 3600 EDLs as Avid, Resolve and Premiere write them (OTIO's ``cmx_3600`` adapter).

The file is read in three steps: :mod:`.text` makes clean lines of any bytes (line ends, BOM,
^Z), :mod:`.events` finds the events, :mod:`.prepare` judges each (skips titles and black,
reads mismatched lengths as the record says, picks the rate) and writes the text OTIO's adapter
reads; :mod:`.clips` then gives each clip its event's media names and Resolve's markers.
``* LOC:`` and Resolve markers are in *record* timecode, though they sit on clips.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import opentimelineio as otio

from aleph_otio.errors import TimelineReadError
from aleph_otio.timeline.dialects.base import Dialect, RateArg, Reading, TimelineFile
from aleph_otio.timeline.dialects.edl.clips import decorate, media_names
from aleph_otio.timeline.dialects.edl.events import parse
from aleph_otio.timeline.dialects.edl.prepare import choose_rate, prepare
from aleph_otio.timeline.dialects.edl.text import clean_lines
from aleph_otio.timeline.geometry import transformed_time
from aleph_otio.timeline.rates import parse_rate

#: What reading each timeline found (plan-wide warnings; whether its time code is drop-frame),
#: until the timeline is freed.
_FOUND: weakref.WeakKeyDictionary[otio.schema.Timeline, tuple[list[str], bool]] = (
    weakref.WeakKeyDictionary()
)


class EdlDialect(Dialect):
    name = "edl"
    file_kind = "EDL"
    adapters = ("cmx_3600",)
    color_keys = (("cmx_3600", "color"),)

    def read(self, path: Path, adapter_name: str, *, rate: RateArg = None) -> Any:
        try:
            given = parse_rate(rate) if rate is not None else None
        except ValueError as exc:
            raise TimelineReadError(f"{path}: {exc}") from None
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise TimelineReadError(f"{path}: cannot read it ({exc.strerror or exc})") from None
        doc = parse(clean_lines(raw))
        shown = str(path)
        edl_rate = choose_rate(doc, given, shown)
        prepared = prepare(doc, edl_rate, shown)
        timeline = otio.adapters.read_from_string(
            prepared.text, adapter_name=adapter_name, rate=edl_rate
        )
        decorate(timeline, prepared)
        _FOUND[timeline] = (prepared.warnings, doc.drop_frame)
        return timeline

    def read_error(
        self, path: Path, adapter_name: str, exc: Exception, *, rate: RateArg = None
    ) -> str:
        # Every event was checked before the adapter saw it: what is left is the adapter's.
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        return f"OTIO's {adapter_name} reader failed on the prepared events: {detail}"

    def normalise(self, loaded: TimelineFile) -> Reading:
        warnings, drop_frame = _FOUND.get(loaded.timeline, ([], False))
        return Reading(warnings=list(warnings), drop_frame=drop_frame)

    def media_names(self, clip: otio.schema.Clip) -> list[tuple[str, str]]:
        return media_names(clip)

    def clip_marker_start(
        self, loaded: TimelineFile, clip: otio.schema.Clip, marker: otio.schema.Marker
    ) -> otio.opentime.RationalTime | None:
        return transformed_time(loaded.timeline.tracks, marker.marked_range.start_time, clip)
