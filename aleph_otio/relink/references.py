"""A result as an OTIO media reference: its URL, its time code aligned to a segment, and the
provenance written under ``metadata["aleph_otio"]`` (also used by the media linker)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal

import opentimelineio as otio

from aleph_otio.config import MODEL_ID
from aleph_otio.errors import RelinkError
from aleph_otio.shots import Shot, SourceSegment
from aleph_otio.timeline.sequences import parse_sequence, sequence_reference

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange

RelinkMode = Literal["version", "reference", "replace"]
UrlStyle = Literal["path", "uri"]

#: Namespace of everything aleph-otio writes into OTIO metadata.
METADATA_KEY = "aleph_otio"
TRACK_PREFIX = "ALEPH v"
REFERENCE_PREFIX = "aleph_v"
#: Digits of a png_sequence result's frame numbers (``aleph_otio.media.png_frames``).
SEQUENCE_PADDING = 7


@dataclass(frozen=True)
class RelinkResult:
    """One downloaded result (one variation of one shot) and where it came from."""

    shot: Shot
    variant: int
    path: str
    frame_count: int
    rate: float
    width: int = 0
    height: int = 0
    task_uuid: str = ""
    model: str = MODEL_ID
    prompt: str | None = None
    seed: int | None = None
    cost: float | None = None
    created: str = ""
    video_uuid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: The shot's version (v001 = 1) when the ledger numbers it: results of several versions
    #: of one shot name are then kept side by side (one track, or one reference, per version).
    version: int | None = None
    #: ``path`` is a folder of frames ``<folder>.<frame>.png`` numbered from the result's
    #: first source frame (Runway's png_sequence), relinked as an ImageSequenceReference.
    image_sequence: bool = False


def result_url(path: str, url_style: UrlStyle = "path") -> str:
    """The ``target_url`` for a result file: absolute OS path, or ``file://`` URI."""
    if "://" in path:
        return path
    absolute = os.path.abspath(path)
    if url_style == "uri":
        return PurePath(absolute).as_uri()
    return absolute


def segment_offsets(shot: Shot) -> list[int]:
    """Frame of the result where each segment starts (after the head handles)."""
    offsets, at = [], shot.head_frames
    for segment in shot.segments:
        offsets.append(at)
        at += segment.media_frame_count
    return offsets


def result_start_frame(shot: Shot, segment_index: int = 0) -> float:
    """Source frame (time code at the media rate) of a result's first frame, aligned to a segment.

    Segment 0 alignment is the result's natural time code: the source time of the input clip's
    first frame, handles included. The pipeline stamps result files with it.
    """
    segment = shot.segments[segment_index]
    offset = segment_offsets(shot)[segment_index]
    return segment.available_start + segment.media_start_frame - offset


def describe(shot: Shot, segment: SourceSegment | None = None) -> str:
    seg = segment or shot.segments[0]
    return (
        f"shot {shot.name!r} ({shot.id}, clip {seg.clip_name!r} on track {seg.track_name!r} "
        f"at {seg.record_tc_in})"
    )


def check_result(result: RelinkResult) -> None:
    shot = result.shot
    if result.frame_count < shot.frame_count:
        raise RelinkError(
            f"{describe(shot)}: result {result.path} has {result.frame_count} frames, the shot "
            f"needs {shot.frame_count}; download it again or re-run the shot"
        )
    if abs(result.rate - shot.media_rate) > 0.01:
        raise RelinkError(
            f"{describe(shot)}: result {result.path} runs at {result.rate:g} fps, the source at "
            f"{shot.media_rate:g} fps; conform it to the source rate before relinking"
        )


def result_reference(
    result: RelinkResult,
    *,
    segment_index: int = 0,
    url_style: UrlStyle = "path",
    name: str | None = None,
) -> otio.schema.ExternalReference | otio.schema.ImageSequenceReference:
    """An ExternalReference for the result, its time code aligned to segment ``segment_index``
    (an ImageSequenceReference for a folder of frames, ``image_sequence``).

    Aligned to segment ``i``, the result frame where that segment starts sits at the segment's
    own source time, so that segment's original ``source_range`` addresses the same frames in
    the result. Segment 0 alignment is the result's natural time code.
    """
    shot = result.shot
    rate = shot.segments[segment_index].media_rate
    start = result_start_frame(shot, segment_index)
    available = TR(RT(start, rate), RT(result.frame_count, rate))
    pattern = parse_sequence(result.path)
    ref: otio.schema.ExternalReference | otio.schema.ImageSequenceReference
    if pattern is not None:
        # A result delivered as an EXR/DPX sequence, numbered from the plate's first frame.
        ref = sequence_reference(pattern, available_start=start)
        if url_style == "uri":
            ref.target_url_base = PurePath(pattern.folder).as_uri() + "/"
        ref.name = name or pattern.name
    elif result.image_sequence:
        folder = PurePath(result.path)
        ref = otio.schema.ImageSequenceReference(
            target_url_base=result_url(result.path, url_style).rstrip("/") + "/",
            name_prefix=f"{folder.name}.",
            name_suffix=".png",
            # The files are numbered from the result's own first frame (segment 0's start).
            start_frame=round(result_start_frame(shot)),
            frame_step=1,
            rate=rate,
            frame_zero_padding=SEQUENCE_PADDING,
            available_range=available,
        )
        ref.name = name or folder.name
    else:
        ref = otio.schema.ExternalReference(
            target_url=result_url(result.path, url_style), available_range=available
        )
        ref.name = name or PurePath(result.path).name
    facts: dict[str, Any] = {"frame_count": result.frame_count, "rate": result.rate}
    if result.width and result.height:
        facts.update(width=result.width, height=result.height)
    if result.video_uuid:
        facts["video_uuid"] = result.video_uuid
    ref.metadata[METADATA_KEY] = facts
    return ref


def provenance(result: RelinkResult, segment_index: int = 0, **more: Any) -> dict[str, Any]:
    """What goes under ``metadata["aleph_otio"]`` for one piece of one result."""
    shot = result.shot
    segment = shot.segments[segment_index]
    data: dict[str, Any] = {
        "shot_id": shot.id,
        "shot_name": shot.name,
        "task_uuid": result.task_uuid,
        "model": result.model,
        "prompt": result.prompt if result.prompt is not None else shot.prompt,
        "variant": result.variant,
        "created": result.created,
        "result_path": result.path,
        "source_clip": segment.clip_name,
        "source_track": segment.track_name,
        "source_range": {
            "start_time": segment.clip_source_start,
            "duration": segment.clip_source_duration,
            "rate": segment.clip_source_rate,
            "tc_in": segment.source_tc_in,
            "tc_out": segment.source_tc_out,
        },
        "record_tc_in": segment.record_tc_in,
        "piece": segment_index,
        "pieces": len(shot.segments),
    }
    if result.seed is not None:
        data["seed"] = result.seed
    if result.cost is not None:
        data["cost"] = result.cost
    if result.video_uuid:
        data["video_uuid"] = result.video_uuid
    if result.version is not None:
        data["shot_version"] = result.version
    if shot.colour is not None:
        # What the result's pictures are, for the grade: display-referred or the plates' space.
        source = shot.colour.return_colorspace == "source"
        data["colorspace"] = shot.colour.input_colorspace if source else shot.colour.display
        data["colour_pipeline"] = shot.colour.describe()
    data.update(result.extra)
    data.update(more)
    return data


def original_media_reference(clip: otio.schema.Clip) -> otio.core.MediaReference | None:
    """The reference a ``replace`` relink swapped out of ``clip`` (None if it was not replaced)."""
    data = clip.metadata.get(METADATA_KEY, {}).get("original_media_reference")
    if not data:
        return None
    ref = otio.adapters.read_from_string(str(data), "otio_json")
    return ref if isinstance(ref, otio.core.MediaReference) else None
