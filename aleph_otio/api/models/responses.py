"""Response models of the Runware task protocol: lenient (unknown fields ignored, since servers
add fields over time), every failure shape read into one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

#: Statuses some servers and SDKs use for work not yet finished; all mean ``processing``.
_PENDING_STATUSES = {"processing", "pending", "queued", "scheduled", "waiting", "running"}


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


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
