"""Source dialects: one module per family of files NLEs write, each holding its normalisation.

To teach aleph-otio a new writer's quirk, change (or add) the dialect of that file family here;
the planner only sees :class:`~.base.Reading` facts and :meth:`~.base.Dialect.clip_marker_start`.
"""

from __future__ import annotations

from aleph_otio.timeline.dialects.aaf import AafDialect
from aleph_otio.timeline.dialects.base import Dialect, MarkerReading, Reading
from aleph_otio.timeline.dialects.edl import EdlDialect
from aleph_otio.timeline.dialects.fcp7 import Fcp7Dialect
from aleph_otio.timeline.dialects.fcpxml import FcpxmlDialect
from aleph_otio.timeline.dialects.otio_json import OtioJsonDialect

DIALECTS: tuple[Dialect, ...] = (
    EdlDialect(),
    Fcp7Dialect(),
    FcpxmlDialect(),
    AafDialect(),
    OtioJsonDialect(),
)
_DEFAULT = Dialect()


def dialect_for(adapter_name: str) -> Dialect:
    """The dialect that reads files of ``adapter_name`` (the plain default for others)."""
    for dialect in DIALECTS:
        if adapter_name in dialect.adapters:
            return dialect
    return _DEFAULT


def preferred_adapter(suffix: str) -> str | None:
    """The adapter a dialect reads files with ``suffix`` with (no dot), or None."""
    for dialect in DIALECTS:
        if suffix.lower() in dialect.suffixes:
            return dialect.adapters[0]
    return None


__all__ = ["DIALECTS", "Dialect", "MarkerReading", "Reading", "dialect_for", "preferred_adapter"]
