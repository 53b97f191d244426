"""Frame-accurate cuts with PyAV: seek to the keyframe before, decode forward, re-encode."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
import av.error
from av.video.frame import PictureType, VideoFrame
from av.video.reformatter import ColorRange, Colorspace
from av.video.stream import VideoStream
from pydantic import BaseModel, ConfigDict

from aleph_otio.errors import MediaError
from aleph_otio.files import sha256_file
from aleph_otio.media.probe import (
    STILL_FORMATS,
    UNSPECIFIED,
    MediaInfo,
    open_media,
    probe,
    stream_rate,
    video_stream,
)
from aleph_otio.shots import Shot, ShotColour
from aleph_otio.synth import write_png

if TYPE_CHECKING:
    from aleph_otio.media.colour import ColourStep

#: Widest output for a given ``max_height``: a 16:9 box (1920x1080 at the default).
MAX_ASPECT = Fraction(16, 9)
#: Downscaling filter: bicubic, the ffmpeg CLI's default (PyAV's own default is bilinear).
SCALER = "BICUBIC"
#: When a seek lands after the wanted frame (broken index), retry this far earlier, in seconds.
_SEEK_BACKOFF_SECONDS = (2.0, 10.0)


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


#: FFmpeg's code for BT.709 in the primaries, transfer and matrix tables alike.
BT709 = 1
#: Matrices swscale can convert RGB with, by FFmpeg's matrix code (6, SMPTE 170M, is BT.601).
_MATRICES = {
    1: Colorspace.ITU709,
    5: Colorspace.ITU601,
    6: Colorspace.ITU601,
    7: Colorspace.SMPTE240M,
    9: Colorspace.BT2020,
}


@dataclass(frozen=True)
class _ClipColor:
    """How the clip's pictures are tagged (FFmpeg's codes): what its YUV values mean."""

    primaries: int
    trc: int
    matrix: int


def _is_rgb(info: MediaInfo) -> bool:
    try:
        return av.VideoFormat(info.pix_fmt).is_rgb if info.pix_fmt else False
    except ValueError:
        return False


def _clip_color(info: MediaInfo) -> _ClipColor:
    """The first source's primaries, transfer and matrix: the clip keeps its pictures' YUV
    values (only levels and size change), so it keeps their meaning. RGB sources (animation,
    PNG codec, 4:4:4 RGB) are converted with the BT.709 matrix, as an HD timeline shows them."""
    if _is_rgb(info):

        def or_709(code: int) -> int:
            return BT709 if code == UNSPECIFIED else code

        return _ClipColor(or_709(info.color_primaries), or_709(info.color_trc), BT709)
    return _ClipColor(info.color_primaries, info.color_trc, info.colorspace)


#: How a coloured clip is tagged: display-referred Rec.709 (the colour step's output).
_DISPLAY_709 = _ClipColor(BT709, BT709, BT709)


def _colour_step(colour: ShotColour | None, width: int, height: int) -> ColourStep | None:
    """The shot's colour step, or None when it has none or it changes nothing."""
    if colour is None:
        return None
    # Imported here: OpenColorIO loads only when a shot manages colour.
    from aleph_otio.media.colour import ColourStep, is_identity

    return None if is_identity(colour) else ColourStep(colour, width, height)


def _to_rgb(info: MediaInfo | None, frame: VideoFrame) -> dict[str, object]:
    """``reformat`` arguments reading a decoded frame as RGB: its levels, and its matrix
    (BT.709 when untagged, as for HD: swscale would assume BT.601)."""
    if frame.format.is_rgb:
        return {}
    code = info.colorspace if info is not None else frame.colorspace
    return {
        "src_color_range": frame_levels(frame),
        "src_colorspace": _MATRICES.get(code, Colorspace.ITU709),
    }


def _conversion(info: MediaInfo, color: _ClipColor) -> dict[str, object]:
    """``reformat`` arguments turning a source's frames into the clip's video-level YUV.

    Full-range sources (0-255, as phones and DSLRs record) are scaled to video levels: left
    as they are but untagged, every player would read them as 16-235, crushing shadows and
    clipping highlights, and Aleph would edit a different picture from the one in the edit.
    """
    if _is_rgb(info):
        matrix = _MATRICES.get(color.matrix, Colorspace.ITU709)
        return {"dst_colorspace": matrix, "dst_color_range": ColorRange.MPEG}
    levels = ColorRange.JPEG if info.full_range else ColorRange.MPEG
    return {"src_color_range": levels, "dst_color_range": ColorRange.MPEG}


def _clip_stream(
    output: av.container.OutputContainer,
    rate: Fraction,
    width: int,
    height: int,
    crf: int,
    preset: str,
    color: _ClipColor,
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


#: Filters that turn a picture by quarter turns clockwise, as the ffmpeg CLI's autorotate does.
_TURN_FILTERS: dict[int, tuple[tuple[str, str | None], ...]] = {
    1: (("transpose", "clock"),),
    2: (("hflip", None), ("vflip", None)),
    3: (("transpose", "cclock"),),
}


class _Upright:
    """Shows a source's frames as players do. Phones store portrait video as landscape
    pictures with a display matrix that turns them; cut as stored, Aleph would get the shot on
    its side, and so would the edit when the result comes back without that matrix."""

    def __init__(self, frame: VideoFrame) -> None:
        #: Quarter turns clockwise; the display matrix's angle is counter-clockwise.
        self.turns = round(-frame.rotation / 90) % 4
        self.sideways = self.turns % 2 == 1
        self.shown = (
            "turned a quarter (portrait/landscape swapped)" if self.sideways else "as stored"
        )
        self._graph: av.filter.Graph | None = None
        if self.turns:
            graph = av.filter.Graph()
            node = graph.add_buffer(
                width=frame.width,
                height=frame.height,
                format=frame.format,
                time_base=frame.time_base,
            )
            for name, arg in _TURN_FILTERS[self.turns]:
                turned = graph.add(name, arg) if arg else graph.add(name)
                node.link_to(turned)
                node = turned
            node.link_to(graph.add("buffersink"))
            graph.configure()
            self._graph = graph

    def size(self, frame: VideoFrame) -> tuple[int, int]:
        """The frame's stored size as shown."""
        return (frame.height, frame.width) if self.sideways else (frame.width, frame.height)

    def aspect(self, sar: Fraction | None) -> Fraction | None:
        """The sample aspect ratio of the shown picture (a turned pixel is turned too)."""
        return 1 / sar if sar and self.sideways else sar

    def __call__(self, frame: VideoFrame) -> VideoFrame:
        if self._graph is None:
            return frame
        self._graph.vpush(frame)
        return self._graph.vpull()


@dataclass
class _Range:
    path: Path
    start: int
    count: int
    label: str = ""


@dataclass
class _Counter:
    decoded: int = 0
    extra: list[str] = field(default_factory=list)


def output_size(
    width: int, height: int, max_height: int = 1080, sar: Fraction | None = None
) -> tuple[int, int]:
    """Fit a (display) size into ``max_height`` x ``16/9 * max_height``, keeping aspect, even.

    Only scales down; odd dimensions are made even (rounded down) since yuv420p needs it.
    ``sar`` (sample aspect ratio) turns anamorphic storage sizes into display sizes.
    """
    display_w = Fraction(width) * (sar if sar and sar > 0 else 1)
    max_w = MAX_ASPECT * max_height
    scale = min(Fraction(1), Fraction(max_height, height), max_w / display_w)
    out_w = int(display_w * scale)
    out_h = int(Fraction(height) * scale)
    return max(2, out_w - out_w % 2), max(2, out_h - out_h % 2)


def iter_frames(
    path: Path,
    start: int,
    count: int,
    *,
    counter: _Counter | None = None,
    upright: bool = False,
) -> Generator[VideoFrame, None, None]:
    """Yield media frames ``start .. start+count-1`` of ``path`` (0-based from its first frame).

    Seeks to the keyframe at or before ``start`` and decodes forward, so cost depends on the GOP
    length, not on where the range sits in the file. Frames are streamed, never collected.
    With ``upright`` they are turned as players show them (a phone's display matrix).
    Raises :class:`MediaError` when the file ends early or has a gap (variable frame rate).
    """
    if upright:
        turn: _Upright | None = None
        for frame in iter_frames(path, start, count, counter=counter):
            turn = turn or _Upright(frame)
            yield turn(frame)
        return
    end = start + count
    with open_media(path) as container:
        stream = video_stream(container, path)
        stream.thread_type = "AUTO"
        rate = stream_rate(stream)
        still = container.format.name in STILL_FORMATS
        if still or rate is None:
            if start != 0 or count != 1:
                raise MediaError(
                    f"{path}: is a still image; only frame 0 exists (asked for frames"
                    f" {start}-{end - 1})"
                )
            for frame in container.decode(stream):
                yield frame
                return
            raise MediaError(f"{path}: the image could not be decoded; re-export it")
        origin = stream.start_time or 0
        tb = stream.time_base
        assert tb is not None
        ticks_per_frame = 1 / (tb * rate)

        def index_of(frame: VideoFrame, fallback: int) -> int:
            if frame.pts is None:
                return fallback
            return round((frame.pts - origin) / ticks_per_frame)

        # Seek targets, in frames: the range start, then earlier in case the container's index
        # overshoots, then the very start (None) as a last resort.
        targets: list[int | None] = [start]
        if start > 0:
            targets += [max(0, start - int(s * rate)) for s in _SEEK_BACKOFF_SECONDS] + [None]
        expected = start
        for attempt, target in enumerate(targets):
            sequential = 0
            if target is None:
                container.seek(origin, stream=stream, backward=True)
            elif target > 0:
                container.seek(origin + int(target * ticks_per_frame), stream=stream, backward=True)
            can_retry = attempt < len(targets) - 1
            landed_late = False
            try:
                for frame in container.decode(stream):
                    if counter is not None:
                        counter.decoded += 1
                    index = index_of(frame, sequential)
                    sequential = index + 1
                    if index < expected:
                        continue
                    if index > expected:
                        if expected == start and can_retry:
                            landed_late = True
                            break
                        raise MediaError(
                            f"{path}: frame {expected} is missing (next decoded frame is {index});"
                            " the file has a variable frame rate or is damaged: transcode it to a"
                            " constant frame rate"
                        )
                    yield frame
                    expected += 1
                    if expected == end:
                        return
            except av.error.FFmpegError as exc:
                raise MediaError(
                    f"{path}: decoding failed near frame {expected} ({exc}); re-copy or"
                    " re-export the file"
                ) from exc
            if not landed_late:
                break
        raise MediaError(
            f"{path}: needs frames {start}-{end - 1} but the file ends at frame {expected - 1};"
            " check the clip's source range or relink it to the full-length media"
        )


@contextmanager
def atomic_path(out_path: Path, suffix: str) -> Iterator[Path]:
    """A temp path next to ``out_path``; moved over it on success, removed on any failure."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=suffix, dir=out_path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)


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
    frame rate, constant frame rate with timestamps from 0, no audio, turned upright as players
    show it (a phone's display matrix), scaled down to fit ``max_height`` (and 16:9 of it) with
    even dimensions. Written atomically: ``out_path`` is either the complete clip or untouched.
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
    rate = first.fraction
    for rng in ranges[1:]:
        other = infos[rng.path]
        if other.fraction != rate:
            # Concatenating would silently retime one side and break the split back at the cut.
            raise MediaError(
                f"{rng.path}: {rng.label}: runs at {other.rate_fraction} fps but the shot starts"
                f" in {ranges[0].path.name} at {first.rate_fraction} fps; one Aleph clip needs"
                " one frame rate: split the marker at the cut or conform the media"
            )
    sar = _sample_aspect(ranges[0].path)
    # Coloured clips are display-referred Rec.709 whatever the source was.
    color = _clip_color(first) if shot.colour is None else _DISPLAY_709
    step: ColourStep | None = None
    counter = _Counter()
    total = 0
    width = height = 0
    with atomic_path(Path(out_path), ".mp4") as tmp:
        with av.open(str(tmp), "w", format="mp4") as output:
            # Opened at the first frame: its display matrix decides the clip's orientation.
            stream: VideoStream | None = None
            time_base = Fraction(rate.denominator, rate.numerator)
            first_turn: _Upright | None = None
            for rng in ranges:
                convert = _conversion(infos[rng.path], color)
                upright: _Upright | None = None
                for frame in iter_frames(rng.path, rng.start, rng.count, counter=counter):
                    if upright is None:
                        upright = _Upright(frame)
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
                        step = _colour_step(shot.colour, width, height)
                    if step is not None:
                        # Decode -> scale to RGB planes -> colour -> the encoder's YUV.
                        shown = upright(frame)
                        display = step.from_decoded(
                            shown, width, height, **_to_rgb(infos[rng.path], shown)
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


def extract_still(
    media_path: str | Path,
    frame_index: int,
    out_png: Path,
    *,
    max_height: int | None = None,
    colour: ShotColour | None = None,
) -> Path:
    """Write media frame ``frame_index`` (0-based from the file's first frame) as a PNG.

    With ``max_height`` the still is scaled like :func:`prepare_shot` scales the clip, so a
    guide painted on it matches the uploaded video; with ``colour`` (the shot's) it goes through
    the same colour pipeline, so it looks like the clip Aleph receives. Written atomically.
    """
    path = Path(media_path)
    if frame_index < 0:
        raise MediaError(f"{path}: frame {frame_index} does not exist; frames count from 0")
    frames = iter_frames(path, frame_index, 1)
    frame = next(frames)
    frames.close()
    return _write_still(frame, Path(out_png), max_height, _sample_aspect(path), colour)


def prepare_guide(image_path: str | Path, out_path: Path, *, max_height: int = 1080) -> Path:
    """Normalise a guide (PNG/JPEG/TIFF, or a video's first frame) to a PNG sized like clips."""
    path = Path(image_path)
    frames = iter_frames(path, 0, 1)
    frame = next(frames)
    frames.close()
    return _write_still(frame, Path(out_path), max_height, _sample_aspect(path))


def frame_levels(frame: VideoFrame) -> ColorRange | None:
    """The levels of a decoded frame, for ``reformat(src_color_range=...)``: full for yuvj
    formats and frames flagged full, video levels for other YUV, None (not asked) for RGB.

    reformat reads a frame's matrix but not its levels: a full-range frame read as video levels
    comes out with crushed shadows and clipped highlights, and the reverse looks washed out.
    """
    if frame.format.is_rgb:
        return None
    if frame.color_range == ColorRange.JPEG or frame.format.name.startswith("yuvj"):
        return ColorRange.JPEG
    return ColorRange.MPEG


def _write_still(
    frame: VideoFrame,
    out_png: Path,
    max_height: int | None,
    sar: Fraction | None,
    colour: ShotColour | None = None,
) -> Path:
    upright = _Upright(frame)
    sar = upright.aspect(sar)
    frame = upright(frame)
    if max_height is not None:
        width, height = output_size(frame.width, frame.height, max_height, sar)
    else:
        width, height = frame.width, frame.height
    step = _colour_step(colour, width, height)
    if step is not None:
        display = step.from_decoded(frame, width, height, **_to_rgb(None, frame))
        rgb = display.reformat(format="rgb24")
    else:
        rgb = frame.reformat(
            width=width,
            height=height,
            format="rgb24",
            interpolation=SCALER,
            src_color_range=frame_levels(frame),
        )
    with atomic_path(out_png, ".png") as tmp:
        write_png(tmp, rgb)
    return out_png


def _sample_aspect(path: Path) -> Fraction | None:
    with open_media(path) as container:
        sar = video_stream(container, path).sample_aspect_ratio
    return Fraction(sar.numerator, sar.denominator) if sar else None
