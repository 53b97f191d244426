"""``.otioz``: the timeline with every clip's media bundled into the zip."""

from __future__ import annotations

import os
from pathlib import Path

import opentimelineio as otio

from aleph_otio.errors import TimelineWriteError
from aleph_otio.exports.paths import local_file
from aleph_otio.timeline import write_timeline


def write_otioz(timeline: otio.schema.Timeline, path: Path) -> Path:
    from opentimelineio.adapters.file_bundle_utils import MediaReferencePolicy

    by_name: dict[str, str] = {}
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if not isinstance(ref, otio.schema.ExternalReference) or not ref.target_url:
            continue
        local = local_file(ref.target_url)
        if local is None:
            raise TimelineWriteError(
                f"{path}: clip {clip.name!r} links remote media {ref.target_url}; an .otioz "
                "bundles local files only, download it or write .otio"
            )
        if not os.path.isfile(local):
            raise TimelineWriteError(
                f"{path}: clip {clip.name!r}: media {local} does not exist, so it cannot be "
                "bundled; relink it or write .otio"
            )
        other = by_name.setdefault(os.path.basename(local), local)
        if other != local:
            raise TimelineWriteError(
                f"{path}: clip {clip.name!r}: {local} and {other} have the same file name, "
                "which an .otioz bundle cannot hold; rename one or write .otio"
            )
    return write_timeline(timeline, path, media_policy=MediaReferencePolicy.ErrorIfNotFile)
