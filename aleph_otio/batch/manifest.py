"""The manifest's model: a planned timeline's shots with their task previews, in the API's
field names, and its JSON text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from aleph_otio.config import DEFAULT_PRICE_PER_SECOND, MODEL_ID, OutputFormat, PlanSettings
from aleph_otio.shots import Plan, Shot

BATCH_FORMAT: Literal["aleph-otio.batch"] = "aleph-otio.batch"
BATCH_VERSION = 1
BATCH_SUFFIX = ".aleph.json"


class FrameImagePreview(BaseModel):
    """One ``inputs.frameImages`` entry: an image and either ``frame`` or ``timestamp``."""

    model_config = ConfigDict(extra="forbid")

    image: str
    frame: Literal["first", "last"] | None = None
    timestamp: float | None = Field(default=None, ge=0, le=30)

    @model_serializer(mode="wrap")
    def _drop_unset_position(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # The API takes frame XOR timestamp; a null in the other key would be a different task.
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None}


class TaskInputsPreview(BaseModel):
    """``inputs`` of the task; ``video`` names the clip file that will be uploaded."""

    model_config = ConfigDict(extra="forbid")

    video: str
    frameImages: list[FrameImagePreview | str] = Field(default_factory=list, max_length=5)

    @model_serializer(mode="wrap")
    def _drop_empty_frames(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # The API wants 1-5 frameImages or none at all, never an empty list.
        data: dict[str, Any] = handler(self)
        if not data.get("frameImages"):
            data.pop("frameImages", None)
        return data


class TaskPreview(BaseModel):
    """The ``videoInference`` task a shot becomes (no taskUUID: the ledger mints it)."""

    model_config = ConfigDict(extra="forbid")

    taskType: Literal["videoInference"] = "videoInference"
    model: str = MODEL_ID
    deliveryMethod: Literal["async"] = "async"
    positivePrompt: str = Field(min_length=1, max_length=1000)
    numberResults: int = Field(default=1, ge=1, le=4)
    outputFormat: OutputFormat = "MP4"
    outputQuality: int = Field(default=95, ge=20, le=99)
    inputs: TaskInputsPreview


class BatchShot(Shot):
    """A planned shot plus what it will cost and the task it becomes."""

    seconds: float = Field(description="duration of the input clip sent to Aleph")
    estimated_cost_usd: float = Field(description="seconds x results x documented price")
    task: TaskPreview


class Batch(BaseModel):
    """The whole manifest; ``format``/``version`` identify the file."""

    format: Literal["aleph-otio.batch"] = BATCH_FORMAT
    version: int = BATCH_VERSION
    timeline: str = Field(description="path of the timeline that was planned")
    timeline_name: str = ""
    created: str = Field(description="ISO 8601 UTC time the batch was planned")
    settings: PlanSettings
    shots: list[BatchShot] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list, description="one line per refused marker")
    warnings: list[str] = Field(
        default_factory=list,
        description="one line per thing the reader skipped or ignored (events, marker copies)",
    )
    total_seconds: float = 0.0
    estimated_cost_usd: float = 0.0


def clip_file_name(shot: Shot) -> str:
    """File name of the input clip prepared for ``shot`` (what ``inputs.video`` will carry)."""
    return f"shot-{shot.id}.mp4"


def task_preview(shot: Shot) -> TaskPreview:
    """The videoInference task for ``shot``, in the API's field names."""
    frames: list[FrameImagePreview | str] = []
    for g in shot.guides:
        if g.frame is not None:
            frames.append(FrameImagePreview(image=g.image, frame=g.frame))
        elif g.timestamp is not None:
            # The API takes hundredths of a second; planning works in frames.
            frames.append(FrameImagePreview(image=g.image, timestamp=round(g.timestamp, 2)))
        else:
            frames.append(g.image)
    return TaskPreview(
        positivePrompt=shot.prompt,
        numberResults=shot.options.number_results,
        outputFormat=shot.options.output_format,
        outputQuality=shot.options.output_quality,
        inputs=TaskInputsPreview(video=clip_file_name(shot), frameImages=frames),
    )


def plan_to_batch(
    plan: Plan, settings: PlanSettings, *, price_per_second: float = DEFAULT_PRICE_PER_SECOND
) -> Batch:
    """Wrap a plan into a batch manifest with task previews and a cost estimate."""
    shots: list[BatchShot] = []
    for shot in plan.shots:
        seconds = round(shot.duration_seconds, 3)
        cost = round(seconds * shot.options.number_results * price_per_second, 2)
        shots.append(
            BatchShot(
                **shot.model_dump(),
                seconds=seconds,
                estimated_cost_usd=cost,
                task=task_preview(shot),
            )
        )
    return Batch(
        timeline=plan.timeline_path,
        timeline_name=plan.timeline_name,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        settings=settings,
        shots=shots,
        errors=list(plan.errors),
        warnings=list(plan.warnings),
        total_seconds=round(sum(s.seconds for s in shots), 3),
        estimated_cost_usd=round(sum(s.estimated_cost_usd for s in shots), 2),
    )


def batch_json(batch: Batch) -> str:
    """The manifest as pretty JSON text (what :func:`write_batch` writes)."""
    return json.dumps(batch.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
