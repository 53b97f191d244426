"""Running an exported timeline: against Runware or the local emulator, resumable."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aleph_otio.api.backend import open_backend
from aleph_otio.config import (
    DEFAULT_PRICE_PER_SECOND,
    APISettings,
    PlanSettings,
    resolve_api_settings,
)
from aleph_otio.pipeline import EventFn, RelinkMode, RunConfig, RunSummary, plan_file, run_pipeline
from aleph_otio.rehearsal import maybe_emulator
from aleph_otio.resolve.connect import safe_name
from aleph_otio.resolve.export import ResolveExport, export_timeline
from aleph_otio.shots import Plan, Shot
from aleph_otio.timeline import LoadedTimeline


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
    return exported.folder / f"{safe_name(exported.timeline_name)} ALEPH{suffix}"


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
    backend: str = "runware",
    upscale: str | None = None,
) -> RunSummary:
    """Export, plan and run the current timeline; the relinked file is ``summary.output``.

    ``emulator=True`` runs against a local emulator (offline, free); otherwise the key comes from
    ``RUNWARE_API_KEY`` (``RUNWAYML_API_SECRET`` with ``backend="runway"``) or the config file
    (``api_settings`` overrides both). ``upscale`` (``"4k"``/``"2k"``, Runway only) chains
    an upscale per result. Running again
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
        backend=backend,
        upscale=upscale,
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
    backend: str = "runware",
    upscale: str | None = None,
) -> RunSummary:
    """Run an export that is already planned (see :func:`run_current_timeline`)."""
    work = exported.folder / "work"
    backend = api_settings.backend if api_settings is not None else backend
    with maybe_emulator(
        emulator, work, emulator_latency, announce=_announce_emulator, backend=backend
    ) as url:
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
                backend=backend,
                upscale=upscale if api_settings is None else api_settings.upscale,
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
            async with open_backend(chosen) as client:
                return await run_pipeline(config, client, on_event=progress, planned=planned)

        return asyncio.run(go())
