"""Hiero/Nuke Studio tags, as its OTIO exporters write them as markers.

OpenTimelineIO's contrib Hiero exporter (``OTIOExportTask``) stores a tag's metadata under
``metadata["Hiero"]`` with Hiero's own keys (``tag.applieswhole``, ``tag.note``, ``tag.label``,
``tag.length``) and ``source_type``; the OpenPype/AYON exporter writes them flat without the
``tag.`` prefix (``applieswhole: 1``, ``note``, ``hiero_source_type``). A track item's tags
apply to the whole item (``applieswhole`` 1) and sit at time 0 of the item, not in its
source space: such a tag means its whole clip. A ranged tag (a clip's, ``applieswhole`` 0)
keeps its range in the clip's source frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aleph_otio.timeline.access import clean_text, keys_of, nested_get
from aleph_otio.timeline.dialects.base import MarkerReading


def _truthy(value: Any) -> bool:
    if isinstance(value, bool | int | float):
        return bool(value)
    return clean_text(value).lower() in ("1", "true", "yes")


def facts(meta: Mapping[str, Any], keys: list[str]) -> MarkerReading | None:
    """The facts of a Hiero tag's marker, None when ``meta`` is no Hiero tag's."""
    if "Hiero" in keys and isinstance(meta["Hiero"], Mapping):
        tag: Mapping[str, Any] = meta["Hiero"]
    elif "hiero_source_type" in keys or "applieswhole" in keys:
        tag = meta
    else:
        return None
    tag_keys = keys_of(tag) if len(tag) else []

    def value(name: str) -> Any:
        for key in (f"tag.{name}", name):
            if key in tag_keys:
                return nested_get(tag, key)
        return None

    return MarkerReading(
        whole_clip=_truthy(value("applieswhole")), comment=clean_text(value("note"))
    )
