"""OpenTimelineIO adapter: FCPXML 1.8-1.13 and ``.fcpxmld`` bundles, read by aleph-otio.

OTIO loads this file by path, outside any package, so it only uses absolute imports. Reading is
:func:`aleph_otio.timeline.dialects.fcpxml.reader.read_fcpxml` (``media-rep`` media, tcStart as
the timeline's start, conform-rate and timeMap speeds, compound/multicam/sync clips opened,
lanes as tracks, marker kinds as colours and notes as comments). Writing is handed to the
``fcpx_xml`` adapter (otio-fcpx-xml-adapter), so whichever of the two OTIO picks for the
``.fcpxml`` suffix, writing works as before.
"""

from typing import Any

import opentimelineio as otio

from aleph_otio.timeline.dialects.fcpxml.reader import read_fcpxml, read_fcpxml_bytes


def read_from_file(filepath: str, **kwargs: Any) -> Any:
    """The projects of an ``.fcpxml`` file or ``.fcpxmld`` bundle (a Timeline, or several)."""
    return read_fcpxml(filepath)


def read_from_string(input_str: str, **kwargs: Any) -> Any:
    """The projects of FCPXML text."""
    return read_fcpxml_bytes(input_str.encode("utf-8"), "FCPXML text")


def write_to_string(input_otio: Any, **kwargs: Any) -> str:
    """FCPXML text, written by the ``fcpx_xml`` adapter."""
    return str(otio.adapters.write_to_string(input_otio, adapter_name="fcpx_xml", **kwargs))
