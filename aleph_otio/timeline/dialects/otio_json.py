"""Native OTIO files, including those Hiero/Nuke Studio, Resolve and Premiere export."""

from __future__ import annotations

from aleph_otio.timeline.dialects.base import Dialect


class OtioJsonDialect(Dialect):
    name = "otio"
    adapters = ("otio_json", "otioz", "otiod")
    comment_keys = (("Resolve_OTIO", "Note"),)
    color_keys = (("Resolve_OTIO", "Color"),)
