"""Clip markers an NLE copied into every use of a clip: which copy is a request, which are not.

Premiere writes each master-clip marker into every clipitem cut from that clip, and into its
linked audio clipitems, whether or not the clipitem uses the marked frame. A copy is known by
the same marker (time, length, name, note) on several uses of one media file: only the copies
on a video use that covers the marked frames are requests. A marker that exists once keeps its
own refusal ("outside its clip", "on an audio clip"): an editor put it there.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

import opentimelineio as otio

from aleph_otio.timeline.dialects.base import Reading
from aleph_otio.timeline.geometry import intersect, is_on, is_point

TR = otio.opentime.TimeRange

#: The plan warning's reasons ("ignored N <reason>").
OUTSIDE = (
    "copies of clip markers outside the part of the clip the edit uses "
    "(Premiere copies every clip marker into every use of the clip)"
)
AUDIO = (
    "audio copies of clip markers already on the video of the same clip "
    "(Premiere copies clip markers into the linked audio)"
)


def lands_on(
    bounds: otio.opentime.TimeRange,
    marked: otio.opentime.TimeRange,
    start: otio.opentime.RationalTime,
) -> bool:
    """Whether ``marked`` moved to ``start`` touches ``bounds`` (a point: lies on it)."""
    if is_point(marked):
        return is_on(bounds, start)
    return intersect(TR(start, marked.duration), bounds) is not None


@dataclass
class _Use:
    marker: otio.schema.Marker
    video: bool
    on_clip: bool


@dataclass
class MarkerCopies:
    """Clip markers grouped by (media, marker identity), one pass over the timeline."""

    _groups: dict[Hashable, list[_Use]] = field(default_factory=dict)

    def add(self, key: Hashable, marker: otio.schema.Marker, *, video: bool, on_clip: bool) -> None:
        """One clip's marker; ``key`` names its media and the marker (equal for copies)."""
        self._groups.setdefault(key, []).append(_Use(marker, video, on_clip))

    def note(self, reading: Reading) -> None:
        """Mark the copies that are not requests as ignored in ``reading``."""
        for uses in self._groups.values():
            if len(uses) < 2:
                continue
            on_video = any(use.video for use in uses)
            for use in uses:
                if not use.video:
                    if on_video:
                        reading.note(use.marker).ignored = AUDIO
                elif not use.on_clip:
                    reading.note(use.marker).ignored = OUTSIDE
