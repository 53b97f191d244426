"""A planned Aleph task in Runway's terms: the ``video_to_video.create`` arguments for ``aleph2``.

The plan speaks one language (:class:`~aleph_otio.api.models.VideoInferenceTask`, Runware's wire
model, which the pipeline builds for every shot); this module says what it means on Runway's own
API, and refuses, with what to do instead, what Runway has no equivalent for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from aleph_otio.api.models import FrameImage, VideoInferenceTask
from aleph_otio.config import APISettings
from aleph_otio.errors import ConfigError

RunwayFormat = Literal["mp4", "prores", "png_sequence", "sdr_rec709_10bit"]
ProresProfile = Literal["422", "4444", "422 Proxy", "422 LT", "422 HQ", "4444 XQ"]
RUNWAY_FORMATS: tuple[str, ...] = ("mp4", "prores", "png_sequence", "sdr_rec709_10bit")
PRORES_PROFILES: tuple[str, ...] = ("422", "4444", "422 Proxy", "422 LT", "422 HQ", "4444 XQ")
MAX_SEED = 4294967295
MAX_KEYFRAMES = 5


@dataclass(frozen=True)
class RunwayOptions:
    """What the Runway backend adds to a task: output format, ProRes profile, seed."""

    output_format: RunwayFormat = "mp4"
    prores_profile: ProresProfile | None = None
    #: The first result's seed; result i gets ``seed + i``. None: the backend picks one per shot
    #: and records it, so a version can be made again.
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.output_format not in RUNWAY_FORMATS:
            raise ConfigError(
                f"--output-format {self.output_format!r}: Runway returns "
                + ", ".join(RUNWAY_FORMATS)
            )
        if self.prores_profile is not None and self.output_format != "prores":
            raise ConfigError("--prores-profile needs --output-format prores")
        if self.prores_profile is not None and self.prores_profile not in PRORES_PROFILES:
            raise ConfigError(
                f"--prores-profile {self.prores_profile!r}: use one of "
                + ", ".join(PRORES_PROFILES)
            )
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise ConfigError(f"--seed {self.seed}: use a whole number from 0 to {MAX_SEED}")


def refuse_runware_only(settings: APISettings) -> None:
    """ConfigError for a delivery option Runway's API does not have."""
    lacking = [
        ("--ttl", settings.ttl is not None, "Runway's result URLs expire on their own (24-48 h)"),
        ("--webhook-url", settings.webhook_url is not None, "Runway tasks are polled"),
        (
            "--upload-endpoint",
            settings.upload_endpoint is not None,
            "results are downloaded from Runway's URLs",
        ),
        ("--safety", settings.safety_mode is not None, "Runway moderates every task itself"),
    ]
    for option, given, why in lacking:
        if given:
            raise ConfigError(
                f"{option} is a Runware option; the Runway backend has no such setting ({why}): "
                "drop it, or use --backend runware"
            )


def _keyframe(item: str | FrameImage, index: int, count: int) -> dict[str, Any]:
    if isinstance(item, str):
        # Runware spreads unpinned guides from the first frame to the last; so do we.
        return {"uri": item, "at": 0.0 if count == 1 else index / (count - 1)}
    if item.timestamp is not None:
        return {"uri": item.image, "seconds": item.timestamp}
    if item.frame in ("last", -1):
        return {"uri": item.image, "at": 1.0}
    return {"uri": item.image, "at": 0.0}


def create_arguments(
    task: VideoInferenceTask, *, uris: dict[str, str], options: RunwayOptions, seed: int
) -> dict[str, Any]:
    """Keyword arguments of ``video_to_video.create`` for one result of ``task``.

    ``uris`` maps the references the pipeline holds (see :meth:`RunwayBackend.upload_media`) to
    Runway upload URIs; references not in it (hosted URLs) go as they are.
    """
    where = f"task {task.task_uuid}"
    if task.output_format != "MP4":
        raise ConfigError(
            f"{where}: outputFormat {task.output_format} is a Runware format; with the Runway "
            "backend choose --output-format mp4, prores, png_sequence or sdr_rec709_10bit"
        )
    if task.output_quality != 95:
        raise ConfigError(
            f"{where}: outputQuality is a Runware option; Runway has no quality setting "
            "(use --output-format prores for a mastering-grade file)"
        )
    frames = task.inputs.frame_images or []
    if len(frames) > MAX_KEYFRAMES:
        raise ConfigError(
            f"{where}: {len(frames)} guide frames; Runway's aleph2 takes at most {MAX_KEYFRAMES}"
        )
    keyframes = []
    for index, item in enumerate(frames):
        frame = _keyframe(item, index, len(frames))
        frame["uri"] = uris.get(frame["uri"], frame["uri"])
        keyframes.append(frame)
    args: dict[str, Any] = {
        "model": "aleph2",
        "video_uri": uris.get(task.inputs.video, task.inputs.video),
        "prompt_text": task.positive_prompt,
        "output_format": options.output_format,
        "seed": seed,
    }
    if keyframes:
        args["keyframes"] = keyframes
    if options.output_format == "prores":
        args["prores_profile"] = options.prores_profile or "4444"
    return args
