"""The batch manifest (``*.aleph.json``): a planned timeline, ready to review or submit.

A batch holds the plan's shots, the settings they were planned with, the markers that could
not be planned, and for each shot a preview of the ``videoInference`` task it will become, in
the API's own field names. It is what ``aleph-otio plan -o`` and ``otioconvert -o x.aleph.json``
write; reading it back through OTIO gives a timeline of the planned shots.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    model_serializer,
)

from aleph_otio.config import DEFAULT_PRICE_PER_SECOND, MODEL_ID, OutputFormat, PlanSettings
from aleph_otio.errors import ConfigError, TimelineReadError, TimelineWriteError
from aleph_otio.shots import MediaFacts, Plan, Shot
from aleph_otio.timeline.sequences import parse_sequence

if TYPE_CHECKING:
    import opentimelineio as otio

_log = logging.getLogger("aleph_otio.batch")

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


def write_batch(batch: Batch, path: Path | str) -> Path:
    """Write the manifest atomically (a temporary file in the same folder, then rename)."""
    path = Path(path)
    text = batch_json(batch)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise TimelineWriteError(
            f"{path}: cannot write the batch manifest ({exc.strerror or exc}); "
            "check the folder exists and is writable"
        ) from None
    return path


def _load_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TimelineReadError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TimelineReadError(f"{path}: cannot read it ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TimelineReadError(
            f"{path}: not an aleph-otio batch manifest (invalid JSON at line {exc.lineno}, "
            f"column {exc.colno})"
        ) from None


def _check_batch_data(path: Path, data: Any) -> None:
    if not isinstance(data, dict) or data.get("format") != BATCH_FORMAT:
        raise TimelineReadError(
            f'{path}: not an aleph-otio batch manifest (no "format": "{BATCH_FORMAT}"); '
            "make one with: aleph-otio plan TIMELINE -o NAME.aleph.json"
        )
    version = data.get("version")
    if not isinstance(version, int) or version > BATCH_VERSION:
        raise TimelineReadError(
            f"{path}: batch manifest version {version!r} is newer than this aleph-otio "
            f"understands ({BATCH_VERSION}); upgrade aleph-otio"
        )


def read_batch(path: Path | str) -> Batch:
    """Read and validate a manifest; a clear TimelineReadError for anything else."""
    path = Path(path)
    return _batch_from_data(path, _load_json(path))


def _batch_from_data(path: Path, data: Any) -> Batch:
    _check_batch_data(path, data)
    try:
        return Batch.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise TimelineReadError(
            f"{path}: invalid batch manifest at {where}: {first['msg']} "
            f"({exc.error_count()} problem(s)); re-plan the timeline to regenerate it"
        ) from None


# --- back to OTIO ---------------------------------------------------------------------------


def _media_extents(batch: Batch) -> dict[str, tuple[float, float, int]]:
    """path -> (available_start, rate, frames known to exist) over every shot using it."""
    extents: dict[str, tuple[float, float, int]] = {}
    for shot in batch.shots:
        last = len(shot.segments) - 1
        for i, seg in enumerate(shot.segments):
            tail = shot.tail_frames if i == last else 0
            end = seg.media_start_frame + seg.media_frame_count + tail
            known = extents.get(seg.media_path)
            frames = max(end, known[2]) if known else end
            extents[seg.media_path] = (seg.available_start, seg.media_rate, frames)
    return extents


def batch_to_timeline(batch: Batch) -> otio.schema.Timeline:
    """A timeline of the planned shots: one video track, one clip per source segment.

    Shots follow one another; each carries a track marker ``aleph: <prompt>`` over its clips
    (metadata ``aleph`` holds the prompt, options and guides), so planning this timeline again
    asks for the same edits. Media references keep their file timecode; their available range
    covers the frames the batch knows to exist.
    """
    import opentimelineio as otio

    rt, tr = otio.opentime.RationalTime, otio.opentime.TimeRange
    extents = _media_extents(batch)
    timeline = otio.schema.Timeline(
        name=f"{batch.timeline_name or Path(batch.timeline).stem} (aleph batch)",
        metadata={"aleph_otio": {"batch": {"timeline": batch.timeline, "created": batch.created}}},
    )
    track = otio.schema.Track(name="ALEPH BATCH", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for shot in batch.shots:
        shot_start = track.duration()
        for seg in shot.segments:
            available_start, media_rate, frames = extents[seg.media_path]
            reference = otio.schema.ExternalReference(
                target_url=seg.media_path,
                available_range=tr(rt(available_start, media_rate), rt(frames, media_rate)),
            )
            clip = otio.schema.Clip(
                name=seg.clip_name,
                media_reference=reference,
                source_range=tr(
                    rt(seg.clip_source_start, seg.clip_source_rate),
                    rt(seg.clip_source_duration, seg.clip_source_rate),
                ),
                metadata={
                    "aleph_otio": {
                        "shot_id": shot.id,
                        "track": seg.track_name,
                        "track_index": seg.track_index,
                        "clip_index": seg.clip_index,
                        "record_tc_in": seg.record_tc_in,
                    }
                },
            )
            if seg.time_scalar != 1.0:
                clip.effects.append(otio.schema.LinearTimeWarp(time_scalar=seg.time_scalar))
            track.append(clip)
        duration = track.duration() - shot_start
        guides = [
            g.model_dump(include={"image", "frame", "timestamp"}, exclude_none=True)
            for g in shot.guides
        ]
        track.markers.append(
            otio.schema.Marker(
                name=f"aleph: {shot.prompt}",
                marked_range=tr(shot_start, duration),
                color=otio.schema.MarkerColor.PURPLE,
                metadata={
                    "aleph": {
                        "prompt": shot.prompt,
                        "numberResults": shot.options.number_results,
                        "outputFormat": shot.options.output_format,
                        "outputQuality": shot.options.output_quality,
                        "guides": guides,
                    },
                    "aleph_otio": {
                        "shot_id": shot.id,
                        "shot_name": shot.name,
                        "marker_location": shot.marker_location,
                        "part": shot.part,
                        "parts": shot.parts,
                        "head_frames": shot.head_frames,
                        "tail_frames": shot.tail_frames,
                    },
                },
            )
        )
    return timeline


# --- the OTIO adapter's logic (adapters/aleph_json.py delegates here) ---------------------------

#: Adapter keyword arguments beyond PlanSettings' fields.
_ADAPTER_KWARGS = {"timeline_path", "source_adapter"}


def settings_from_kwargs(kwargs: Mapping[str, Any]) -> PlanSettings:
    """PlanSettings from adapter keyword arguments (``otioconvert -A handles=12``)."""
    fields = set(PlanSettings.model_fields)
    unknown = sorted(set(kwargs) - fields - _ADAPTER_KWARGS)
    if unknown:
        raise ConfigError(
            f"aleph_json adapter: unknown argument(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(fields | _ADAPTER_KWARGS))}"
        )
    try:
        return PlanSettings(**{k: v for k, v in kwargs.items() if k in fields})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"aleph_json adapter: argument {where}: {first['msg']}") from None


def _find_probe() -> Callable[[Path], Any] | None:
    # media is a package whose __init__ may or may not re-export probe(): accept either layout.
    for name in ("aleph_otio.media.probe", "aleph_otio.media"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        probe = getattr(module, "probe", None)
        if callable(probe) and not isinstance(probe, ModuleType):
            return probe
    return None


def default_media_facts() -> Callable[[str], MediaFacts | None] | None:
    """``media.probe`` for files that exist, None elsewhere; None when media.py is missing."""
    probe = _find_probe()
    if probe is None:
        return None

    def facts(path: str) -> MediaFacts | None:
        pattern = parse_sequence(path)
        if pattern is None and not os.path.isfile(path):
            return None
        if pattern is not None and not os.path.isdir(pattern.folder):
            return None
        result = probe(Path(path))
        if isinstance(result, MediaFacts):
            return result
        return MediaFacts.model_validate(result, from_attributes=True)

    return facts


def guess_source_adapter(timeline: otio.schema.Timeline) -> str:
    """The adapter a timeline was most likely read with, from the metadata adapters leave.

    The marker normaliser needs it (EDL and FCP 7 XML markers are not in clip space) and an
    OTIO adapter is handed the timeline without knowing where it came from.
    """
    for item in [timeline, timeline.tracks, *timeline.tracks.find_children()]:
        metadata = item.metadata
        if "cmx_3600" in metadata:
            return "cmx_3600"
        if "fcp_xml" in metadata:
            return "fcp_xml"
    return "otio_json"


def plan_otio_timeline(
    timeline: otio.schema.Timeline,
    settings: PlanSettings,
    *,
    timeline_path: str = "",
    adapter_name: str | None = None,
) -> Plan:
    """Plan an in-memory timeline (what the adapter is handed) with the real planner.

    Relative media paths resolve against ``timeline_path``'s folder, else the current folder
    (as OTIO's own tools do).
    """
    # Imported here for start-up time: the command line imports this module to register `plan`,
    # and the planner and timeline reader (OTIO, PyAV) are only needed once a timeline is planned.
    from aleph_otio.plan import plan_timeline
    from aleph_otio.timeline import LoadedTimeline

    path = Path(timeline_path or f"{timeline.name or 'timeline'}.otio").expanduser().absolute()
    loaded = LoadedTimeline(
        timeline=timeline,
        path=path,
        adapter_name=adapter_name or guess_source_adapter(timeline),
    )
    return plan_timeline(loaded, settings, media_facts=default_media_facts())


def adapter_write(timeline: otio.schema.Timeline, filepath: str, **kwargs: Any) -> None:
    """OTIO ``write_to_file``: plan ``timeline`` and write the batch manifest."""
    import opentimelineio as otio

    if not isinstance(timeline, otio.schema.Timeline):
        raise TimelineWriteError(
            f"{filepath}: the aleph_json adapter writes timelines, not "
            f"{type(timeline).__name__}; pick one timeline first"
        )
    settings = settings_from_kwargs(kwargs)
    plan = plan_otio_timeline(
        timeline,
        settings,
        timeline_path=str(kwargs.get("timeline_path") or ""),
        adapter_name=kwargs.get("source_adapter"),
    )
    write_batch(plan_to_batch(plan, settings), filepath)
    # otioconvert shows no return value: the refused markers must reach the user somehow.
    for line in plan.warnings:
        _log.warning("aleph_json: %s", line)
    for line in plan.errors:
        _log.warning("aleph_json: marker not planned: %s", line)


def adapter_read(filepath: str, **kwargs: Any) -> otio.schema.Timeline:
    """OTIO ``read_from_file``: the timeline of a batch's planned shots.

    The adapter owns the ``json`` suffix, so a plain OTIO JSON document saved as ``.json`` is
    handed to OTIO's own reader instead of being refused.
    """
    path = Path(filepath)
    data = _load_json(path)
    if isinstance(data, dict) and "OTIO_SCHEMA" in data:
        from opentimelineio.adapters import otio_json

        result: otio.schema.Timeline = otio_json.read_from_string(json.dumps(data))
        return result
    return batch_to_timeline(_batch_from_data(path, data))
