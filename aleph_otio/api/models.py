"""Pydantic models of the Runware task protocol for ``runway:aleph@2.0``.

Python attributes are snake_case; every field carries the API's own camelCase name as its alias,
and :meth:`VideoInferenceTask.to_api` returns exactly the JSON the API expects. Request models are
strict (``extra="forbid"``, no type coercion) and enforce every limit of the task reference, so a
bad task fails here, with the offending field named by its API name, before it costs a request.
Response models are lenient: they ignore unknown fields, since the server adds fields over time.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from aleph_otio.config import MODEL_ID, APISettings, OutputFormat, SafetyMode
from aleph_otio.errors import InvalidParameterError
from aleph_otio.shots import Shot

__all__ = [
    "APIErrorObject",
    "FrameImage",
    "FrameImageItem",
    "GetResponseTask",
    "MediaStorageResult",
    "MediaStorageUpload",
    "Safety",
    "VideoInferenceInputs",
    "VideoInferenceTask",
    "VideoResult",
    "build_task",
    "format_validation_error",
    "is_uuid",
    "is_uuid4",
    "validate_task",
]

PROMPT_MAX = 1000
FRAME_IMAGES_MAX = 5
TIMESTAMP_MAX = 30.0
#: Statuses some servers and SDKs use for work not yet finished; all mean ``processing``.
_PENDING_STATUSES = {"processing", "pending", "queued", "scheduled", "waiting", "running"}
_BASE64_RE = re.compile(r"^[A-Za-z0-9+/_\-\s]+={0,2}\s*$")


def is_uuid(value: str) -> bool:
    """True for a canonical (hyphenated, 36-character) UUID of any version."""
    try:
        parsed = uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return str(parsed) == value.lower()


def is_uuid4(value: str) -> bool:
    """True for a canonical random (version 4, RFC 4122 variant) UUID."""
    if not is_uuid(value):
        return False
    parsed = uuid.UUID(value)
    return parsed.version == 4 and parsed.variant == uuid.RFC_4122


def _is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _check_uri(value: str | None) -> str | None:
    if value is not None and not _is_http_url(value):
        raise ValueError("must be an absolute http(s) URI")
    return value


def _check_image_input(value: str) -> str:
    """An image input is a UUID, an http(s) URL, a data URI or raw base64 (task reference)."""
    if not value:
        raise ValueError("must not be empty")
    if is_uuid(value) or _is_http_url(value):
        return value
    if value.startswith("data:"):
        if ";base64," not in value:
            raise ValueError("data URI must be base64-encoded (data:<mime>;base64,...)")
        return value
    # A local path here means the caller forgot to upload it: refuse rather than send it.
    if len(value) >= 16 and _BASE64_RE.match(value) and not value.startswith("/"):
        return value
    raise ValueError(
        "must be a UUID, an http(s) URL, a data URI or base64 (upload local files first)"
    )


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class FrameImage(_Request):
    """The object form of one ``inputs.frameImages`` entry: an image pinned to a position."""

    image: str = Field(description="UUID, URL, data URI or base64 of the still")
    frame: Literal["first", "last", 0, -1] | None = Field(default=None)
    timestamp: float | None = Field(default=None, ge=0, le=TIMESTAMP_MAX)

    @field_validator("image")
    @classmethod
    def _image(cls, value: str) -> str:
        return _check_image_input(value)

    @field_validator("frame", mode="before")
    @classmethod
    def _frame_not_bool(cls, value: object) -> object:
        # Literal[0] would accept False (False == 0 in Python); the API wants a real 0.
        if isinstance(value, bool):
            raise ValueError("must be 'first', 'last', 0 or -1")
        return value

    @field_validator("timestamp")
    @classmethod
    def _timestamp_step(cls, value: float | None) -> float | None:
        if value is not None and not math.isclose(value * 100, round(value * 100), abs_tol=1e-6):
            raise ValueError("must be a multiple of 0.01 s (hundredths of a second)")
        return value

    @model_validator(mode="after")
    def _frame_xor_timestamp(self) -> FrameImage:
        if self.frame is not None and self.timestamp is not None:
            raise ValueError("frame and timestamp are mutually exclusive: give one of them")
        return self


def _frame_image_kind(value: Any) -> str:
    return "plain" if isinstance(value, str) else "object"


PlainImage = Annotated[str, AfterValidator(_check_image_input)]
#: One frameImages entry: a plain image input, or ``{image, frame}`` / ``{image, timestamp}``.
FrameImageItem = Annotated[
    Annotated[PlainImage, Tag("plain")] | Annotated[FrameImage, Tag("object")],
    Discriminator(_frame_image_kind),
]


class VideoInferenceInputs(_Request):
    """``inputs``: the source video and optional guide frames."""

    video: str = Field(description="UUID or URL of the source video (2-30 s)")
    frame_images: list[FrameImageItem] | None = Field(
        default=None, alias="frameImages", min_length=1, max_length=FRAME_IMAGES_MAX
    )

    @field_validator("video")
    @classmethod
    def _video(cls, value: str) -> str:
        if not (is_uuid(value) or _is_http_url(value)):
            raise ValueError("must be a UUID or an http(s) URL (upload local files first)")
        return value


class Safety(_Request):
    """``safety``: content checking of the result (``mode`` wins when both are given)."""

    check_content: bool = Field(default=False, alias="checkContent")
    mode: SafetyMode = "none"


class VideoInferenceTask(_Request):
    """A complete ``videoInference`` task for Runway Aleph 2.0."""

    # taskType and model are required by the API, so they have no default here either.
    task_type: Literal["videoInference"] = Field(alias="taskType")
    task_uuid: str = Field(alias="taskUUID")
    model: Literal["runway:aleph@2.0"]
    positive_prompt: str = Field(alias="positivePrompt", min_length=1, max_length=PROMPT_MAX)
    inputs: VideoInferenceInputs
    output_type: Literal["URL"] = Field(default="URL", alias="outputType")
    output_format: OutputFormat = Field(default="MP4", alias="outputFormat")
    output_quality: int = Field(default=95, alias="outputQuality", ge=20, le=99)
    webhook_url: str | None = Field(default=None, alias="webhookURL")
    upload_endpoint: str | None = Field(default=None, alias="uploadEndpoint")
    delivery_method: Literal["async"] = Field(default="async", alias="deliveryMethod")
    safety: Safety | None = None
    ttl: int | None = Field(default=None, ge=60)
    include_cost: bool | None = Field(default=None, alias="includeCost")
    number_results: int = Field(default=1, alias="numberResults", ge=1, le=4)

    @field_validator("task_uuid")
    @classmethod
    def _uuid4(cls, value: str) -> str:
        if not is_uuid4(value):
            raise ValueError("must be a UUID v4 (xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx)")
        return value

    @field_validator("positive_prompt")
    @classmethod
    def _prompt_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must contain text, not only whitespace")
        return value

    @field_validator("webhook_url", "upload_endpoint")
    @classmethod
    def _uri(cls, value: str | None) -> str | None:
        return _check_uri(value)

    def to_api(self) -> dict[str, Any]:
        """The task as the API's JSON object: camelCase names, unset optionals left out."""
        data = self.model_dump(by_alias=True, exclude_none=True, mode="json")
        if self.safety is not None:
            # Only what the caller set: checkContent=false next to mode="fast" reads as a conflict.
            data["safety"] = self.safety.model_dump(by_alias=True, exclude_unset=True, mode="json")
        return data


class GetResponseTask(_Request):
    """A ``getResponse`` poll for one earlier task (its taskUUID, not a new one)."""

    task_type: Literal["getResponse"] = Field(default="getResponse", alias="taskType")
    task_uuid: str = Field(alias="taskUUID")

    def to_api(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


class MediaStorageUpload(_Request):
    """A ``mediaStorage`` upload: ``media`` is a public URL, a data URI or raw base64."""

    task_type: Literal["mediaStorage"] = Field(default="mediaStorage", alias="taskType")
    task_uuid: str = Field(alias="taskUUID")
    operation: Literal["upload"] = "upload"
    media: str = Field(min_length=1)

    @field_validator("task_uuid")
    @classmethod
    def _uuid4(cls, value: str) -> str:
        if not is_uuid4(value):
            raise ValueError("must be a UUID v4")
        return value

    def to_api(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


class MediaStorageResult(_Response):
    """The answer to a ``mediaStorage`` upload."""

    task_type: str = Field(default="mediaStorage", alias="taskType")
    task_uuid: str = Field(alias="taskUUID")
    operation: str = "upload"
    media_uuid: str | None = Field(default=None, alias="mediaUUID")
    media_url: str | None = Field(default=None, alias="mediaURL")


class APIErrorObject(_Response):
    """One item of an ``errors`` array (all fields optional: servers vary)."""

    code: str | None = None
    message: str | None = None
    parameter: str | list[str] | None = None
    task_type: str | None = Field(default=None, alias="taskType")
    task_uuid: str | None = Field(default=None, alias="taskUUID")
    documentation: str | None = None
    type: str | None = None
    allowed_values: list[Any] | None = Field(default=None, alias="allowedValues")
    status: str | None = None

    @property
    def parameter_name(self) -> str | None:
        """``parameter`` as one string (some servers send a list)."""
        if isinstance(self.parameter, list):
            return ", ".join(self.parameter) or None
        return self.parameter


class VideoResult(_Response):
    """One generation of a video task, as getResponse reports it.

    Failures arrive in three shapes (top-level ``errors`` with ``status:"error"``, a data item
    with an ``error`` object, a data item with ``code``/``message``); all end up here with
    ``status="error"`` and ``error_code``/``error_message`` set.
    """

    task_type: str = Field(default="videoInference", alias="taskType")
    task_uuid: str = Field(alias="taskUUID")
    status: Literal["processing", "success", "error"] = "processing"
    video_uuid: str | None = Field(default=None, alias="videoUUID")
    video_url: str | None = Field(default=None, alias="videoURL")
    seed: int | None = None
    cost: float | None = None
    nsfw_content: bool | None = Field(default=None, alias="NSFWContent")
    error_code: str | None = Field(default=None, alias="errorCode")
    error_message: str | None = Field(default=None, alias="errorMessage")

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, raw: Any) -> Any:
        if not isinstance(raw, Mapping):
            return raw
        data = dict(raw)
        # PYO tolerates mediaUUID/mediaURL on video results; so do we.
        data.setdefault("videoUUID", data.get("mediaUUID"))
        data.setdefault("videoURL", data.get("mediaURL"))
        error = data.get("error")
        status = str(data.get("status") or "").lower()
        if isinstance(error, Mapping):
            data["status"] = "error"
            data["errorCode"] = error.get("code") or data.get("code")
            data["errorMessage"] = error.get("message") or data.get("message")
        elif status in ("error", "failed", "failure") or (
            data.get("code") and not data.get("videoURL")
        ):
            data["status"] = "error"
            data["errorCode"] = data.get("code")
            data["errorMessage"] = data.get("message")
        elif status == "success" or (not status and data.get("videoURL")):
            data["status"] = "success"
        elif status in _PENDING_STATUSES or not status:
            data["status"] = "processing"
        else:
            # cancelled, expired, or a status invented later: terminal, and not a success.
            data["status"] = "error"
            data["errorCode"] = data.get("code") or f"status {status}"
            data["errorMessage"] = data.get("message") or f"the task ended with status {status!r}"
        for key in ("error", "code", "message"):
            data.pop(key, None)
        return data


# --- validation with API names ------------------------------------------------------------------


def _alias_map(models: Iterable[type[BaseModel]]) -> dict[str, str]:
    names: dict[str, str] = {}
    for model in models:
        for name, info in model.model_fields.items():
            if info.alias:
                names[name] = info.alias
    return names


_ALIASES = _alias_map(
    [FrameImage, VideoInferenceInputs, Safety, VideoInferenceTask, MediaStorageUpload]
)
_TAGS = {"plain", "object"}


def _api_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as an API path, e.g. ``inputs.frameImages[2].timestamp``.

    Tags of the frame-image union and validator names are dropped; Python names become aliases.
    """
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _TAGS or part.startswith("function-"):
            continue
        else:
            name = _ALIASES.get(part, part)
            path += f".{name}" if path else name
    return path or "task"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required parameter is missing"
    if kind == "extra_forbidden":
        return f"not a parameter of {MODEL_ID} (unsupported, remove it)"
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if kind in ("string_too_long", "string_too_short", "too_long", "too_short"):
        size = len(error["input"]) if hasattr(error["input"], "__len__") else "?"
        return f"{message[0].lower()}{message[1:]} (got {size})"
    return f"{message[0].lower()}{message[1:]} (got {_short(error['input'])})"


def format_validation_error(exc: ValidationError, *, context: str = "") -> InvalidParameterError:
    """Turn a pydantic error into an InvalidParameterError naming the field by its API name."""
    errors = exc.errors()
    parts = [f"{_api_path(tuple(e['loc']))}: {_describe(e)}" for e in errors]
    first = _api_path(tuple(errors[0]["loc"])) if errors else "task"
    prefix = f"{context}: " if context else ""
    more = f" (+{len(parts) - 1} more: {'; '.join(parts[1:])})" if len(parts) > 1 else ""
    return InvalidParameterError(
        f"{prefix}invalid videoInference task: {parts[0] if parts else exc}{more}",
        code="invalidParameter",
        parameter=first,
    )


def validate_task(data: Mapping[str, Any], *, context: str = "") -> VideoInferenceTask:
    """Validate a task dict (API names) against every limit of the Aleph 2.0 reference.

    Raises :class:`InvalidParameterError` whose ``parameter`` is the first failing field's API
    path (``outputQuality``, ``inputs.frameImages[2].timestamp``) and whose message names it.
    """
    try:
        return VideoInferenceTask.model_validate(dict(data))
    except ValidationError as exc:
        err = format_validation_error(exc, context=context)
        err.task_uuid = data.get("taskUUID") if isinstance(data.get("taskUUID"), str) else None
        raise err from None


def build_task(
    shot: Shot,
    *,
    video: str,
    frame_images: list[str],
    task_uuid: str,
    settings: APISettings,
) -> VideoInferenceTask:
    """The videoInference task for one shot.

    ``video`` and ``frame_images`` are uploaded media (UUIDs or URLs); ``frame_images`` is in the
    same order as ``shot.guides``. Options come from ``shot.options``; delivery (ttl, includeCost,
    webhookURL, uploadEndpoint, safety) from ``settings``.
    """
    if len(frame_images) != len(shot.guides):
        raise ValueError(
            f"shot {shot.name}: {len(frame_images)} uploaded frame images for "
            f"{len(shot.guides)} guides"
        )
    items: list[Any] = []
    for guide, image in zip(shot.guides, frame_images, strict=True):
        if guide.frame is not None:
            items.append({"image": image, "frame": guide.frame})
        elif guide.timestamp is not None:
            # The API takes hundredths; planning works in frames, so round rather than refuse.
            items.append({"image": image, "timestamp": round(guide.timestamp, 2)})
        else:
            items.append(image)
    inputs: dict[str, Any] = {"video": video}
    if items:
        inputs["frameImages"] = items
    data: dict[str, Any] = {
        "taskType": "videoInference",
        "taskUUID": task_uuid,
        "model": MODEL_ID,
        "positivePrompt": shot.prompt,
        "inputs": inputs,
        "outputType": "URL",
        "outputFormat": shot.options.output_format,
        "outputQuality": shot.options.output_quality,
        "numberResults": shot.options.number_results,
        "deliveryMethod": "async",
        "includeCost": settings.include_cost,
    }
    if settings.ttl is not None:
        data["ttl"] = settings.ttl
    if settings.webhook_url:
        data["webhookURL"] = settings.webhook_url
    if settings.upload_endpoint:
        data["uploadEndpoint"] = settings.upload_endpoint
    if settings.safety_mode is not None:
        data["safety"] = {"mode": settings.safety_mode}
    context = f"shot {shot.name}"
    if shot.marker_location:
        context += f" (marker at {shot.marker_location})"
    return validate_task(data, context=context)
