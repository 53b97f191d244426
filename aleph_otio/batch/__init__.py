"""The batch manifest (``*.aleph.json``): a planned timeline, ready to review or submit.

A batch holds the plan's shots, the settings they were planned with, the markers that could
not be planned, and for each shot a preview of the ``videoInference`` task it will become, in
the API's own field names. It is what ``aleph-otio plan -o`` and ``otioconvert -o x.aleph.json``
write; reading it back through OTIO gives a timeline of the planned shots.

Rooms: ``manifest`` (the model, task previews, the JSON text), ``storage`` (writing and reading
the file), ``shots_timeline`` (the manifest as an OTIO timeline), ``adapter`` (the OTIO
adapter's logic); this package re-exports their names.
"""

from __future__ import annotations

from aleph_otio.batch.adapter import (
    adapter_read,
    adapter_write,
    default_media_facts,
    guess_source_adapter,
    plan_otio_timeline,
    settings_from_kwargs,
)
from aleph_otio.batch.manifest import (
    BATCH_FORMAT,
    BATCH_SUFFIX,
    BATCH_VERSION,
    Batch,
    BatchShot,
    FrameImagePreview,
    TaskInputsPreview,
    TaskPreview,
    batch_json,
    clip_file_name,
    plan_to_batch,
    task_preview,
)
from aleph_otio.batch.shots_timeline import batch_to_timeline
from aleph_otio.batch.storage import read_batch, write_batch

__all__ = [
    "BATCH_FORMAT",
    "BATCH_SUFFIX",
    "BATCH_VERSION",
    "Batch",
    "BatchShot",
    "FrameImagePreview",
    "TaskInputsPreview",
    "TaskPreview",
    "adapter_read",
    "adapter_write",
    "batch_json",
    "batch_to_timeline",
    "clip_file_name",
    "default_media_facts",
    "guess_source_adapter",
    "plan_otio_timeline",
    "plan_to_batch",
    "read_batch",
    "settings_from_kwargs",
    "task_preview",
    "write_batch",
]
