"""AAF from Avid Media Composer (``AAF`` adapter): markers already in their owner's space."""

from __future__ import annotations

from aleph_otio.timeline.dialects.base import Dialect


class AafDialect(Dialect):
    name = "aaf"
    adapters = ("AAF",)
    comment_keys = (("AAF", "Comment"),)
