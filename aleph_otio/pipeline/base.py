"""What every stage of a run uses: its config and client, progress events, one step at a time
(a user-facing error fails the shot, not the run), and the media threads."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from aleph_otio.api.backend import Backend
from aleph_otio.errors import AlephOtioError
from aleph_otio.ledger import Ledger
from aleph_otio.pipeline.model import EventFn, RunConfig, Stage
from aleph_otio.shots import Shot

P = ParamSpec("P")
T = TypeVar("T")


def media_threads(concurrency: int) -> int:
    """Threads a run cuts, probes and verifies on: ``concurrency``, at most one per core."""
    return max(1, min(concurrency, os.cpu_count() or 1))


class PipelineBase:
    """The state every stage shares: config, client, events, budget and media threads."""

    def __init__(
        self,
        config: RunConfig,
        client: Backend,
        *,
        on_event: EventFn | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self._on_event = on_event
        self.work = config.work_dir
        self._budget_spent = 0.0
        self.stopped_by_budget = False
        self._media_pool: ThreadPoolExecutor | None = None

    async def _media(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run PyAV work (cut, probe, verify) on the media threads.

        No more of them than cores: the work is CPU-bound and mostly holds the GIL, so extra
        threads add nothing but GIL contention, which starves the event loop that uploads,
        submits and polls (measured: about 0.4 s of 50 shots' preparation, see
        docs/benchmarks.md). ``concurrency`` still caps the shots in flight.
        """
        if self._media_pool is None:
            workers = media_threads(self.config.concurrency)
            self._media_pool = ThreadPoolExecutor(workers, thread_name_prefix="aleph-media")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._media_pool, functools.partial(fn, *args, **kwargs))

    def _emit(self, stage: Stage, shot: Shot | None, status: str) -> None:
        if self._on_event is not None:
            self._on_event(stage, shot, status)

    async def _step(
        self, ledger: Ledger, stage: Stage, shot: Shot, work: Callable[[], Awaitable[None]]
    ) -> bool:
        """Run one step; a user-facing error fails the shot (with its reason), not the run."""
        self._emit(stage, shot, "start")
        try:
            await work()
        except AlephOtioError as exc:
            ledger.fail(shot.id, f"{stage}: {exc}")
            self._emit(stage, shot, "failed")
            return False
        self._emit(stage, shot, "done")
        return True
