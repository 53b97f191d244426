"""What makes a marker an edit request: prefix, ``aleph`` metadata or colour, and its prompt."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import opentimelineio as otio

from aleph_otio.config import PlanSettings
from aleph_otio.timeline.access import clean_text, display_name, items_of, keys_of, nested_get
from aleph_otio.timeline.dialects import DIALECTS, MarkerReading
from aleph_otio.timeline.ranges import Refused
from aleph_otio.timeline.reading import LoadedTimeline

#: Marker colours OTIO knows (``otio.schema.MarkerColor``).
KNOWN_COLORS = (
    "PINK", "RED", "ORANGE", "YELLOW", "GREEN", "CYAN", "BLUE", "PURPLE", "MAGENTA",
    "BLACK", "WHITE",
)  # fmt: skip


#: Where adapters put a marker's note and colour: (metadata key, key inside it), best first.
_COMMENT_KEYS = tuple(key for dialect in DIALECTS for key in dialect.comment_keys)
_COLOR_KEYS = tuple(key for dialect in DIALECTS for key in dialect.color_keys)


def _metadata_keys(marker: otio.schema.Marker) -> tuple[Any, list[str]]:
    """(metadata, its keys): read once per marker, most markers have none."""
    meta = marker.metadata
    return meta, (keys_of(meta) if isinstance(meta, Mapping) and len(meta) else [])


def _comments(
    marker: otio.schema.Marker,
    known: tuple[Any, list[str]] | None = None,
    reading: MarkerReading | None = None,
) -> list[str]:
    """Every free-text note an adapter (or the file's dialect) put on a marker, best first.

    ``known`` is :func:`_metadata_keys` of the marker when the caller has it already.
    """
    meta, keys = known or _metadata_keys(marker)
    texts = [clean_text(getattr(marker, "comment", ""))]
    if reading is not None:
        texts.append(clean_text(reading.comment))
    for outer, inner in _COMMENT_KEYS:
        if outer in keys:
            texts.append(clean_text(nested_get(meta[outer], inner)))
    return [t for t in texts if t]


def _marker_colors(
    marker: otio.schema.Marker,
    known: tuple[Any, list[str]] | None = None,
    reading: MarkerReading | None = None,
) -> set[str]:
    meta, keys = known or _metadata_keys(marker)
    replaced = reading is not None and reading.color_replaces and reading.color
    colors = set() if replaced else {str(marker.color).upper()}
    for outer, inner in _COLOR_KEYS:
        raw = nested_get(meta[outer], inner) if outer in keys else None
        if isinstance(raw, str):
            colors.add(raw.upper())
    if reading is not None and reading.color:
        colors.add(reading.color.upper())
    return colors


@dataclass
class _Request:
    prompt: str
    options: dict[str, Any]
    guides: list[Any]


def edit_request(
    marker: otio.schema.Marker, settings: PlanSettings, reading: MarkerReading | None = None
) -> _Request | None:
    """The prompt and options of ``marker`` if it is an edit request, else None.

    ``reading`` holds what the file's dialect knows of the marker (a name or note the adapter
    dropped).
    """
    prefix = settings.prefix.lower()
    known = _metadata_keys(marker)
    metadata, keys = known
    meta_obj = metadata["aleph"] if "aleph" in keys else None
    prefixed: str | None = None
    comments = _comments(marker, known, reading)
    name = reading.name if reading is not None and reading.name is not None else marker.name
    for text in [clean_text(name), *comments]:
        if prefix and text.lower().startswith(prefix):
            prefixed = text[len(prefix) :].strip()
            break
    by_color = bool(
        settings.marker_color
        and settings.marker_color.upper() in _marker_colors(marker, known, reading)
    )
    if meta_obj is None and prefixed is None and not by_color:
        return None
    if meta_obj is not None and not isinstance(meta_obj, Mapping):
        raise Refused('metadata "aleph" must be an object like {"prompt": "..."}')
    meta: Mapping[str, Any] = meta_obj or {}
    meta_keys = keys_of(meta)
    prompt = meta["prompt"] if "prompt" in meta_keys else None
    if prompt is not None and not isinstance(prompt, str):
        raise Refused('metadata "aleph.prompt" must be text')
    if not prompt:
        if prefixed is not None:
            prompt = prefixed
        else:
            prompt = comments[0] if comments else clean_text(name)
    options = {k: meta[k] for k in meta_keys if k not in ("prompt", "guides")}
    guides = (meta["guides"] if "guides" in meta_keys else None) or []
    # OTIO metadata lists are AnyVector, not list.
    if not isinstance(guides, Sequence) or isinstance(guides, str):
        raise Refused(
            'metadata "aleph.guides" must be a list of {"image": ..., "frame"|"timestamp"}'
        )
    return _Request(prompt=str(prompt).strip(), options=dict(options), guides=list(guides))


def looks_like_request(
    marker: otio.schema.Marker, settings: PlanSettings, reading: MarkerReading | None = None
) -> bool:
    """True when ``marker`` is, or was meant as, an edit request (one that is refused too)."""
    try:
        return edit_request(marker, settings, reading) is not None
    except Refused:
        return True


def check_color(loaded: LoadedTimeline, settings: PlanSettings) -> list[str]:
    color = settings.marker_color
    if not color or color.upper() in KNOWN_COLORS:
        return []
    for marker in _all_markers(loaded.timeline):
        if color.upper() in _marker_colors(marker):
            return []
    return [
        f"{display_name(loaded.path.name, 120)}: unknown marker colour {color!r}; "
        f"use one of {', '.join(c.lower() for c in KNOWN_COLORS)}"
    ]


def _all_markers(timeline: otio.schema.Timeline) -> Iterator[otio.schema.Marker]:
    yield from items_of(timeline.tracks.markers)
    for child in timeline.tracks.find_children():
        yield from items_of(getattr(child, "markers", ()))
