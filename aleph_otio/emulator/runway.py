"""A local server speaking Runway's own API for ``aleph2`` (rehearse the Runway backend offline).

Routes, as the official ``runwayml`` SDK calls them: ``POST /v1/uploads`` (an ephemeral upload:
answers an ``uploadUrl`` with form ``fields`` and the ``runwayUri`` to use), the multipart POST to
that ``uploadUrl``, ``POST /v1/video_to_video``, ``POST /v1/video_upscale``, ``GET
/v1/tasks/{id}`` and ``DELETE /v1/tasks/{id}``; results are served under ``/results/``. Every
``/v1`` request needs a bearer key and the ``X-Runway-Version`` header. Errors are Runway's
``{"error": ..., "issues": [...]}``.

Tasks go PENDING, RUNNING (with ``progress``), then SUCCEEDED or FAILED over ``latency`` seconds;
results are rendered by the same code as the Runware emulator's (``media.render``): ``mp4`` as
H.264, ``prores`` as ProRes, ``png_sequence`` as a zip of one PNG per frame, ``sdr_rec709_10bit`` as
10-bit 4:2:0 HEVC in MP4 tagged BT.709.
An upscale (``magnific_video_upscaler_creative``) is the input resampled to the long side of its
``resolution`` (``runway_validate.UPSCALE_LONG_SIDE``), every frame at the input's rate, as H.264;
``fpsBoost`` is accepted and ends FAILED (``emulator.fpsBoostNotRendered``). The HTTP front is
:mod:`aleph_otio.emulator.runway_http`.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aleph_otio.config import (
    RUNWAY_CREDITS_PER_SECOND,
    RUNWAY_FORMAT_SURCHARGE,
    RUNWAY_UPSCALE_CREDITS_PER_SECOND,
)
from aleph_otio.emulator import media
from aleph_otio.emulator.faults import take_fault
from aleph_otio.emulator.http_server import EmulatorHTTPServer
from aleph_otio.emulator.runway_http import API_VERSION, RunwayHandler
from aleph_otio.emulator.runway_validate import (
    AlephRequest,
    RunwayError,
    UpscaleRequest,
    upscaled_size,
    validate_aleph,
    validate_upscale,
)

log = logging.getLogger("aleph_otio.emulator.runway")

__all__ = ["API_VERSION", "RunwayEmulator", "RunwayFaults", "RunwayTask"]
#: Inline (data URI) inputs are refused above this size, as Runway documents.
MAX_DATA_URI_BYTES = 5 * 1024 * 1024


@dataclass
class RunwayFaults:
    """Faults to inject; counters count down as they fire."""

    #: Create the next N tasks, then close the socket without answering.
    drop_after_create: int = 0
    #: The next N created tasks end FAILED with ``fail_code``.
    fail_tasks: int = 0
    fail_code: str = "SAFETY.INPUT.VIDEO"
    #: Answer the next N ``/v1`` requests with 429 before doing anything.
    rate_limit: int = 0
    #: Seconds to hold every create's answer back after the task was made (crash tests).
    hold_create: float = 0.0
    #: Only creates on this route ("/v1/video_to_video", "/v1/video_upscale") take the two
    #: faults above and ``fail_tasks``; None: every create does.
    create_faults_on: str | None = None


@dataclass
class RunwayTask:
    id: str
    request: AlephRequest | UpscaleRequest
    body: dict[str, Any]
    created_at: float
    credits: int
    status: str = "PENDING"
    progress: float = 0.0
    output: list[str] = field(default_factory=list)
    failure: str | None = None
    failure_code: str | None = None


class RunwayEmulator:
    """The server; use as a context manager. ``tasks`` and ``creates`` are for tests."""

    def __init__(
        self,
        storage: Path,
        *,
        api_key: str | None = None,
        latency: float = 1.0,
        credits_per_second: int = RUNWAY_CREDITS_PER_SECOND,
        upscale_credits_per_second: int = RUNWAY_UPSCALE_CREDITS_PER_SECOND,
        faults: RunwayFaults | None = None,
    ) -> None:
        self.storage = Path(storage)
        self.api_key = api_key
        self.latency = latency
        self.credits_per_second = credits_per_second
        self.upscale_credits_per_second = upscale_credits_per_second
        self.faults = faults or RunwayFaults()
        self.tasks: dict[str, RunwayTask] = {}
        #: Every create request received, accepted or not.
        self.creates: list[dict[str, Any]] = []
        self._uploads: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._server: EmulatorHTTPServer | None = None
        self.root_url = ""

    @property
    def base_url(self) -> str:
        """What the SDK takes as ``base_url`` (it adds ``/v1/...`` itself)."""
        return self.root_url

    def start(self) -> RunwayEmulator:
        for sub in ("uploads", "results"):
            (self.storage / sub).mkdir(parents=True, exist_ok=True)
        # Quiet about clients that hang up (a create whose answer the fault drops, a killed
        # run), as the Runware emulator is.
        self._server = EmulatorHTTPServer(("127.0.0.1", 0), RunwayHandler)
        self._server.emulator = self  # type: ignore[attr-defined]
        self.root_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> RunwayEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def expire_uploads(self) -> int:
        """Forget every upload now, as Runway does after 24 h; returns how many."""
        with self._lock:
            count = len(self._uploads)
            self._uploads.clear()
        return count

    def _take(self, name: str, route: str | None = None) -> bool:
        """Consume one unit of a fault; a create's faults fire only on ``create_faults_on``."""
        wanted = self.faults.create_faults_on
        if route is not None and wanted is not None and route != wanted:
            return False
        return take_fault(self._lock, self.faults, name)

    # --- requests ---------------------------------------------------------------------------

    def start_upload(self, body: object) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("filename"), str):
            raise RunwayError(400, "Invalid filename: required", [{"path": ["filename"]}])
        if body.get("type", "ephemeral") != "ephemeral":
            raise RunwayError(400, "Invalid type: expected ephemeral", [{"path": ["type"]}])
        upload_id = str(uuid.uuid4())
        suffix = Path(body["filename"]).suffix.lower() or ".bin"
        with self._lock:
            self._uploads[upload_id] = self.storage / "uploads" / f"{upload_id}{suffix}"
        return {
            "uploadUrl": f"{self.root_url}/upload/{upload_id}",
            "fields": {"key": upload_id, "policy": "emulator"},
            "runwayUri": f"runway://uploads/{upload_id}",
        }

    def finish_upload(self, upload_id: str, content_type: str, raw: bytes) -> None:
        with self._lock:
            dest = self._uploads.get(upload_id)
        if dest is None:
            raise RunwayError(404, f"No upload {upload_id} was started.")
        message = email.parser.BytesParser(policy=email.policy.default).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw
        )
        parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
        if parts.get("key") is None or parts["key"].get_content().strip() != upload_id:
            raise RunwayError(400, "The upload form lacks the key field it was given.")
        file_part = parts.get("file")
        if file_part is None:
            raise RunwayError(400, "The upload form has no file.")
        data = file_part.get_payload(decode=True)
        dest.write_bytes(data if isinstance(data, bytes) else b"")

    def _resolve(self, uri: str, where: list[str | int]) -> Path:
        if uri.startswith("runway://uploads/"):
            with self._lock:
                path = self._uploads.get(uri.rsplit("/", 1)[-1])
            if path is None or not path.exists():
                raise RunwayError(400, f"Invalid {where[0]}: unknown or expired upload {uri}")
            return path
        if uri.startswith("data:") and ";base64," in uri:
            data = base64.b64decode(uri.split(",", 1)[1], validate=False)
            if len(data) > MAX_DATA_URI_BYTES:
                raise RunwayError(400, f"Invalid {where[0]}: data URIs are limited to 5MB")
            path = self.storage / "uploads" / f"inline-{uuid.uuid4()}.{media.extension_for(data)}"
            path.write_bytes(data)
            return path
        raise RunwayError(
            400, f"Invalid {where[0]}: the emulator takes runway:// upload URIs and data URIs"
        )

    def _received(self, body: Any) -> Any:
        """Record a create request (accepted or not) for the tests."""
        with self._lock:
            self.creates.append(body if isinstance(body, dict) else {"body": body})
        return body

    def _input_video(self, uri: str) -> tuple[Path, media.VideoFacts]:
        video = self._resolve(uri, ["videoUri"])
        try:
            return video, media.probe_video(video)
        except media.MediaDecodeError as exc:
            raise RunwayError(400, f"Invalid videoUri: not a usable video ({exc})") from None

    def create(self, body: Any) -> dict[str, Any]:
        req = validate_aleph(self._received(body))
        video, facts = self._input_video(req.video_uri)
        guides: list[tuple[int, Path]] = []
        for index, frame in enumerate(req.keyframes):
            path = self._resolve(frame.uri, ["keyframes", index])
            at = (frame.at or 0.0) * facts.duration
            seconds = frame.seconds if frame.seconds is not None else at
            if seconds > facts.duration + 1e-3:
                raise RunwayError(
                    400, f"Invalid keyframes.{index}.seconds: after the end of the video"
                )
            guides.append((min(facts.frames - 1, round(seconds * facts.rate)), path))
        surcharge = RUNWAY_FORMAT_SURCHARGE.get(req.output_format, 0)
        credits = max(1, round((self.credits_per_second + surcharge) * facts.duration))
        ext = {"prores": "mov", "png_sequence": "zip"}.get(req.output_format, "mp4")

        def render(out: Path) -> None:
            size = (facts.width, facts.height)
            converted = req.output_format in ("png_sequence", "sdr_rec709_10bit")
            first = out.with_name(out.stem + ".h264.mp4") if converted else out
            media.render(
                video,
                first,
                facts=facts,
                output_format="MOV" if req.output_format == "prores" else "MP4",
                quality=95,
                seed=req.seed if req.seed is not None else 1,
                guides={pos: media.load_image(p, size) for pos, p in guides},
                mov_prores=req.output_format == "prores",
            )
            if req.output_format == "png_sequence":
                media.zip_png_frames(first, out)
            elif req.output_format == "sdr_rec709_10bit":
                media.transcode_sdr10(first, out, facts=facts)
            if converted:
                first.unlink()

        return self._start(req, body, credits, "/v1/video_to_video", ext, render, None)

    def create_upscale(self, body: Any) -> dict[str, Any]:
        """``POST /v1/video_upscale``: the input scaled to its ``resolution``'s size."""
        req = validate_upscale(self._received(body))
        video, facts = self._input_video(req.video_uri)
        size = upscaled_size(facts.width, facts.height, req.resolution)
        credits = max(1, round(self.upscale_credits_per_second * facts.duration))

        def render(out: Path) -> None:
            media.render_upscale(video, out, facts=facts, size=size)

        code = "emulator.fpsBoostNotRendered" if req.fps_boost else None
        return self._start(req, body, credits, "/v1/video_upscale", "mp4", render, code)

    def _start(
        self,
        req: AlephRequest | UpscaleRequest,
        body: Any,
        credits: int,
        route: str,
        ext: str,
        render: Callable[[Path], None],
        code: str | None,
    ) -> dict[str, Any]:
        """Register a task and render it in the background; the create's answer."""
        task = RunwayTask(
            id=str(uuid.uuid4()), request=req, body=body, created_at=time.time(), credits=credits
        )
        if self._take("fail_tasks", route):
            task.failure_code = self.faults.fail_code
        with self._lock:
            self.tasks[task.id] = task
        out = self.storage / "results" / f"{task.id}.{ext}"
        args = (task, out, render, task.failure_code or code)
        threading.Thread(target=self._run, args=args, daemon=True).start()
        return {"id": task.id, "estimatedCost": {"credits": task.credits}}

    def _run(
        self, task: RunwayTask, out: Path, render: Callable[[Path], None], code: str | None
    ) -> None:
        time.sleep(self.latency / 3)
        with self._lock:
            if task.status == "CANCELLED":
                return
            task.status, task.progress = "RUNNING", 0.1
        time.sleep(self.latency / 3)
        if code is None:
            try:
                render(out)
            except Exception as exc:  # any failure must end the task, never hang it
                log.exception("runway task %s failed", task.id)
                code = f"INTERNAL: {exc}"
        remaining = task.created_at + self.latency - time.time()
        if remaining > 0:
            time.sleep(remaining)
        with self._lock:
            if task.status == "CANCELLED":
                return
            if code is None:
                task.status, task.progress = "SUCCEEDED", 1.0
                task.output = [f"{self.root_url}/results/{out.name}"]
            else:
                task.status, task.failure_code = "FAILED", code
                task.failure = (
                    "The input was flagged by content moderation (injected fault)."
                    if code.startswith("SAFETY")
                    else f"The task failed ({code})."
                )

    def task_state(self, task_id: str) -> dict[str, Any]:
        with self._lock:
            task = self.tasks.get(task_id)
            if task is None:
                raise RunwayError(404, "Task not found.")
            state: dict[str, Any] = {
                "id": task.id,
                "status": task.status,
                "createdAt": datetime.fromtimestamp(task.created_at, UTC)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
            }
            if task.status in ("PENDING", "THROTTLED", "RUNNING"):
                state["estimatedCost"] = {"credits": task.credits}
            if task.status == "RUNNING":
                state["progress"] = task.progress
            if task.status == "SUCCEEDED":
                state["output"], state["cost"] = list(task.output), {"credits": task.credits}
            if task.status == "FAILED":
                state["failure"], state["failureCode"] = task.failure, task.failure_code
                state["cost"] = {"credits": 0}
            if task.status == "CANCELLED":
                state["cost"] = {"credits": 0}
            return state

    def cancel(self, task_id: str) -> None:
        with self._lock:
            task = self.tasks.get(task_id)
            if task is None:
                raise RunwayError(404, "Task not found.")
            if task.status in ("PENDING", "THROTTLED", "RUNNING"):
                task.status = "CANCELLED"
