"""Cheap access to OTIO containers and names safe for one-line messages.

OTIO reports a missing key and the end of iteration as C++ exceptions costing ~20-30 us each,
more than the rest of planning a marker; these helpers use ``len`` and ``next`` instead."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import opentimelineio as otio


def items_of(vector: Any) -> list[Any]:
    """The elements of an OTIO vector (markers, effects, ...) as a list.

    Iterating an OTIO vector to its end raises StopIteration from C++, which costs ~20 us: more
    than the rest of checking a clip. ``len`` and ``next`` do not, so this stops before the end.
    """
    count = len(vector)
    if not count:
        return []
    it = iter(vector)
    return [next(it) for _ in range(count)]


def clean_text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def keys_of(mapping: Mapping[str, Any]) -> list[str]:
    """The keys of a mapping, in order, without iterating to the end.

    OTIO's AnyDictionary reports a missing key and the end of iteration as C++ exceptions that
    cost ~20-30 us each, more than the rest of planning a marker; ``len`` and ``next`` do not.
    """
    if isinstance(mapping, dict):
        return list(mapping)
    it = iter(mapping)
    return [next(it) for _ in range(len(mapping))]


def _get(mapping: Mapping[str, Any], key: str) -> Any:
    """``mapping.get(key)``; see :func:`keys_of` for why not ``get`` itself."""
    if isinstance(mapping, dict):
        return mapping.get(key)
    return mapping[key] if len(mapping) and key in keys_of(mapping) else None


def nested_get(metadata: Mapping[str, Any], *keys: str) -> Any:
    value: Any = metadata
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = _get(value, key)
    return value


def display_name(text: str, limit: int = 60) -> str:
    """``text`` safe for a one-line message: control/bidi characters escaped, long names cut.

    Clip and track names come from whoever made the timeline; a newline, NUL or right-to-left
    override in one must not break or disguise the error line that names it.
    """
    safe = (
        text
        if text.isprintable()
        else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    )
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


def track_label(timeline: otio.schema.Timeline, track: otio.schema.Track) -> str:
    """The track's name, or V1/A2-style (as NLEs number them) when it has none."""
    if track.name:
        return str(track.name)
    prefix = "A" if track.kind == otio.schema.TrackKind.Audio else "V"
    same_kind = [t for t in timeline.tracks if getattr(t, "kind", None) == track.kind]
    for number, candidate in enumerate(same_kind, start=1):
        if candidate is track:
            return f"{prefix}{number}"
    return prefix
