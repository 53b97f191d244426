"""`aleph-otio emulator`: serve the local Runware-compatible emulator until Ctrl-C."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from aleph_otio.errors import ConfigError


def _statuses(value: str) -> list[int]:
    try:
        statuses = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(
            f"--status-burst {value!r}: give HTTP statuses separated by commas, e.g. 429,429,503"
        ) from None
    bad = [s for s in statuses if not 400 <= s <= 599]
    if bad:
        raise ConfigError(f"--status-burst: {bad[0]} is not an HTTP error status (400-599)")
    return statuses


def emulator(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (loopback by default)."),
    port: int = typer.Option(8788, help="Port to listen on (0: any free port)."),
    api_key: str | None = typer.Option(
        None,
        "--api-key",
        envvar="ALEPH_OTIO_EMULATOR_KEY",
        show_envvar=True,
        help="Accept only this key (default: any non-empty key).",
    ),
    latency: float = typer.Option(5.0, help="Seconds each task takes before its last result."),
    concurrency: int = typer.Option(2, help="Tasks processed at the same time."),
    storage: Annotated[
        Path | None,
        typer.Option(help="Folder for uploads and results (default: temporary, removed on exit)."),
    ] = None,
    price_per_second: float = typer.Option(0.28, help="USD per input second, per result."),
    max_height: int = typer.Option(1080, help="Largest accepted short side of the input video."),
    max_fps: float | None = typer.Option(None, help="Largest accepted input frame rate."),
    budget: float | None = typer.Option(
        None, help="Refuse tasks (402 insufficientCredits) beyond this many USD."
    ),
    default_ttl: float | None = typer.Option(
        None, help="Seconds results stay downloadable when a task sets no ttl."
    ),
    webhook_bare: bool = typer.Option(
        False, help="Send webhook bodies as the bare item instead of {'data': [item]}."
    ),
    mov_prores: bool = typer.Option(False, help="Encode MOV results as ProRes instead of H.264."),
    failure_shape: str = typer.Option(
        "errors",
        help="How a failed generation is answered: 'errors' (top-level errors) or 'data' "
        "(a data item with status error and an error object, as runware-sdk reads it).",
    ),
    fail_tasks: int = typer.Option(0, help="Fault: the next N tasks fail (timeoutProvider)."),
    fail_code: str = typer.Option("timeoutProvider", help="Error code of --fail-tasks failures."),
    safety_rejects: int = typer.Option(0, help="Fault: the next N tasks fail the content check."),
    partial_tasks: int = typer.Option(
        0, help="Fault: the next N tasks with 2+ results fail all but their first result."
    ),
    status_burst: str = typer.Option(
        "", help="Fault: answer the next requests with these statuses, e.g. 429,429,503."
    ),
    retry_after: float | None = typer.Option(None, help="Retry-After seconds on --status-burst."),
    drop_connections: int = typer.Option(
        0, help="Fault: close the socket without answering the next N requests."
    ),
    drop_after_accept: int = typer.Option(
        0, help="Fault: accept the next N videoInference tasks, then drop the connection."
    ),
    truncate_downloads: int = typer.Option(
        0, help="Fault: serve only half of the next N result downloads."
    ),
    slow_response: float = typer.Option(0.0, help="Fault: seconds to wait before every answer."),
    duplicate_webhooks: int = typer.Option(0, help="Fault: deliver the next N webhooks twice."),
    async_uploads: int = typer.Option(
        0, help="Fault: answer the next N uploads with mediaUUID '1'; the real one via getResponse."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every request."),
) -> None:
    """Run a local Runware-compatible server for runway:aleph@2.0 (rehearse without credits)."""
    from aleph_otio.emulator import Emulator, EmulatorConfig, Faults

    if concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    if latency < 0:
        raise ConfigError("--latency must not be negative")
    if failure_shape not in ("errors", "data"):
        raise ConfigError(f"--failure-shape {failure_shape!r}: choose 'errors' or 'data'")
    faults = Faults(
        status_burst=_statuses(status_burst),
        retry_after=retry_after,
        drop_connections=drop_connections,
        drop_after_accept=drop_after_accept,
        truncate_downloads=truncate_downloads,
        fail_tasks=fail_tasks,
        fail_code=fail_code,
        safety_rejects=safety_rejects,
        partial_tasks=partial_tasks,
        slow_response=slow_response,
        duplicate_webhooks=duplicate_webhooks,
        async_uploads=async_uploads,
    )
    config = EmulatorConfig(
        host=host,
        port=port,
        api_key=api_key,
        latency=latency,
        concurrency=concurrency,
        storage_dir=storage,
        price_per_second=price_per_second,
        max_height=max_height,
        max_fps=max_fps,
        budget=budget,
        default_ttl=default_ttl,
        webhook_bare=webhook_bare,
        mov_prores=mov_prores,
        failure_shape="data" if failure_shape == "data" else "errors",
        faults=faults,
    )
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        emu = Emulator(config).start()
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port"
        ) from None
    key_note = "only the key given with --api-key" if api_key else "any non-empty API key"
    typer.echo(f"RUNWARE_BASE_URL={emu.base_url}", color=False)
    typer.echo(
        f"aleph-otio emulator: serving runway:aleph@2.0 on {emu.base_url}, accepting {key_note}; "
        f"results in {emu.storage}. Ctrl-C to stop.",
        err=True,
    )

    def _on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # A service manager's SIGTERM stops it like Ctrl-C does, so temporary storage is removed.
    signal.signal(signal.SIGTERM, _on_term)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        typer.echo("emulator stopped", err=True)
    finally:
        emu.stop()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command("emulator")(emulator)
