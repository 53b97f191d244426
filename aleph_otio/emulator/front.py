"""The HTTP front: the server socket, ``POST /v1`` answered task by task, files served by GET.

``POST /v1`` takes JSON arrays of tasks (authenticated by a bearer key or a leading
``authentication`` task); ``GET /v1/media/<uuid>.<ext>`` serves uploads and
``GET /v1/media/results/<videoUUID>.<ext>`` serves results, byte ranges included.
"""

from __future__ import annotations

import hmac
import json
import logging
import socket
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from aleph_otio.emulator import media
from aleph_otio.emulator.http_server import EmulatorHTTPServer
from aleph_otio.emulator.tasks import TaskHandlers, envelope, redact
from aleph_otio.emulator.validate import TaskError

log = logging.getLogger("aleph_otio.emulator")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle on, the second waits for the client's
    # delayed ACK (~40 ms on Linux), which made every request take ~40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.emulator._handle_post(self)

    def do_GET(self) -> None:  # noqa: N802
        self.server.emulator._handle_get(self, head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self.server.emulator._handle_get(self, head=True)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s " + format, self.client_address[0], *args)


class _Server(EmulatorHTTPServer):
    emulator: HTTPFront


class HTTPFront(TaskHandlers):
    """Reads requests, answers them through the task handlers, serves stored files."""

    def _send(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        self._slow()
        payload = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(payload)

    @staticmethod
    def _drop(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        try:
            h.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _handle_post(self, h: BaseHTTPRequestHandler) -> None:
        try:
            self._answer_post(h)
        except Exception:  # a bug here must still answer like a server would: 500, not a hang-up
            log.exception("emulator failed on %s", h.path)
            h.close_connection = True
            self._send(h, 500, _error_body("internalServerError", "The emulator failed; see log."))

    def _answer_post(self, h: BaseHTTPRequestHandler) -> None:
        path = urlsplit(h.path).path.rstrip("/")
        length = h.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._send(h, 411, _error_body("invalidRequest", "Content-Length is required."))
            return
        if int(length) > self.config.max_body_bytes:
            h.close_connection = True
            self._send(h, 413, _error_body("requestTooLarge", "Request body is too large."))
            return
        raw = h.rfile.read(int(length))
        if path != "/v1":
            self._send(h, 404, _error_body("notFound", f"No endpoint at {path}; POST to /v1."))
            return
        try:
            tasks: object = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            tasks = None  # answered below like any other body that is not an array
        with self._lock:
            if isinstance(tasks, list):
                self._received.extend(redact(t) for t in tasks)
            elif isinstance(tasks, dict):
                self._received.append(redact(tasks))
        if self._take("drop_connections"):
            log.info("fault: dropped a request unanswered")
            self._drop(h)
            return
        burst = self._status_burst(tasks)
        if burst is not None:
            self._send(h, *burst)
            return
        if not isinstance(tasks, list):
            self._send(
                h,
                400,
                _error_body(
                    "invalidRequestBody",
                    "The body must be a JSON array of task objects.",
                ),
            )
            return
        auth_error = self._authenticate(h, tasks)
        if auth_error is not None:
            self._send(h, 401, {"errors": [auth_error.to_dict()]})
            return
        data: list[dict[str, Any]] = []
        errors: list[TaskError] = []
        accepted = False
        for index, task in enumerate(tasks):
            items, errs = self._dispatch(index, task, tasks)
            data.extend(items)
            errors.extend(errs)
            accepted = accepted or any(
                i.get("taskType") == "videoInference" and "status" not in i for i in items
            )
        status, body = envelope(data, errors)
        log.info(
            "POST /v1 %s -> %d",
            ",".join(str(t.get("taskType")) for t in tasks if isinstance(t, dict)) or "[]",
            status,
        )
        if accepted and self._take("drop_after_accept"):
            log.info("fault: accepted the task, then dropped the connection")
            self._drop(h)
            return
        self._send(h, status, body)

    def _authenticate(self, h: BaseHTTPRequestHandler, tasks: list[Any]) -> TaskError | None:
        key: str | None = None
        header = h.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            key = header[7:].strip()
        elif tasks and isinstance(tasks[0], dict) and tasks[0].get("taskType") == "authentication":
            value = tasks[0].get("apiKey")
            key = value if isinstance(value, str) else None
        expected = self.config.api_key
        if key and (expected is None or hmac.compare_digest(key.encode(), expected.encode())):
            return None
        return TaskError(
            "invalidApiKey",
            "Invalid or missing API key: send 'Authorization: Bearer <key>' or a leading "
            "authentication task.",
            parameter="apiKey",
            status=401,
            task_type="authentication",
        )

    def _handle_get(self, h: BaseHTTPRequestHandler, head: bool) -> None:
        path = unquote(urlsplit(h.path).path)
        if path.rstrip("/") == "/v1":
            self._send(
                h, 405, _error_body("methodNotAllowed", "POST a JSON array of tasks to /v1.")
            )
            return
        file, code = self._served_file(path)
        if file is None:
            self._send(h, 404, _error_body(code, f"Nothing is served at {path} (any more)."))
            return
        is_result = path.startswith("/v1/media/results/")
        content_type = media.CONTENT_TYPES.get(file.suffix.lstrip("."), "application/octet-stream")
        size = file.stat().st_size
        span = _byte_range(h.headers.get("Range"), size)
        if span is None:
            h.send_response(416)
            h.send_header("Content-Range", f"bytes */{size}")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        start, end = span
        length = end - start
        truncate = is_result and not head and self._take("truncate_downloads")
        self._slow()
        partial = h.headers.get("Range") is not None and length != size
        h.send_response(206 if partial else 200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(length))
        h.send_header("Accept-Ranges", "bytes")
        if partial:
            h.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        h.end_headers()
        if head:
            return
        with file.open("rb") as fh:
            fh.seek(start)
            if truncate:
                log.info("fault: truncated download of %s", file.name)
                h.wfile.write(fh.read(length // 2))
                h.wfile.flush()
                self._drop(h)
                return
            remaining = length
            while remaining > 0:
                chunk = fh.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                h.wfile.write(chunk)
                remaining -= len(chunk)


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end)`` (end exclusive) of a single ``bytes=`` range; the whole file without one.

    None when the range cannot be satisfied (416). Several ranges are answered with the whole file.
    """
    if not header or not header.startswith("bytes=") or "," in header:
        return 0, size
    first, _, last = header.removeprefix("bytes=").strip().partition("-")
    try:
        if first == "":
            start, end = max(0, size - int(last)), size  # suffix: the last N bytes
        else:
            start = int(first)
            end = min(size, int(last) + 1) if last else size
    except ValueError:
        return 0, size
    if start >= size or end <= start:
        return None
    return start, end


def _error_body(code: str, message: str) -> dict[str, Any]:
    """An envelope with one error that concerns the request, not a task."""
    return {"errors": [TaskError(code, message).to_dict()]}
