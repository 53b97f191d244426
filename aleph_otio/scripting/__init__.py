"""The Python scripting API: plan, run, relink and estimate with OTIO objects in and out.

Usable from a plain script, from OpenTimelineIO tooling and from DaVinci Resolve's Python
console (see ``docs/scripting.md``). Everything here wraps the same code the command line
runs (:mod:`aleph_otio.pipeline`, :mod:`aleph_otio.plan`, :mod:`aleph_otio.relink`), so a
script and ``aleph-otio run`` share work folders, job ledgers and resumability.

A timeline is given as a file path (read with the OTIO adapter for its suffix) or as an
in-memory :class:`opentimelineio.schema.Timeline`. An in-memory timeline has no folder of its
own: relative media paths need ``base_dir=`` (the folder they are relative to); when every
media path is absolute (or a URL) it may be omitted and the current folder is used.

Rooms: ``planning`` (timelines in, plans and estimates out), ``running``, ``relinking`` and
``sync`` (a coroutine from synchronous code); this module re-exports the API.
"""

from __future__ import annotations

from aleph_otio.config import APISettings, PlanSettings
from aleph_otio.cost import CostEstimate, ShotCost, estimate_shots
from aleph_otio.pipeline import EventFn, RunSummary, ShotReport
from aleph_otio.scripting.planning import TimelineLike, estimate, load_timeline, plan_timeline
from aleph_otio.scripting.relinking import relink_timeline
from aleph_otio.scripting.revising import Revision, revise, revise_file
from aleph_otio.scripting.running import RunResult, run_timeline, run_timeline_async
from aleph_otio.scripting.sheets import sheet_entries, write_turnover_sheet
from aleph_otio.shots import Plan, Shot

__all__ = [
    "APISettings",
    "CostEstimate",
    "EventFn",
    "Plan",
    "PlanSettings",
    "Revision",
    "RunResult",
    "RunSummary",
    "Shot",
    "ShotCost",
    "ShotReport",
    "TimelineLike",
    "estimate",
    "estimate_shots",
    "load_timeline",
    "plan_timeline",
    "relink_timeline",
    "revise",
    "revise_file",
    "run_timeline",
    "run_timeline_async",
    "sheet_entries",
    "write_turnover_sheet",
]
