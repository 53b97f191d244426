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
) -> Iterator[str | None]:
    """Start the local emulator for the run when asked; yields its base URL (or None).

    Its uploads and results live in ``work_dir/emulator``; ``announce`` gets the base URL once
    the server listens (the CLI prints it).
    """
    if not enabled:
        yield None
        return
    # Imported here for start-up time: the server and its media code are only needed to rehearse.
    from aleph_otio.emulator import Emulator, EmulatorConfig

    storage = work_dir / "emulator"
    with Emulator(EmulatorConfig(latency=latency, concurrency=4, storage_dir=storage)) as emu:
        if announce is not None:
            announce(emu.base_url)
        yield emu.base_url
