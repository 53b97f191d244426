"""Media linking, pure: the result reference a clip should point at (the OTIO media linker in
``adapters/`` feeds it the ledger's results)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import PurePath

import opentimelineio as otio

from aleph_otio.relink.references import METADATA_KEY, RelinkResult, UrlStyle, result_reference

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


def _local_path(url: str) -> str:
    if url.startswith("file://"):
        return os.path.normpath(otio.url_utils.filepath_from_url(url))
    if "://" in url:
        return url
    return os.path.normpath(os.path.abspath(url))


def _same_media(planned: str, named: str) -> bool:
    """Whether the file a shot was cut from is the clip's own media: the same path, or, for media
    found elsewhere with ``--media-map``/``--media-search``, the same file name without its
    suffix (a moved copy, or the transcode of a camera original)."""
    planned = _local_path(planned)
    if planned == named:
        return True
    return PurePath(planned).stem.casefold() == PurePath(named.replace("\\", "/")).stem.casefold()


def reference_for_clip(
    clip: otio.schema.Clip,
    results: Sequence[RelinkResult],
    *,
    variant: int = 0,
    url_style: UrlStyle = "path",
) -> otio.schema.ExternalReference | None:
    """The result reference ``clip`` should point at, or None when no result belongs to it.

    A clip written by :func:`relink_timeline` is found by the shot id in its provenance; any
    other clip by its source: same media file, same clip name, and a source range that holds the
    shot's segment. The reference's time code makes the clip's own ``source_range`` land on the
    right frames of the result.
    """
    prov = clip.metadata.get(METADATA_KEY, {})
    if isinstance(prov, Mapping) and prov.get("shot_id"):
        wanted = int(prov.get("variant", variant))
        for result in results:
            if result.shot.id == prov["shot_id"] and result.variant == wanted:
                piece = int(prov.get("piece", 0))
                if piece >= len(result.shot.segments):
                    return None
                return result_reference(result, segment_index=piece, url_style=url_style)
        return None
    ref = clip.media_reference
    if not isinstance(ref, otio.schema.ExternalReference) or not ref.target_url:
        return None
    path = _local_path(ref.target_url)
    try:
        clip_range = clip.trimmed_range()
    except otio.exceptions.CannotComputeAvailableRangeError:
        return None
    for result in results:
        if result.variant != variant:
            continue
        for index, segment in enumerate(result.shot.segments):
            if segment.clip_name != clip.name or not _same_media(segment.media_path, path):
                continue
            part = TR(
                RT(segment.clip_source_start, segment.clip_source_rate),
                RT(segment.clip_source_duration, segment.clip_source_rate),
            )
            if clip_range.contains(part.start_time) and part.end_time_exclusive() <= (
                clip_range.end_time_exclusive()
            ):
                return result_reference(result, segment_index=index, url_style=url_style)
    return None
