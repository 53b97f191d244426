"""aleph-otio: send marked ranges of an edit to Runway Aleph 2.0 and conform the results back.

This module is imported by OpenTimelineIO while it builds its plugin manifest, so it must stay
light: no OTIO adapter calls and no heavy imports at import time.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # for type checkers only: at run time these load on first use (__getattr__)
    from aleph_otio.config import APISettings as APISettings
    from aleph_otio.config import PlanSettings as PlanSettings
    from aleph_otio.errors import AlephOtioError as AlephOtioError
    from aleph_otio.pipeline import RunSummary as RunSummary
    from aleph_otio.pipeline import ShotReport as ShotReport
    from aleph_otio.scripting import CostEstimate as CostEstimate
    from aleph_otio.scripting import RunResult as RunResult
    from aleph_otio.scripting import ShotCost as ShotCost
    from aleph_otio.scripting import estimate as estimate
    from aleph_otio.scripting import load_timeline as load_timeline
    from aleph_otio.scripting import plan_timeline as plan_timeline
    from aleph_otio.scripting import relink_timeline as relink_timeline
    from aleph_otio.scripting import run_timeline as run_timeline
    from aleph_otio.scripting import run_timeline_async as run_timeline_async
    from aleph_otio.shots import Plan as Plan
    from aleph_otio.shots import Shot as Shot

#: The scripting API (docs/scripting.md), re-exported lazily: OTIO imports this package while it
#: builds its plugin manifest, and that must not pull in OTIO adapters, pydantic or httpx.
_LAZY = {
    "APISettings": "aleph_otio.config",
    "PlanSettings": "aleph_otio.config",
    "AlephOtioError": "aleph_otio.errors",
    "RunSummary": "aleph_otio.pipeline",
    "ShotReport": "aleph_otio.pipeline",
    "CostEstimate": "aleph_otio.scripting",
    "RunResult": "aleph_otio.scripting",
    "ShotCost": "aleph_otio.scripting",
    "estimate": "aleph_otio.scripting",
    "load_timeline": "aleph_otio.scripting",
    "plan_timeline": "aleph_otio.scripting",
    "relink_timeline": "aleph_otio.scripting",
    "run_timeline": "aleph_otio.scripting",
    "run_timeline_async": "aleph_otio.scripting",
    "Plan": "aleph_otio.shots",
    "Shot": "aleph_otio.shots",
}
__all__ = ["__version__", "plugin_manifest", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


def _find_manifest() -> Path:
    here = Path(__file__).resolve().parent
    # A wheel has the manifest inside the package; a checkout or editable install at the root.
    for candidate in (here / "plugin_manifest.json", here.parent / "plugin_manifest.json"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("aleph_otio: plugin_manifest.json not found next to the package")


def plugin_manifest() -> Any:
    """Entry point for OTIO's plugin discovery (group ``opentimelineio.plugins``).

    OTIO re-points every plugin's source at this ``__init__.py``, so the adapter paths are made
    absolute against the manifest's own folder; that keeps wheel, editable and checkout installs
    alike.
    """
    from opentimelineio.plugins import manifest as otio_manifest

    path = _find_manifest()
    man = otio_manifest.manifest_from_file(str(path))
    for plugin in [*man.adapters, *man.media_linkers, *man.hook_scripts, *man.schemadefs]:
        if not os.path.isabs(plugin.filepath):
            plugin.filepath = str(path.parent / plugin.filepath)
    return man
