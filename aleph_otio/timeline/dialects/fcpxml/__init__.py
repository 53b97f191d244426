"""FCPXML (Final Cut Pro 10.4-11, versions 1.8-1.13) and ``.fcpxmld`` bundles.

Read by the project's own reader (:mod:`.reader`, OTIO adapter ``aleph_fcpxml``): the
otio-fcpx-xml-adapter 1.0 reads only ``asset@src`` (every 1.9+ clip became a MissingReference),
turned ``tcStart`` into a leading gap, ignored conform-rate, timeMap and marker notes and raised
on generators. Files named ``.fcpxml``/``.fcpxmld`` are read with it unless another adapter is
named; ``--adapter fcpx_xml`` still reads with the old one. Writing stays with ``fcpx_xml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import opentimelineio as otio

from aleph_otio.timeline.access import items_of
from aleph_otio.timeline.dialects.base import Dialect, RateArg, Reading, TimelineFile

#: The adapter name of the project's reader (plugin_manifest.json).
ADAPTER = "aleph_fcpxml"


class FcpxmlDialect(Dialect):
    name = "fcpxml"
    adapters = (ADAPTER, "fcpx_xml")
    suffixes = ("fcpxml", "fcpxmld")

    def read(self, path: Path, adapter_name: str, *, rate: RateArg = None) -> Any:
        if adapter_name != ADAPTER:
            return super().read(path, adapter_name, rate=rate)
        from aleph_otio.timeline.dialects.fcpxml.reader import read_fcpxml

        return read_fcpxml(path)

    def read_error(
        self, path: Path, adapter_name: str, exc: Exception, *, rate: RateArg = None
    ) -> str:
        if adapter_name != ADAPTER:
            return super().read_error(path, adapter_name, exc, rate=rate)
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        return (
            f"cannot read this FCPXML ({detail}); export it again from Final Cut Pro, and "
            "report the file if it still fails"
        )

    def normalise(self, loaded: TimelineFile) -> Reading:
        reading = Reading()
        meta = loaded.timeline.metadata.get("fcpxml")
        if meta is None:
            return reading
        reading.warnings.extend(str(w) for w in meta.get("warnings", ()))
        reading.drop_frame = meta.get("tcFormat") == "DF"
        for marker in _markers(loaded.timeline):
            facts = marker.metadata.get("fcpxml")
            if facts is None:
                continue
            ignored, refused = facts.get("ignored"), facts.get("refused")
            if ignored or refused:
                noted = reading.note(marker)
                noted.ignored = str(ignored) if ignored else None
                noted.refused = str(refused) if refused else None
        return reading


def _markers(timeline: otio.schema.Timeline) -> Any:
    for track in timeline.tracks:
        yield from items_of(track.markers)
        for child in track:
            yield from items_of(getattr(child, "markers", ()))
