"""Every edit-request marker of a timeline as a :class:`MarkedRange`, or one error line."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import opentimelineio as otio

from aleph_otio.config import PlanSettings
from aleph_otio.locate import MediaLocator, media_locator
from aleph_otio.timeline.access import display_name, items_of, track_label
from aleph_otio.timeline.geometry import cached, planning_cache, transformed_time
from aleph_otio.timeline.guides import guides_from_metadata, guides_from_track
from aleph_otio.timeline.pieces import (
    NESTED_FIX,
    clip_marker,
    clip_stack_time,
    composition_hits,
    stack_marker_range,
    stack_marker_track,
    stack_timecode,
    video_tracks,
)
from aleph_otio.timeline.ranges import Built, MarkedRange, Refused
from aleph_otio.timeline.rates import timecode
from aleph_otio.timeline.reading import LoadedTimeline
from aleph_otio.timeline.requests import check_color, edit_request, looks_like_request


def _location(
    loaded: LoadedTimeline,
    track: otio.schema.Track | None,
    clip: otio.schema.Clip | None,
    stack_time: otio.opentime.RationalTime,
    marker: otio.schema.Marker,
) -> str:
    parts = [cached(loaded.path, "file label", lambda: display_name(loaded.path.name, 120))]
    if track is not None:
        parts.append(
            cached(
                track,
                "track label",
                lambda: f"track {display_name(track_label(loaded.timeline, track))}",
            )
        )
    else:
        parts.append("timeline marker")
    if clip is not None:
        parts.append(f"clip {display_name(clip.name or '?')}")
    parts.append(stack_timecode(loaded, stack_time))
    if marker.name:
        parts.append(f"marker {marker.name[:40]!r}")
    return ", ".join(parts)


def _known(time: otio.opentime.RationalTime) -> Callable[[], otio.opentime.RationalTime]:
    """A stack-time thunk for a time computed already."""
    return lambda: time


@dataclass
class MarkerScan:
    """What :func:`scan_markers` found: the requests, one error line per refused marker, and
    plan-wide warnings (what the file's dialect skipped or ignored, counted)."""

    ranges: list[MarkedRange]
    errors: list[str]
    warnings: list[str]


def find_marked_ranges(
    loaded: LoadedTimeline, settings: PlanSettings, *, locator: MediaLocator | None = None
) -> tuple[list[MarkedRange], list[str]]:
    """Every edit-request marker as a :class:`MarkedRange`, plus one-line errors.

    See :func:`scan_markers`, which also returns the plan-wide warnings.
    """
    scan = scan_markers(loaded, settings, locator=locator)
    return scan.ranges, scan.errors


def scan_markers(
    loaded: LoadedTimeline, settings: PlanSettings, *, locator: MediaLocator | None = None
) -> MarkerScan:
    """Every edit-request marker as a :class:`MarkedRange`, one-line errors, and warnings.

    Markers on clips are read in clip time, markers on tracks and on the timeline in record time;
    the file's conventions are undone first (its dialect). Markers on the guide track are
    ignored. A marker that cannot be used becomes an error line naming file, track, clip and
    timecode; the rest still come back. Ranges are ordered by record time.
    """
    with planning_cache():
        return _scan_markers(loaded, settings, locator or media_locator(settings))


def _scan_markers(
    loaded: LoadedTimeline, settings: PlanSettings, locator: MediaLocator
) -> MarkerScan:
    reading = loaded.reading
    errors = check_color(loaded, settings)
    ignored: Counter[str] = Counter()
    ranges: list[MarkedRange] = []
    stack = loaded.timeline.tracks
    video = {index: (track, is_guide) for index, track, is_guide in video_tracks(loaded, settings)}

    def misplaced(marker: otio.schema.Marker) -> bool:
        """Whether a marker where no request can be is an error (a copy is only counted)."""
        facts = reading.marker(marker)
        if facts is not None and facts.ignored is not None:
            if looks_like_request(marker, settings, facts):
                ignored[facts.ignored] += 1
            return False
        return looks_like_request(marker, settings, facts)

    def add(
        marker: otio.schema.Marker,
        track: otio.schema.Track | None,
        clip: otio.schema.Clip | None,
        stack_time: Callable[[], otio.opentime.RationalTime],
        scope: Literal["clip", "track", "stack"],
        build: Any,
    ) -> None:
        # Most markers are not edit requests: their location is not worth formatting.
        facts = reading.marker(marker)
        if facts is not None and facts.ignored is not None:
            if looks_like_request(marker, settings, facts):
                ignored[facts.ignored] += 1
            return
        try:
            request = edit_request(marker, settings, facts)
        except Refused as exc:
            errors.append(f"{_location(loaded, track, clip, stack_time(), marker)}: {exc}")
            return
        if request is None:
            return
        if facts is not None and facts.refused:
            errors.append(
                f"{_location(loaded, track, clip, stack_time(), marker)}: {facts.refused}"
            )
            return
        location = _location(loaded, track, clip, stack_time(), marker)
        try:
            if not request.prompt:
                raise Refused(
                    "the prompt is empty; write it in the marker's name or comment "
                    f"(after {settings.prefix!r})"
                )
            if marker.marked_range.duration.value < 0:
                raise Refused(
                    f"the marker's duration is negative ({timecode(marker.marked_range.duration)})"
                    "; set its out point after its in point"
                )
            pieces, warnings, anchor = build()
            guides = guides_from_track(loaded, settings, pieces, locator)
            guides += guides_from_metadata(loaded, request.guides, locator)
        except Refused as exc:
            errors.append(f"{location}: {exc}")
            return
        ranges.append(
            MarkedRange(
                prompt=request.prompt,
                options=request.options,
                marker_name=marker.name,
                marker_color=(
                    facts.color.upper()
                    if facts is not None and facts.color_replaces and facts.color
                    else str(marker.color)
                ),
                location=location,
                scope=scope,
                pieces=pieces,
                anchor=anchor,
                guides=guides,
                warnings=warnings,
            )
        )

    # Stack (timeline) markers: record time of the whole edit.
    for marker in items_of(stack.markers):
        r = stack_marker_range(loaded, marker.marked_range)

        def build_stack(r: otio.opentime.TimeRange = r) -> Built:
            index, track, local = stack_marker_track(loaded, settings, r)
            return composition_hits(loaded, index, track, local)

        add(marker, None, None, _known(r.start_time), "stack", build_stack)

    for track_index, track in enumerate(stack):
        if not isinstance(track, otio.schema.Track):
            continue
        is_video = track_index in video
        kind = display_name(str(track.kind).lower())  # from the file: may hold anything
        is_guide = is_video and video[track_index][1]
        if is_guide:
            continue
        for marker in items_of(track.markers):
            r = marker.marked_range
            stack_time = transformed_time(track, r.start_time, stack)
            if not is_video:
                if misplaced(marker):
                    errors.append(
                        f"{_location(loaded, track, None, stack_time, marker)}: marker is on "
                        f"an {kind} track; put it on a video track or clip"
                    )
                continue

            def build_track(
                r: otio.opentime.TimeRange = r, ti: int = track_index, t: otio.schema.Track = track
            ) -> Built:
                return composition_hits(loaded, ti, t, r)

            add(marker, track, None, _known(stack_time), "track", build_track)
        for clip_index, child in enumerate(track):
            if isinstance(child, otio.schema.Stack):
                for marker in _nested_markers(child):
                    if misplaced(marker):
                        at = transformed_time(child, marker.marked_range.start_time, stack)
                        errors.append(
                            f"{_location(loaded, track, None, at, marker)}: marker is inside a "
                            f"nested sequence/compound clip {display_name(child.name or '?')!r}; "
                            f"{NESTED_FIX}"
                        )
                continue
            if isinstance(child, otio.schema.Gap):
                for marker in items_of(child.markers):
                    if misplaced(marker):
                        at = transformed_time(child, marker.marked_range.start_time, stack)
                        errors.append(
                            f"{_location(loaded, track, None, at, marker)}: marker sits on a gap "
                            "(no picture to edit); move it onto a clip"
                        )
                continue
            if not isinstance(child, otio.schema.Clip):
                continue
            for marker in items_of(child.markers):

                def clip_time(
                    m: otio.schema.Marker = marker,
                    t: otio.schema.Track = track,
                    ci: int = clip_index,
                    c: otio.schema.Clip = child,
                ) -> otio.opentime.RationalTime:
                    return clip_stack_time(loaded, t, ci, c, m)

                if not is_video:
                    if misplaced(marker):
                        errors.append(
                            f"{_location(loaded, track, child, clip_time(), marker)}: marker is "
                            f"on an {kind} clip; put it on the video clip"
                        )
                    continue

                def build_clip(
                    m: otio.schema.Marker = marker,
                    ti: int = track_index,
                    t: otio.schema.Track = track,
                    ci: int = clip_index,
                    c: otio.schema.Clip = child,
                ) -> Built:
                    return clip_marker(loaded, ti, t, ci, c, m)

                add(marker, track, child, clip_time, "clip", build_clip)
    ranges.sort(key=lambda m: (m.stack_start.to_seconds(), m.pieces[0].track_index))
    file = display_name(loaded.path.name, 120)
    warnings = [f"{file}: {line}" for line in reading.warnings]
    warnings += [f"{file}: ignored {count:,} {why}" for why, count in ignored.items()]
    return MarkerScan(ranges, errors, warnings)


def _nested_markers(stack: otio.schema.Stack) -> Iterator[otio.schema.Marker]:
    yield from items_of(stack.markers)
    for child in stack.find_children():
        yield from getattr(child, "markers", [])
