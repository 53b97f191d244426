"""Read FCPXML 1.8-1.13 files and ``.fcpxmld`` bundles (Final Cut Pro 10.4-11) into OTIO.

One timeline per ``<project>`` (a library or event export holds several: a
``SerializableCollection``). The sequence's ``tcStart`` is the timeline's
``global_start_time``, so record timecodes start where Final Cut Pro shows them.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import opentimelineio as otio

from aleph_otio.errors import TimelineReadError
from aleph_otio.timeline.dialects.fcpxml.build import TimelineBuilder
from aleph_otio.timeline.dialects.fcpxml.resources import Resources, read_resources
from aleph_otio.timeline.dialects.fcpxml.story import Place, StoryReader
from aleph_otio.timeline.dialects.fcpxml.times import FcpxmlError, Linear, attr_time

#: Re-export from Final Cut Pro: what to do about a file that is not what FCP writes.
_AGAIN = "export it again from Final Cut Pro (File > Export XML)"


def document_path(path: Path) -> Path:
    """The XML file of ``path``: itself, or ``Info.fcpxml`` inside an ``.fcpxmld`` bundle."""
    if path.is_dir():
        inner = path / "Info.fcpxml"
        if not inner.is_file():
            raise TimelineReadError(
                f"{path}: an .fcpxmld bundle holds Info.fcpxml, this folder does not; {_AGAIN}"
            )
        return inner
    return path


def read_fcpxml(path: str | os.PathLike[str]) -> Any:
    """The projects of an FCPXML file or bundle: a Timeline, or a collection of several."""
    source = Path(path)
    document = document_path(source)
    try:
        data = document.read_bytes()
    except OSError as exc:
        raise TimelineReadError(f"{source}: cannot read it ({exc.strerror or exc})") from None
    return read_fcpxml_bytes(data, str(source))


def read_fcpxml_bytes(data: bytes, label: str) -> Any:
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise TimelineReadError(
            f"{label}: not well-formed XML ({exc}); the file is cut short or damaged: {_AGAIN}"
        ) from None
    if root.tag != "fcpxml":
        hint = " (that is FCP 7 XML: name the file .xml)" if root.tag == "xmeml" else ""
        raise TimelineReadError(
            f"{label}: not FCPXML: its root element is <{root.tag[:40]}>{hint}; {_AGAIN}"
        )
    try:
        timelines = _timelines(root, label)
    except (FcpxmlError, ValueError, ZeroDivisionError) as exc:
        raise TimelineReadError(f"{label}: {exc}; {_AGAIN}") from None
    if len(timelines) == 1:
        return timelines[0]
    return otio.schema.SerializableCollection(name=Path(label).stem, children=timelines)


def _projects(root: Any) -> list[tuple[str, Any]]:
    """(name, sequence) of every project, in file order (library > event > project)."""
    found = []
    for project in root.iter("project"):
        sequence = project.find("sequence")
        if sequence is not None:
            found.append((project.get("name") or "", sequence))
    return found


def _timelines(root: Any, label: str) -> list[otio.schema.Timeline]:
    resources = read_resources(root)
    projects = _projects(root)
    if not projects:
        raise FcpxmlError(
            "holds no project (only clips or events without a timeline): select the project "
            "in the browser and export that"
        )
    version = root.get("version", "")
    warnings = _media_warnings(resources)
    timelines = []
    for name, sequence in projects:
        rate = resources.rate(sequence.get("format"))
        if rate is None:
            raise FcpxmlError(
                f"the sequence of project {name!r} has no frame rate (its format "
                f"{sequence.get('format')!r} has no frameDuration)"
            )
        tc_start = attr_time(sequence, "tcStart", Fraction(0))
        spine = sequence.find("spine")
        reader = StoryReader(resources)
        if spine is not None:
            reader.spine(spine, Place(Linear(Fraction(1), -tc_start), None, 0, rate))
        metadata = {
            "version": version,
            "tcFormat": sequence.get("tcFormat", "NDF"),
            "warnings": warnings,
        }
        builder = TimelineBuilder(rate, tc_start)
        timelines.append(builder.timeline(name, reader.story, metadata))
    return timelines


def _media_warnings(resources: Resources) -> list[str]:
    proxies = sorted(a.name or a.id for a in resources.assets.values() if a.proxy_only)
    if not proxies:
        return []
    shown = ", ".join(repr(name) for name in proxies[:5])
    more = f" and {len(proxies) - 5} more" if len(proxies) > 5 else ""
    return [
        f"{len(proxies)} asset(s) name only their proxy media ({shown}{more}): shots are cut "
        "from the proxies; relink the original media in Final Cut Pro and export again for "
        "full quality"
    ]
