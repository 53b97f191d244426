"""Reaching Resolve: ``DaVinciResolveScript``, the open project and timeline, its frame rate,
and the folder a timeline's round trip works in."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from aleph_otio.errors import AlephOtioError
from aleph_otio.timeline import parse_rate

#: Where exports, results and the job ledger go unless a folder is given.
FOLDER_ENV = "ALEPH_OTIO_RESOLVE_DIR"


class ResolveError(AlephOtioError):
    """Resolve could not be reached, has no project/timeline open, or refused an export/import."""

    exit_code = 2


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


def safe_name(name: str) -> str:
    """A file-name-safe version of a project/timeline name (keeps it readable)."""
    cleaned = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", name).strip(" .")
    return cleaned or "timeline"


def default_folder(project_name: str, timeline_name: str) -> Path:
    """``$ALEPH_OTIO_RESOLVE_DIR`` or ``~/aleph-otio/resolve``, then ``<project>/<timeline>``."""
    base = Path(os.environ.get(FOLDER_ENV) or Path.home() / "aleph-otio" / "resolve")
    return base.expanduser() / safe_name(project_name) / safe_name(timeline_name)
