"""The Runware API for Runway Aleph 2.0: task models and an async client.

Usable on its own::

    from aleph_otio.api import AlephClient
"""

from __future__ import annotations

from aleph_otio.api.client import (
    AlephClient,
    ResultFailure,
    TaskOutcome,
    UploadedMedia,
    WaitTimeoutError,
)
from aleph_otio.api.models import (
    APIErrorObject,
    FrameImage,
    GetResponseTask,
    MediaStorageResult,
    MediaStorageUpload,
    Safety,
    VideoInferenceInputs,
    VideoInferenceTask,
    VideoResult,
    build_task,
    validate_task,
)

__all__ = [
    "AlephClient",
    "ResultFailure",
    "TaskOutcome",
    "UploadedMedia",
    "WaitTimeoutError",
    "APIErrorObject",
    "FrameImage",
    "GetResponseTask",
    "MediaStorageResult",
    "MediaStorageUpload",
    "Safety",
    "VideoInferenceInputs",
    "VideoInferenceTask",
    "VideoResult",
    "build_task",
    "validate_task",
]
