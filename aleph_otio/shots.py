"""What a plan is made of: Shots, their source segments and guide frames.

A :class:`Shot` carries everything the later stages need (cutting media, building the task,
relinking the result) so that none of them has to look at the timeline again, except relink,
which finds its clips by ``track_index``/``clip_index`` in a fresh read of the same timeline.

Conventions:
- *media frames* count from the first frame of the source file (0-based), at ``media_rate``;
  that is what the media cutter decodes.
- *source time* is OTIO's media time: ``available_start + media frame`` at ``media_rate``
  (includes the file's start timecode).
- *record time* is the track's time (where the clip sits in the edit), at ``record_rate``.
- The input clip sent to Aleph is ``head_frames`` of extra media before the first segment,
  then every segment's media frames in order, then ``tail_frames`` after the last one.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aleph_otio.config import OutputFormat


class MediaFacts(BaseModel):
    """What the planner needs to know about a source file (from ``media.probe``)."""

    model_config = ConfigDict(frozen=True)

    path: str
    rate: float
    frame_count: int
    start_frame: int = Field(default=0, description="start timecode as frames at rate (0: none)")
    width: int = 0
    height: int = 0
    has_video: bool = True


class SourceSegment(BaseModel):
    """One clip's part of a shot (a shot across a cut has several)."""

    model_config = ConfigDict(frozen=True)

    clip_name: str
    track_name: str
    track_index: int = Field(description="index of the video track in timeline.tracks")
    clip_index: int = Field(description="index of the clip among the track's children")
    media_path: str = Field(description="absolute local path (or URL) of the source media")
    media_rate: float
    available_start: float = Field(description="available_range start at media_rate (file TC)")
    media_start_frame: int = Field(description="first media frame of the segment, 0-based")
    media_frame_count: int = Field(description="media frames consumed (after time_scalar)")
    record_start: float = Field(description="segment start in track time, at record_rate")
    record_duration: float = Field(description="segment duration in track time, at record_rate")
    record_rate: float
    clip_source_start: float = Field(description="matching part of clip.source_range: start")
    clip_source_duration: float
    clip_source_rate: float
    time_scalar: float = 1.0
    source_tc_in: str = Field(description="source timecode of the first frame (SMPTE)")
    source_tc_out: str = Field(description="source timecode one past the last frame")
    record_tc_in: str = Field(description="record timecode of the first frame (SMPTE)")


class GuideFrame(BaseModel):
    """A still that constrains one frame of the result (``inputs.frameImages``)."""

    model_config = ConfigDict(frozen=True)

    image: str = Field(description="local path, URL or UUID of the still")
    frame: Literal["first", "last"] | None = None
    timestamp: float | None = Field(default=None, description="seconds from the input clip start")
    origin: str = Field(default="", description="where it came from, for messages")


class TaskOptions(BaseModel):
    """Per-shot task parameters (the rest come from the API settings)."""

    model_config = ConfigDict(frozen=True)

    number_results: int = Field(default=1, ge=1, le=4)
    output_format: OutputFormat = "MP4"
    output_quality: int = Field(default=95, ge=20, le=99)


class ShotColour(BaseModel):
    """The colour pipeline of one shot, fully resolved: what identifies its transform.

    Files are named with their content hash, so a changed LUT or CDL is a changed request.
    """

    model_config = ConfigDict(frozen=True)

    config: str = Field(description="OCIO config file or ocio:// URI")
    config_id: str = Field(description="the config's name (built-in) or file sha256")
    input_colorspace: str
    input_from: str = Field(default="", description="where the input space came from")
    working_colorspace: str
    display: str
    view: str | None = Field(default=None, description="None when a show LUT replaces it")
    lut: str | None = None
    lut_sha256: str | None = None
    cdl: str | None = None
    cdl_id: str | None = Field(default=None, description="the ColorCorrection id used")
    cdl_sha256: str | None = None
    return_colorspace: str = "display"

    def identity(self) -> dict[str, object]:
        """What the transform depends on (not where the choice came from)."""
        return self.model_dump(exclude={"input_from"})

    def describe(self) -> str:
        """One line for the plan: the pipeline in order and what comes back."""
        steps = [self.input_colorspace]
        if self.working_colorspace != self.input_colorspace:
            steps.append(self.working_colorspace)
        if self.cdl:
            steps.append(f"CDL {self.cdl_id or ''}".strip())
        steps.append(f"LUT {self.lut}" if self.lut else f"{self.display} / {self.view}")
        back = (
            f"converted back to {self.input_colorspace} (approximate)"
            if self.return_colorspace == "source"
            else f"display-referred ({self.display}, tagged BT.709)"
        )
        origin = f" [{self.input_from}]" if self.input_from else ""
        return f"colour: {' -> '.join(steps)}{origin}; return: {back}"


class Shot(BaseModel):
    """One Aleph task: a prompt, an input clip made of segments, and guide frames."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="stable id derived from the content (see shot_id)")
    name: str = Field(description="shot name, safe as a file name: 'SQ010_SH020' (naming.py)")
    prompt: str
    segments: list[SourceSegment]
    guides: list[GuideFrame] = Field(default_factory=list)
    head_frames: int = 0
    tail_frames: int = 0
    options: TaskOptions = Field(default_factory=TaskOptions)
    marker_name: str = ""
    reel: str = Field(default="", description="source reel (tape) name(s), for sheets")
    marker_location: str = Field(default="", description="file/track/clip/TC of the marker")
    part: int = Field(default=1, description="1-based part number when a long shot was split")
    parts: int = 1
    warnings: list[str] = Field(default_factory=list)
    colour: ShotColour | None = Field(default=None, description="None: pictures sent as they are")
    send_step: int = Field(
        default=1,
        ge=1,
        description="source frames per frame sent: 2 when a high-rate source goes at half rate",
    )

    @property
    def media_rate(self) -> float:
        return self.segments[0].media_rate

    @property
    def frame_count(self) -> int:
        """Frames of the input clip sent to Aleph (handles included)."""
        return self.head_frames + sum(s.media_frame_count for s in self.segments) + self.tail_frames

    @property
    def duration_seconds(self) -> float:
        return self.frame_count / self.media_rate

    @property
    def sent_frame_count(self) -> int:
        """Frames of the clip Aleph receives: every ``send_step``-th source frame from the first."""
        return -(-self.frame_count // self.send_step)

    @property
    def sent_rate(self) -> float:
        """The frame rate of the clip Aleph receives (and of its result)."""
        return self.media_rate / self.send_step


class Plan(BaseModel):
    """The result of planning one timeline."""

    timeline_path: str
    timeline_name: str
    shots: list[Shot]
    errors: list[str] = Field(default_factory=list, description="one line per refused marker")
    warnings: list[str] = Field(
        default_factory=list,
        description="one line per thing the reader skipped or ignored (events, marker copies)",
    )


def distinct(shots: Iterable[Shot]) -> list[Shot]:
    """One shot per id, in plan order (the first place of a shot planned at several places).

    A shot id is what is paid for: the same request on a source range cut into the edit twice
    is planned at both places but sent, paid and estimated once.
    """
    first: dict[str, Shot] = {}
    for shot in shots:
        first.setdefault(shot.id, shot)
    return list(first.values())


def placement(shot: Shot) -> tuple[tuple[int, int, float], ...]:
    """Where a shot sits in its timeline: (track index, clip index, record start) per segment.

    Two shots with one id and different placements are the same request at two places.
    """
    return tuple((s.track_index, s.clip_index, s.record_start) for s in shot.segments)


#: ``json.dumps(payload, sort_keys=True)`` without building an encoder per call (ids are stored
#: in ledgers: the text hashed must never change).
_CANONICAL = json.JSONEncoder(sort_keys=True)


@functools.lru_cache(maxsize=64)
def _options_payload(options: TaskOptions) -> dict[str, object]:
    # Frozen, so hashable; most shots of a plan share one TaskOptions. Not to be mutated.
    return options.model_dump()


def shot_id(
    prompt: str,
    segments: list[SourceSegment],
    guides: list[GuideFrame],
    head: int,
    tail: int,
    options: TaskOptions,
    colour: ShotColour | None = None,
    send_step: int = 1,
) -> str:
    """A stable id: the same prompt, media range, guides, options and colour give the same id.

    A changed prompt, range, colour transform or frame step gives a new id, so the ledger treats
    it as a new shot. Without colour and at full rate the hashed text is exactly what it was
    before either existed, so ledgers written then still resume.
    """
    payload: dict[str, object] = {
        "prompt": prompt,
        "segments": [
            [s.media_path, s.media_start_frame, s.media_frame_count, s.time_scalar]
            for s in segments
        ],
        "guides": [[g.image, g.frame, g.timestamp] for g in guides],
        "handles": [head, tail],
        "options": _options_payload(options),
    }
    if colour is not None:
        payload["colour"] = colour.identity()
    if send_step != 1:
        payload["send_step"] = send_step
    digest = hashlib.sha256(_CANONICAL.encode(payload).encode()).hexdigest()
    return digest[:12]
