"""Receive Runware's webhook POSTs on a local port, so a finished task is polled at once.

A webhook is a hint, never a result: anyone who can reach the port can POST to it, and Runware's
webhooks carry no signature. So a delivery only wakes :meth:`AlephClient.wait` early for the
tasks it names, and the getResponse poll that follows is what records a result (URL, cost,
seed). A forged, replayed or duplicated webhook costs one poll at most; a webhook that never
arrives costs nothing but the wait until the next regular poll. Deliveries naming no task the
client waits for wake nothing.

The server is a small HTTP/1.1 endpoint on the run's own event loop (``asyncio.start_server``):
``POST <path>`` with a JSON body (the ``{"data": [...]}`` envelope, a bare result item or a list
of them; ``Content-Length`` or chunked), answered ``200``; anything else gets a 4xx and is
ignored. Bodies are capped at :data:`MAX_BODY` bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from typing import Any

from aleph_otio.api.models import is_uuid
from aleph_otio.errors import ConfigError

log = logging.getLogger(__name__)

#: Path webhooks are accepted on (``http://HOST:PORT/aleph-otio/webhook``).
WEBHOOK_PATH = "/aleph-otio/webhook"
#: Largest body read; a result notification is a few hundred bytes.
MAX_BODY = 1 << 20
#: Seconds a client may take to send its request.
READ_TIMEOUT = 10.0
#: Seconds a refused request's remaining body is read (and dropped) before the socket closes.
LINGER_SECONDS = 2.0
#: Task UUIDs remembered until a poll takes them (older ones are dropped first).
MAX_REMEMBERED = 10_000


class _BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``PORT`` (host 127.0.0.1) for ``--webhook-listen``; ConfigError if not."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise ConfigError(
            f"--webhook-listen {value!r}: use HOST:PORT or PORT, e.g. 0.0.0.0:8787 (0: any port)"
        )
    return host, number


def task_uuids_in(body: Any) -> list[str]:
    """The taskUUIDs a webhook body names: a ``data``/``errors`` envelope, an item or a list."""
    items: list[Any] = []
    if isinstance(body, dict) and ("data" in body or "errors" in body):
        for key in ("data", "errors"):
            value = body.get(key)
            items.extend(value if isinstance(value, list) else [value])
    else:
        items = body if isinstance(body, list) else [body]
    found = []
    for item in items:
        value = item.get("taskUUID") if isinstance(item, dict) else None
        if isinstance(value, str) and is_uuid(value):
            found.append(value.lower())
    return found


class WebhookReceiver:
    """A local webhook endpoint that tells :meth:`AlephClient.wait` which tasks to poll now.

    Use as ``async with WebhookReceiver(host, port) as hook:``; ``hook.url`` is where it listens
    (give Runware the public URL that reaches it). Attach it with ``client.webhooks = hook``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, path: str = WEBHOOK_PATH):
        self.host = host
        self.port = port
        self.path = path
        #: Deliveries answered 200 (duplicates included), and the ones refused (4xx).
        self.delivered = 0
        self.refused = 0
        self._arrived: dict[str, None] = {}
        self._event = asyncio.Event()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """``http://HOST:PORT/aleph-otio/webhook`` as bound (the port is known once started)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.path}"

    async def __aenter__(self) -> WebhookReceiver:
        try:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
        except OSError as exc:
            raise ConfigError(
                f"--webhook-listen {self.host}:{self.port}: cannot listen there ({exc.strerror}); "
                "choose another port, or 0 for any free one"
            ) from None
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    # --- what the client asks -----------------------------------------------------------------

    def take(self, task_uuids: Iterable[str]) -> set[str]:
        """Forget and return those of ``task_uuids`` a webhook named since they were last taken."""
        wanted = {u.lower() for u in task_uuids}
        hit = {u for u in self._arrived if u in wanted}
        for task_uuid in hit:
            del self._arrived[task_uuid]
        return hit

    async def wait_for(self, task_uuids: Iterable[str], timeout: float) -> bool:
        """Wait up to ``timeout`` s for a webhook naming one of ``task_uuids``; True if one did."""
        pending = list(task_uuids)
        loop = asyncio.get_running_loop()
        end = loop.time() + max(0.0, timeout)
        while True:
            if self.take(pending):
                return True
            left = end - loop.time()
            if left <= 0:
                return False
            self._event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), left)

    # --- the HTTP side ------------------------------------------------------------------------

    def _note(self, task_uuids: list[str]) -> None:
        for task_uuid in task_uuids:
            self._arrived.pop(task_uuid, None)
            self._arrived[task_uuid] = None
        while len(self._arrived) > MAX_REMEMBERED:
            del self._arrived[next(iter(self._arrived))]
        self._event.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        status, reason = 200, "OK"
        try:
            body = await asyncio.wait_for(self._read_request(reader), READ_TIMEOUT)
            try:
                payload = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                raise _BadRequest(400, "Bad Request") from None
            task_uuids = task_uuids_in(payload)
            self.delivered += 1
            log.debug("webhook for %s", ", ".join(task_uuids) or "no task")
            self._note(task_uuids)
        except _BadRequest as exc:
            status, reason = exc.status, exc.reason
            self.refused += 1
        except Exception as exc:  # a sender that stalls, hangs up or sends garbage: drop it
            log.debug("webhook connection dropped: %s", type(exc).__name__)
            self.refused += 1
            writer.close()
            return
        text = json.dumps({"ok": status == 200}).encode()
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(text)}\r\nConnection: close\r\n\r\n".encode()
            + text
        )
        with contextlib.suppress(ConnectionError, TimeoutError):
            await writer.drain()
            if status != 200:
                # A lingering close: the sender may still be sending the body we refused, and
                # closing with unread input would reset the connection before it reads the answer.
                writer.write_eof()
                await asyncio.wait_for(self._discard(reader), LINGER_SECONDS)
        writer.close()

    @staticmethod
    async def _discard(reader: asyncio.StreamReader) -> None:
        left = 4 * MAX_BODY
        while left > 0 and (chunk := await reader.read(65536)):
            left -= len(chunk)

    async def _read_request(self, reader: asyncio.StreamReader) -> bytes:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise _BadRequest(431, "Request Header Fields Too Large") from None
        lines = head.decode("latin-1").split("\r\n")
        method, _, rest = lines[0].partition(" ")
        target = rest.rpartition(" ")[0]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if target.split("?", 1)[0] != self.path:
            raise _BadRequest(404, "Not Found")
        if method != "POST":
            raise _BadRequest(405, "Method Not Allowed")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return await self._read_chunked(reader)
        try:
            length = int(headers.get("content-length", ""))
        except ValueError:
            raise _BadRequest(411, "Length Required") from None
        if not 0 <= length <= MAX_BODY:
            raise _BadRequest(413, "Content Too Large")
        return await reader.readexactly(length)

    async def _read_chunked(self, reader: asyncio.StreamReader) -> bytes:
        body = bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequest(400, "Bad Request") from None
            if size == 0:
                with contextlib.suppress(asyncio.IncompleteReadError):
                    await reader.readuntil(b"\r\n")  # the trailer's end
                return bytes(body)
            if len(body) + size > MAX_BODY:
                raise _BadRequest(413, "Content Too Large")
            body += await reader.readexactly(size)
            await reader.readexactly(2)
