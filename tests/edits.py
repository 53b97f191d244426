"""The smallest edit a test needs: one clip on one track, an ``aleph:`` marker over what it uses."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio


def write_marked_clip(
    path: Path,
    ref: otio.core.MediaReference,
    used: otio.opentime.TimeRange,
    *,
    clip: str = "A001",
    prompt: str = "relight to dusk",
    timeline: str = "cut",
) -> Path:
    """Write to ``path`` a timeline whose V1 holds clip ``clip`` of ``ref`` over ``used``, with the
    marker ``aleph: <prompt>`` over all of it; returns ``path``."""
    marked = otio.schema.Clip(name=clip, media_reference=ref, source_range=used)
    marked.markers.append(otio.schema.Marker(name=f"aleph: {prompt}", marked_range=used))
    edit = otio.schema.Timeline(name=timeline)
    edit.tracks.append(otio.schema.Track(name="V1", children=[marked]))
    otio.adapters.write_to_file(edit, str(path))
    return path
