"""Task validation for the emulator, written from the Aleph 2.0 task reference alone.

This is deliberately independent of :mod:`aleph_otio.api.models`: the emulator is the check on
the client's models, so the two must not share code. Checks that need the media itself (video
duration, size, frame rate, decodable guide images) live in the server, which owns the files.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from aleph_otio.emulator.task_errors import MODEL_ID, TaskError, conflict, missing

__all__ = [
    "MODEL_ID",
    "TaskError",
    "VideoRequest",
    "check_keys",
    "conflict",
    "is_http_url",
    "is_uuid4",
    "missing",
    "require_task_uuid",
    "validate_video_inference",
]

#: Every parameter Aleph 2.0 accepts, per object level (dotted paths as in the docs).
TOP_LEVEL = (
    "taskType",
    "taskUUID",
    "model",
    "positivePrompt",
    "inputs",
    "outputType",
    "outputFormat",
    "outputQuality",
    "webhookURL",
    "deliveryMethod",
    "uploadEndpoint",
    "safety",
    "ttl",
    "includeCost",
    "numberResults",
)
INPUT_KEYS = ("video", "frameImages")
SAFETY_KEYS = ("checkContent", "mode")
FRAME_IMAGE_KEYS = ("image", "frame", "timestamp")
OUTPUT_FORMATS = ("MP4", "WEBM", "MOV")
SAFETY_MODES = ("none", "fast", "full")
FRAME_VALUES: tuple[str | int, ...] = ("first", "last", 0, -1)
MAX_PROMPT = 1000
MAX_FRAME_IMAGES = 5
MAX_TIMESTAMP = 30.0


def is_uuid4(value: object) -> bool:
    """True for a canonical 36-character UUID of version 4 (any case)."""
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    return parsed.version == 4 and str(parsed) == value.lower()


def is_http_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def require_task_uuid(task: dict[str, Any], task_type: str) -> str:
    """The task's taskUUID, or missingParameter / invalidTaskUUID."""
    value = task.get("taskUUID")
    if value is None:
        raise TaskError(
            "missingParameter",
            "Missing required parameter: 'taskUUID'.",
            parameter="taskUUID",
            task_type=task_type,
        )
    if not is_uuid4(value):
        raise TaskError(
            "invalidTaskUUID",
            "taskUUID must be a UUID v4 string (e.g. 6f1c2a9e-4b7d-4c1e-9a2f-0d3b5e7c9a11).",
            parameter="taskUUID",
            type_="string",
            task_type=task_type,
        )
    return str(value)


@dataclass(frozen=True)
class FrameSpec:
    """One ``inputs.frameImages`` entry: an image and where it goes (None: distributed)."""

    index: int
    image: str
    frame: str | None = None  # "first" | "last"
    timestamp: float | None = None


@dataclass(frozen=True)
class VideoRequest:
    """A validated videoInference task, with defaults filled in."""

    task_uuid: str
    prompt: str
    video: str
    frame_images: list[FrameSpec] = field(default_factory=list)
    number_results: int = 1
    output_format: str = "MP4"
    output_quality: int = 95
    ttl: int | None = None
    include_cost: bool = False
    webhook_url: str | None = None
    upload_endpoint: str | None = None
    safety_mode: str = "none"


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_keys(
    obj: dict[str, Any], allowed: tuple[str, ...], prefix: str = "", owner: str = MODEL_ID
) -> None:
    """unsupportedParameter for the first key of ``obj`` not in ``allowed`` (names dotted)."""
    for key in obj:
        if key not in allowed:
            raise TaskError(
                "unsupportedParameter",
                f"Unsupported parameter '{prefix}{key}' for {owner}; "
                f"allowed: {', '.join(prefix + a for a in allowed)}.",
                parameter=f"{prefix}{key}",
                allowed=[prefix + a for a in allowed],
            )


def _enum(value: object, allowed: tuple[Any, ...], code: str, parameter: str) -> None:
    if value not in allowed or isinstance(value, bool):
        raise TaskError(
            code,
            f"Invalid value for '{parameter}': {value!r}; allowed: "
            f"{', '.join(str(a) for a in allowed)}.",
            parameter=parameter,
            type_="string",
            allowed=list(allowed),
        )


def _int_range(value: object, lo: int, hi: int | None, code: str, parameter: str) -> int:
    if not _is_int(value) or value < lo or (hi is not None and value > hi):
        bound = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise TaskError(
            code,
            f"Invalid value for '{parameter}': {value!r}; must be an integer {bound}.",
            parameter=parameter,
            type_="integer",
        )
    return value


def _bool(value: object, code: str, parameter: str) -> bool:
    if not isinstance(value, bool):
        raise TaskError(
            code,
            f"Invalid value for '{parameter}': {value!r}; must be a boolean.",
            parameter=parameter,
            type_="boolean",
        )
    return value


def _url(value: object, code: str, parameter: str) -> str:
    if not is_http_url(value):
        raise TaskError(
            code,
            f"Invalid value for '{parameter}': must be an http(s) URI.",
            parameter=parameter,
            type_="string",
        )
    assert isinstance(value, str)
    return value


def _frame_images(value: object) -> list[FrameSpec]:
    param = "inputs.frameImages"
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_FRAME_IMAGES:
        raise TaskError(
            "invalidFrameImages",
            f"'{param}' must be an array of 1 to {MAX_FRAME_IMAGES} items.",
            parameter=param,
            type_="array",
        )
    specs: list[FrameSpec] = []
    for i, item in enumerate(value):
        where = f"{param}[{i}]"
        if isinstance(item, str):
            if not item:
                raise TaskError(
                    "invalidFrameImages",
                    f"'{where}' is an empty image input.",
                    parameter=f"{param}.image",
                )
            specs.append(FrameSpec(index=i, image=item))
            continue
        if not isinstance(item, dict):
            raise TaskError(
                "invalidFrameImages",
                f"'{where}' must be an image input (string) or an object with 'image'.",
                parameter=param,
                type_="string|object",
            )
        check_keys(item, FRAME_IMAGE_KEYS, f"{param}.")
        image = item.get("image")
        if image is None:
            error = missing(f"{param}.image")
            error.message = f"Missing required parameter: '{where}.image'."
            raise error
        if not isinstance(image, str) or not image:
            raise TaskError(
                "invalidFrameImages",
                f"'{where}.image' must be a non-empty string.",
                parameter=f"{param}.image",
                type_="string",
            )
        has_frame, has_ts = "frame" in item, "timestamp" in item
        if has_frame and has_ts:
            raise TaskError(
                "conflictingParameters",
                f"'{where}' has both 'frame' and 'timestamp'; give one of them.",
                parameter=f"{param}.frame",
            )
        frame: str | None = None
        timestamp: float | None = None
        if has_frame:
            raw = item["frame"]
            # Open question 11: the page lists 0 and -1 next to the names; accept both spellings.
            named = {0: "first", -1: "last", "0": "first", "-1": "last"}
            hashable = isinstance(raw, str | int) and not isinstance(raw, bool)
            normalised = named.get(raw, raw) if hashable else None
            if normalised not in ("first", "last"):
                raise TaskError(
                    "invalidFrame",
                    f"Invalid value for '{where}.frame': {raw!r}; allowed: first, last, 0, -1.",
                    parameter=f"{param}.frame",
                    type_="string|integer",
                    allowed=list(FRAME_VALUES),
                )
            frame = str(normalised)
        if has_ts:
            raw_ts = item["timestamp"]
            if (
                not _is_number(raw_ts)
                or not 0 <= raw_ts <= MAX_TIMESTAMP
                or abs(raw_ts * 100 - round(raw_ts * 100)) > 1e-6
            ):
                raise TaskError(
                    "invalidTimestamp",
                    f"Invalid value for '{where}.timestamp': {raw_ts!r}; must be a number of "
                    f"seconds from 0 to {MAX_TIMESTAMP:g} in steps of 0.01.",
                    parameter=f"{param}.timestamp",
                    type_="float",
                )
            timestamp = float(raw_ts)
        specs.append(FrameSpec(index=i, image=image, frame=frame, timestamp=timestamp))
    return specs


def validate_video_inference(task: dict[str, Any]) -> VideoRequest:
    """Check a videoInference task against the Aleph 2.0 reference; raise the first TaskError.

    The taskUUID is checked by the caller first (it decides conflicts); errors raised here get
    taskType/taskUUID filled in by the caller.
    """
    check_keys(task, TOP_LEVEL)
    model = task.get("model")
    if model is None:
        raise missing("model")
    if model != MODEL_ID:
        raise TaskError(
            "invalidModel",
            f"Invalid value for 'model': {model!r}; this endpoint emulates only {MODEL_ID}.",
            parameter="model",
            type_="string",
            allowed=[MODEL_ID],
        )
    prompt = task.get("positivePrompt")
    if prompt is None:
        raise missing("positivePrompt")
    if not isinstance(prompt, str) or not prompt.strip() or len(prompt) > MAX_PROMPT:
        length = len(prompt) if isinstance(prompt, str) else "not a string"
        raise TaskError(
            "invalidPositivePrompt",
            f"positivePrompt must be 1 to {MAX_PROMPT} characters (got {length}).",
            parameter="positivePrompt",
            type_="string",
        )
    inputs = task.get("inputs")
    if inputs is None:
        raise missing("inputs.video")
    if not isinstance(inputs, dict):
        raise TaskError(
            "invalidInputs", "'inputs' must be an object.", parameter="inputs", type_="object"
        )
    check_keys(inputs, INPUT_KEYS, "inputs.")
    video = inputs.get("video")
    if video is None:
        raise missing("inputs.video")
    if not isinstance(video, str) or not (is_uuid4(video) or is_http_url(video)):
        raise TaskError(
            "invalidVideo",
            "'inputs.video' must be a media UUID (from mediaStorage) or an http(s) URL; "
            "upload local files with mediaStorage first.",
            parameter="inputs.video",
            type_="string",
        )
    frames = _frame_images(inputs["frameImages"]) if "frameImages" in inputs else []

    output_type = task.get("outputType", "URL")
    _enum(output_type, ("URL",), "invalidOutputType", "outputType")
    output_format = task.get("outputFormat", "MP4")
    _enum(output_format, OUTPUT_FORMATS, "invalidOutputFormat", "outputFormat")
    quality = _int_range(
        task.get("outputQuality", 95), 20, 99, "invalidOutputQuality", "outputQuality"
    )
    _enum(
        task.get("deliveryMethod", "async"), ("async",), "invalidDeliveryMethod", "deliveryMethod"
    )
    number = _int_range(task.get("numberResults", 1), 1, 4, "invalidNumberResults", "numberResults")
    ttl = _int_range(task["ttl"], 60, None, "invalidTtl", "ttl") if "ttl" in task else None
    include_cost = _bool(task.get("includeCost", False), "invalidIncludeCost", "includeCost")
    webhook = (
        _url(task["webhookURL"], "invalidWebhookURL", "webhookURL")
        if "webhookURL" in task
        else None
    )
    upload = (
        _url(task["uploadEndpoint"], "invalidUploadEndpoint", "uploadEndpoint")
        if "uploadEndpoint" in task
        else None
    )
    safety_mode = "none"
    if "safety" in task:
        safety = task["safety"]
        if not isinstance(safety, dict):
            raise TaskError(
                "invalidSafety", "'safety' must be an object.", parameter="safety", type_="object"
            )
        check_keys(safety, SAFETY_KEYS, "safety.")
        check = _bool(
            safety.get("checkContent", False), "invalidCheckContent", "safety.checkContent"
        )
        if "mode" in safety:
            _enum(safety["mode"], SAFETY_MODES, "invalidSafetyMode", "safety.mode")
            safety_mode = str(safety["mode"])  # mode wins over checkContent (reference §5)
        elif check:
            safety_mode = "fast"
    return VideoRequest(
        task_uuid=str(task["taskUUID"]),
        prompt=prompt,
        video=video,
        frame_images=frames,
        number_results=number,
        output_format=str(output_format),
        output_quality=quality,
        ttl=ttl,
        include_cost=include_cost,
        webhook_url=webhook,
        upload_endpoint=upload,
        safety_mode=safety_mode,
    )
