"""Relinking results already in a job ledger, without running anything."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import opentimelineio as otio

from aleph_otio.config import (
    PlanSettings,
)
from aleph_otio.errors import ConfigError
from aleph_otio.ledger import Ledger
from aleph_otio.pipeline import (
    RelinkMode,
)
from aleph_otio.relink import relink_timeline as relink_loaded
from aleph_otio.scripting.planning import (
    TimelineLike,
    load_timeline,
    plan_loaded_timeline,
    settings_with_options,
)

RELINK_MODES = ("version", "reference", "replace")


def relink_timeline(
    timeline: TimelineLike,
    ledger: str | os.PathLike[str],
    *,
    mode: RelinkMode = "version",
    settings: PlanSettings | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    rate: float | str | None = None,
    **options: Any,
) -> otio.schema.Timeline:
    """The timeline with the results already in a job ledger relinked (nothing is run).

    ``ledger`` is a run's ``ledger.sqlite`` or its work folder. A timeline file takes the
    results of the shots planned from that file (as ``aleph-otio relink`` does); an in-memory
    timeline is planned with ``settings``/``options`` (give the ones the run used) and takes
    the results of those shots. The input timeline is never modified.
    """
    if mode not in RELINK_MODES:
        raise ConfigError(f"mode={mode!r}: use version, reference or replace")
    path = Path(ledger).expanduser()
    if path.is_dir():
        path = path / "ledger.sqlite"
    if not path.is_file():
        raise ConfigError(f"{path}: no job ledger; pass a run's work folder or its ledger.sqlite")
    plan_settings = settings_with_options(settings, options)
    loaded = load_timeline(timeline, base_dir=base_dir, rate=rate, sequence=plan_settings.sequence)
    from_file = not isinstance(timeline, otio.schema.Timeline)
    with Ledger(path) as led:
        if from_file:
            results = led.relink_results(timeline_path=str(loaded.path))
        else:
            ids = {s.id for s in plan_loaded_timeline(loaded, plan_settings).shots}
            everything = led.relink_results()
            results = [r for r in everything if r.shot.id in ids]
            if everything and not results:
                raise ConfigError(
                    f"{path}: none of its {len({r.shot.id for r in everything})} finished "
                    f"shot(s) was planned from timeline {loaded.timeline.name!r} with these "
                    "settings; pass the settings the run used (handles, number_results, ...)"
                )
        # Earlier versions of these shots are kept beside them (a v002 track over v001's).
        results = led.with_earlier_versions(results)
    return relink_loaded(loaded.timeline, results, mode=mode)
