"""Ctrl-C must stop the client, even when httpx reports the cancellation as a network error.

httpx (through anyio) can turn a cancellation that lands while a connection is being made into
``httpx.ConnectError`` (encode/httpx#2381). Retried, that error swallowed the user's Ctrl-C and
the run went on to the end (exit 0 instead of 130, seen once under load). The transport below
does what anyio does in that window: it answers a cancellation with ConnectError. Everything
else goes over real sockets to the emulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aleph_otio.api import AlephClient
from aleph_otio.emulator import Emulator, EmulatorConfig

KEY = "rw-test-key-cancel-8d2f0a61"


class CancelBecomesConnectError(httpx.AsyncHTTPTransport):
    """A real transport whose first request hangs and turns its cancellation into ConnectError."""

    def __init__(self) -> None:
        super().__init__()
        self.hanging = asyncio.Event()
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.requests == 1:
            self.hanging.set()
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                raise httpx.ConnectError("All connection attempts failed") from None
        return await super().handle_async_request(request)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with Emulator(
        EmulatorConfig(latency=0.1, storage_dir=tmp_path_factory.mktemp("emu"), api_key=KEY)
    ) as emu:
        yield emu


async def _cancel_during_first_request(
    client_call: Awaitable[Any], transport: CancelBecomesConnectError
) -> None:
    task = asyncio.ensure_future(client_call)
    await asyncio.wait_for(transport.hanging.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)


def test_a_cancelled_api_request_is_not_retried(emulator: Emulator) -> None:
    async def go() -> None:
        transport = CancelBecomesConnectError()
        async with AlephClient(api_key=KEY, base_url=emulator.base_url, transport=transport) as c:
            await _cancel_during_first_request(
                c.get_responses(["0" * 8 + "-0000-4000-8000-" + "0" * 12]), transport
            )
            # Not retried: the one request was the cancelled one.
            assert c.request_count == 1 and transport.requests == 1

    asyncio.run(go())


def test_a_cancelled_download_is_not_retried_and_leaves_no_part_file(
    emulator: Emulator, tmp_path: Path
) -> None:
    async def go() -> None:
        transport = CancelBecomesConnectError()
        dest = tmp_path / "result.mp4"
        async with AlephClient(api_key=KEY, base_url=emulator.base_url, transport=transport) as c:
            url = emulator.base_url.rstrip("/") + "/results/none.mp4"
            await _cancel_during_first_request(c.download(url, dest), transport)
            assert c.download_request_count == 1 and transport.requests == 1
        assert not dest.exists() and not dest.with_suffix(".mp4.part").exists()

    asyncio.run(go())
