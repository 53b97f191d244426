"""Where items sit in time: ranges, OTIO's ``transformed_time`` with cached track geometry."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import opentimelineio as otio

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


def is_point(r: otio.opentime.TimeRange) -> bool:
    # NLEs store "point" markers as 0 or 1 frame long (AAF, FCPXML); one frame is no edit range.
    return r.duration.value <= 0 or r.duration.to_seconds() <= 1.0 / r.start_time.rate + 1e-9


def intersect(
    a: otio.opentime.TimeRange, b: otio.opentime.TimeRange
) -> otio.opentime.TimeRange | None:
    """The overlap of two ranges (``TimeRange.clamped`` is not an intersection)."""
    start = max(a.start_time, b.start_time)
    end = min(a.end_time_exclusive(), b.end_time_exclusive())
    if end <= start:
        return None
    return TR.range_from_start_end_time(start, end)


def is_on(bounds: otio.opentime.TimeRange, time: otio.opentime.RationalTime) -> bool:
    return bool(bounds.start_time <= time < bounds.end_time_exclusive())


def start_at(timeline: otio.schema.Timeline, rate: float) -> otio.opentime.RationalTime | None:
    """The timeline's global start time rescaled to ``rate`` (None without one).

    Asked once per marker with one or two rates: cached while a planning cache is active.
    """

    def compute() -> otio.opentime.RationalTime | None:
        gst = timeline.global_start_time
        return gst.rescaled_to(rate) if gst is not None else None

    start: otio.opentime.RationalTime | None = cached(timeline, f"start at {rate!r}", compute)
    return start


#: Track/stack geometry cached for one find_marked_ranges call. OTIO's ``range_of_child``,
#: ``range_of_child_at_index``, a track's ``trimmed_range`` and so ``transformed_time`` walk a
#: track from its first child: called per marker, planning was O(clips x markers) (minutes at
#: 50k clips). Keyed by id() with the object kept alive and checked, so ids are never reused.
_CACHE: ContextVar[dict[tuple[int, str], tuple[Any, Any]] | None] = ContextVar(
    "_CACHE", default=None
)


def cached(obj: Any, what: str, compute: Any) -> Any:
    """``compute()`` once per (obj, what) while a cache is active."""
    cache = _CACHE.get()
    if cache is None:
        return compute()
    hit = cache.get((id(obj), what))
    if hit is None or hit[0] is not obj:
        hit = (obj, compute())
        cache[(id(obj), what)] = hit
    return hit[1]


@contextlib.contextmanager
def planning_cache() -> Iterator[None]:
    """Cache track geometry and the timeline's start while the block runs.

    The timeline must not change inside the block. A nested block shares the outer cache.
    """
    if _CACHE.get() is not None:
        yield
        return
    token = _CACHE.set({})
    try:
        yield
    finally:
        _CACHE.reset(token)


def _track_ranges(
    track: otio.schema.Track,
) -> tuple[dict[Any, otio.opentime.TimeRange], list[otio.opentime.TimeRange]]:
    """(child -> range, ranges by index) of ``track``'s children."""

    def compute() -> tuple[dict[Any, otio.opentime.TimeRange], list[otio.opentime.TimeRange]]:
        # Wrap every child by iterating first: a child first wrapped as a key of
        # range_of_all_children's dict is freed with the timeline (use after free in OTIO 0.18).
        children = list(track)
        by_child = track.range_of_all_children()
        return by_child, [by_child[child] for child in children]

    return cached(track, "children", compute)


def child_span(track: otio.schema.Track, index: int) -> otio.opentime.TimeRange:
    """``track.range_of_child_at_index(index)``, from the cache when one is active."""
    if _CACHE.get() is None:
        return track.range_of_child_at_index(index)
    return _track_ranges(track)[1][index]


def _range_in_parent(parent: Any, item: Any) -> otio.opentime.TimeRange:
    if isinstance(parent, otio.schema.Track):
        by_child = _track_ranges(parent)[0]
        if item in by_child:
            return by_child[item]
    if isinstance(item, otio.schema.Clip):
        return parent.range_of_child(item)
    # A track/stack in a stack: few of them, but each range costs a walk over its children.
    return cached(item, "range in parent", lambda: parent.range_of_child(item))


def _trim_start(item: Any) -> otio.opentime.RationalTime:
    if isinstance(item, otio.schema.Clip):
        return item.trimmed_range().start_time
    # A composition's trimmed range sums its children: compute it once.
    return cached(item, "trim start", lambda: item.trimmed_range().start_time)


def _highest(item: Any) -> Any:
    while item.parent() is not None:
        item = item.parent()
    return item


def transformed_time(
    item: Any, time: otio.opentime.RationalTime, to_item: Any
) -> otio.opentime.RationalTime:
    """``item.transformed_time(time, to_item)``: the same steps as OTIO, with cached ranges."""
    if _CACHE.get() is None:
        return item.transformed_time(time, to_item)
    root = _highest(item)
    result = time
    while item is not root and item is not to_item:
        parent = item.parent()
        result -= _trim_start(item)
        result += _range_in_parent(parent, item).start_time
        item = parent
    ancestor = item
    item = to_item
    while item is not root and item is not ancestor:
        parent = item.parent()
        result += _trim_start(item)
        result -= _range_in_parent(parent, item).start_time
        item = parent
    return result


def transformed_range(
    item: Any, r: otio.opentime.TimeRange, to_item: Any
) -> otio.opentime.TimeRange:
    """``item.transformed_time_range(r, to_item)`` (the duration is kept, as OTIO does)."""
    return TR(transformed_time(item, r.start_time, to_item), r.duration)


@dataclass(frozen=True)
class _TrackPlace:
    """Where a top-level track's children sit, computed once per find_marked_ranges call.

    ``to_track`` and ``to_stack`` are the steps of OTIO's ``transformed_time`` from a clip of
    the track to the track and on to the timeline's stack, in the same order, so they give the
    same times without walking up the parents for every marker.
    """

    spans: list[otio.opentime.TimeRange]  # the children's ranges, by index, in track time
    trim: otio.opentime.RationalTime  # the track's trimmed start
    start: otio.opentime.RationalTime  # the track's start in the stack

    def to_track(
        self, time: otio.opentime.RationalTime, index: int, clip_trim: otio.opentime.RationalTime
    ) -> otio.opentime.RationalTime:
        """A time of child ``index`` (whose trimmed start is ``clip_trim``) in track time."""
        return time - clip_trim + self.spans[index].start_time

    def to_stack(self, time: otio.opentime.RationalTime) -> otio.opentime.RationalTime:
        """A track time in the stack's time."""
        return time - self.trim + self.start


def track_place(track: otio.schema.Track) -> _TrackPlace:
    """The :class:`_TrackPlace` of a track in the timeline's stack."""

    def compute() -> _TrackPlace:
        return _TrackPlace(
            spans=_track_ranges(track)[1],
            trim=_trim_start(track),
            start=_range_in_parent(track.parent(), track).start_time,
        )

    place: _TrackPlace = cached(track, "place", compute)
    return place
