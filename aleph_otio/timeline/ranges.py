"""The marked ranges planning works from: pieces of clips, guide stills, refusals."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import opentimelineio as otio


@dataclass(frozen=True)
class Piece:
    """The part of one clip a marked range covers."""

    track_index: int
    clip_index: int
    clip: otio.schema.Clip
    source_range: otio.opentime.TimeRange  # in the clip's source space (clip.source_range's)
    record_range: otio.opentime.TimeRange  # in the track's time
    stack_range: otio.opentime.TimeRange  # in the timeline stack's time

    @property
    def track(self) -> otio.schema.Track:
        parent = self.clip.parent()
        assert isinstance(parent, otio.schema.Track)
        return parent


@dataclass(frozen=True)
class GuideSpec:
    """A guide still requested for a marked range, before the plan positions it.

    Exactly one of ``stack_time`` (a still on the guide track: the frame under its start),
    ``frame`` or ``timestamp`` (seconds from the marked range's first frame) is set.
    """

    image: str
    origin: str
    stack_time: otio.opentime.RationalTime | None = None
    frame: Literal["first", "last"] | None = None
    timestamp: float | None = None


@dataclass
class MarkedRange:
    """One edit request: a prompt and the clip ranges it covers (several across a cut)."""

    prompt: str
    options: dict[str, Any]
    marker_name: str
    marker_color: str
    location: str
    scope: Literal["clip", "track", "stack"]
    pieces: list[Piece]
    anchor: otio.opentime.RationalTime  # marker start in the first piece's clip source space
    guides: list[GuideSpec] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def stack_start(self) -> otio.opentime.RationalTime:
        return self.pieces[0].stack_range.start_time


class Refused(Exception):
    """One marker cannot be used; the message is the reason and what to do."""


#: What building a marked range gives: its pieces, warnings, and the marker's anchor time.
Built = tuple[list[Piece], list[str], otio.opentime.RationalTime]
