"""Import: a relinked timeline brought into Resolve as a NEW timeline, in the file's time code."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import opentimelineio as otio

from aleph_otio.pipeline import media_facts_from_probe
from aleph_otio.relink import METADATA_KEY
from aleph_otio.resolve.connect import ResolveError
from aleph_otio.timeline import read_timeline, write_timeline

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange

#: Suffix of the timelines this module imports; a run on one of them names the next version.
VERSION_SUFFIX = re.compile(r"\s+ALEPH v\d{3,}$")
_VERSION_TRACK = re.compile(r"^ALEPH v\d{3,}[a-z]?$")


def _timeline_names(project: Any) -> list[str]:
    count = int(project.GetTimelineCount() or 0)
    names = []
    for index in range(1, count + 1):  # Resolve counts timelines from 1
        found = project.GetTimelineByIndex(index)
        if found:
            names.append(str(found.GetName()))
    return names


def next_timeline_name(project: Any, base: str) -> str:
    """``<base> ALEPH v001``, or the next number no timeline of the project uses yet."""
    base = VERSION_SUFFIX.sub("", base).strip() or "Timeline"
    taken = set(_timeline_names(project))
    number = 1
    while f"{base} ALEPH v{number:03d}" in taken:
        number += 1
    return f"{base} ALEPH v{number:03d}"


def conform_for_resolve(timeline: otio.schema.Timeline) -> list[str]:
    """Make every result clip's time code agree with its file's own; returns one line per fix.

    The relinked reference's ``available_range`` starts at the source time code, so that the
    version clip's ``source_range`` equals the original's; the pipeline stamps MP4/MOV results
    with that time code, but a WEBM result (or one from an older run) starts at 00:00:00:00.
    Resolve links media by file and places a clip by the file's embedded time code (as in an
    XML/AAF conform), so for Resolve the reference and the clip's ``source_range`` are moved
    together onto the file's time code: the same frames, addressed the way Resolve reads them.
    Other clips are left alone.
    """
    fixes = []
    for clip in timeline.find_clips():
        ref = clip.media_reference
        track = clip.parent()
        # A result: its reference says so (OTIO), or it sits on a version track (FCP 7 XML
        # keeps track names but no reference metadata).
        is_result = METADATA_KEY in ref.metadata or bool(
            track is not None and _VERSION_TRACK.match(str(track.name))
        )
        if (
            not is_result
            or not isinstance(ref, otio.schema.ExternalReference)
            or ref.available_range is None
            or clip.source_range is None
        ):
            continue
        facts = media_facts_from_probe(ref.target_url)
        if facts is None:
            continue
        avail = ref.available_range
        file_start = RT(facts.start_frame, avail.start_time.rate)
        if file_start == avail.start_time:
            continue
        shift = file_start - avail.start_time
        source = clip.source_range
        clip.source_range = TR(
            source.start_time + shift.rescaled_to(source.start_time.rate), source.duration
        )
        ref.available_range = TR(file_start, avail.duration)
        fixes.append(f"{clip.name}: time code moved onto {Path(ref.target_url).name}'s own")
    return fixes


def resolve_ready(relinked_path: Path) -> Path:
    """``<name>.resolve.<suffix>`` next to a relinked timeline, conformed for Resolve."""
    loaded = read_timeline(relinked_path)
    conform_for_resolve(loaded.timeline)
    target = relinked_path.with_name(f"{relinked_path.stem}.resolve{relinked_path.suffix}")
    return write_timeline(loaded.timeline, target)


def import_result(
    resolve: Any,
    relinked_path: Path | str,
    *,
    name: str | None = None,
    make_current: bool = True,
) -> Any:
    """Import a relinked timeline as a NEW Resolve timeline; returns it.

    Named ``name`` or ``<original> ALEPH v001`` (next free number). What Resolve reads is
    ``<relinked>.resolve.<suffix>`` (see :func:`conform_for_resolve`). Source clips are imported
    into the current Media Pool folder (``importSourceClips``), so the results are online. The
    original timeline is not modified; with ``make_current`` the new one is opened.
    """
    path = Path(relinked_path).expanduser().resolve()
    if not path.is_file():
        raise ResolveError(f"{path}: no relinked timeline here; run the job first")
    project = resolve.GetProjectManager().GetCurrentProject()
    if not project:
        raise ResolveError("Resolve has no project open; open the project the edit came from")
    if name is None:
        base = read_timeline(path).timeline.name
        if not base:
            current = project.GetCurrentTimeline()
            base = str(current.GetName()) if current else path.stem
        name = next_timeline_name(project, base)
    elif name in _timeline_names(project):
        raise ResolveError(f"project {project.GetName()!r} already has a timeline {name!r}")
    ready = resolve_ready(path)
    media_pool = project.GetMediaPool()
    imported = media_pool.ImportTimelineFromFile(
        str(ready), {"timelineName": name, "importSourceClips": True}
    )
    if not imported:
        raise ResolveError(
            f"Resolve refused to import {path} as timeline {name!r}; try File > Import > "
            "Timeline with that file to see Resolve's reason"
        )
    if make_current:
        project.SetCurrentTimeline(imported)
    return imported
