"""Refusing times no NLE writes (NaN, infinite, zero rates) before anything is planned from them."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import opentimelineio as otio

from aleph_otio.errors import TimelineReadError
from aleph_otio.timeline.access import display_name, items_of


def _bad_time(time: otio.opentime.RationalTime | None) -> bool:
    # Chained comparisons are False for NaN, so this is "not (finite value, finite rate > 0)"
    # at a fraction of math.isfinite's cost (it runs for every time of every item).
    return time is not None and not (-math.inf < time.value < math.inf and 0 < time.rate < math.inf)


def _item_label(item: Any) -> str:
    return f"{type(item).__name__.lower()} {display_name(item.name or '?')}"


def _first_bad_time(item: Any) -> tuple[Any, Any] | None:
    """(label thunk, time) of the first impossible time of one item, or None."""
    source = getattr(item, "source_range", None)
    if source is not None:
        for time in (source.start_time, source.duration):
            if _bad_time(time):
                return (lambda: _item_label(item)), time
    markers = getattr(item, "markers", None)
    if markers is not None and len(markers):
        for marker in items_of(markers):
            marked = marker.marked_range
            for time in (marked.start_time, marked.duration):
                if _bad_time(time):

                    def where(marker: Any = marker) -> str:
                        return (
                            f"marker {display_name(marker.name or '?', 40)} on {_item_label(item)}"
                        )

                    return where, time
    if isinstance(item, otio.schema.Clip):
        for ref in item.media_references().values():
            avail = ref.available_range if ref is not None else None
            if avail is None:
                continue
            for time in (avail.start_time, avail.duration):
                if _bad_time(time):
                    return (lambda: f"media of {_item_label(item)}"), time
    return None


# Every RationalTime rate in OTIO JSON that is not plainly a positive number like 24.0 or
# 23.976023976023978 (those are most of them; the rest are parsed). Possessive quantifiers: a
# backtracking ``\s*`` would let the look-ahead test the space before the number instead.
_JSON_ODD_RATE = re.compile(
    rb'"rate"\s*+:\s*+(?![1-9][0-9]{0,5}+(?:\.[0-9]++)?+[\s,}\]])([^,}\]\s]*)'
)


def json_times_plausible(path: Path) -> bool:
    """True when a native .otio file's text cannot hold an impossible time (fast path).

    Walking every item from Python costs about 25 us per clip (each OTIO attribute is a C++
    call), most of the read itself; searching the JSON text is several times cheaper. OTIO's
    parser refuses numbers that overflow a double, so a non-finite value or speed can only be
    spelled NaN, Inf or Infinity. Any doubt (such a word anywhere, even in a name; a \\u escape
    that could spell a key; a rate that is not a positive number; an unreadable file) returns
    False and the full walk runs, so errors and their messages are unchanged.
    """
    try:
        data = path.read_bytes()
    except OSError:
        return False
    # A one-byte search runs at memory speed, a three-byte one several times slower: look for
    # the rare byte first (OTIO's own keys hold no capital N and no backslash).
    if (b"N" in data and b"NaN" in data) or b"Inf" in data or (b"\\" in data and b"\\u" in data):
        return False
    for token in set(_JSON_ODD_RATE.findall(data)):
        if len(token) > 15 and token.lstrip(b"-").isdigit():
            return False  # OTIO reads integers in [2**63, 2**64) as 0: let the walk see it
        try:
            rate = float(token)
        except ValueError:
            return False
        if not 0 < rate < math.inf:
            return False
    return True


def check_times(timeline: otio.schema.Timeline, path: Path) -> None:
    """Refuse times no NLE writes (rate 0 or negative, NaN, infinite): nothing can be planned
    from them, and every later step would fail on them in its own way."""
    # Labels are built only for a failure: building one per item cost more than the OTIO read.
    bad: tuple[Any, Any] | None = None  # (label thunk, time) of the first impossible time
    if _bad_time(timeline.global_start_time):
        bad = (lambda: "timeline start", timeline.global_start_time)
    items: list[Any] = [timeline.tracks, *timeline.tracks.find_children()]
    for item in items:
        if bad is None:
            bad = _first_bad_time(item)
        effects = getattr(item, "effects", None)
        if effects is not None and len(effects):
            for effect in items_of(effects):
                scalar = getattr(effect, "time_scalar", 1.0)
                if isinstance(effect, otio.schema.LinearTimeWarp) and not math.isfinite(scalar):
                    raise TimelineReadError(
                        f"{path}: {_item_label(item)} has an impossible speed ({scalar}); "
                        "re-export the timeline from the editing application"
                    )
    if bad is not None:
        where, time = bad[0](), bad[1]
        raise TimelineReadError(
            f"{path}: {where} has an impossible time ({time.value:g} at rate {time.rate:g}); "
            "re-export the timeline from the editing application"
        )
