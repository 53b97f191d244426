"""``.aaf``: Avid through the AAF adapter, one master mob per media file."""

from __future__ import annotations

import uuid
from pathlib import Path

import opentimelineio as otio

from aleph_otio.errors import TimelineWriteError
from aleph_otio.exports.conform import (
    conform_results_to_files,
    is_result_clip,
    sequences_as_first_files,
)
from aleph_otio.exports.paths import to_file_urls
from aleph_otio.timeline import write_timeline


def _mob_id(key: str) -> str:
    """A stable AAF MobID for a media file, so each file is one master clip."""
    import aaf2.mobid

    mob = aaf2.mobid.MobID.new()
    mob.material = uuid.uuid5(uuid.NAMESPACE_URL, key)
    return str(mob)


def write_aaf(timeline: otio.schema.Timeline, path: Path) -> Path:
    try:
        import aaf2.mobid  # noqa: F401 - only to fail early with a clear message
    except ImportError:
        raise TimelineWriteError(
            f"{path}: writing AAF needs the otio-aaf-adapter package; install it, or write "
            ".xml (Premiere, Resolve) or .edl (Avid)"
        ) from None
    # The AAF adapter writes an image sequence with no locator at all (Avid then finds
    # nothing): like FCP XML, the clip names the sequence's first file.
    sequences_as_first_files(timeline)
    conform_results_to_files(timeline)
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if not isinstance(ref, otio.schema.ExternalReference) or not ref.target_url:
            continue
        aaf = dict(ref.metadata.get("AAF", {}))
        if is_result_clip(clip) or not aaf.get("MobID"):
            aaf["MobID"] = _mob_id(ref.target_url)
            ref.metadata["AAF"] = aaf
        if is_result_clip(clip) and "AAF" in clip.metadata:
            # A clip read from AAF names its original master mob; the result is another file.
            clip_aaf = dict(clip.metadata["AAF"])
            clip_aaf.pop("SourceID", None)
            clip_aaf["MobID"] = aaf["MobID"]
            clip.metadata["AAF"] = clip_aaf
    to_file_urls(timeline, localhost=False)
    try:
        return write_timeline(timeline, path, use_empty_mob_ids=True)
    except TimelineWriteError as exc:
        raise TimelineWriteError(
            f"{exc}; AAF could not hold this timeline, write .xml (Premiere, Resolve) or .edl "
            "(Avid) instead"
        ) from None
