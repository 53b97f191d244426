"""Running a timeline: the whole job, resumable, from a script or under a running loop."""

from __future__ import annotations

import asyncio
import os
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import opentimelineio as otio
from pydantic import SecretStr

from aleph_otio.api.backend import open_backend
from aleph_otio.config import (
    DEFAULT_PRICE_PER_SECOND,
    EMULATOR_KEY,
    EMULATOR_POLL_INTERVAL,
    EMULATOR_POLL_MAX_INTERVAL,
    APISettings,
    PlanSettings,
    default_work_dir,
    resolve_api_key,
    resolve_api_settings,
)
from aleph_otio.errors import ConfigError
from aleph_otio.ledger import Ledger
from aleph_otio.pipeline import (
    EventFn,
    RelinkMode,
    RunConfig,
    RunSummary,
    ShotReport,
    run_pipeline,
)
from aleph_otio.rehearsal import maybe_emulator
from aleph_otio.relink import relink_timeline as relink_loaded
from aleph_otio.scripting.planning import (
    TimelineLike,
    load_timeline,
    plan_loaded_timeline,
    settings_with_options,
)
from aleph_otio.scripting.relinking import RELINK_MODES
from aleph_otio.scripting.revising import record_cut, revise
from aleph_otio.scripting.sync import run_sync
from aleph_otio.shots import Plan
from aleph_otio.timeline import LoadedTimeline, known_suffixes


@dataclass
class RunResult:
    """What :func:`run_timeline` did: the relinked timeline, the run summary and the plan."""

    timeline: otio.schema.Timeline
    summary: RunSummary
    plan: Plan
    work_dir: Path
    shots: list[ShotReport] = field(init=False)

    def __post_init__(self) -> None:
        self.shots = self.summary.shots

    @property
    def ok(self) -> bool:
        """True when every marker was planned and every shot relinked."""
        return self.summary.exit_code == 0

    @property
    def exit_code(self) -> int:
        """What ``aleph-otio run`` would exit with (0, 4 some failed, 5 nothing relinked)."""
        return self.summary.exit_code

    @property
    def output(self) -> Path | None:
        return self.summary.output

    @property
    def ledger(self) -> Path:
        return self.summary.ledger

    @property
    def cost(self) -> float:
        """USD the API reported for this plan's tasks (0 when it reported none)."""
        return self.summary.cost

    @property
    def estimate(self) -> float:
        return self.summary.estimate


def _api_settings(api: APISettings | None) -> APISettings:
    """Explicit settings as given (the key filled in from the environment if missing)."""
    if api is None:
        return resolve_api_settings()
    if api.api_key is None:
        api = api.model_copy(update={"api_key": resolve_api_key()})
    api.require_key()
    return api


async def run_timeline_async(
    timeline: TimelineLike,
    *,
    output: str | os.PathLike[str] | None = None,
    emulator: bool = False,
    settings: PlanSettings | None = None,
    api: APISettings | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    relink: RelinkMode = "version",
    concurrency: int = 4,
    budget: float | None = None,
    progress: EventFn | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    rate: float | str | None = None,
    submit_only: bool = False,
    emulator_latency: float = 0.5,
    against: str | os.PathLike[str] | None = None,
    **options: Any,
) -> RunResult:
    """:func:`run_timeline` for code that already runs an asyncio event loop (await it)."""
    if relink not in RELINK_MODES:
        raise ConfigError(f"relink={relink!r}: use version, reference or replace")
    if concurrency < 1:
        raise ConfigError(f"concurrency={concurrency}: use 1 or more shots in flight")
    if budget is not None and not budget >= 0:
        raise ConfigError(f"budget={budget!r}: give the most USD to spend, e.g. 20")
    plan_settings = settings_with_options(settings, options)
    loaded = load_timeline(timeline, base_dir=base_dir, rate=rate, sequence=plan_settings.sequence)
    out = Path(output).expanduser().absolute() if output is not None else None
    if out is not None and out.resolve() == loaded.path.resolve():
        raise ConfigError(
            f"{out}: is the input timeline; choose another output (inputs are never overwritten)"
        )
    if out is not None:
        # Found out now, not after every shot has been paid for and the write fails.
        suffixes = known_suffixes(write=True)
        if out.suffix[1:].lower() not in suffixes:
            raise ConfigError(
                f"{out}: no timeline format writes {out.suffix or 'files without a suffix'}; "
                f"use one of {', '.join('.' + s for s in suffixes)}"
            )
    if against is not None and work_dir is not None and Path(against) != Path(work_dir):
        raise ConfigError(
            f"against={against} and work_dir={work_dir}: a revision runs in the work folder "
            "it is compared with; give one of them"
        )
    work_dir = against if against is not None else work_dir
    # Without work_dir, the command line's folder: `aleph-otio status/relink` find it too.
    work = (
        Path(work_dir).expanduser().absolute()
        if work_dir is not None
        else default_work_dir(out, loaded.path)
    )
    plan = await asyncio.to_thread(plan_loaded_timeline, loaded, plan_settings)
    if against is not None:
        # A new cut against the work folder of an earlier one: pay only for what changed.
        price = api.estimate_per_second if api is not None else DEFAULT_PRICE_PER_SECOND
        revision = revise(plan, work, price=price)
        record_cut(work, revision)
        plan = revision.plan

    with ExitStack() as stack:
        backend = api.backend if api is not None else "runware"
        emulator_url = stack.enter_context(
            maybe_emulator(emulator, work, emulator_latency, backend=backend)
        )
        if emulator_url is not None:
            api = (
                api
                or APISettings(
                    poll_interval=EMULATOR_POLL_INTERVAL,
                    poll_max_interval=EMULATOR_POLL_MAX_INTERVAL,
                )
            ).model_copy(update={"base_url": emulator_url, "api_key": SecretStr(EMULATOR_KEY)})
        api = _api_settings(api)
        config = RunConfig(
            timeline=loaded.path,
            output=out,
            work_dir=work,
            plan_settings=plan_settings,
            api_settings=api,
            relink_mode=relink,
            concurrency=concurrency,
            budget=budget,
            submit_only=submit_only,
        )
        async with open_backend(api) as client:
            summary = await run_pipeline(config, client, on_event=progress, planned=(loaded, plan))
    relinked = await asyncio.to_thread(_relink_from_ledger, loaded, plan, config, summary)
    return RunResult(timeline=relinked, summary=summary, plan=plan, work_dir=work)


def _relink_from_ledger(
    loaded: LoadedTimeline, plan: Plan, config: RunConfig, summary: RunSummary
) -> otio.schema.Timeline:
    """The relinked timeline in memory (the pipeline only relinks when it writes a file)."""
    ids = {s.id for s in plan.shots}
    with Ledger(config.ledger_path) as ledger:
        results = [r for r in ledger.relink_results() if r.shot.id in ids]
        shown = ledger.with_earlier_versions(results)  # earlier versions kept beside
        relinked = relink_loaded(loaded.timeline, shown, mode=config.relink_mode)
        if config.output is None:
            # The returned timeline holds them now, exactly as a written output would; a later
            # run with an output relinks "relinked" shots again, so nothing is lost.
            done = {r.shot.id for r in results}
            for report in summary.shots:
                if report.shot_id in done and ledger.state(report.shot_id) == "verified":
                    ledger.mark_relinked(report.shot_id)
                    report.state = "relinked"
    return relinked


def run_timeline(
    timeline: TimelineLike,
    *,
    output: str | os.PathLike[str] | None = None,
    emulator: bool = False,
    settings: PlanSettings | None = None,
    api: APISettings | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    relink: RelinkMode = "version",
    concurrency: int = 4,
    budget: float | None = None,
    progress: EventFn | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    rate: float | str | None = None,
    submit_only: bool = False,
    emulator_latency: float = 0.5,
    against: str | os.PathLike[str] | None = None,
    **options: Any,
) -> RunResult:
    """Plan, prepare, upload, submit, wait, download, verify and relink; resumable.

    Returns the relinked :class:`opentimelineio.schema.Timeline` (also written to ``output``
    when given, in the format of its suffix) and the run's summary. ``emulator=True`` rehearses
    against a local emulator (no key, nothing paid); otherwise ``api`` (or ``RUNWARE_API_KEY``
    and ``RUNWARE_BASE_URL``) says where tasks go. ``budget`` (USD) stops submitting once the
    estimate would pass it, leaving the rest planned for a later run. ``progress(stage, shot,
    status)`` is called for every step ("start", "done" or "failed"). ``options`` override plan
    settings (``number_results=2``). The work folder (clips, results, job ledger) defaults to
    ``<output stem>.aleph-work`` next to the output, as for ``aleph-otio run``; calling again
    with the same arguments resumes and never pays twice. ``submit_only`` returns after
    submitting; ``emulator_latency`` is the emulator's seconds per task. ``against`` (a work
    folder of an earlier cut) runs this cut as a revision of it: moved, trimmed and reinstated
    shots come from its ledger, only changed, extended and new ones are paid
    (:func:`aleph_otio.scripting.revising.revise` gives the diff without running). Works
    inside a running event loop (Jupyter) by running in a worker thread, which
    KeyboardInterrupt stops;
    ``await run_timeline_async(...)`` is the async form.
    """
    return run_sync(
        lambda: run_timeline_async(
            timeline,
            output=output,
            emulator=emulator,
            settings=settings,
            api=api,
            work_dir=work_dir,
            relink=relink,
            concurrency=concurrency,
            budget=budget,
            progress=progress,
            base_dir=base_dir,
            rate=rate,
            submit_only=submit_only,
            emulator_latency=emulator_latency,
            against=against,
            **options,
        )
    )
