"""Request models of the Runware task protocol for ``runway:aleph@2.0``: strict, every limit of
the task reference enforced, each field aliased to the API's own camelCase name."""

from __future__ import annotations

import math
import re
import uuid
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from aleph_otio.config import OutputFormat, SafetyMode

PROMPT_MAX = 1000
FRAME_IMAGES_MAX = 5
TIMESTAMP_MAX = 30.0
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
