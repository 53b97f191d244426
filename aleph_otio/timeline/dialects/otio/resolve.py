"""DaVinci Resolve's own OTIO export (18.5+): ``Resolve_OTIO`` metadata.

Resolve writes a marker's note and keywords under ``metadata["Resolve_OTIO"]`` (``Note``,
``Keywords``) and may name its colour there (``Color``: Resolve's names, among them colours
OTIO has none for: Cream, Sand, Cocoa, Lemon, Mint, Sky, Lavender, Rose, Fuchsia). The note is
the marker's comment; ``--marker-color`` matches both OTIO's colour and Resolve's name
(``--marker-color cream``), so a Resolve colour is never taken for a near OTIO one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aleph_otio.timeline.access import clean_text, nested_get
from aleph_otio.timeline.dialects.base import MarkerReading


def facts(meta: Mapping[str, Any], keys: list[str]) -> MarkerReading | None:
    """The note and colour of a Resolve marker, None when ``meta`` is not Resolve's."""
    if "Resolve_OTIO" not in keys or not isinstance(meta["Resolve_OTIO"], Mapping):
        return None
    resolve = meta["Resolve_OTIO"]
    return MarkerReading(
        comment=clean_text(nested_get(resolve, "Note")),
        color=clean_text(nested_get(resolve, "Color")),
    )
