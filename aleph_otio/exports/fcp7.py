"""``.xml``: FCP 7 XML for Premiere Pro and DaVinci Resolve."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import opentimelineio as otio

from aleph_otio.errors import MediaError
from aleph_otio.exports.conform import (
    GUIDE_TRACK,
    conform_results_to_files,
    probe_cached,
    result_references,
    sequences_as_first_files,
    version_label,
)
from aleph_otio.exports.paths import local_file, to_file_urls
from aleph_otio.media.probe import MediaInfo, probe
from aleph_otio.timeline import write_timeline


def _sequence_format(timeline: otio.schema.Timeline) -> dict[str, Any] | None:
    """``<format><samplecharacteristics>`` from the first readable source clip.

    Without it Premiere makes the imported sequence in its default size, not the footage's.
    """
    for track in timeline.video_tracks():
        if track.name == GUIDE_TRACK or version_label(track):
            continue
        for clip in track.find_clips():
            ref = clip.media_reference
            local = (
                local_file(ref.target_url)
                if isinstance(ref, otio.schema.ExternalReference)
                else None
            )
            if not local or not os.path.isfile(local) or clip.source_range is None:
                continue
            try:
                info = probe(local)
            except MediaError:
                continue
            if info.is_still or not info.width:
                continue
            rate = clip.source_range.duration.rate
            return {
                "samplecharacteristics": {
                    "width": str(info.width),
                    "height": str(info.height),
                    "pixelaspectratio": "square",
                    "fielddominance": "none",
                    "rate": {
                        "timebase": str(round(rate)),
                        "ntsc": "TRUE" if abs(rate - round(rate)) > 1e-6 else "FALSE",
                    },
                }
            }
    return None


def write_fcp7(timeline: otio.schema.Timeline, path: Path) -> Path:
    seq = dict(timeline.metadata.get("fcp_xml", {}))
    if "media" not in seq and (fmt := _sequence_format(timeline)) is not None:
        # The adapter writes the sequence's metadata as its children; tracks are added after.
        seq["media"] = {"video": {"format": fmt}}
        timeline.metadata["fcp_xml"] = seq
    sequences_as_first_files(timeline)
    conform_results_to_files(timeline)
    cache: dict[str, MediaInfo | None] = {}
    for _clip, ref, local in result_references(timeline):
        info = probe_cached(local, cache)
        if info is None:
            continue
        # The adapter declares audio on every <file>; Aleph results have none, and Premiere
        # then expects an audio stream that is not there. Describe what the file holds.
        media: dict[str, Any] = {
            "video": {
                "samplecharacteristics": {"width": str(info.width), "height": str(info.height)}
            }
        }
        if info.has_audio:
            media["audio"] = {}
        ref.metadata["fcp_xml"] = {**dict(ref.metadata.get("fcp_xml", {})), "media": media}
    to_file_urls(timeline, localhost=True)
    for track in timeline.tracks:
        fcp = dict(track.metadata.get("fcp_xml", {}))
        # The adapter writes this metadata as the <track>'s children: a name, and <enabled>.
        if track.name and not fcp.get("name"):
            fcp["name"] = track.name
        if track.name == GUIDE_TRACK or not track.enabled:
            fcp["enabled"] = "FALSE"
        track.metadata["fcp_xml"] = fcp
    return write_timeline(timeline, path)
