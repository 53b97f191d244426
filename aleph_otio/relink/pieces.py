"""One segment of one result, found in the timeline and ready to place; variation letters."""

from __future__ import annotations

from dataclasses import dataclass

import opentimelineio as otio

from aleph_otio.relink.references import RelinkResult
from aleph_otio.shots import SourceSegment


@dataclass
class Piece:
    """One segment of one result, ready to place."""

    result: RelinkResult
    index: int
    segment: SourceSegment
    track: otio.schema.Track
    clip: otio.schema.Clip
    record: otio.opentime.TimeRange


def letter(variant: int) -> str:
    return "abcdefghijklmnopqrstuvwxyz"[variant] if variant < 26 else f"_{variant}"
