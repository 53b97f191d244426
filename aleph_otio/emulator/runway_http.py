"""The Runway emulator's HTTP front: routes, the bearer key and version header, Runway's error
bodies, the create-answer faults (held back, dropped) and the result files.

The routes are those the official ``runwayml`` SDK calls (see :mod:`aleph_otio.emulator.runway`);
the work behind each is the emulator's (``emu``), which this module only reaches through the
server it is attached to.
"""

from __future__ import annotations

import json
import logging
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from aleph_otio.emulator import media
from aleph_otio.emulator.runway_validate import RunwayError

log = logging.getLogger("aleph_otio.emulator.runway")

#: The API version the SDK sends (``runway_version`` default of runwayml 5.x).
API_VERSION = "2024-11-06"
#: The create routes: POST body -> the emulator's method that makes the task.
CREATE_ROUTES = {"/v1/video_to_video": "create", "/v1/video_upscale": "create_upscale"}


class RunwayHandler(BaseHTTPRequestHandler):
    server_version = "aleph-otio-runway-emulator"
    protocol_version = "HTTP/1.1"

    @property
    def emu(self) -> Any:
        """The :class:`~aleph_otio.emulator.runway.RunwayEmulator` serving this request."""
        return self.server.emulator  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: dict[str, Any] | None) -> None:
        raw = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _check_api(self) -> None:
        auth = self.headers.get("Authorization", "")
        key = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        if not key or (self.emu.api_key is not None and key != self.emu.api_key):
            raise RunwayError(401, "Invalid API key. Check RUNWAYML_API_SECRET.")
        if self.headers.get("X-Runway-Version") != API_VERSION:
            raise RunwayError(
                400,
                f"Invalid X-Runway-Version header: expected {API_VERSION!r}, got "
                f"{self.headers.get('X-Runway-Version')!r}",
            )
        if self.emu._take("rate_limit"):
            raise RunwayError(429, "You have exceeded the rate limit (injected fault).")

    def _answer_create(self, route: str, answer: dict[str, Any]) -> None:
        """The created task's answer, unless a fault holds it back or drops it."""
        on = self.emu.faults.create_faults_on
        if self.emu.faults.hold_create > 0 and on in (None, route):
            time.sleep(self.emu.faults.hold_create)
        if self.emu._take("drop_after_create", route):
            self.close_connection = True
            self.connection.close()  # the task exists; its answer is lost
            return
        self._send(200, answer)

    def _handle(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        try:
            if method == "GET" and path.startswith("/results/"):
                return self._serve_result(path.removeprefix("/results/"))
            if method == "POST" and path.startswith("/upload/"):
                ctype = self.headers.get("Content-Type", "")
                self.emu.finish_upload(path.removeprefix("/upload/"), ctype, self._body())
                return self._send(204, None)
            raw = self._body() if method == "POST" else b""
            self._check_api()
            body = json.loads(raw) if raw else None
            if method == "POST" and path == "/v1/uploads":
                return self._send(200, self.emu.start_upload(body))
            if method == "POST" and path in CREATE_ROUTES:
                return self._answer_create(path, getattr(self.emu, CREATE_ROUTES[path])(body))
            if path.startswith("/v1/tasks/"):
                task_id = path.removeprefix("/v1/tasks/")
                if method == "GET":
                    return self._send(200, self.emu.task_state(task_id))
                if method == "DELETE":
                    self.emu.cancel(task_id)
                    return self._send(204, None)
            raise RunwayError(404, f"No route {method} {path}.")
        except RunwayError as exc:
            self._send(exc.status, exc.body())
        except json.JSONDecodeError:
            self._send(400, {"error": "The request body is not valid JSON."})

    def _serve_result(self, name: str) -> None:
        path = self.emu.storage / "results" / Path(name).name
        if not path.is_file():
            self._send(404, {"error": "Not found."})
            return
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", media.CONTENT_TYPES.get(path.suffix[1:], "video/mp4"))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")
