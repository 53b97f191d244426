"""Pydantic models of the Runware task protocol for ``runway:aleph@2.0``.

Python attributes are snake_case; every field carries the API's own camelCase name as its alias,
and :meth:`VideoInferenceTask.to_api` returns exactly the JSON the API expects. Request models are
strict (``extra="forbid"``, no type coercion) and enforce every limit of the task reference, so a
bad task fails here, with the offending field named by its API name, before it costs a request.
Response models are lenient: they ignore unknown fields, since the server adds fields over time.
"""

from __future__ import annotations

from aleph_otio.api.models.requests import (
    FrameImage,
    FrameImageItem,
    GetResponseTask,
    MediaStorageUpload,
    Safety,
    VideoInferenceInputs,
    VideoInferenceTask,
    is_uuid,
    is_uuid4,
)
from aleph_otio.api.models.responses import APIErrorObject, MediaStorageResult, VideoResult
from aleph_otio.api.models.validation import build_task, format_validation_error, validate_task

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
