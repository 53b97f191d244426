"""The Python scripting API: plan, run, relink and estimate with OTIO objects in and out.

Usable from a plain script, from OpenTimelineIO tooling and from DaVinci Resolve's Python
console (see ``docs/scripting.md``). Everything here wraps the same code the command line
runs (:mod:`aleph_otio.pipeline`, :mod:`aleph_otio.plan`, :mod:`aleph_otio.relink`), so a
script and ``aleph-otio run`` share work folders, job ledgers and resumability.

A timeline is given as a file path (read with the OTIO adapter for its suffix) or as an
in-memory :class:`opentimelineio.schema.Timeline`. An in-memory timeline has no folder of its
own: relative media paths need ``base_dir=`` (the folder they are relative to); when every
media path is absolute (or a URL) it may be omitted and the current folder is used.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias, TypeVar
from urllib.parse import urlparse

import opentimelineio as otio
from pydantic import SecretStr, ValidationError

from aleph_otio.api.client import AlephClient
from aleph_otio.batch import guess_source_adapter
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
from aleph_otio.cost import CostEstimate, ShotCost, check_price, estimate_shots
from aleph_otio.errors import ConfigError
from aleph_otio.ledger import Ledger
from aleph_otio.pipeline import (
    EventFn,
    RelinkMode,
    RunConfig,
    RunSummary,
    ShotReport,
    media_facts_from_probe,
    run_pipeline,
)
from aleph_otio.plan import plan_timeline as plan_loaded
from aleph_otio.rehearsal import maybe_emulator
from aleph_otio.relink import relink_timeline as relink_loaded
from aleph_otio.shots import Plan, Shot
from aleph_otio.timeline import LoadedTimeline, known_suffixes, read_timeline

__all__ = [
    "APISettings",
    "CostEstimate",
    "EventFn",
    "Plan",
    "PlanSettings",
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
    "run_timeline",
    "run_timeline_async",
]

#: A timeline file (any format OTIO reads) or an in-memory OTIO timeline.
TimelineLike: TypeAlias = otio.schema.Timeline | str | os.PathLike[str]
_RELINK_MODES = ("version", "reference", "replace")
_T = TypeVar("_T")


# --- timelines and settings ---------------------------------------------------------------------


def _relative_media(timeline: otio.schema.Timeline) -> list[str]:
    """'clip (url)' for every media reference whose path is relative to some folder."""
    found: list[str] = []
    for clip in timeline.find_clips():
        for ref in clip.media_references().values():
            url = getattr(ref, "target_url", None) or getattr(ref, "target_url_base", None)
            if not url:
                continue
            scheme = urlparse(url).scheme
            if scheme and len(scheme) > 1:  # file://, http(s)://; "C:" is a drive letter
                continue
            if not Path(url).expanduser().is_absolute():
                found.append(f"clip {clip.name!r} ({url})")
    return found


def _safe_stem(name: str) -> str:
    stem = re.sub(r"[^\w.-]+", "_", name).strip("._")
    return stem or "timeline"


def load_timeline(
    timeline: TimelineLike | LoadedTimeline,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    rate: float | str | None = None,
    sequence: str | None = None,
) -> LoadedTimeline:
    """A timeline ready to plan: read from a file, or an in-memory one anchored at ``base_dir``.

    ``rate`` is the frame rate for EDL files (default 24); ``sequence`` names the sequence to
    use in a file that holds several. An in-memory timeline gets the
    identity ``base_dir/<name>.otio`` (used for the job ledger and the default work folder);
    without ``base_dir`` its media paths must all be absolute, else a ConfigError says which.
    """
    if isinstance(timeline, LoadedTimeline):
        return timeline
    if isinstance(timeline, str | os.PathLike):
        return read_timeline(timeline, rate=rate, sequence=sequence)
    if not isinstance(timeline, otio.schema.Timeline):
        raise ConfigError(
            f"expected an OTIO Timeline or a timeline file path, got {type(timeline).__name__}; "
            "pick one timeline first (e.g. otio.adapters.read_from_file(path))"
        )
    name = timeline.name or "timeline"
    if base_dir is None:
        relative = _relative_media(timeline)
        if relative:
            raise ConfigError(
                f"timeline {name!r}: {relative[0]} has a relative media path"
                f"{f' (and {len(relative) - 1} more)' if len(relative) > 1 else ''}; "
                "pass base_dir=FOLDER the paths are relative to"
            )
        folder = Path.cwd()
    else:
        folder = Path(base_dir).expanduser().resolve()
        if not folder.is_dir():
            raise ConfigError(f"base_dir {folder}: no such folder; pass the media's folder")
    return LoadedTimeline(
        timeline=timeline,
        path=folder / f"{_safe_stem(name)}.otio",
        adapter_name=guess_source_adapter(timeline),
    )


def _plan_settings(settings: PlanSettings | None, options: dict[str, Any]) -> PlanSettings:
    """``settings`` with keyword overrides (``handles=12``); bad values are a ConfigError."""
    base = settings or PlanSettings()
    if not options:
        return base
    unknown = sorted(set(options) - set(PlanSettings.model_fields))
    if unknown:
        raise ConfigError(
            f"unknown plan option(s) {', '.join(unknown)}; "
            f"known: {', '.join(PlanSettings.model_fields)}"
        )
    try:
        return PlanSettings.model_validate({**base.model_dump(), **options})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"plan option {where}={first['input']!r}: {first['msg']}") from None


def _plan_loaded(loaded: LoadedTimeline, settings: PlanSettings) -> Plan:
    return plan_loaded(loaded, settings, media_facts=media_facts_from_probe)


def plan_timeline(
    timeline: TimelineLike,
    settings: PlanSettings | None = None,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    rate: float | str | None = None,
    **options: Any,
) -> Plan:
    """Plan the timeline's edit-request markers into Aleph shots (nothing is sent or paid).

    ``options`` override fields of ``settings`` (``handles=12``, ``number_results=2``, ...).
    Markers that cannot be planned are listed in ``Plan.errors`` (one line each, naming file,
    track, clip and timecode); the rest are planned. Media is probed for its real length.
    """
    plan_settings = _plan_settings(settings, options)
    loaded = load_timeline(timeline, base_dir=base_dir, rate=rate, sequence=plan_settings.sequence)
    return _plan_loaded(loaded, plan_settings)


# --- cost estimates -----------------------------------------------------------------------------


def estimate(
    plan_or_timeline: Plan | TimelineLike,
    price_per_second: float = DEFAULT_PRICE_PER_SECOND,
    *,
    settings: PlanSettings | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    rate: float | str | None = None,
    **options: Any,
) -> CostEstimate:
    """Expected cost of a plan (or of planning a timeline with ``settings``/``options``).

    Default price: USD 0.28 per second of input video, per result (Aleph 2.0 on Runware).
    """
    check_price(price_per_second)
    if isinstance(plan_or_timeline, Plan):
        plan = plan_or_timeline
    else:
        plan = plan_timeline(plan_or_timeline, settings, base_dir=base_dir, rate=rate, **options)
    return estimate_shots(plan.shots, price_per_second)


# --- running ------------------------------------------------------------------------------------


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
    **options: Any,
) -> RunResult:
    """:func:`run_timeline` for code that already runs an asyncio event loop (await it)."""
    if relink not in _RELINK_MODES:
        raise ConfigError(f"relink={relink!r}: use version, reference or replace")
    if concurrency < 1:
        raise ConfigError(f"concurrency={concurrency}: use 1 or more shots in flight")
    if budget is not None and not budget >= 0:
        raise ConfigError(f"budget={budget!r}: give the most USD to spend, e.g. 20")
    plan_settings = _plan_settings(settings, options)
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
    # Without work_dir, the command line's folder: `aleph-otio status/relink` find it too.
    work = (
        Path(work_dir).expanduser().absolute()
        if work_dir is not None
        else default_work_dir(out, loaded.path)
    )
    plan = await asyncio.to_thread(_plan_loaded, loaded, plan_settings)

    with ExitStack() as stack:
        emulator_url = stack.enter_context(maybe_emulator(emulator, work, emulator_latency))
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
        async with AlephClient(settings=api) as client:
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
        relinked = relink_loaded(loaded.timeline, results, mode=config.relink_mode)
        if config.output is None:
            # The returned timeline holds them now, exactly as a written output would; a later
            # run with an output relinks "relinked" shots again, so nothing is lost.
            done = {r.shot.id for r in results}
            for report in summary.shots:
                if report.shot_id in done and ledger.state(report.shot_id) == "verified":
                    ledger.mark_relinked(report.shot_id)
                    report.state = "relinked"
    return relinked


def _run_sync(make: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run a coroutine to completion from synchronous code, even under a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    # Jupyter (and other consoles) already run a loop in this thread, and asyncio cannot nest
    # loops: run ours in a worker thread and wait for it.
    loop = asyncio.new_event_loop()
    job: list[asyncio.Task[_T]] = []

    def work() -> _T:
        asyncio.set_event_loop(loop)
        try:
            job.append(loop.create_task(make()))
            return loop.run_until_complete(job[0])
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aleph-otio")
    future = pool.submit(work)
    try:
        while True:
            try:
                # Short waits, not one long one: a SIGINT that the OS hands to another thread
                # only becomes a KeyboardInterrupt when this (the main) thread runs Python code,
                # so a single wait could sleep through "interrupt kernel" until the run ended.
                return future.result(timeout=0.1)
            except TimeoutError:
                continue
    except KeyboardInterrupt:
        # "Interrupt kernel": stop the job as Ctrl-C stops the command (the ledger keeps what
        # is done, so the same call resumes), and wait until it has stopped.
        if job:
            with suppress(RuntimeError):  # the loop has already finished
                loop.call_soon_threadsafe(job[0].cancel)
        with suppress(BaseException):
            future.result(timeout=60)
        raise
    finally:
        pool.shutdown(wait=False)


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
    submitting; ``emulator_latency`` is the emulator's seconds per task. Works inside a running
    event loop (Jupyter) by running in a worker thread, which KeyboardInterrupt stops;
    ``await run_timeline_async(...)`` is the async form.
    """
    return _run_sync(
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
            **options,
        )
    )


# --- relinking ----------------------------------------------------------------------------------


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
    if mode not in _RELINK_MODES:
        raise ConfigError(f"mode={mode!r}: use version, reference or replace")
    path = Path(ledger).expanduser()
    if path.is_dir():
        path = path / "ledger.sqlite"
    if not path.is_file():
        raise ConfigError(f"{path}: no job ledger; pass a run's work folder or its ledger.sqlite")
    plan_settings = _plan_settings(settings, options)
    loaded = load_timeline(timeline, base_dir=base_dir, rate=rate, sequence=plan_settings.sequence)
    from_file = not isinstance(timeline, otio.schema.Timeline)
    with Ledger(path) as led:
        if from_file:
            results = led.relink_results(timeline_path=str(loaded.path))
        else:
            ids = {s.id for s in _plan_loaded(loaded, plan_settings).shots}
            everything = led.relink_results()
            results = [r for r in everything if r.shot.id in ids]
            if everything and not results:
                raise ConfigError(
                    f"{path}: none of its {len({r.shot.id for r in everything})} finished "
                    f"shot(s) was planned from timeline {loaded.timeline.name!r} with these "
                    "settings; pass the settings the run used (handles, number_results, ...)"
                )
    return relink_loaded(loaded.timeline, results, mode=mode)
