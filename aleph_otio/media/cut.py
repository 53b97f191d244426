"""Frame-accurate cuts with PyAV: seek to the keyframe before, decode forward, re-encode."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import av.error
from av.video.frame import PictureType
from av.video.reformatter import ColorRange, Colorspace
from av.video.stream import VideoStream
from pydantic import BaseModel, ConfigDict

from aleph_otio.errors import MediaError
from aleph_otio.files import atomic_path, sha256_file
from aleph_otio.media.frames import SCALER, FrameCounter, Upright, iter_frames, output_size
from aleph_otio.media.pixels import (
    DISPLAY_709,
    ClipColor,
    clip_color,
    colour_step,
    conversion,
    to_rgb,
)
from aleph_otio.media.probe import (
    probe,
)
from aleph_otio.media.stills import sample_aspect
from aleph_otio.shots import Shot

if TYPE_CHECKING:
    from aleph_otio.media.colour import ColourStep


class PreparedClip(BaseModel):
    """The input clip made for one shot (what gets uploaded to Aleph)."""

    model_config = ConfigDict(frozen=True)

    path: str
    frame_count: int
    rate: float
    rate_fraction: str
    width: int
    height: int
    sha256: str
    decoded_frames: int = 0
    """Frames decoded to make it (wanted frames + pre-roll from keyframes): shows seek cost."""


def _clip_stream(
    output: av.container.OutputContainer,
    rate: Fraction,
    width: int,
    height: int,
    crf: int,
    preset: str,
    color: ClipColor,
) -> VideoStream:
    """The clip's H.264 stream: x264 with ``crf``/``preset``, yuv420p, video levels, tagged."""
    stream = output.add_stream("libx264", rate=rate)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    stream.options = {"crf": str(crf), "preset": preset}
    ctx = stream.codec_context
    # PyAV defaults encoders to slice threads; x264 is much faster with frame threads,
    # which is also what the ffmpeg CLI uses (same speed, same bitstream).
    ctx.thread_type = "AUTO"
    ctx.color_range = ColorRange.MPEG
    ctx.color_primaries, ctx.color_trc, ctx.colorspace = color.primaries, color.trc, color.matrix
    ctx.time_base = Fraction(rate.denominator, rate.numerator)
    return stream


@dataclass
class _Range:
    path: Path
    start: int
    count: int
    label: str = ""


def _shot_ranges(shot: Shot) -> list[_Range]:
    """The (file, first media frame, count) ranges of a shot, handles folded in, merged."""
    if not shot.segments:
        raise MediaError(f"shot {shot.name}: has no source segments; re-plan the timeline")
    ranges = [
        _Range(
            Path(s.media_path),
            s.media_start_frame,
            s.media_frame_count,
            f"clip {s.clip_name!r} on track {s.track_name!r} at {s.source_tc_in}",
        )
        for s in shot.segments
    ]
    ranges[0].start -= shot.head_frames
    ranges[0].count += shot.head_frames
    ranges[-1].count += shot.tail_frames
    merged: list[_Range] = []
    for rng in ranges:
        last = merged[-1] if merged else None
        if last is not None and last.path == rng.path and last.start + last.count == rng.start:
            last.count += rng.count
        else:
            merged.append(rng)
    return merged


def prepare_shot(
    shot: Shot,
    out_path: Path,
    *,
    max_height: int = 1080,
    crf: int = 17,
    preset: str = "fast",
) -> PreparedClip:
    """Cut a shot's input clip frame-accurately into an H.264 MP4 ready for upload.

    The clip is ``shot.head_frames`` media frames before the first segment, every segment's
    ``media_start_frame .. +media_frame_count`` in order (several files for a shot across a
    cut), then ``shot.tail_frames`` after the last. Output: H.264 (libx264, ``crf``/``preset``),
    yuv420p at video levels (full-range sources are scaled to them), tagged with the first
    source's primaries, transfer and matrix (RGB sources: BT.709), the first source's exact
    frame rate (divided by ``shot.send_step``: a 59.94 fps source is sent at 29.97 fps, frames
    0, 2, 4, ... of the clip), constant frame rate with timestamps from 0, no audio, turned
    upright as players show it (a phone's display matrix), scaled down to fit ``max_height``
    (and 16:9 of it) with even dimensions. Written atomically: ``out_path`` is either the
    complete clip or untouched.
    """
    ranges = _shot_ranges(shot)
    infos = {}
    for rng in ranges:
        if rng.path not in infos:
            # No packet count: for MKV/WEBM/MXF it reads the whole file, and iter_frames finds
            # the end of the media anyway; MP4/MOV counts come free and fail early.
            infos[rng.path] = probe(rng.path, count_frames=False)
        info = infos[rng.path]
        if info.is_still:
            raise MediaError(f"{rng.path}: is a still image, not a video ({rng.label}); relink it")
        known_end = info.frame_count if info.frame_count > 0 else None
        if rng.start < 0 or (known_end is not None and rng.start + rng.count > known_end):
            has = f"frames 0-{known_end - 1}" if known_end is not None else "no frame before 0"
            raise MediaError(
                f"{rng.path}: {rng.label}: needs media frames {rng.start}-"
                f"{rng.start + rng.count - 1} (handles included) but the file has {has};"
                " shorten the handles or relink to longer media"
            )
    first = infos[ranges[0].path]
    source_rate = first.fraction
    # A high-rate source goes at half rate: every ``send_step``-th frame, from the first.
    rate = source_rate / shot.send_step
    for rng in ranges[1:]:
        other = infos[rng.path]
        if other.fraction != source_rate:
            # Concatenating would silently retime one side and break the split back at the cut.
            raise MediaError(
                f"{rng.path}: {rng.label}: runs at {other.rate_fraction} fps but the shot starts"
                f" in {ranges[0].path.name} at {first.rate_fraction} fps; one Aleph clip needs"
                " one frame rate: split the marker at the cut or conform the media"
            )
    sar = sample_aspect(ranges[0].path)
    # Coloured clips are display-referred Rec.709 whatever the source was.
    color = clip_color(first) if shot.colour is None else DISPLAY_709
    step: ColourStep | None = None
    counter = FrameCounter()
    total = 0
    position = 0  # source frames of the clip so far (handles included)
    width = height = 0
    with atomic_path(Path(out_path), ".mp4") as tmp:
        with av.open(str(tmp), "w", format="mp4") as output:
            # Opened at the first frame: its display matrix decides the clip's orientation.
            stream: VideoStream | None = None
            time_base = Fraction(rate.denominator, rate.numerator)
            first_turn: Upright | None = None
            for rng in ranges:
                convert = conversion(infos[rng.path], color)
                upright: Upright | None = None
                for frame in iter_frames(rng.path, rng.start, rng.count, counter=counter):
                    position += 1
                    if (position - 1) % shot.send_step:
                        continue
                    if upright is None:
                        upright = Upright(frame)
                        first_turn = first_turn or upright
                        if upright.sideways != first_turn.sideways:
                            raise MediaError(
                                f"{rng.path}: {rng.label}: shown {upright.shown} but the shot "
                                f"starts in {ranges[0].path.name}, shown {first_turn.shown}; one "
                                "Aleph clip needs one orientation: split the marker at the cut"
                            )
                    if stream is None:
                        width, height = output_size(
                            *upright.size(frame), max_height, upright.aspect(sar)
                        )
                        stream = _clip_stream(output, rate, width, height, crf, preset, color)
                        step = colour_step(shot.colour, width, height)
                    if step is not None:
                        # Decode -> scale to RGB planes -> colour -> the encoder's YUV.
                        shown = upright(frame)
                        display = step.from_decoded(
                            shown, width, height, **to_rgb(infos[rng.path], shown)
                        )
                        out = display.reformat(
                            format="yuv420p",
                            dst_colorspace=Colorspace.ITU709,
                            dst_color_range=ColorRange.MPEG,
                        )
                    else:
                        out = upright(frame).reformat(
                            width=width,
                            height=height,
                            format="yuv420p",
                            interpolation=SCALER,
                            **convert,  # type: ignore[arg-type]
                        )
                    # Let x264 place keyframes itself, as the ffmpeg CLI does.
                    out.pict_type = PictureType.NONE
                    out.pts, out.time_base = total, time_base
                    output.mux(stream.encode(out))
                    total += 1
            if stream is None:
                raise MediaError(f"{ranges[0].path}: no frames decoded; re-export the file")
            output.mux(stream.encode())
        digest = sha256_file(tmp)
    return PreparedClip(
        path=str(out_path),
        frame_count=total,
        rate=float(rate),
        rate_fraction=f"{rate.numerator}/{rate.denominator}",
        width=width,
        height=height,
        sha256=digest,
        decoded_frames=counter.decoded,
    )
