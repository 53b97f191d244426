"""FCPXML (Final Cut Pro 10/11) and ``.fcpxmld`` bundles (``fcpx_xml`` adapter)."""

from __future__ import annotations

from aleph_otio.timeline.dialects.base import Dialect


class FcpxmlDialect(Dialect):
    name = "fcpxml"
    adapters = ("fcpx_xml",)
