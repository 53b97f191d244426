"""Export: the current timeline written by Resolve, its markers filled in, ready to plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aleph_otio.config import PlanSettings
from aleph_otio.pipeline import plan_file
from aleph_otio.resolve.connect import (
    ResolveError,
    current_timeline,
    default_folder,
    safe_name,
    timeline_rate,
)
from aleph_otio.resolve.markers import fill_clip_markers, fill_markers, markers_from_resolve
from aleph_otio.shots import Plan
from aleph_otio.timeline import read_timeline, write_timeline


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
    stem = safe_name(timeline_name)
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
