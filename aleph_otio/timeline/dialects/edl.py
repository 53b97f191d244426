"""CMX 3600 EDLs as Avid, Resolve and Premiere write them (OTIO's ``cmx_3600`` adapter).

``* LOC:`` markers are written in *record* timecode, though the adapter puts them on clips.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import opentimelineio as otio

from aleph_otio.errors import TimelineReadError
from aleph_otio.timeline.dialects.base import Dialect, RateArg, TimelineFile
from aleph_otio.timeline.geometry import transformed_time
from aleph_otio.timeline.rates import parse_rate


class EdlDialect(Dialect):
    name = "edl"
    adapters = ("cmx_3600",)
    color_keys = (("cmx_3600", "color"),)

    def read(self, path: Path, adapter_name: str, *, rate: RateArg = None) -> Any:
        try:
            edl_rate = parse_rate(rate if rate is not None else 24)
        except ValueError as exc:
            raise TimelineReadError(f"{path}: {exc}") from None
        return otio.adapters.read_from_file(
            os.fspath(path), adapter_name=adapter_name, rate=edl_rate
        )

    def read_error(
        self, path: Path, adapter_name: str, exc: Exception, *, rate: RateArg = None
    ) -> str:
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        return (
            f"cannot read as {adapter_name}: {detail} (is the EDL rate right? pass --rate); "
            "check the file is a complete export"
        )

    def clip_marker_start(
        self, loaded: TimelineFile, clip: otio.schema.Clip, marker: otio.schema.Marker
    ) -> otio.opentime.RationalTime | None:
        return transformed_time(loaded.timeline.tracks, marker.marked_range.start_time, clip)
