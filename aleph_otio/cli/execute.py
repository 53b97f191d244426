"""Running the pipeline from the command line: progress bars, webhooks, Ctrl-C that resumes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
from collections.abc import Callable, Iterator
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from aleph_otio.cli.output import StageProgress, err_console
from aleph_otio.config import APISettings


def execute(
    config: Any,
    settings: APISettings,
    webhook_listen: tuple[str, int] | None = None,
    *,
    revise: Callable[[Any], Any] | None = None,
) -> Any:
    """Plan, then run the pipeline with progress bars; Ctrl-C leaves everything resumable.

    ``webhook_listen`` (host, port) receives webhooks there while the run waits; tasks name its
    URL as their webhookURL unless ``settings`` already has one (the public URL that reaches it).
    """
    # Imported here for start-up time: `aleph-otio --help` loads no more than the CLI.
    from aleph_otio.api.backend import open_backend
    from aleph_otio.api.client import AlephClient
    from aleph_otio.api.webhook import WebhookReceiver
    from aleph_otio.pipeline import plan_file, run_pipeline

    planned = plan_file(config.timeline, config.plan_settings, rate=config.rate)
    if revise is not None:  # run --against: the new cut as it runs against the work folder
        planned = (planned[0], revise(planned[1]))

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
                    client = await stack.enter_async_context(open_backend(run_settings))
                    if isinstance(client, AlephClient):
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
