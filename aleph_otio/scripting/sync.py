"""A coroutine run to completion from synchronous code, even under a running event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any, TypeVar

_T = TypeVar("_T")


def run_sync(make: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
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
