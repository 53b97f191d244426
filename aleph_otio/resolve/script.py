"""What ``scripts/resolve/Aleph OTIO.py`` does: export, show the plan, run as asked, import."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aleph_otio.config import PlanSettings, resolve_api_key, resolve_runway_key
from aleph_otio.cost import backend_pricing, estimate_cost
from aleph_otio.errors import ConfigError
from aleph_otio.pipeline import RunSummary, plan_file
from aleph_otio.resolve.export import export_timeline
from aleph_otio.resolve.importing import import_result
from aleph_otio.resolve.run import print_progress, run_exported
from aleph_otio.shots import Plan, distinct


def plan_lines(plan: Plan, price_per_second: float = 0.28) -> list[str]:
    """The plan as console lines: one per shot, then refused markers and the estimate."""
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
    ``_NUMBER_RESULTS``, ``_GUIDE_TRACK`` and ``_MEDIA_SEARCH`` (folders separated like
    ``PATH``), as a Resolve script has no command line."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    search = [f for f in env.get("ALEPH_OTIO_MEDIA_SEARCH", "").split(os.pathsep) if f.strip()]
    for folder in search:
        if not Path(folder).expanduser().is_dir():
            raise ConfigError(
                f"ALEPH_OTIO_MEDIA_SEARCH: {folder} is not a folder; give folders to search, "
                f"separated by {os.pathsep!r}"
            )
    if search:
        values["media_search"] = tuple(str(Path(f).expanduser().resolve()) for f in search)
    for key, name in (
        ("ALEPH_OTIO_MARKER_COLOR", "marker_color"),
        ("ALEPH_OTIO_PREFIX", "prefix"),
        ("ALEPH_OTIO_HANDLES", "handles"),
        ("ALEPH_OTIO_MAX_FPS", "max_fps"),
        ("ALEPH_OTIO_DELIVER", "deliver"),
        ("ALEPH_OTIO_DELIVER_SIZE", "deliver_size"),
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


BACKEND_ENV, UPSCALE_ENV = "ALEPH_OTIO_BACKEND", "ALEPH_OTIO_UPSCALE"
_SERVICE = {"runware": "Runware", "runway": "Runway"}


def backend_from_env(env: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """(backend, upscale) from ``ALEPH_OTIO_BACKEND`` (runware, the default, or runway) and
    ``ALEPH_OTIO_UPSCALE`` (4k or 2k: Runway's upscaler after each result)."""
    env = os.environ if env is None else env
    backend = (env.get(BACKEND_ENV) or "runware").strip().lower()
    if backend not in _SERVICE:
        raise ConfigError(f"{BACKEND_ENV}={backend!r}: use runware or runway")
    upscale = (env.get(UPSCALE_ENV) or "").strip().lower() or None
    if upscale is not None and upscale not in ("4k", "2k"):
        raise ConfigError(f"{UPSCALE_ENV}={upscale!r}: use 4k or 2k (or leave it unset)")
    if upscale is not None and backend != "runway":
        raise ConfigError(
            f"{UPSCALE_ENV}={upscale}: the upscaler is Runway's; set {BACKEND_ENV}=runway"
        )
    return backend, upscale


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
    chosen = (mode or os.environ.get(MODE_ENV) or "ask").strip().lower()
    if chosen not in MODES:
        raise ConfigError(f"{MODE_ENV}={chosen!r}: use one of {', '.join(MODES)}")
    settings = settings or settings_from_env()
    backend, upscale = backend_from_env()
    service = _SERVICE[backend]
    exported = export_timeline(resolve, folder)
    out(f"exported timeline {exported.timeline_name!r}: {exported.raw_path}")
    for line in exported.filled:
        out(f"  {line}")
    planned = plan_file(exported.path, settings)
    plan = planned[1]
    # The backend's own price per second (with the upscale's), as `aleph-otio plan` shows it.
    lines = plan_lines(plan, backend_pricing(backend, upscale=upscale).per_second)
    for line in lines:
        out(line)
    if not plan.shots:
        out(f"nothing to send: name a marker '{settings.prefix} <what to change>' and run again")
        return None
    if chosen == "ask":
        has_key = (resolve_runway_key() if backend == "runway" else resolve_api_key()) is not None
        chosen = ask(lines, has_key) if ask is not None else "plan"
    if chosen not in ("emulator", "real"):
        out(
            f"not run ({chosen}); set {MODE_ENV}=emulator to rehearse offline or "
            f"{MODE_ENV}=real to send to {service}"
        )
        return None
    out("running against the local emulator (nothing is paid)" if chosen == "emulator" else
        f"sending to {service}")  # fmt: skip
    summary = run_exported(
        exported,
        planned,
        settings,
        emulator=chosen == "emulator",
        progress=print_progress(out),
        emulator_latency=emulator_latency,
        backend=backend,
        upscale=upscale,
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
