"""OpenTimelineIO adapter for aleph-otio batch manifests (``*.aleph.json``).

OTIO loads this file by path, outside any package, so it only uses absolute imports and
delegates everything to :mod:`aleph_otio.batch`.

- write: plans the timeline (markers -> Aleph shots) and writes the batch manifest; keyword
  arguments are PlanSettings fields (``otioconvert -A handles=12 -A number_results=2``) plus
  ``timeline_path`` and ``source_adapter``.
- read: gives a timeline of the planned shots (one clip per source segment, a marker per shot).
"""

from typing import Any

import opentimelineio as otio

from aleph_otio import batch


def read_from_file(filepath: str, **kwargs: Any) -> otio.schema.Timeline:
    """Read a batch manifest as a timeline of its planned shots."""
    return batch.adapter_read(filepath, **kwargs)


def write_to_file(input_otio: otio.schema.Timeline, filepath: str, **kwargs: Any) -> None:
    """Plan ``input_otio`` and write the batch manifest to ``filepath``."""
    batch.adapter_write(input_otio, filepath, **kwargs)
