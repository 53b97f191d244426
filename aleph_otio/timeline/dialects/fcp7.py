"""FCP 7 XML (xmeml) as Premiere Pro and Resolve write it (OTIO's ``fcp_xml`` adapter).

Clip markers count from the media file's first frame, without its start timecode.
"""

from __future__ import annotations

import opentimelineio as otio

from aleph_otio.timeline.dialects.base import Dialect, TimelineFile


class Fcp7Dialect(Dialect):
    name = "fcp7"
    adapters = ("fcp_xml",)
    comment_keys = (("fcp_xml", "comment"),)

    def clip_marker_start(
        self, loaded: TimelineFile, clip: otio.schema.Clip, marker: otio.schema.Marker
    ) -> otio.opentime.RationalTime | None:
        avail = clip.media_reference.available_range if clip.media_reference else None
        if avail is None:
            return None
        start = marker.marked_range.start_time
        return start + avail.start_time.rescaled_to(start.rate)
