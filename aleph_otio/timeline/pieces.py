"""The clip pieces a marker covers, on a clip, a track or the whole timeline."""

from __future__ import annotations

from collections.abc import Iterator

import opentimelineio as otio

from aleph_otio.config import PlanSettings
from aleph_otio.timeline.access import display_name
from aleph_otio.timeline.geometry import (
    cached,
    child_span,
    intersect,
    is_on,
    is_point,
    start_at,
    track_place,
    transformed_range,
    transformed_time,
)
from aleph_otio.timeline.ranges import Built, Piece, Refused
from aleph_otio.timeline.rates import timecode
from aleph_otio.timeline.reading import LoadedTimeline

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


def marker_clip_range(
    loaded: LoadedTimeline, clip: otio.schema.Clip, marker: otio.schema.Marker
) -> otio.opentime.TimeRange:
    """A clip marker's range in the clip's source space, undoing the file's conventions.

    NLE exports follow the format's convention (EDL LOC = record TC; FCP 7 clip markers count
    from the file's first frame), but OTIO's own writers put clip-space numbers in both. So the
    dialect's convention is tried first and the raw value is kept when only it lands on the
    clip. A marker the dialect knows to mean its whole clip is a point at the clip's start.
    """
    r = marker.marked_range
    reading = loaded.reading.marker(marker)
    if reading is not None:
        if reading.whole_clip:
            start = clip.trimmed_range().start_time
            return TR(start, RT(0, start.rate))
        if reading.duration is not None:
            r = TR(r.start_time, reading.duration)
    conventional = loaded.dialect.clip_marker_start(loaded, clip, marker)
    if conventional is None:
        return r
    bounds = clip.trimmed_range()
    if not is_on(bounds, conventional) and is_on(bounds, r.start_time):
        return r
    return TR(conventional, r.duration)


def stack_timecode(loaded: LoadedTimeline, time: otio.opentime.RationalTime) -> str:
    """Absolute record timecode of a stack time."""
    gst = start_at(loaded.timeline, time.rate)
    shown = time + gst if gst is not None else time
    return timecode(shown, drop_frame=loaded.reading.drop_frame)


def video_tracks(
    loaded: LoadedTimeline, settings: PlanSettings
) -> list[tuple[int, otio.schema.Track, bool]]:
    """(index in timeline.tracks, track, is_guide_track) for every video track."""
    # Asked once per marker: cached for the find_marked_ranges call.
    return cached(
        loaded.timeline.tracks,
        f"video tracks, guides on {settings.guide_track!r}",
        lambda: list(_each_video_track(loaded, settings)),
    )


def _each_video_track(
    loaded: LoadedTimeline, settings: PlanSettings
) -> Iterator[tuple[int, otio.schema.Track, bool]]:
    guide = settings.guide_track.strip().lower()
    for index, track in enumerate(loaded.timeline.tracks):
        if isinstance(track, otio.schema.Track) and track.kind == otio.schema.TrackKind.Video:
            yield index, track, bool(guide) and (track.name or "").strip().lower() == guide


def _piece(
    loaded: LoadedTimeline,
    track_index: int,
    track: otio.schema.Track,
    clip_index: int,
    clip: otio.schema.Clip,
    source: otio.opentime.TimeRange,
    clip_trim: otio.opentime.RationalTime | None = None,
) -> Piece:
    place = track_place(track)
    trim = clip.trimmed_range().start_time if clip_trim is None else clip_trim
    record = TR(place.to_track(source.start_time, clip_index, trim), source.duration)
    stack = TR(place.to_stack(record.start_time), source.duration)
    return Piece(track_index, clip_index, clip, source, record, stack)


def clip_stack_time(
    loaded: LoadedTimeline,
    track: otio.schema.Track,
    clip_index: int,
    clip: otio.schema.Clip,
    marker: otio.schema.Marker,
) -> otio.opentime.RationalTime:
    """Where a clip marker starts in the stack (for messages).

    A marker outside its clip is placed at the clip's nearest end: where the user finds it,
    and never before the timeline's start (no negative timecode in a message).
    """
    start = marker_clip_range(loaded, clip, marker).start_time
    try:
        bounds = clip.trimmed_range()
        if start < bounds.start_time:
            start = bounds.start_time
        elif start >= bounds.end_time_exclusive() and bounds.duration.value > 0:
            start = bounds.end_time_exclusive() - RT(1, bounds.duration.rate)
        place = track_place(track)
        return place.to_stack(place.to_track(start, clip_index, bounds.start_time))
    except Exception:  # noqa: BLE001 - only used for the message
        return start


def clip_marker(
    loaded: LoadedTimeline,
    track_index: int,
    track: otio.schema.Track,
    clip_index: int,
    clip: otio.schema.Clip,
    marker: otio.schema.Marker,
) -> Built:
    bounds = clip.trimmed_range()
    if bounds.duration.value <= 0:
        raise Refused(
            f"the clip has no duration ({timecode(bounds.duration)}); fix its in/out points in "
            "the edit or remove the marker"
        )
    r = marker_clip_range(loaded, clip, marker)
    if is_point(r):
        if not is_on(bounds, r.start_time):
            raise _outside(r, bounds)
        piece = _piece(loaded, track_index, track, clip_index, clip, bounds, bounds.start_time)
        return [piece], [], r.start_time
    covered = intersect(r, bounds)
    if covered is None:
        raise _outside(r, bounds)
    warnings = []
    if covered.duration != r.duration:
        warnings.append("marker extends past its clip; only the part on the clip is used")
    piece = _piece(loaded, track_index, track, clip_index, clip, covered, bounds.start_time)
    return [piece], warnings, r.start_time


def _outside(r: otio.opentime.TimeRange, bounds: otio.opentime.TimeRange) -> Refused:
    """The refusal of a clip marker that misses its clip, said relative to the clip.

    Counted in frames from the clip's ends, so a marker before the media's (or timeline's)
    first frame is never shown as a negative timecode.
    """
    rate = bounds.start_time.rate
    point = is_point(r)
    if r.start_time < bounds.start_time:
        last = r.start_time if point else r.end_time_exclusive() - RT(1, r.start_time.rate)
        frames = round((bounds.start_time - last).value_rescaled_to(rate))
        side = f"{'it is' if point else 'it ends'} {_frames(frames)} before its first frame"
    else:
        frames = round((r.start_time - bounds.end_time_exclusive()).value_rescaled_to(rate)) + 1
        side = f"{'it is' if point else 'it starts'} {_frames(frames)} after its last frame"
    what = "marker"
    if r.start_time.value >= 0:
        what += f" at source {timecode(r.start_time)}" if point else f" {timecode(r.start_time)}"
        if not point:
            what += f"-{timecode(r.end_time_exclusive())}"
    return Refused(
        f"{what} is outside its clip: {side} (the clip uses {timecode(bounds.start_time)}-"
        f"{timecode(bounds.end_time_exclusive())}); move it onto the clip"
    )


def _frames(count: int) -> str:
    return f"{count} frame{'s' if count != 1 else ''}"


#: What to do about a nested sequence or compound clip under a marker.
NESTED_FIX = (
    "aleph-otio plans clips of the main timeline only: take the clips out of the nest "
    "(Resolve: Decompose in Place) and mark them there"
)


def _nested_refusal(
    loaded: LoadedTimeline, nest: otio.schema.Stack, at: otio.opentime.RationalTime
) -> Refused:
    return Refused(
        f"marker covers the nested sequence/compound clip {display_name(nest.name or '?')!r} "
        f"at {stack_timecode(loaded, at)}; {NESTED_FIX}"
    )


def composition_hits(
    loaded: LoadedTimeline,
    track_index: int,
    track: otio.schema.Track,
    r: otio.opentime.TimeRange,
) -> Built:
    """Pieces of the clips a track-time range covers (a point covers the clip under it)."""
    if is_point(r):
        for index, child in enumerate(track):
            span = child_span(track, index)
            if isinstance(child, otio.schema.Stack) and is_on(span, r.start_time):
                at = transformed_time(track, r.start_time, loaded.timeline.tracks)
                raise _nested_refusal(loaded, child, at)
            if isinstance(child, otio.schema.Clip) and is_on(span, r.start_time):
                whole = child.trimmed_range()
                anchor = transformed_time(track, r.start_time, child)
                return [_piece(loaded, track_index, track, index, child, whole)], [], anchor
        raise Refused(
            f"no clip under the marker on track {display_name(track.name or str(track_index))}"
        )
    pieces: list[Piece] = []
    warnings: list[str] = []
    for index, child in enumerate(track):
        if isinstance(child, otio.schema.Transition):
            continue
        span = child_span(track, index)
        overlap = intersect(r, span)
        if overlap is None:
            continue
        if not isinstance(child, otio.schema.Clip):
            at = transformed_time(track, overlap.start_time, loaded.timeline.tracks)
            if isinstance(child, otio.schema.Stack):
                raise _nested_refusal(loaded, child, at)
            raise Refused(
                f"marker spans a {type(child).__name__.lower()} at {stack_timecode(loaded, at)}; "
                "Aleph needs continuous picture: split the marker around it"
            )
        source = transformed_range(track, overlap, child)
        pieces.append(_piece(loaded, track_index, track, index, child, source))
    if not pieces:
        raise Refused(
            f"no clip under the marker on track {display_name(track.name or str(track_index))}"
        )
    if any(isinstance(c, otio.schema.Transition) for c in track) and len(pieces) > 1:
        warnings.append("transitions inside the range are sent as hard cuts")
    return pieces, warnings, pieces[0].source_range.start_time


def stack_marker_track(
    loaded: LoadedTimeline, settings: PlanSettings, r: otio.opentime.TimeRange
) -> tuple[int, otio.schema.Track, otio.opentime.TimeRange]:
    """The topmost video track with a clip at the marker's start (what editors see).

    Clips without file media (titles, generators) are passed over when a clip below has media.
    """
    stack = loaded.timeline.tracks
    fallback = None
    for index, track, is_guide in reversed(video_tracks(loaded, settings)):
        if is_guide:
            continue
        local = transformed_range(stack, r, track)
        for child_index, child in enumerate(track):
            if isinstance(child, otio.schema.Stack) and is_on(
                child_span(track, child_index), local.start_time
            ):
                # A compound clip covers the tracks below: its picture is what editors see, so
                # it is the one refused (with what to do), never a clip underneath sent instead.
                return index, track, local
            if isinstance(child, otio.schema.Clip) and is_on(
                child_span(track, child_index), local.start_time
            ):
                if isinstance(
                    child.media_reference,
                    otio.schema.ExternalReference | otio.schema.ImageSequenceReference,
                ):
                    return index, track, local
                fallback = fallback or (index, track, local)
    if fallback is not None:
        return fallback
    raise Refused("no video clip under the timeline marker")


def stack_marker_range(
    loaded: LoadedTimeline, r: otio.opentime.TimeRange
) -> otio.opentime.TimeRange:
    """A timeline marker's range in stack time (0 = first frame of the edit).

    Some writers (Resolve, unverified) may count timeline markers from the timeline's start
    timecode; such a marker lies past the end of the edit, and moving it back by the start
    timecode puts it inside, so that reading is taken.
    """
    gst = loaded.timeline.global_start_time
    if gst is None or gst.value == 0:
        return r
    stack = loaded.timeline.tracks
    span = stack.trimmed_range()
    if is_on(span, r.start_time):
        return r
    shifted = TR(r.start_time - gst.rescaled_to(r.start_time.rate), r.duration)
    return shifted if is_on(span, shifted.start_time) else r
