"""Validating a task with errors named by the API's own field names, and building one per shot."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import (
    BaseModel,
    ValidationError,
)

from aleph_otio.api.models.requests import (
    FrameImage,
    MediaStorageUpload,
    Safety,
    VideoInferenceInputs,
    VideoInferenceTask,
)
from aleph_otio.config import MODEL_ID, APISettings
from aleph_otio.errors import InvalidParameterError
from aleph_otio.shots import Shot

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
