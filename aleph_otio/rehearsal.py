"""The local emulator a run rehearses against: started for the run, stopped after it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def maybe_emulator(
    enabled: bool,
    work_dir: Path,
    latency: float,
    *,
    announce: Callable[[str], object] | None = None,
    backend: str = "runware",
) -> Iterator[str | None]:
    """Start the local emulator for the run when asked; yields its base URL (or None).

    ``backend="runway"`` serves Runway's API instead of Runware's. Its uploads and results live in
    ``work_dir/emulator``; ``announce`` gets the base URL once
    the server listens (the CLI prints it).
    """
    if not enabled:
        yield None
        return
    storage = work_dir / "emulator"
    if backend == "runway":
        # Imported here for start-up time, as below: Runway's API, served locally.
        from aleph_otio.emulator.runway import RunwayEmulator

        with RunwayEmulator(storage / "runway", latency=latency) as runway:
            if announce is not None:
                announce(runway.base_url)
            yield runway.base_url
        return
    # Imported here for start-up time: the server and its media code are only needed to rehearse.
    from aleph_otio.emulator import Emulator, EmulatorConfig

    with Emulator(EmulatorConfig(latency=latency, concurrency=4, storage_dir=storage)) as emu:
        if announce is not None:
            announce(emu.base_url)
        yield emu.base_url
