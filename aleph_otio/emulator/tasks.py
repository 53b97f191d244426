"""The task types: each one's answer (``videoInference`` is accepted here, run by the engine).

A request's tasks are answered one by one; each answer is data items and/or error objects,
gathered into one envelope by :func:`envelope`. Accepted tasks are recorded (without API keys
or long inline media) for ``getTaskDetails`` and for tests.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aleph_otio.emulator import media
from aleph_otio.emulator.engine import wire_item
from aleph_otio.emulator.faults import FaultInjection
from aleph_otio.emulator.state import Generation, Job
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


def redact(value: Any) -> Any:
    """A deep copy of a task without API keys and without inline media longer than KEEP_CHARS."""
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items() if k != "apiKey"}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str) and len(value) > KEEP_CHARS:
        return f"{value[:64]}...<{len(value)} characters not kept>"
    return value


def envelope(data: list[dict[str, Any]], errors: list[TaskError]) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body for the answers to one request's tasks."""
    body: dict[str, Any] = {}
    if data or not errors:
        body["data"] = data
    if errors:
        body["errors"] = [e.to_dict() for e in errors]
    status = 200 if data or not errors else max(e.status for e in errors)
    return status, body


class TaskHandlers(MediaStore, FaultInjection):
    """One handler per taskType, and the dispatch of a request's tasks to them."""

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
                    "request": [redact(t) for t in request],
                    "response": envelope(items, errors)[1],
                }
        return items, errors

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
            wire = wire_item(job, gen, echo_uuid, failure_shape=self.config.failure_shape)
            if isinstance(wire, TaskError):
                errors.append(wire)
            else:
                items.append(wire)
        return items, errors

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
                response = envelope(*self._job_state(job, job.task_uuid))[1]
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
