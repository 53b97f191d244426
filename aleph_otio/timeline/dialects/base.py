"""What a source dialect is: how one writer's files are read and normalised for planning.

A dialect knows one family of files (an adapter, and the quirks of the NLEs that write it). The
planner never asks which NLE wrote a file: it reads :class:`MarkerReading` facts a dialect
recorded and calls :meth:`Dialect.clip_marker_start`, and a new quirk goes into the dialect's
module, nowhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import opentimelineio as otio

#: A frame rate as the user gave it (``--rate``), or None.
RateArg = float | str | Fraction | None


@dataclass
class MarkerReading:
    """What a dialect learned about one marker that OTIO's objects do not say.

    ``whole_clip``: the marker means its whole clip, wherever it sits (Hiero's ``applieswhole``
    tags). ``ignored``: why the marker is not a request of its own (a copy of another marker),
    counted in one plan warning instead of an error each. ``comment``/``color``: the note and
    colour the NLE gave it where OTIO's adapter dropped or buried them. ``refused``: why the
    marker cannot be planned, known from the file alone (its clip names no media, a multicam
    shows no video angle); the request becomes that error line. ``color_replaces``:
    ``color`` is the marker's only colour (the adapter's own is a placeholder, e.g. the RED
    OTIO gives every FCP 7 XML marker).
    """

    whole_clip: bool = False
    ignored: str | None = None
    refused: str | None = None
    comment: str = ""
    color: str = ""
    color_replaces: bool = False
    name: str | None = None
    duration: otio.opentime.RationalTime | None = None


@dataclass
class Reading:
    """A dialect's findings for one file: plan-wide warnings and per-marker facts."""

    warnings: list[str] = field(default_factory=list)
    #: The file counts time code drop-frame (an EDL's ``;``/``FCM: DROP FRAME``, an XML's DF
    #: display format): 29.97/59.94 time codes are then shown the way its NLE shows them.
    drop_frame: bool = False
    # Keyed by id() with the marker kept alive in the value, so an id is never reused.
    _markers: dict[int, tuple[Any, MarkerReading]] = field(default_factory=dict)

    def marker(self, marker: otio.schema.Marker) -> MarkerReading | None:
        """The facts recorded for ``marker``, or None."""
        if not self._markers:
            return None
        hit = self._markers.get(id(marker))
        return hit[1] if hit is not None and hit[0] is marker else None

    def note(self, marker: otio.schema.Marker) -> MarkerReading:
        """The facts of ``marker``, made on first use (for a dialect to fill in)."""
        hit = self._markers.get(id(marker))
        if hit is None or hit[0] is not marker:
            hit = (marker, MarkerReading())
            self._markers[id(marker)] = hit
        return hit[1]


class TimelineFile(Protocol):
    """What a dialect sees of a read timeline (:class:`~aleph_otio.timeline.LoadedTimeline`).

    A protocol, so that dialects never import the reader that imports them.
    """

    timeline: otio.schema.Timeline
    path: Path
    adapter_name: str

    @property
    def folder(self) -> Path: ...

    @property
    def reading(self) -> Reading: ...


class Dialect:
    """The default: a file OTIO's adapter reads as it is, markers in their owner's space."""

    #: Short name shown in messages and docs.
    name = "otio"
    #: What its files are called in messages ("this EDL names no media file").
    file_kind = "timeline"
    #: OTIO adapter names whose files this dialect reads.
    adapters: tuple[str, ...] = ()
    #: File suffixes (no dot) read with ``adapters[0]`` unless an adapter is named, whichever
    #: adapter OTIO's plugin order would pick for them.
    suffixes: tuple[str, ...] = ()
    #: Where its adapter puts a marker's note / colour: (metadata key, key inside it).
    comment_keys: tuple[tuple[str, str], ...] = ()
    color_keys: tuple[tuple[str, str], ...] = ()

    def read(self, path: Path, adapter_name: str, *, rate: RateArg = None) -> Any:
        """What the adapter reads from ``path`` (a Timeline or a collection of them).

        ``rate`` is the user's ``--rate``, for formats that do not record theirs. A
        :class:`TimelineReadError` is shown as it is; anything else goes through
        :meth:`read_error`.
        """
        return otio.adapters.read_from_file(os.fspath(path), adapter_name=adapter_name)

    def read_error(
        self, path: Path, adapter_name: str, exc: Exception, *, rate: RateArg = None
    ) -> str:
        """The one-line reason (and what to do) for an adapter failure on a complete file."""
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        return f"cannot read as {adapter_name}: {detail}; check the file is a complete export"

    def normalise(self, loaded: TimelineFile) -> Reading:
        """Facts for planning that the file's writer implies; the timeline is left unchanged."""
        return Reading()

    def media_names(self, clip: otio.schema.Clip) -> list[tuple[str, str]]:
        """Names a clip that names no media file may be found by, best first.

        Each is (name, where it came from): ``--media-search`` looks for a file of that name
        (any movie suffix, case ignored). The default: the clip's own name.
        """
        return [(clip.name, "clip name")] if clip.name else []

    def clip_marker_start(
        self, loaded: TimelineFile, clip: otio.schema.Clip, marker: otio.schema.Marker
    ) -> otio.opentime.RationalTime | None:
        """A clip marker's start in the clip's source space by the format's convention.

        None when the marker is already in its clip's space. The planner tries this first and
        keeps the raw value when only that lands on the clip (OTIO's own writers put clip-space
        numbers into every format).
        """
        return None
