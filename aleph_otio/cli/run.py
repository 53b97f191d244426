"""``aleph-otio run``, ``submit``, ``status`` and ``relink``: the job itself.

``run`` plans, prepares, uploads, submits, waits, downloads, verifies, relinks and writes; run it
again after a crash or Ctrl-C and it resumes from the job ledger. ``--emulator`` runs against a
local emulator it starts itself (no key, no cost).
Exit status: 0 every shot relinked; 4 some shots failed or are still running (the rest were
relinked); 5 nothing relinked; 2 bad input or options; 3 markers that could not be planned.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from aleph_otio.cli import options
from aleph_otio.config import (
    APISettings,
    PlanSettings,
    SafetyMode,
    resolve_api_key,
    resolve_base_url,
)
from aleph_otio.errors import ConfigError
from aleph_otio.shots import Shot

RELINK_MODES = ("version", "reference", "replace")
STAGES = ("prepare", "upload", "submit", "generate", "download", "verify")
EMULATOR_KEY = "emulator-local-key"
#: Polls against an emulator: 0.25 s apart at first (``run --emulator``), at most 1 s apart.
EMULATOR_POLL_INTERVAL = 0.25
EMULATOR_POLL_MAX_INTERVAL = 1.0

out_console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def default_work_dir(output: Path | None, timeline: Path, *, rehearsal: bool = False) -> Path:
    """``<output stem>.aleph-work`` next to the output (else next to the timeline).

    A rehearsal against the emulator gets its own ``.aleph-rehearsal`` folder: its uploads and
    tasks mean nothing to the real service, so a real run must never resume from them.
    """
    anchor = output if output is not None else timeline
    stem = anchor.name.split(".")[0] or "aleph"
    return anchor.parent / f"{stem}.aleph-{'rehearsal' if rehearsal else 'work'}"


def api_settings(
    *,
    emulator_url: str | None,
    base_url: str | None,
    ttl: int | None,
    include_cost: bool,
    webhook_url: str | None,
    upload_endpoint: str | None,
    safety: str | None,
    price: float,
    poll_interval: float | None = None,
) -> APISettings:
    """APISettings from options; the key from the environment or config file (never printed)."""
    if emulator_url is not None:
        key = resolve_api_key(EMULATOR_KEY)
        url = emulator_url
    else:
        key = resolve_api_key()
        url = resolve_base_url(base_url)
    if safety is not None and safety not in ("none", "fast", "full"):
        raise ConfigError(f"--safety {safety!r}: use none, fast or full")
    mode: SafetyMode | None = safety  # type: ignore[assignment]
    poll: dict[str, float] = {}
    if poll_interval is not None:
        poll["poll_interval"] = poll_interval
    if emulator_url is not None:
        # Emulated tasks take seconds, not minutes: a result waits at most this long unseen.
        poll["poll_max_interval"] = max(EMULATOR_POLL_MAX_INTERVAL, poll_interval or 0.0)
    try:
        settings = APISettings(
            base_url=url,
            api_key=key,
            ttl=ttl,
            include_cost=include_cost,
            webhook_url=webhook_url,
            upload_endpoint=upload_endpoint,
            safety_mode=mode,
            price_per_second=price,
            **poll,
        )
    except ValueError as exc:
        raise ConfigError(f"invalid option: {exc}".splitlines()[0]) from None
    settings.require_key()
    return settings


@contextlib.contextmanager
def maybe_emulator(enabled: bool, work_dir: Path, latency: float) -> Iterator[str | None]:
    """Start the local emulator for the run when asked; yields its base URL (or None)."""
    if not enabled:
        yield None
        return
    from aleph_otio.emulator import Emulator, EmulatorConfig

    storage = work_dir / "emulator"
    with Emulator(EmulatorConfig(latency=latency, concurrency=4, storage_dir=storage)) as emu:
        err_console.print(f"emulator: {emu.base_url} (offline rehearsal, nothing is paid)")
        yield emu.base_url


class StageProgress:
    """One rich progress bar per stage, fed by the pipeline's events."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress = progress
        self.bars = {
            stage: progress.add_task(stage, total=total, visible=False) for stage in STAGES
        }
        self.failed: dict[str, int] = dict.fromkeys(STAGES, 0)

    def __call__(self, stage: str, shot: Shot | None, status: str) -> None:
        bar = self.bars.get(stage)
        if bar is None:
            return
        self.progress.update(bar, visible=True)
        if status == "done":
            self.progress.advance(bar)
        elif status == "failed":
            self.failed[stage] += 1
            self.progress.advance(bar)
            self.progress.update(bar, description=f"{stage} [red]({self.failed[stage]} failed)")


def summary_table(summary: Any) -> Table:
    """The per-shot end-of-run table."""
    table = Table(title="aleph-otio run", show_lines=False)
    for column in ("shot", "state", "estimate", "cost", "results / reason"):
        table.add_column(column)
    for shot in summary.shots:
        colour = {"relinked": "green", "failed": "red"}.get(shot.state, "yellow")
        # Names, paths and reasons come from the timeline: Text, never markup.
        detail = Text("\n".join(shot.results) if shot.state == "relinked" else (shot.reason or ""))
        if shot.state == "relinked" and shot.reason:
            # e.g. variations that failed next to the ones relinked
            detail.append("\n" + shot.reason, style="yellow")
        table.add_row(
            Text(shot.name),
            Text(shot.state, style=colour),
            f"${shot.estimate:.2f}",
            f"${shot.cost:.2f}" if shot.cost is not None else "-",
            detail,
        )
    return table


def print_summary(summary: Any) -> None:
    out_console.print(summary_table(summary))
    done, failed = len(summary.done), len(summary.failed)
    out_console.print(
        f"{done}/{len(summary.shots)} shot(s) relinked, {failed} failed; "
        f"cost ${summary.cost:.2f} (estimate ${summary.estimate:.2f})"
    )
    if summary.output is not None and done:
        out_console.print(f"output: {summary.output}", markup=False)
    out_console.print(f"job ledger: {summary.ledger}", markup=False)
    for line in summary.plan_warnings:
        err_console.print(f"warning: {line}", markup=False)
    for line in summary.plan_errors:
        err_console.print(f"error: {line}", markup=False)
    for shot in summary.failed:
        # The table cuts long reasons to the terminal width; this line keeps the whole reason.
        err_console.print(f"error: {shot.name}: {shot.reason or 'failed'}", markup=False)
    if summary.stopped_by_budget:
        err_console.print(
            "budget reached: the remaining shots are planned; raise --budget to go on"
        )
    if summary.still_processing:
        err_console.print(
            f"{summary.still_processing} task(s) still processing: run the same command again"
        )
    if failed:
        err_console.print("failed shots are kept in the ledger: run the same command to retry them")


def execute(
    config: Any, settings: APISettings, webhook_listen: tuple[str, int] | None = None
) -> Any:
    """Plan, then run the pipeline with progress bars; Ctrl-C leaves everything resumable.

    ``webhook_listen`` (host, port) receives webhooks there while the run waits; tasks name its
    URL as their webhookURL unless ``settings`` already has one (the public URL that reaches it).
    """
    from aleph_otio.api.client import AlephClient
    from aleph_otio.api.webhook import WebhookReceiver
    from aleph_otio.pipeline import plan_file, run_pipeline

    planned = plan_file(config.timeline, config.plan_settings, rate=config.rate)

    with Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
    ) as progress:
        tracker = StageProgress(progress, total=len(planned[1].shots))
        interrupted = False

        async def go() -> Any:
            nonlocal interrupted
            main_task = asyncio.current_task()

            def on_sigint() -> None:
                nonlocal interrupted
                if interrupted or main_task is None:
                    raise KeyboardInterrupt  # a second Ctrl-C: stop now
                interrupted = True
                main_task.cancel()

            with sigint_wakes_the_loop(on_sigint):
                async with contextlib.AsyncExitStack() as stack:
                    run_config, run_settings, hook = config, settings, None
                    if webhook_listen is not None:
                        hook = await stack.enter_async_context(WebhookReceiver(*webhook_listen))
                        if settings.webhook_url is None:
                            run_settings = settings.model_copy(update={"webhook_url": hook.url})
                            run_config = dataclasses.replace(config, api_settings=run_settings)
                        err_console.print(
                            f"webhooks: listening on {hook.url}"
                            + (
                                # Without its query string: a token may sit there.
                                f" (tasks name {settings.webhook_url.split('?', 1)[0]})"
                                if settings.webhook_url
                                else ""
                            ),
                            markup=False,
                        )
                    client = await stack.enter_async_context(AlephClient(settings=run_settings))
                    client.webhooks = hook
                    summary = await run_pipeline(
                        run_config, client, on_event=tracker, planned=planned
                    )
                    if hook is not None:
                        _report_webhooks(hook, summary)
                    return summary

        try:
            return asyncio.run(go())
        except asyncio.CancelledError:
            if interrupted:
                raise KeyboardInterrupt from None
            raise


def _report_webhooks(hook: Any, summary: Any) -> None:
    """How many webhooks came in; a warning when tasks finished and none did (a setup problem)."""
    finished = [s for s in summary.shots if s.state in ("relinked", "failed") and s.task_uuid]
    line = f"webhooks: {hook.delivered} received"
    if hook.refused:
        line += f", {hook.refused} refused"
    err_console.print(line, markup=False)
    if finished and not hook.delivered:
        err_console.print(
            f"warning: no webhook arrived at {hook.url}; the results came by polling. Check that "
            "the --webhook-url given to Runware reaches this address.",
            markup=False,
        )


@contextlib.contextmanager
def sigint_wakes_the_loop(handler: Callable[[], None]) -> Iterator[None]:
    """Handle Ctrl-C through the running loop's own wake-up pipe while the block runs.

    Python raises a signal in the main thread, where the loop sleeps in select() until its next
    timer (the next poll, up to ``poll_max_interval`` away). A SIGINT the OS hands to another
    thread (macOS does that freely; a media thread on Linux now and then) only reached the loop
    when it woke: ``loop.add_signal_handler`` makes the signal itself wake it. Where the loop
    cannot take signals (Windows, not the main thread), asyncio.run's own handling stays.
    """
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, handler)
    except (NotImplementedError, RuntimeError, ValueError):
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)


def _timeline_and_settings(
    source: Path, settings: PlanSettings, rate: str | None
) -> tuple[Path, PlanSettings, str | None]:
    """A batch manifest (``.aleph.json``) stands for its timeline and its plan settings."""
    if source.name.endswith(".aleph.json"):
        from aleph_otio.batch import read_batch

        batch = read_batch(source)
        return Path(batch.timeline), batch.settings, rate
    return source, settings, rate


def _check_output_format(output: Path) -> None:
    """Refuse an output no adapter can write before anything is cut, sent or paid for."""
    from aleph_otio.timeline import known_suffixes

    suffix = output.suffix[1:].lower()
    writable = known_suffixes(write=True)
    if suffix not in writable:
        what = f"suffix .{suffix}" if suffix else "no suffix"
        raise ConfigError(
            f"{output}: {what} is not a timeline format aleph-otio can write; use one of "
            + ", ".join("." + s for s in writable)
        )


def register(app: typer.Typer) -> None:
    """Add ``run``, ``submit``, ``status`` and ``relink`` to the app."""
    from aleph_otio.cli.plan import build_colour, build_settings

    @app.command("run")
    def run_command(
        timeline: Annotated[
            Path, typer.Argument(help="Timeline (.otio, .edl, .xml, ...) or .aleph.json batch.")
        ],
        output: Annotated[
            Path | None,
            typer.Option("-o", "--output", help="Relinked timeline to write; format by suffix."),
        ] = None,
        emulator: options.Emulator = False,
        relink: Annotated[
            str, typer.Option(help="version (new track), reference (alternate media) or replace.")
        ] = "version",
        concurrency: options.Concurrency = 4,
        work_dir: Annotated[
            Path | None,
            typer.Option(help="Clips, results and the job ledger (default: next to -o)."),
        ] = None,
        budget: options.Budget = None,
        submit_only: Annotated[
            bool, typer.Option("--submit-only", help="Stop after submitting; `status` polls later.")
        ] = False,
        marker_color: options.MarkerColor = None,
        prefix: options.Prefix = options.DEFAULT_PREFIX,
        guide_track: options.GuideTrack = options.DEFAULT_GUIDE_TRACK,
        handles: options.Handles = 0,
        number_results: options.NumberResults = 1,
        output_format: options.OutputFormat = "MP4",
        output_quality: options.OutputQuality = 95,
        rate: options.Rate = None,
        sequence: options.Sequence = None,
        media_map: options.MediaMap = None,
        media_search: options.MediaSearch = None,
        ocio_config: options.OcioConfig = None,
        input_colorspace: options.InputColorspace = None,
        colorspace_rule: options.ColorspaceRule = None,
        view: options.View = None,
        lut: options.Lut = None,
        cdl: options.Cdl = None,
        return_colorspace: options.ReturnColorspace = "display",
        base_url: options.BaseUrl = None,
        ttl: Annotated[
            int | None, typer.Option(help="Result URL lifetime, seconds (>= 60).")
        ] = None,
        include_cost: Annotated[
            bool, typer.Option(help="Ask the API for each task's cost.")
        ] = True,
        webhook_url: Annotated[
            str | None, typer.Option(help="Webhook for finished results.")
        ] = None,
        upload_endpoint: Annotated[
            str | None, typer.Option(help="URL the service PUTs each result to.")
        ] = None,
        safety: Annotated[
            str | None, typer.Option(help="Content check: none, fast or full.")
        ] = None,
        price: options.Price = options.DEFAULT_PRICE,
        emulator_latency: Annotated[float, typer.Option(help="Emulated seconds per task.")] = 1.0,
        resubmit_expired: Annotated[
            bool,
            typer.Option(
                "--resubmit-expired",
                help="Submit shots whose results expired on the server again (paid again).",
            ),
        ] = False,
        poll_interval: Annotated[
            float | None,
            typer.Option(min=0.01, help="Seconds between status polls at first (default 2)."),
        ] = None,
        webhook_listen: Annotated[
            str | None,
            typer.Option(
                help="Receive webhooks on HOST:PORT (or PORT) and poll a task when its webhook "
                "arrives; tasks name http://HOST:PORT/aleph-otio/webhook unless --webhook-url "
                "gives the public URL that reaches it."
            ),
        ] = None,
    ) -> None:
        """Send the marked shots to Aleph and write the relinked timeline (resumable)."""
        from aleph_otio.pipeline import RunConfig

        if relink not in RELINK_MODES:
            raise ConfigError(f"--relink {relink!r}: use version, reference or replace")
        if output is None and not submit_only:
            raise ConfigError("no output: aleph-otio run TIMELINE -o OUT.otio (or --submit-only)")
        if output is not None:
            _check_output_format(output)
        listen = None
        if webhook_listen is not None:
            from aleph_otio.api.webhook import parse_listen

            listen = parse_listen(webhook_listen)
            if webhook_url is None and not emulator:
                # Runware cannot POST to this machine's own address: it needs the public URL
                # that is forwarded here (the emulator runs here, so it can).
                raise ConfigError(
                    f"--webhook-listen {webhook_listen}: also give --webhook-url, the public "
                    "URL Runware can reach that is forwarded to it "
                    "(e.g. https://hooks.example.com/aleph-otio/webhook)"
                )
        plan_settings = build_settings(
            prefix=prefix,
            marker_color=marker_color,
            guide_track=guide_track,
            handles=handles,
            number_results=number_results,
            output_format=output_format,
            output_quality=output_quality,
            media_map=media_map,
            media_search=media_search,
            sequence=sequence,
            colour=build_colour(
                ocio_config=ocio_config,
                input_colorspace=input_colorspace,
                colorspace_rule=colorspace_rule,
                view=view,
                lut=lut,
                cdl=cdl,
                return_colorspace=return_colorspace,
            ),
        )
        source, plan_settings, rate = _timeline_and_settings(timeline, plan_settings, rate)
        if output is not None and output.resolve() == source.resolve():
            raise ConfigError(
                f"{output}: is the input timeline; choose another -o (inputs are never overwritten)"
            )
        work = work_dir or default_work_dir(output, source, rehearsal=emulator)
        with maybe_emulator(emulator, work, emulator_latency) as emulator_url:
            settings = api_settings(
                emulator_url=emulator_url,
                base_url=base_url,
                ttl=ttl,
                include_cost=include_cost,
                webhook_url=webhook_url,
                upload_endpoint=upload_endpoint,
                safety=safety,
                price=price,
                poll_interval=poll_interval or (EMULATOR_POLL_INTERVAL if emulator else None),
            )
            from aleph_otio.timeline import parse_rate

            config = RunConfig(
                timeline=source,
                output=output,
                work_dir=work,
                plan_settings=plan_settings,
                api_settings=settings,
                relink_mode=relink,  # type: ignore[arg-type]
                concurrency=concurrency,
                rate=parse_rate(rate) if rate else None,
                budget=budget,
                submit_only=submit_only,
                resubmit_expired=resubmit_expired,
            )
            summary = execute(config, settings, None if submit_only else listen)
        print_summary(summary)
        if submit_only and not summary.failed and not summary.plan_errors:
            if not summary.stopped_by_budget:
                err_console.print("submitted: `aleph-otio run` with the same options collects them")
            raise typer.Exit(0 if not summary.stopped_by_budget else 4)
        raise typer.Exit(summary.exit_code)

    @app.command("submit")
    def submit_command(
        timeline: Annotated[
            Path, typer.Argument(help="Timeline or .aleph.json batch (from `plan -o`).")
        ],
        work_dir: Annotated[
            Path | None, typer.Option(help="Work folder (default: next to the timeline).")
        ] = None,
        emulator: options.Emulator = False,
        base_url: options.BaseUrl = None,
        budget: options.Budget = None,
        concurrency: options.Concurrency = 4,
    ) -> None:
        """Prepare, upload and submit a planned batch, then stop; `run` later collects results."""
        run_command(
            timeline=timeline,
            output=None,
            work_dir=work_dir,
            emulator=emulator,
            base_url=base_url,
            budget=budget,
            concurrency=concurrency,
            submit_only=True,
        )

    @app.command("status")
    def status_command(
        work_dir: Annotated[
            Path, typer.Argument(help="The run's work folder (or its ledger.sqlite).")
        ],
    ) -> None:
        """Show every shot of a job ledger: state, task, cost, results."""
        from aleph_otio.ledger import Ledger

        path = work_dir / "ledger.sqlite" if work_dir.is_dir() else work_dir
        if not path.is_file():
            raise ConfigError(f"{path}: no job ledger here; pass the work folder of a run")
        with Ledger(path) as ledger:
            table = Table(title=Text(str(path)))
            for column in ("shot", "state", "taskUUID", "cost", "results / reason"):
                table.add_column(column)
            for record in ledger.shots():
                results = ledger.results(record.shot.id)
                costs = [r.cost for r in results if r.cost is not None]
                detail = "\n".join(r.path for r in results if r.path) or (record.reason or "")
                table.add_row(
                    Text(record.shot.name),
                    record.state,
                    record.task_uuid,
                    f"${sum(costs):.2f}" if costs else "-",
                    Text(detail),
                )
            out_console.print(table)
            summary = ledger.summary()
            states = ", ".join(f"{k} {v}" for k, v in summary["states"].items() if v)
            out_console.print(f"{summary['shots']} shot(s): {states}; cost ${summary['cost']:.2f}")

    @app.command("relink")
    def relink_command(
        timeline: Annotated[Path, typer.Argument(help="The timeline the shots were planned from.")],
        output: Annotated[Path, typer.Option("-o", "--output", help="Relinked timeline to write.")],
        ledger_path: Annotated[
            Path | None,
            typer.Option("--ledger", help="Job ledger (default: the run's work folder)."),
        ] = None,
        relink: Annotated[str, typer.Option(help="version, reference or replace.")] = "version",
        rate: Annotated[str | None, typer.Option(help="Frame rate for EDLs.")] = None,
        sequence: options.Sequence = None,
    ) -> None:
        """Relink results already in a job ledger into a timeline, without running anything."""
        from aleph_otio.exports import write_outputs
        from aleph_otio.ledger import Ledger
        from aleph_otio.relink import relink_timeline
        from aleph_otio.timeline import read_timeline

        if relink not in RELINK_MODES:
            raise ConfigError(f"--relink {relink!r}: use version, reference or replace")
        if output.resolve() == timeline.resolve():
            raise ConfigError(f"{output}: is the input timeline; choose another -o")
        path = ledger_path or default_work_dir(output, timeline) / "ledger.sqlite"
        if not path.is_file():
            raise ConfigError(f"{path}: no job ledger; pass --ledger WORK/ledger.sqlite")
        loaded = read_timeline(timeline, rate=rate, sequence=sequence)
        with Ledger(path) as ledger:
            results = ledger.relink_results(timeline_path=str(loaded.path))
        relinked = relink_timeline(loaded.timeline, results, mode=relink)  # type: ignore[arg-type]
        written = write_outputs(relinked, output, media_base=loaded.folder)
        shots = len({r.shot.id for r in results})
        files = ", ".join(str(p) for p in written)
        out_console.print(
            f"relinked {len(results)} result(s) of {shots} shot(s) into {files}", markup=False
        )
