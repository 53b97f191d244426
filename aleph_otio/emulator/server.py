"""The emulator: a real HTTP server speaking the Runware task protocol for Aleph 2.0.

``POST /v1`` takes JSON arrays of tasks; ``GET /v1/media/<uuid>.<ext>`` serves uploads and
``GET /v1/media/results/<videoUUID>.<ext>`` serves results. Jobs run on a pool of worker threads;
webhooks and uploadEndpoint PUTs go out on their own threads. See docs/emulator.md.
"""

from __future__ import annotations

import copy
import hmac
import json
import logging
import queue
import random
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from aleph_otio.emulator import media
from aleph_otio.emulator.faults import FaultInjection, failure_message
from aleph_otio.emulator.state import (
    Delivery,
    EmulatorConfig,
    Faults,
    Generation,
    Job,
    StoredMedia,
)
from aleph_otio.emulator.store import MediaStore
from aleph_otio.emulator.validate import (
    FrameSpec,
    TaskError,
    check_keys,
    conflict,
    is_uuid4,
    missing,
    require_task_uuid,
    validate_video_inference,
)

log = logging.getLogger("aleph_otio.emulator")

TASK_TYPES = (
    "authentication",
    "videoInference",
    "getResponse",
    "mediaStorage",
    "imageUpload",
    "getTaskDetails",
    "ping",
)

Handled = tuple[list[dict[str, Any]], list[TaskError]]


#: Longer strings (inline media) are not kept in ``received``/task details: a rehearsal uploads
#: every clip as base64, and keeping those would grow the emulator by the size of the batch.
KEEP_CHARS = 1 << 20


def _redact(value: Any) -> Any:
    """A deep copy of a task without API keys and without inline media longer than KEEP_CHARS."""
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items() if k != "apiKey"}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    if isinstance(value, str) and len(value) > KEEP_CHARS:
        return f"{value[:64]}...<{len(value)} characters not kept>"
    return value


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


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (a killed or cancelled run) is normal here: one
        debug line, not socketserver's traceback on stderr. Anything else is logged in full."""
        exc = sys.exc_info()[1]
        if isinstance(exc, BrokenPipeError | ConnectionResetError | ConnectionAbortedError):
            log.debug("client %s hung up: %s", client_address[0], exc)
            return
        log.exception("error while answering %s", client_address[0])

    # socketserver's default backlog of 5 resets connections when a batch of clients connects
    # at once (the client then retries); a real service accepts them.
    request_queue_size = 128
    emulator: Emulator


class Emulator(MediaStore, FaultInjection):
    """A local Runware-compatible server for ``runway:aleph@2.0``; use as a context manager.

    ``base_url`` is the task endpoint; ``received``, ``jobs``, ``webhooks`` and ``uploads``
    record what happened, for tests; ``faults`` can be changed while it runs.
    """

    def __init__(
        self, config: EmulatorConfig | None = None, *, faults: Faults | None = None
    ) -> None:
        self.config = config or EmulatorConfig()
        # A copy: fault counters count down, and one config may serve several emulators.
        self.faults: Faults = faults if faults is not None else copy.deepcopy(self.config.faults)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._active = 0  # queued + running jobs + pending deliveries
        self._stop = threading.Event()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._received: list[dict[str, Any]] = []
        self._jobs: dict[str, Job] = {}
        self._used: set[str] = set()
        self._details: dict[str, dict[str, Any]] = {}
        self._media: dict[str, StoredMedia] = {}
        self._fetched: dict[str, Path] = {}
        self._results: dict[str, Generation] = {}
        #: taskUUID -> (time it is ready, final item) of uploads answered asynchronously.
        self._pending_uploads: dict[str, tuple[float, dict[str, Any]]] = {}
        self._deliveries: list[Delivery] = []
        self._committed = 0.0
        self.spent = 0.0
        #: Seconds the latest renders took: how early a render must start to be on time.
        self._render_seconds: deque[float] = deque(maxlen=8)
        self._workers: list[threading.Thread] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.storage = Path()
        self.base_url = ""
        self.root_url = ""

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind the socket, start the workers and serve in a background thread."""
        cfg = self.config
        if cfg.storage_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="aleph-emulator-")
            self.storage = Path(self._tmp.name)
        else:
            self.storage = Path(cfg.storage_dir)
        for sub in ("media", "results", "fetched"):
            (self.storage / sub).mkdir(parents=True, exist_ok=True)
        try:
            self._server = _Server((cfg.host, cfg.port), _Handler)
        except OSError:
            self.stop()  # removes the temporary storage made above
            raise
        self._server.emulator = self
        port = self._server.server_address[1]
        host = "127.0.0.1" if cfg.host in ("", "0.0.0.0", "::") else cfg.host
        host = f"[{host}]" if ":" in host else host
        self.root_url = f"http://{host}:{port}"
        self.base_url = f"{self.root_url}/v1"
        for i in range(max(1, cfg.concurrency)):
            worker = threading.Thread(target=self._work, name=f"emulator-worker-{i}", daemon=True)
            worker.start()
            self._workers.append(worker)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        log.info("emulator listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving, stop the workers and remove temporary storage."""
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout=10)
        self._workers.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what tests look at -----------------------------------------------------------------

    @property
    def received(self) -> list[dict[str, Any]]:
        """Every task object received, in order (API keys removed)."""
        with self._lock:
            return copy.deepcopy(self._received)

    @property
    def jobs(self) -> dict[str, Job]:
        """Jobs started, by lower-case taskUUID (one per accepted videoInference)."""
        with self._lock:
            return dict(self._jobs)

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    @property
    def webhooks(self) -> list[Delivery]:
        """Webhook POSTs made (one per finished result, duplicates included)."""
        return [d for d in self.deliveries if d.kind == "webhook"]

    @property
    def uploads(self) -> list[Delivery]:
        """uploadEndpoint PUTs made (one per successful result)."""
        return [d for d in self.deliveries if d.kind == "upload"]

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until no job is queued or running and every delivery is done.

        Raises TimeoutError when that does not happen within ``timeout`` seconds.
        """
        with self._idle:
            if not self._idle.wait_for(lambda: self._active == 0, timeout=timeout):
                raise TimeoutError(f"emulator still busy after {timeout:g} s ({self._active} open)")

    def expire_results(self, task_uuid: str | None = None) -> int:
        """Expire finished results now (of one task, or all): their URLs answer 404 afterwards.

        Returns how many results were expired.
        """
        now = time.time()
        count = 0
        with self._lock:
            jobs = [self._jobs[task_uuid.lower()]] if task_uuid else list(self._jobs.values())
            for job in jobs:
                for gen in job.generations:
                    if gen.status == "success" and not gen.expired(now):
                        gen.expires_at = now
                        count += 1
        return count

    # --- HTTP -------------------------------------------------------------------------------

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

    @staticmethod
    def _envelope(
        data: list[dict[str, Any]], errors: list[TaskError]
    ) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {}
        if data or not errors:
            body["data"] = data
        if errors:
            body["errors"] = [e.to_dict() for e in errors]
        status = 200 if data or not errors else max(e.status for e in errors)
        return status, body

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
                self._received.extend(_redact(t) for t in tasks)
            elif isinstance(tasks, dict):
                self._received.append(_redact(tasks))
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
        status, body = self._envelope(data, errors)
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

    def _dispatch(self, index: int, task: object, request: list[Any]) -> Handled:
        if not isinstance(task, dict):
            return [], [TaskError("invalidTask", f"Task {index} is not a JSON object.")]
        task_type = task.get("taskType")
        raw_uuid = task.get("taskUUID")
        handlers: dict[str, Callable[[dict[str, Any]], Handled]] = {
            "videoInference": self._video_inference,
            "getResponse": self._get_response,
            "mediaStorage": self._media_storage,
            "imageUpload": self._image_upload,
            "getTaskDetails": self._task_details,
            "ping": self._ping,
        }
        try:
            if task_type is None:
                raise missing("taskType")
            if task_type == "authentication":
                if index == 0:
                    return [], []
                raise TaskError(
                    "invalidAuthentication",
                    "The authentication task must be the first element of the array.",
                    parameter="taskType",
                )
            handler = handlers.get(task_type) if isinstance(task_type, str) else None
            if handler is None:
                raise TaskError(
                    "unsupportedTaskType",
                    f"Unsupported taskType {task_type!r}.",
                    parameter="taskType",
                    allowed=list(TASK_TYPES),
                )
            items, errors = handler(task)
        except TaskError as exc:
            items, errors = [], [exc]
        for error in errors:
            if error.task_type is None and isinstance(task_type, str):
                error.task_type = task_type
            if error.task_uuid is None and isinstance(raw_uuid, str):
                error.task_uuid = raw_uuid
        if (
            isinstance(raw_uuid, str)
            and is_uuid4(raw_uuid)
            and task_type in ("videoInference", "mediaStorage", "imageUpload")
            # A replay must not overwrite what the accepted original sent and got.
            and not any(e.code == "conflictTaskUUID" for e in errors)
        ):
            with self._lock:
                self._details[raw_uuid.lower()] = {
                    "request": [_redact(t) for t in request],
                    "response": self._envelope(items, errors)[1],
                }
        return items, errors

    # --- tasks ------------------------------------------------------------------------------

    def _check_unused(self, task_uuid: str) -> None:
        with self._lock:
            if task_uuid.lower() in self._used:
                raise conflict(task_uuid)

    def _video_inference(self, task: dict[str, Any]) -> Handled:
        task_uuid = require_task_uuid(task, "videoInference")
        self._check_unused(task_uuid)
        req = validate_video_inference(task)
        input_path = self._resolve(req.video, "inputs.video", want="video")
        try:
            facts = media.probe_video(input_path)
        except media.MediaDecodeError as exc:
            raise TaskError(
                "invalidMedia",
                f"inputs.video is not a usable video: {exc}.",
                parameter="inputs.video",
            ) from None
        cfg = self.config
        if not cfg.min_seconds <= facts.duration <= cfg.max_seconds:
            raise TaskError(
                "unsupportedDuration",
                f"inputs.video lasts {facts.duration:.3f} s ({facts.frames} frames at "
                f"{float(facts.rate):g} fps); Aleph 2.0 takes {cfg.min_seconds:g} to "
                f"{cfg.max_seconds:g} s.",
                parameter="inputs.video",
                type_="float",
                allowed=[cfg.min_seconds, cfg.max_seconds],
            )
        if min(facts.width, facts.height) > cfg.max_height:
            raise TaskError(
                "unsupportedResolution",
                f"inputs.video is {facts.width}x{facts.height}; at most {cfg.max_height}p is "
                "accepted: scale it down first.",
                parameter="inputs.video",
            )
        if cfg.max_fps is not None and float(facts.rate) > cfg.max_fps + 1e-6:
            raise TaskError(
                "unsupportedFrameRate",
                f"inputs.video runs at {float(facts.rate):g} fps; at most {cfg.max_fps:g} fps.",
                parameter="inputs.video",
            )
        guides = self._guides(req.frame_images, facts)
        cost = cfg.price_per_second * facts.duration
        with self._lock:
            if cfg.budget is not None and self._committed + cost * req.number_results > cfg.budget:
                raise TaskError(
                    "insufficientCredits",
                    f"This task costs ${cost * req.number_results:.2f}; the emulator's budget of "
                    f"${cfg.budget:.2f} has ${cfg.budget - self._committed:.2f} left.",
                    status=402,
                )
        fail_code, fail_from = self._injected_failure(req.number_results)
        # Reproducible per taskUUID; distinct tints, so variations always differ visibly.
        rng = random.Random(task_uuid.lower())
        seeds: list[int] = []
        while len(seeds) < req.number_results:
            seed = rng.randrange(1, 2**31)
            if all(seed % len(media.TINTS) != s % len(media.TINTS) for s in seeds):
                seeds.append(seed)
        job = Job(
            task_uuid=task_uuid,
            task=copy.deepcopy(task),
            request=req,
            input_path=input_path,
            facts=facts,
            guides=guides,
            generations=[Generation(index=i, seed=s) for i, s in enumerate(seeds)],
            fail_code=fail_code,
            fail_from=fail_from,
        )
        with self._lock:
            # Checked again under the lock: two requests with one UUID may race past the first.
            if task_uuid.lower() in self._used:
                raise conflict(task_uuid)
            self._used.add(task_uuid.lower())
            self._jobs[task_uuid.lower()] = job
            self._committed += cost * req.number_results
            self._active += 1
        self._queue.put(job)
        return [{"taskType": "videoInference", "taskUUID": task_uuid}], []

    def _guides(self, specs: list[FrameSpec], facts: media.VideoFacts) -> list[tuple[int, Path]]:
        """Resolve each frameImages entry to a file and the output frame it constrains."""
        last = facts.frames - 1
        out: list[tuple[int, Path]] = []
        for spec in specs:
            where = f"inputs.frameImages[{spec.index}]"
            path = self._resolve(spec.image, "inputs.frameImages.image", want="image", where=where)
            try:
                media.load_image(path, (16, 16))
            except media.MediaDecodeError as exc:
                raise TaskError(
                    "invalidImage",
                    f"{where}.image is not a usable image: {exc}.",
                    parameter="inputs.frameImages.image",
                ) from None
            if spec.frame is not None:
                position = 0 if spec.frame == "first" else last
            elif spec.timestamp is not None:
                if spec.timestamp > facts.duration + 0.005:
                    raise TaskError(
                        "invalidTimestamp",
                        f"{where}.timestamp {spec.timestamp:g} s is after the end of inputs.video "
                        f"({facts.duration:.2f} s).",
                        parameter="inputs.frameImages.timestamp",
                        type_="float",
                    )
                position = min(last, round(spec.timestamp * facts.rate))
            elif len(specs) == 1:
                position = 0
            else:
                # Reference: omitted positions are spread from the first to the last frame.
                position = round(spec.index * last / (len(specs) - 1))
            out.append((position, path))
        return out

    def _get_response(self, task: dict[str, Any]) -> Handled:
        task_uuid = require_task_uuid(task, "getResponse")
        with self._lock:
            job = self._jobs.get(task_uuid.lower())
            upload = self._pending_uploads.get(task_uuid.lower())
            if upload is not None:
                ready_at, item = upload
                if time.time() < ready_at:
                    item = {k: item[k] for k in ("taskType", "taskUUID", "operation")}
                    return [{**item, "status": "processing"}], []
                return [{**item, "status": "success"}], []
            if job is None:
                raise TaskError(
                    "taskNotFound",
                    f"No task {task_uuid} is known to this server; submit it first.",
                    parameter="taskUUID",
                    status=self.config.not_found_status,
                )
            return self._job_state(job, task_uuid)

    def _job_state(self, job: Job, echo_uuid: str) -> Handled:
        """Cumulative per-generation state (caller holds the lock)."""
        items: list[dict[str, Any]] = []
        errors: list[TaskError] = []
        for gen in job.generations:
            wire = self._wire(job, gen, echo_uuid)
            if isinstance(wire, TaskError):
                errors.append(wire)
            else:
                items.append(wire)
        return items, errors

    @staticmethod
    def _wire(job: Job, gen: Generation, echo_uuid: str) -> dict[str, Any] | TaskError:
        """One generation as sent: a data item, or an error object with ``status: error``."""
        if gen.status == "error":
            return TaskError(
                gen.error_code or "processingFailed",
                gen.error_message or "The generation failed.",
                status=200,
                task_type="videoInference",
                task_uuid=echo_uuid,
                extra={"status": "error"},
            )
        item: dict[str, Any] = {
            "taskType": "videoInference",
            "taskUUID": echo_uuid,
            "status": gen.status,
        }
        if gen.status == "success":
            item.update(videoUUID=gen.video_uuid, videoURL=gen.url, seed=gen.seed)
            if job.request.include_cost:
                item["cost"] = gen.cost
            if job.request.safety_mode != "none":
                item["NSFWContent"] = False
        return item

    def _media_storage(self, task: dict[str, Any]) -> Handled:
        task_uuid = require_task_uuid(task, "mediaStorage")
        self._check_unused(task_uuid)
        check_keys(task, ("taskType", "taskUUID", "operation", "media"), owner="mediaStorage")
        operation = task.get("operation")
        if operation is None:
            raise missing("operation")
        if operation not in ("upload", "delete"):
            raise TaskError(
                "invalidOperation",
                f"Invalid value for 'operation': {operation!r}.",
                parameter="operation",
                type_="string",
                allowed=["upload", "delete"],
            )
        value = task.get("media")
        if not isinstance(value, str) or not value:
            raise missing("media")
        if operation == "delete":
            with self._lock:
                if task_uuid.lower() in self._used:
                    raise conflict(task_uuid)
                stored = self._media.pop(value.lower(), None)
                if stored is not None:
                    self._used.add(task_uuid.lower())
            if stored is None:
                raise TaskError("mediaNotFound", f"No stored media {value}.", parameter="media")
            stored.path.unlink(missing_ok=True)
            item = {
                "taskType": "mediaStorage",
                "taskUUID": task_uuid,
                "operation": "delete",
                "mediaUUID": stored.uuid,
            }
            return [item], []
        stored = self._store(value, "media", task_uuid)
        item = {
            "taskType": "mediaStorage",
            "taskUUID": task_uuid,
            "operation": "upload",
            "mediaUUID": stored.uuid,
            "mediaURL": stored.url,
        }
        if self._take("async_uploads"):
            # What official ComfyUI nodes meet with large uploads: a placeholder UUID, then polling.
            with self._lock:
                ready_at = time.time() + self.faults.async_upload_delay
                self._pending_uploads[task_uuid.lower()] = (ready_at, item)
            placeholder = {k: v for k, v in item.items() if k != "mediaURL"}
            return [{**placeholder, "mediaUUID": "1"}], []
        return [item], []

    def _image_upload(self, task: dict[str, Any]) -> Handled:
        task_uuid = require_task_uuid(task, "imageUpload")
        self._check_unused(task_uuid)
        check_keys(task, ("taskType", "taskUUID", "image"), owner="imageUpload")
        value = task.get("image")
        if not isinstance(value, str) or not value:
            raise missing("image")
        stored = self._store(value, "image", task_uuid, images_only=True)
        item = {
            "taskType": "imageUpload",
            "taskUUID": task_uuid,
            "imageUUID": stored.uuid,
            "imageURL": stored.url,
        }
        return [item], []

    def _task_details(self, task: dict[str, Any]) -> Handled:
        task_uuid = require_task_uuid(task, "getTaskDetails")
        with self._lock:
            details = self._details.get(task_uuid.lower())
            job = self._jobs.get(task_uuid.lower())
            if details is None:
                raise TaskError(
                    "taskNotFound",
                    f"No task {task_uuid} is known to this server.",
                    parameter="taskUUID",
                    status=self.config.not_found_status,
                )
            response = details["response"]
            if job is not None:
                response = self._envelope(*self._job_state(job, job.task_uuid))[1]
            item = {
                "taskType": "getTaskDetails",
                "taskUUID": task_uuid,
                "request": copy.deepcopy(details["request"]),
                "response": response,
            }
        return [item], []

    @staticmethod
    def _ping(task: dict[str, Any]) -> Handled:
        item: dict[str, Any] = {"taskType": "ping", "pong": True}
        if isinstance(task.get("taskUUID"), str):
            item["taskUUID"] = task["taskUUID"]
        return [item], []

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

    # --- workers ----------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                self._run(job)
            except Exception:  # a broken job must not take its worker down
                log.exception("job %s failed", job.task_uuid)
            finally:
                with self._idle:
                    self._active -= 1
                    self._idle.notify_all()

    def _run(self, job: Job) -> None:
        started = time.time()
        with self._lock:
            job.started_at = started
        count = len(job.generations)
        guides: dict[int, media.Image] | None = None
        for gen in job.generations:
            # ``latency`` is the task's whole time on the server, as with a real service: each
            # result is published at its share of the latency (results finish one after another,
            # so partial results show), or as soon as it is rendered if that is later. Rendering
            # starts only as early as it must (twice the longest recent render), so that a
            # client on the same machine is not slowed down by renders that could wait.
            due = started + self.config.latency * (gen.index + 1) / count
            with self._lock:
                lead = 2 * max(self._render_seconds, default=self.config.latency)
            wait = due - lead - time.time()
            if wait > 0 and self._stop.wait(wait):
                return
            if self._stop.is_set():
                return
            error: tuple[str, str] | None = None
            video_uuid = str(uuid.uuid4())
            ext = media.FORMATS[job.request.output_format][0]
            out = self.storage / "results" / f"{video_uuid}.{ext}"
            if job.fail_code and gen.index >= job.fail_from:
                error = (job.fail_code, failure_message(job.fail_code))
            else:
                began = time.time()
                try:
                    if guides is None:
                        size = (job.facts.width, job.facts.height)
                        guides = {pos: media.load_image(path, size) for pos, path in job.guides}
                    media.render(
                        job.input_path,
                        out,
                        facts=job.facts,
                        output_format=job.request.output_format,
                        quality=job.request.output_quality,
                        seed=gen.seed,
                        guides=guides,
                        mov_prores=self.config.mov_prores,
                    )
                except Exception as exc:  # any failure must end the generation, never hang it
                    log.exception("task %s result %d failed", job.task_uuid, gen.index)
                    error = ("processingFailed", f"Processing failed: {exc}")
                else:
                    with self._lock:
                        self._render_seconds.append(time.time() - began)
            wait = due - time.time()
            if wait > 0 and self._stop.wait(wait):
                return
            if self._stop.is_set():
                return
            if error is not None:
                self._finish(job, gen, error=error)
            else:
                self._finish(job, gen, video_uuid=video_uuid, path=out)
        with self._lock:
            job.finished_at = time.time()

    def _finish(
        self,
        job: Job,
        gen: Generation,
        *,
        video_uuid: str | None = None,
        path: Path | None = None,
        error: tuple[str, str] | None = None,
    ) -> None:
        now = time.time()
        ttl = job.request.ttl if job.request.ttl is not None else self.config.default_ttl
        with self._lock:
            gen.finished_at = now
            if error is not None:
                gen.status, (gen.error_code, gen.error_message) = "error", error
            else:
                assert video_uuid is not None and path is not None
                gen.status, gen.video_uuid, gen.path = "success", video_uuid, path
                gen.url = f"{self.base_url}/media/results/{path.name}"
                gen.cost = round(self.config.price_per_second * job.facts.duration, 6)
                gen.expires_at = now + ttl if ttl is not None else None
                self._results[video_uuid] = gen
                self.spent += gen.cost
            wire = self._wire(job, gen, job.task_uuid)
            needs_delivery = bool(
                job.request.webhook_url or (job.request.upload_endpoint and error is None)
            )
            if needs_delivery:
                self._active += 1
        log.info("task %s result %d: %s", job.task_uuid, gen.index, gen.status)
        if needs_delivery:
            item = wire.to_dict() if isinstance(wire, TaskError) else wire
            threading.Thread(target=self._deliver, args=(job, gen, item), daemon=True).start()

    # --- deliveries -------------------------------------------------------------------------

    def _deliver(self, job: Job, gen: Generation, item: dict[str, Any]) -> None:
        try:
            req = job.request
            if req.upload_endpoint and gen.status == "success" and gen.path is not None:
                data = gen.path.read_bytes()
                delivery = Delivery(
                    "upload",
                    "PUT",
                    req.upload_endpoint,
                    job.task_uuid,
                    gen.video_uuid,
                    media.FORMATS[req.output_format][3],
                    b"",
                    len(data),
                )
                self._attempt(delivery, data)
            if req.webhook_url:
                if self.config.webhook_bare:
                    body = item
                else:
                    body = {"data" if gen.status == "success" else "errors": [item]}
                payload = json.dumps(body).encode()
                times = 2 if self._take("duplicate_webhooks") else 1
                for _ in range(times):
                    delivery = Delivery(
                        "webhook",
                        "POST",
                        req.webhook_url,
                        job.task_uuid,
                        gen.video_uuid,
                        "application/json",
                        payload,
                        len(payload),
                    )
                    self._attempt(delivery, payload)
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def _attempt(self, delivery: Delivery, payload: bytes) -> None:
        with self._lock:
            self._deliveries.append(delivery)
        for attempt in range(1 + max(0, self.config.delivery_retries)):
            request = urllib.request.Request(
                delivery.url,
                data=payload,
                method=delivery.method,
                headers={
                    "Content-Type": delivery.content_type,
                    "User-Agent": "aleph-otio-emulator",
                },
            )
            outcome: int | str
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    outcome = response.status
            except urllib.error.HTTPError as exc:
                outcome = exc.code
            except (urllib.error.URLError, OSError) as exc:
                outcome = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            with self._lock:
                delivery.attempts.append(outcome)
                delivery.ok = isinstance(outcome, int) and 200 <= outcome < 300
            if delivery.ok:
                return
            log.info("%s to %s failed (%s)", delivery.kind, urlsplit(delivery.url).netloc, outcome)
            if self._stop.wait(self.config.delivery_backoff * 2**attempt):
                return


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
