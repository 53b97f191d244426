"""Writing the relinked timeline in the user's format, ready for their NLE.

Each format keeps what it can: OTIO keeps everything; formats that keep one media reference per
clip rely on the version track.
"""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio

from aleph_otio.timeline import write_timeline


def write_output(timeline: otio.schema.Timeline, path: Path) -> Path:
    """Write a relinked timeline to ``path``, the format chosen by its suffix, atomically."""
    return write_timeline(timeline, path)
