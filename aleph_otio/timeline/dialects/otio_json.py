"""Native OTIO files, including those Hiero/Nuke Studio, Resolve and Premiere export.

Which tool wrote a file is read from its metadata: see :mod:`.otio`.
"""

from __future__ import annotations

from aleph_otio.timeline.dialects.base import Dialect, Reading, TimelineFile
from aleph_otio.timeline.dialects.otio import read_writers


class OtioJsonDialect(Dialect):
    name = "otio"
    adapters = ("otio_json", "otioz", "otiod")
    comment_keys = (("Resolve_OTIO", "Note"),)
    color_keys = (("Resolve_OTIO", "Color"),)

    def normalise(self, loaded: TimelineFile) -> Reading:
        return read_writers(loaded)
