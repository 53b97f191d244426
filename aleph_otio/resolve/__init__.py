"""DaVinci Resolve round trip: export the current timeline, plan, run, import the result.

Every function takes Resolve's own scripting objects (duck-typed, as documented in Resolve's
``Developer/Scripting/README.txt``), so the same code runs inside Resolve (Workspace > Scripts),
from an external Python that reached Resolve through ``DaVinciResolveScript``, and in tests
against ``tests/fake_resolve.py``. The Resolve calls used, all of them:

- ``resolve.GetProjectManager().GetCurrentProject()``, ``project.GetCurrentTimeline()``,
  ``project.GetName()``, ``project.GetTimelineCount()``, ``project.GetTimelineByIndex(i)``,
  ``project.SetCurrentTimeline(timeline)``, ``project.GetMediaPool()``;
- ``timeline.GetName()``, ``timeline.GetSetting("timelineFrameRate")`` (else the project's),
  ``timeline.GetStartFrame()``, ``timeline.GetMarkers()``,
  ``timeline.GetItemListInTrack("video", i)``, ``item.GetStart()``, ``item.GetMarkers()``;
- ``timeline.Export(path, resolve.EXPORT_OTIO, resolve.EXPORT_NONE)`` (Resolve 18.5+; older
  versions fall back to ``resolve.EXPORT_FCP_7_XML``);
- ``media_pool.ImportTimelineFromFile(path, {"timelineName": ..., "importSourceClips": True})``.

The original timeline is only read: results come back as a NEW timeline (``<name> ALEPH v001``).

Markers: Resolve's OTIO export carries timeline markers on ``timeline.tracks`` and clip markers
on their clips, with the note in ``metadata["Resolve_OTIO"]["Note"]``; OTIO has 11 marker
colours and Resolve 16, so an export cannot say which of Resolve's colours a marker had (Sand,
Cream, Fuchsia...). :func:`fill_markers` takes the timeline markers from ``GetMarkers()`` and
adds what the export lacks (Resolve's colour name, a missing note, the ``customData``, or the
whole marker when the export has none), so ``--marker-color`` accepts the colour the editor sees;
:func:`fill_clip_markers` does the same for clip markers.

Time code: MP4/MOV results are stamped with the source time code their relinked references
start at; a result without one (WEBM) starts at 00:00:00:00, so :func:`conform_for_resolve` moves
such a clip onto its file's own time code in the file Resolve imports
(``<name> ALEPH.resolve.otio``), since Resolve places clips by the file's.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import opentimelineio as otio

from aleph_otio.config import (
    DEFAULT_PRICE_PER_SECOND,
    APISettings,
    PlanSettings,
    resolve_api_settings,
)
from aleph_otio.errors import AlephOtioError, ConfigError
from aleph_otio.pipeline import EventFn, RelinkMode, RunConfig, RunSummary, plan_file
from aleph_otio.rehearsal import maybe_emulator
from aleph_otio.shots import Plan, Shot, distinct
from aleph_otio.timeline import (
    LoadedTimeline,
    frames_at,
    parse_rate,
    read_timeline,
    write_timeline,
)

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange

#: Resolve's marker colours (``AddMarker``/``GetMarkers``) -> the nearest OTIO ``MarkerColor``.
#: The first seven exist in both; the rest are our nearest choice (OTIO has no Sand or Cream).
RESOLVE_COLORS: dict[str, str] = {
    "Blue": "BLUE",
    "Cyan": "CYAN",
    "Green": "GREEN",
    "Yellow": "YELLOW",
    "Red": "RED",
    "Pink": "PINK",
    "Purple": "PURPLE",
    "Fuchsia": "MAGENTA",
    "Rose": "PINK",
    "Lavender": "PURPLE",
    "Sky": "CYAN",
    "Mint": "GREEN",
    "Lemon": "YELLOW",
    "Sand": "ORANGE",
    "Cocoa": "ORANGE",
    "Cream": "WHITE",
}
#: Suffix of the timelines this module imports; a run on one of them names the next version.
VERSION_SUFFIX = re.compile(r"\s+ALEPH v\d{3,}$")
_VERSION_TRACK = re.compile(r"^ALEPH v\d{3,}[a-z]?$")
#: Where exports, results and the job ledger go unless a folder is given.
FOLDER_ENV = "ALEPH_OTIO_RESOLVE_DIR"


class ResolveError(AlephOtioError):
    """Resolve could not be reached, has no project/timeline open, or refused an export/import."""

    exit_code = 2


@dataclass
class ResolveExport:
    """The current timeline, exported for aleph-otio."""

    path: Path  # the timeline aleph-otio plans: Resolve's export, markers filled in, as .otio
    raw_path: Path  # the file exactly as Resolve wrote it
    folder: Path
    project_name: str
    timeline_name: str
    rate: float
    filled: list[str] = field(default_factory=list)  # what GetMarkers() added, one line each


# --- finding Resolve ----------------------------------------------------------------------------


def _script_module_dirs() -> list[Path]:
    """Where Resolve installs ``DaVinciResolveScript.py`` (its README, per OS)."""
    if os.environ.get("RESOLVE_SCRIPT_API"):
        return [Path(os.environ["RESOLVE_SCRIPT_API"]) / "Modules"]
    if sys.platform == "darwin":
        base = "/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting"
        return [Path(base) / "Modules"]
    if sys.platform.startswith("win"):
        root = os.environ.get("PROGRAMDATA", r"C:\ProgramData")
        return [
            Path(root)
            / "Blackmagic Design"
            / "DaVinci Resolve"
            / "Support"
            / "Developer"
            / "Scripting"
            / "Modules"
        ]
    return [
        Path("/opt/resolve/Developer/Scripting/Modules"),
        Path("/home/resolve/Developer/Scripting/Modules"),
    ]


def connect() -> Any:
    """The ``resolve`` object of a running Resolve, from outside it (``DaVinciResolveScript``)."""
    try:
        import DaVinciResolveScript as dvr
    except ImportError:
        for folder in _script_module_dirs():
            if (folder / "DaVinciResolveScript.py").is_file() and str(folder) not in sys.path:
                sys.path.append(str(folder))
        try:
            import DaVinciResolveScript as dvr
        except ImportError:
            raise ResolveError(
                "DaVinciResolveScript not found; set RESOLVE_SCRIPT_API and RESOLVE_SCRIPT_LIB as "
                "Resolve's Developer/Scripting/README.txt says, or run the script from Resolve's "
                "Workspace > Scripts menu"
            ) from None
    resolve = dvr.scriptapp("Resolve")
    if resolve is None:
        raise ResolveError(
            "Resolve is not answering: start DaVinci Resolve and allow scripting "
            "(Preferences > System > General > External scripting using: Local)"
        )
    return resolve


def current_timeline(resolve: Any) -> tuple[Any, Any]:
    """The open project and its current timeline, or a ResolveError saying what to open."""
    project = resolve.GetProjectManager().GetCurrentProject()
    if not project:
        raise ResolveError("Resolve has no project open; open the project with the marked edit")
    timeline = project.GetCurrentTimeline()
    if not timeline:
        raise ResolveError(
            f"project {project.GetName()!r} has no current timeline; open the marked timeline "
            "on the Edit page"
        )
    return project, timeline


def timeline_rate(timeline: Any, project: Any | None = None) -> float:
    """The timeline's frame rate (``GetSetting("timelineFrameRate")``, e.g. ``"23.976"``)."""
    raw = timeline.GetSetting("timelineFrameRate") or (
        project.GetSetting("timelineFrameRate") if project is not None else ""
    )
    # "23.976", "24", "29.97 DF": the number is what counts (drop frame is a display choice).
    number = re.match(r"\s*(\d+(?:\.\d+)?(?:/\d+)?)", str(raw))
    try:
        if number is None:
            raise ValueError(raw)
        return parse_rate(number.group(1))
    except ValueError:
        raise ResolveError(
            f"timeline {timeline.GetName()!r}: unreadable frame rate {raw!r}; check "
            "Timeline Settings > Timeline frame rate"
        ) from None


def _safe_name(name: str) -> str:
    """A file-name-safe version of a project/timeline name (keeps it readable)."""
    cleaned = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", name).strip(" .")
    return cleaned or "timeline"


def default_folder(project_name: str, timeline_name: str) -> Path:
    """``$ALEPH_OTIO_RESOLVE_DIR`` or ``~/aleph-otio/resolve``, then ``<project>/<timeline>``."""
    base = Path(os.environ.get(FOLDER_ENV) or Path.home() / "aleph-otio" / "resolve")
    return base.expanduser() / _safe_name(project_name) / _safe_name(timeline_name)


# --- markers ------------------------------------------------------------------------------------


def otio_color(resolve_color: str) -> str:
    """The OTIO ``MarkerColor`` for a Resolve marker colour (RED when unknown)."""
    for name, color in RESOLVE_COLORS.items():
        if name.lower() == str(resolve_color).strip().lower():
            return color
    upper = str(resolve_color).strip().upper()
    return upper if upper in RESOLVE_COLORS.values() else "RED"


def _aleph_from_custom_data(custom: str) -> dict[str, Any] | None:
    """``customData`` (set by scripts, not shown in the UI) as an ``aleph`` metadata object.

    Accepted: ``{"aleph": {...}}``, ``{"prompt": ...}`` or ``aleph: <prompt>``.
    """
    text = custom.strip() if isinstance(custom, str) else ""
    if not text:
        return None
    if text.lower().startswith("aleph:"):
        return {"prompt": text[len("aleph:") :].strip()}
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("aleph"), dict):
        return dict(data["aleph"])
    if isinstance(data, dict) and "prompt" in data:
        return data
    return None


def markers_from_resolve(timeline: Any, rate: float | None = None) -> list[otio.schema.Marker]:
    """The timeline's markers from ``GetMarkers()`` as OTIO markers in stack time.

    ``GetMarkers()`` gives ``{frameId: {color, duration, note, name, customData}}`` with
    ``frameId`` counted from the timeline's first frame, which is stack time (0 = first frame
    of the edit). Each marker keeps Resolve's colour name in ``metadata["Resolve_OTIO"]["Color"]``
    and its note in ``["Note"]`` (where the planner reads them), and a ``customData`` holding an
    aleph request becomes ``metadata["aleph"]``.
    """
    rate = rate if rate is not None else timeline_rate(timeline)
    found = timeline.GetMarkers() or {}
    return [
        _marker_from_api(frame, info, rate)
        for frame, info in sorted(found.items(), key=lambda kv: float(kv[0]))
    ]


def _marker_from_api(frame_id: Any, info: Any, rate: float) -> otio.schema.Marker:
    """One ``GetMarkers()`` entry as an OTIO marker at ``frame_id`` (``rate``)."""
    info = info if isinstance(info, Mapping) else {}
    color = str(info.get("color") or "")
    note = str(info.get("note") or "")
    custom = str(info.get("customData") or "")
    duration = max(1.0, float(info.get("duration") or 1))
    metadata: dict[str, Any] = {
        "Resolve_OTIO": {"Keywords": [], "Note": note, "Color": color},
        "resolve_api": {"frameId": float(frame_id), "customData": custom},
    }
    aleph = _aleph_from_custom_data(custom)
    if aleph is not None:
        metadata["aleph"] = aleph
    return otio.schema.Marker(
        name=str(info.get("name") or ""),
        marked_range=TR(RT(float(frame_id), rate), RT(duration, rate)),
        color=otio_color(color),
        metadata=metadata,
    )


def _marker_frame_candidates(marker: otio.schema.Marker, rate: float, start: float) -> set[int]:
    """Frames (from the timeline start) an exported stack marker may mean.

    Whether Resolve counts stack markers from 0 or from the start timecode is unverified, so both
    readings are offered (the planner does the same).
    """
    frame = frames_at(marker.marked_range.start_time, rate)
    return {round(frame), round(frame - start)}


def fill_markers(
    timeline: otio.schema.Timeline, markers: list[otio.schema.Marker], *, start_frame: float = 0
) -> list[str]:
    """Complete the export's timeline markers from ``GetMarkers()``; returns what was added.

    A Resolve marker matches the exported stack marker on the same frame (Resolve allows one per
    frame; the same name is preferred). A match gains what it lacks: Resolve's colour name, the
    note, an ``aleph`` object from ``customData``. A Resolve marker without a match is added to
    the stack.
    """
    stack_markers = list(timeline.tracks.markers)
    used: set[int] = set()
    added: list[str] = []
    for marker in markers:
        rate = marker.marked_range.start_time.rate
        frame = round(marker.marked_range.start_time.value)
        label = f"marker {marker.name or '(unnamed)'!r} at frame {frame}"
        candidates = [
            (i, m)
            for i, m in enumerate(stack_markers)
            if i not in used and frame in _marker_frame_candidates(m, rate, start_frame)
        ]
        # Resolve keeps one timeline marker per frame, so the frame decides; the name only
        # breaks a tie between the two time-base readings. Never add a twin of an exported
        # marker: a doubled request would be paid twice.
        named = [(i, m) for i, m in candidates if m.name == marker.name]
        match = (named or candidates)[:1]
        if not match:
            timeline.tracks.markers.append(marker.clone())
            added.append(f"{label}: added (the export did not carry it)")
            continue
        index, exported = match[0]
        used.add(index)
        changes = _complete(exported, marker)
        if changes:
            added.append(f"{label}: {', '.join(changes)} from GetMarkers()")
    return added


def fill_clip_markers(timeline: otio.schema.Timeline, resolve_timeline: Any) -> list[str]:
    """Complete the export's clip markers from each timeline item's ``GetMarkers()``.

    Items are matched to exported clips by video track and record position; their markers by
    order and name (the frame base of item ``frameId`` is not pinned down by Resolve's docs, so
    frames are not compared). A clip whose markers do not pair up one to one is left as exported.
    """
    rate = timeline_rate(resolve_timeline)
    start = float(resolve_timeline.GetStartFrame() or 0)
    video = [t for t in timeline.tracks if getattr(t, "kind", None) == otio.schema.TrackKind.Video]
    notes: list[str] = []
    for number, track in enumerate(video, start=1):
        by_start = {
            round(frames_at(clip.range_in_parent().start_time, rate)): clip
            for clip in track.find_clips(shallow_search=True)
        }
        for item in resolve_timeline.GetItemListInTrack("video", number) or []:
            clip = by_start.get(round(float(item.GetStart()) - start))
            found = item.GetMarkers() or {}
            if clip is None or not found or len(found) != len(clip.markers):
                continue
            ordered = sorted(clip.markers, key=lambda m: m.marked_range.start_time.to_seconds())
            theirs = [
                _marker_from_api(frame, info, rate)
                for frame, info in sorted(found.items(), key=lambda kv: float(kv[0]))
            ]
            if any(a.name != b.name for a, b in zip(ordered, theirs, strict=True)):
                continue
            for exported, source in zip(ordered, theirs, strict=True):
                changes = _complete(exported, source)
                if changes:
                    notes.append(
                        f"clip {clip.name!r} marker {exported.name or '(unnamed)'!r}: "
                        f"{', '.join(changes)} from GetMarkers()"
                    )
    return notes


def _complete(exported: otio.schema.Marker, source: otio.schema.Marker) -> list[str]:
    """Copy onto ``exported`` what only ``source`` (from GetMarkers) knows."""
    changes = []
    theirs = dict(source.metadata.get("Resolve_OTIO", {}))
    ours = dict(exported.metadata.get("Resolve_OTIO", {}))
    if theirs.get("Color") and not ours.get("Color"):
        ours["Color"] = theirs["Color"]
        changes.append(f"colour {theirs['Color']}")
    note = str(theirs.get("Note") or "")
    if note and not str(ours.get("Note") or "").strip() and not (exported.comment or "").strip():
        ours["Note"] = note
        changes.append("note")
    ours.setdefault("Keywords", [])
    exported.metadata["Resolve_OTIO"] = ours
    if not exported.name and source.name:
        exported.name = source.name
        changes.append("name")
    if "aleph" in source.metadata and "aleph" not in exported.metadata:
        exported.metadata["aleph"] = dict(source.metadata["aleph"])
        changes.append("aleph request (customData)")
    if "resolve_api" in source.metadata:
        exported.metadata["resolve_api"] = dict(source.metadata["resolve_api"])
    return changes


# --- export and plan ----------------------------------------------------------------------------


def export_timeline(resolve: Any, folder: Path | None = None) -> ResolveExport:
    """Export the current timeline (OTIO, else FCP 7 XML) and fill its markers from Resolve."""
    project, timeline = current_timeline(resolve)
    project_name, timeline_name = str(project.GetName()), str(timeline.GetName())
    rate = timeline_rate(timeline, project)
    folder = Path(folder) if folder is not None else default_folder(project_name, timeline_name)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResolveError(f"{folder}: cannot create the export folder ({exc.strerror})") from None
    export_type = getattr(resolve, "EXPORT_OTIO", None)
    suffix = ".otio"
    notes: list[str] = []
    if export_type is None:
        # EXPORT_OTIO arrived in Resolve 18.5; FCP 7 XML keeps the cut and sequence markers.
        export_type, suffix = getattr(resolve, "EXPORT_FCP_7_XML", None), ".xml"
        if export_type is None:
            raise ResolveError(
                f"this Resolve ({_version(resolve)}) offers neither EXPORT_OTIO nor "
                "EXPORT_FCP_7_XML; update to Resolve 18.5 or later"
            )
        notes.append(
            f"Resolve {_version(resolve)} has no OTIO export (18.5+); exported FCP 7 XML instead"
        )
    stem = _safe_name(timeline_name)
    raw = folder / f"{stem}.resolve{suffix}"
    raw.unlink(missing_ok=True)
    ok = timeline.Export(str(raw), export_type, getattr(resolve, "EXPORT_NONE", 0))
    if not ok or not raw.is_file():
        raise ResolveError(
            f"Resolve refused to export timeline {timeline_name!r} to {raw}; check the folder is "
            "writable and the timeline is not empty"
        )
    loaded = read_timeline(raw)
    notes += fill_markers(
        loaded.timeline,
        markers_from_resolve(timeline, rate),
        start_frame=float(timeline.GetStartFrame() or 0),
    )
    notes += fill_clip_markers(loaded.timeline, timeline)
    # Always OTIO: it keeps the filled-in marker metadata, which the FCP 7 XML writer drops.
    path = write_timeline(loaded.timeline, folder / f"{stem}.otio")
    return ResolveExport(
        path=path,
        raw_path=raw,
        folder=folder,
        project_name=project_name,
        timeline_name=timeline_name,
        rate=rate,
        filled=notes,
    )


def _version(resolve: Any) -> str:
    try:
        return str(resolve.GetVersionString())
    except Exception:  # noqa: BLE001 - only for a message; old versions lack it
        return "this version"


def export_current_timeline(resolve: Any, folder: Path | None = None) -> Path:
    """Export the current timeline into ``folder``; returns the file aleph-otio reads."""
    return export_timeline(resolve, folder).path


def plan_current_timeline(
    resolve: Any, settings: PlanSettings | None = None, *, folder: Path | None = None
) -> Plan:
    """Export the current timeline and plan it against its media (nothing is sent)."""
    exported = export_timeline(resolve, folder)
    return plan_file(exported.path, settings or PlanSettings())[1]


# --- run ----------------------------------------------------------------------------------------


def print_progress(out: Callable[[str], Any] = print) -> EventFn:
    """A progress callback that writes one line per finished or failed step."""

    def event(stage: str, shot: Shot | None, status: str) -> None:
        if status == "start":
            return
        what = shot.name if shot is not None else "timeline"
        out(f"  {stage:<9} {what}: {status}")

    return event


def output_path(exported: ResolveExport) -> Path:
    """Where the relinked timeline is written: ``<timeline> ALEPH.otio`` next to the export
    (``.xml`` when this Resolve exported FCP 7 XML: it cannot import OTIO either)."""
    suffix = exported.raw_path.suffix
    return exported.folder / f"{_safe_name(exported.timeline_name)} ALEPH{suffix}"


def run_current_timeline(
    resolve: Any,
    settings: PlanSettings | None = None,
    *,
    emulator: bool = False,
    progress: EventFn | None = None,
    folder: Path | None = None,
    api_settings: APISettings | None = None,
    relink_mode: RelinkMode = "version",
    concurrency: int = 4,
    budget: float | None = None,
    emulator_latency: float = 1.0,
) -> RunSummary:
    """Export, plan and run the current timeline; the relinked file is ``summary.output``.

    ``emulator=True`` runs against a local emulator (offline, free); otherwise the key comes from
    ``RUNWARE_API_KEY`` or the config file (``api_settings`` overrides both). Running again
    resumes from the job ledger in ``<folder>/work``. Resolve's timeline is not touched: call
    :func:`import_result` to bring the result in as a new timeline.
    """
    exported = export_timeline(resolve, folder)
    plan_settings = settings or PlanSettings()
    return run_exported(
        exported,
        plan_file(exported.path, plan_settings),
        plan_settings,
        emulator=emulator,
        progress=progress,
        api_settings=api_settings,
        relink_mode=relink_mode,
        concurrency=concurrency,
        budget=budget,
        emulator_latency=emulator_latency,
    )


def _announce_emulator(base_url: str) -> None:
    print(f"emulator: {base_url} (offline rehearsal, nothing is paid)", file=sys.stderr)


def run_exported(
    exported: ResolveExport,
    planned: tuple[LoadedTimeline, Plan],
    plan_settings: PlanSettings,
    *,
    emulator: bool = False,
    progress: EventFn | None = None,
    api_settings: APISettings | None = None,
    relink_mode: RelinkMode = "version",
    concurrency: int = 4,
    budget: float | None = None,
    emulator_latency: float = 1.0,
) -> RunSummary:
    """Run an export that is already planned (see :func:`run_current_timeline`)."""
    from aleph_otio.api.client import AlephClient
    from aleph_otio.pipeline import run_pipeline

    work = exported.folder / "work"
    with maybe_emulator(emulator, work, emulator_latency, announce=_announce_emulator) as url:
        if api_settings is None or url is not None:
            chosen = resolve_api_settings(
                emulator_url=url,
                base_url=api_settings.base_url if api_settings else None,
                ttl=None,
                include_cost=True,
                webhook_url=None,
                upload_endpoint=None,
                safety=None,
                price=api_settings.price_per_second if api_settings else DEFAULT_PRICE_PER_SECOND,
                poll_interval=0.1 if url else None,
            )
        else:
            chosen = api_settings
            chosen.require_key()
        config = RunConfig(
            timeline=exported.path,
            output=output_path(exported),
            work_dir=work,
            plan_settings=plan_settings,
            api_settings=chosen,
            relink_mode=relink_mode,
            concurrency=concurrency,
            budget=budget,
        )

        async def go() -> RunSummary:
            async with AlephClient(settings=chosen) as client:
                return await run_pipeline(config, client, on_event=progress, planned=planned)

        return asyncio.run(go())


# --- import -------------------------------------------------------------------------------------


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
    from aleph_otio.pipeline import media_facts_from_probe
    from aleph_otio.relink import METADATA_KEY

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


# --- the script's flow --------------------------------------------------------------------------


def plan_lines(plan: Plan, price_per_second: float = 0.28) -> list[str]:
    """The plan as console lines: one per shot, then refused markers and the estimate."""
    from aleph_otio.pipeline import estimate_cost

    lines = [f"{len(plan.shots)} shot(s) in {plan.timeline_name or plan.timeline_path}:"]
    for shot in plan.shots:
        seg = shot.segments[0]
        lines.append(
            f"  {shot.name}: {seg.record_tc_in} {shot.duration_seconds:.2f}s  {shot.prompt!r}"
        )
        lines += [f"    warning: {w}" for w in shot.warnings]
    lines += [f"  refused: {e}" for e in plan.errors]
    total = sum(estimate_cost(s, price_per_second) for s in distinct(plan.shots))
    lines.append(f"estimate: ${total:.2f} at ${price_per_second:.2f}/s per result")
    return lines


def summary_lines(summary: RunSummary) -> list[str]:
    """A run's outcome as console lines."""
    lines = []
    for shot in summary.shots:
        detail = ", ".join(shot.results) if shot.state == "relinked" else shot.reason or ""
        lines.append(f"  {shot.name}: {shot.state} {detail}".rstrip())
    lines.append(
        f"{len(summary.done)}/{len(summary.shots)} shot(s) relinked, {len(summary.failed)} "
        f"failed; cost ${summary.cost:.2f}"
    )
    lines += [f"  refused: {e}" for e in summary.plan_errors]
    return lines


MODE_ENV = "ALEPH_OTIO_MODE"
#: ``ask``: a dialog (else plan only); ``plan``: show the plan; ``emulator``: rehearse offline;
#: ``real``: send to Runware with the configured key.
MODES = ("ask", "plan", "emulator", "real")
#: Decides ``ask``: gets the plan lines and whether a key is configured, returns a mode or
#: ``"cancel"``.
AskFn = Callable[[list[str], bool], str]


def settings_from_env(env: Mapping[str, str] | None = None) -> PlanSettings:
    """Plan settings from ``ALEPH_OTIO_MARKER_COLOR``, ``_PREFIX``, ``_HANDLES``,
    ``_NUMBER_RESULTS`` and ``_GUIDE_TRACK`` (a Resolve script has no command line)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for key, name in (
        ("ALEPH_OTIO_MARKER_COLOR", "marker_color"),
        ("ALEPH_OTIO_PREFIX", "prefix"),
        ("ALEPH_OTIO_HANDLES", "handles"),
        ("ALEPH_OTIO_NUMBER_RESULTS", "number_results"),
        ("ALEPH_OTIO_GUIDE_TRACK", "guide_track"),
    ):
        if env.get(key):
            values[name] = env[key]
    try:
        return PlanSettings(**values)
    except ValueError as exc:
        detail = str(exc).splitlines()
        raise ConfigError(
            f"ALEPH_OTIO_* settings: {detail[1] if len(detail) > 1 else detail[0]}"
        ) from None


def script_main(
    resolve: Any,
    *,
    mode: str | None = None,
    folder: Path | None = None,
    settings: PlanSettings | None = None,
    ask: AskFn | None = None,
    out: Callable[[str], Any] = print,
    emulator_latency: float = 1.0,
) -> Any | None:
    """What ``scripts/resolve/Aleph OTIO.py`` does; returns the new timeline (or None).

    Exports the current timeline, prints the plan, then by ``mode`` (argument, else
    ``$ALEPH_OTIO_MODE``, else ``ask``) stops, rehearses against the emulator or runs for real,
    printing progress; a result is imported as a new timeline and every path is printed.
    """
    from aleph_otio.config import resolve_api_key

    chosen = (mode or os.environ.get(MODE_ENV) or "ask").strip().lower()
    if chosen not in MODES:
        raise ConfigError(f"{MODE_ENV}={chosen!r}: use one of {', '.join(MODES)}")
    settings = settings or settings_from_env()
    exported = export_timeline(resolve, folder)
    out(f"exported timeline {exported.timeline_name!r}: {exported.raw_path}")
    for line in exported.filled:
        out(f"  {line}")
    planned = plan_file(exported.path, settings)
    plan = planned[1]
    lines = plan_lines(plan)
    for line in lines:
        out(line)
    if not plan.shots:
        out(f"nothing to send: name a marker '{settings.prefix} <what to change>' and run again")
        return None
    if chosen == "ask":
        has_key = resolve_api_key() is not None
        chosen = ask(lines, has_key) if ask is not None else "plan"
    if chosen not in ("emulator", "real"):
        out(
            f"not run ({chosen}); set {MODE_ENV}=emulator to rehearse offline or "
            f"{MODE_ENV}=real to send to Runware"
        )
        return None
    out("running against the local emulator (nothing is paid)" if chosen == "emulator" else
        "sending to Runware")  # fmt: skip
    summary = run_exported(
        exported,
        planned,
        settings,
        emulator=chosen == "emulator",
        progress=print_progress(out),
        emulator_latency=emulator_latency,
    )
    for line in summary_lines(summary):
        out(line)
    imported = None
    if summary.output is not None and summary.output.is_file() and summary.done:
        imported = import_result(resolve, summary.output)
        out(f"imported as new timeline {imported.GetName()!r} (the original is unchanged)")
    out(f"relinked timeline: {summary.output}")
    out(f"job ledger: {summary.ledger} (run again to resume or retry failed shots)")
    out(f"folder: {exported.folder}")
    return imported
