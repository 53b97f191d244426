"""Probe source and result media with PyAV: exact rate, exact frame count, start timecode."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.container import InputContainer
from av.video.stream import VideoStream
from pydantic import Field

from aleph_otio.errors import MediaError
from aleph_otio.locate import camera_raw
from aleph_otio.shots import MediaFacts

#: Demuxers that hold one still image (PNG/JPEG/TIFF/...), probed as a single frame.
STILL_FORMATS = frozenset(
    {
        "image2",
        "png_pipe",
        "jpeg_pipe",
        "tiff_pipe",
        "webp_pipe",
        "bmp_pipe",
        "dpx_pipe",
        "exr_pipe",
        "j2k_pipe",
        "qoi_pipe",
    }
)
STILL_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".dpx", ".exr"}
)
#: Containers whose sample tables give an exact frame count without reading packets.
_INDEXED_FORMATS = ("mov", "mp4")
#: Relative difference between mean and nominal rate above which a source counts as VFR.
_VFR_TOLERANCE = 0.002
#: Packets whose timestamps are checked for even spacing in indexed containers.
_VFR_SAMPLE = 300
#: Frames a decoder may reorder (B-frames); H.264 allows at most 16.
_REORDER_DEPTH = 16

#: FFmpeg's colour codes (AVCOL_*) that matter here; 2 is "unspecified" in all three tables.
UNSPECIFIED = 2
FULL_RANGE = 2  # AVCOL_RANGE_JPEG
_HDR_TRANSFERS = {16: "PQ, SMPTE ST 2084", 18: "HLG, ARIB STD-B67"}
#: FFmpeg's field orders (AVFieldOrder) of interlaced video: 2-5 (0 unknown, 1 progressive).
_FIELD_ORDERS = {
    2: "top field first",
    3: "bottom field first",
    4: "top field first",
    5: "bottom field first",
}

_TC_RE = re.compile(r"^(\d{1,2})[:;.](\d{2})[:;.](\d{2})([:;.,])(\d{2,3})$")


class MediaInfo(MediaFacts):
    """Everything :func:`probe` knows about a file (a superset of what the planner needs).

    ``rate`` is the exact frame rate as a float, ``rate_fraction`` the same as an exact
    ``"num/den"`` string (``"24000/1001"``); ``start_frame`` is the start timecode as a frame
    number at the nominal rate (drop-frame aware), 0 when the file has none. Stills have
    ``frame_count == 1``, ``rate == 0`` and ``is_still``.
    """

    codec: str
    pix_fmt: str | None = None
    rate_fraction: str = "0/1"
    timecode: str | None = None
    duration_seconds: float = 0.0
    has_audio: bool = False
    container_format: str = ""
    is_still: bool = False
    variable_frame_rate: bool = False
    warnings: tuple[str, ...] = Field(default_factory=tuple)
    color_range: int = 0
    """FFmpeg's code: 0 unspecified, 1 limited (video levels), 2 full; yuvj formats are full."""
    color_primaries: int = UNSPECIFIED
    color_trc: int = UNSPECIFIED
    """Transfer characteristic: 1 BT.709, 16 PQ, 18 HLG, ..."""
    colorspace: int = UNSPECIFIED
    """The YUV matrix: 1 BT.709, 5/6 BT.601, 9 BT.2020, 0 RGB, ..."""
    interlaced: bool = False

    @property
    def full_range(self) -> bool:
        """Whether the file's YUV levels are full range (0-255) rather than video (16-235)."""
        return self.color_range == FULL_RANGE or (self.pix_fmt or "").startswith("yuvj")

    @property
    def fraction(self) -> Fraction:
        """The frame rate as an exact :class:`~fractions.Fraction`."""
        return Fraction(self.rate_fraction)


def timecode_to_frame(timecode: str, rate: Fraction | float) -> int:
    """Frame number of a SMPTE timecode at ``rate`` (``;`` or ``.`` before frames: drop-frame).

    Counts at the nominal rate (24 for 23.976, 30 for 29.97), as timecode does; drop-frame
    labels skip frames 0 and 1 of every minute not divisible by ten (2 and 4 frames at 59.94).
    """
    match = _TC_RE.match(timecode.strip())
    if match is None:
        raise ValueError(f"not a SMPTE timecode: {timecode!r}")
    hh, mm, ss, sep, ff = match.groups()
    nominal = round(float(rate)) or 1
    hours, minutes, seconds, frames = int(hh), int(mm), int(ss), int(ff)
    total = ((hours * 60 + minutes) * 60 + seconds) * nominal + frames
    if sep in ";.," and nominal in (30, 60):
        dropped = 2 * (nominal // 30)
        total_minutes = hours * 60 + minutes
        total -= dropped * (total_minutes - total_minutes // 10)
    return total


def open_media(path: Path) -> InputContainer:
    """Open ``path`` for reading, turning every failure into a :class:`MediaError`."""
    if not path.exists():
        raise MediaError(f"{path}: file not found; check the path or relink the clip's media")
    if path.is_dir():
        raise MediaError(f"{path}: is a directory, not a media file; point to the file itself")
    kind = camera_raw(path)
    if kind is not None:
        raise MediaError(
            f"{path}: {kind} camera raw, which FFmpeg cannot decode; relink the clip to a "
            "transcode (ProRes, DNxHR, H.264) with the same timecode, or pass the transcodes' "
            "folder with --media-search"
        )
    try:
        return av.open(str(path), "r")
    except (av.error.FFmpegError, UnicodeDecodeError, OSError) as exc:
        raise MediaError(
            f"{path}: not a readable media file ({_reason(exc)}); re-export or re-copy it"
        ) from exc


def video_stream(container: InputContainer, path: Path) -> VideoStream:
    """The first video stream (that is not a cover picture) or a :class:`MediaError`."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    raise MediaError(f"{path}: has no video stream; aleph-otio needs a video or still image file")


def stream_rate(stream: VideoStream) -> Fraction | None:
    """The stream's exact frame rate (FFmpeg's own best guess), None if it has none."""
    for candidate in (stream.guessed_rate, stream.average_rate, stream.base_rate):
        if candidate and candidate > 0:
            return Fraction(candidate.numerator, candidate.denominator)
    return None


def probe(path: str | Path, *, count_frames: bool = True) -> MediaInfo:
    """Probe a media file: exact rate and frame count, size, codec, start timecode.

    Frame counts are exact: taken from MP4/MOV sample tables when they agree with the stream
    duration, otherwise counted by demuxing the video packets (no decoding). With
    ``count_frames=False`` that packet count (a read of the whole file) is skipped and
    ``frame_count`` is 0 (unknown) for such files. Raises :class:`MediaError` when the file is
    missing, unreadable or has no video stream.
    """
    path = Path(path)
    with open_media(path) as container:
        stream = video_stream(container, path)
        fmt = container.format.name
        ctx = stream.codec_context
        codec = ctx.name if ctx is not None else "unknown"
        pix_fmt = ctx.format.name if ctx is not None and ctx.format is not None else None
        has_audio = len(container.streams.audio) > 0
        width, height = stream.width, stream.height
        # FFmpeg's codes, read from the stream (its colr atom / bitstream), not a decoded frame.
        color_range, primaries, trc, matrix = (
            (
                int(ctx.color_range),
                int(ctx.color_primaries),
                int(ctx.color_trc),
                int(ctx.colorspace),
            )
            if ctx is not None
            else (0, UNSPECIFIED, UNSPECIFIED, UNSPECIFIED)
        )

        if fmt in STILL_FORMATS or (
            path.suffix.lower() in STILL_SUFFIXES and not stream.frames > 1
        ):
            return MediaInfo(
                path=str(path),
                rate=0.0,
                frame_count=1,
                width=width,
                height=height,
                codec=codec,
                pix_fmt=pix_fmt,
                container_format=fmt,
                is_still=True,
                color_range=color_range,
                color_primaries=primaries,
                color_trc=trc,
                colorspace=matrix,
            )
        rate = stream_rate(stream)
        if rate is None:
            raise MediaError(
                f"{path}: video stream has no frame rate; re-export it at a constant frame rate"
            )
        warnings: list[str] = []
        frame_count, vfr = _count_frames(container, stream, rate, fmt, count_frames)
        if frame_count <= 0 and count_frames:
            raise MediaError(f"{path}: video stream holds no frames; re-export the file")
        if vfr:
            warnings.append(
                f"{path}: variable frame rate (nominal {rate}); frame-accurate cuts need constant"
                " frame rate media: transcode it to CFR first"
            )
        fields = _FIELD_ORDERS.get(int(ctx.field_order)) if ctx is not None else None
        if fields is not None:
            warnings.append(
                f"{path}: interlaced video ({fields}); the clip is sent as whole frames, and"
                " combing on motion may confuse the edit and show in the result: for a clean"
                " result, relink the clip to a deinterlaced (progressive) version of the media"
            )
        if _has_alpha(pix_fmt):
            warnings.append(
                f"{path}: has an alpha channel ({pix_fmt}); Aleph takes opaque video, so the clip"
                " is sent without it (transparent areas as their stored colour, usually black)"
                " and the result has none: mark the shot on the picture beneath instead"
            )
        hdr = _HDR_TRANSFERS.get(trc)
        if hdr is not None:
            warnings.append(
                f"{path}: HDR video ({hdr}); the clip is sent as 8-bit H.264 with its HDR tags,"
                " and Aleph's task reference says nothing of HDR, so the result may come back"
                " SDR and not match the shot: for a predictable match, relink the clip to a"
                " Rec.709 SDR version of the media"
            )
        timecode = _find_timecode(container, stream)
        start_frame = 0
        if timecode is not None:
            try:
                start_frame = timecode_to_frame(timecode, rate)
            except ValueError:
                warnings.append(f"{path}: ignored unreadable start timecode {timecode!r}")
                timecode = None
        return MediaInfo(
            path=str(path),
            rate=float(rate),
            rate_fraction=f"{rate.numerator}/{rate.denominator}",
            frame_count=frame_count,
            start_frame=start_frame,
            width=width,
            height=height,
            codec=codec,
            pix_fmt=pix_fmt,
            timecode=timecode,
            duration_seconds=float(frame_count / rate),
            has_audio=has_audio,
            container_format=fmt,
            variable_frame_rate=vfr,
            warnings=tuple(warnings),
            interlaced=fields is not None,
            color_range=color_range,
            color_primaries=primaries,
            color_trc=trc,
            colorspace=matrix,
        )


def _has_alpha(pix_fmt: str | None) -> bool:
    try:
        return pix_fmt is not None and any(c.is_alpha for c in av.VideoFormat(pix_fmt).components)
    except ValueError:
        return False


def _count_frames(
    container: InputContainer, stream: VideoStream, rate: Fraction, fmt: str, count: bool
) -> tuple[int, bool]:
    """(exact frame count, variable frame rate?) for the video stream; (0, False): not counted."""
    if any(name in fmt.split(",") for name in _INDEXED_FORMATS) and stream.frames > 0:
        if stream.duration and stream.time_base:
            from_duration = float(stream.duration * stream.time_base * rate)
            if abs(from_duration - stream.frames) <= 1.01:
                vfr = _mean_rate_differs(stream, rate) or _uneven_start(container, stream, rate)
                return stream.frames, vfr
    if not count:
        return 0, False
    return _count_packets(container, stream, rate)


def _uneven_steps(
    pts_values: list[int], stream: VideoStream, rate: Fraction, *, truncated: bool
) -> bool:
    """True when sorted timestamps are not one frame apart (variable frame rate).

    ``truncated``: the sample stops before the end of the stream; its highest timestamps are
    dropped, since frames reordered behind them (B-frames) were not sampled.
    """
    tb = stream.time_base
    pts_values = sorted(pts_values)
    if truncated:
        pts_values = pts_values[:-_REORDER_DEPTH]
    if not tb or len(pts_values) < 3:
        return False
    steps = {
        round(float((b - a) * tb * rate), 2)
        for a, b in zip(pts_values, pts_values[1:], strict=False)
    }
    return any(abs(step - 1) > 0.05 for step in steps)


def _uneven_start(container: InputContainer, stream: VideoStream, rate: Fraction) -> bool:
    """Check the spacing of the first packets' timestamps (demux only, no decoding).

    A phone's variable-rate file can have a mean rate that FFmpeg also reports as its nominal
    rate, so comparing the two is not enough; the sample table's timestamps tell.
    """
    pts_values: list[int] = []
    try:
        for packet in container.demux(stream):
            if packet.size == 0 or packet.is_discard or packet.pts is None:
                continue
            pts_values.append(packet.pts)
            if len(pts_values) >= _VFR_SAMPLE:
                break
    except av.error.FFmpegError:
        return False  # damage is reported where frames are read; this is only a spacing check
    return _uneven_steps(pts_values, stream, rate, truncated=len(pts_values) >= _VFR_SAMPLE)


def _mean_rate_differs(stream: VideoStream, rate: Fraction) -> bool:
    mean = stream.average_rate
    if not mean or stream.frames < 3:
        return False
    return abs(float(mean) - float(rate)) / float(rate) > _VFR_TOLERANCE


def _count_packets(
    container: InputContainer, stream: VideoStream, rate: Fraction
) -> tuple[int, bool]:
    """Count the video packets (one per frame in every container we accept) and check spacing."""
    count = 0
    pts_values: list[int] = []
    try:
        for packet in container.demux(stream):
            if packet.size == 0 or packet.is_discard:
                continue  # end-of-stream flush packet, or a sample an edit list hides
            count += 1
            # Keep a bounded sample of timestamps: enough to tell CFR from VFR.
            if packet.pts is not None and len(pts_values) < _VFR_SAMPLE:
                pts_values.append(packet.pts)
    except av.error.FFmpegError as exc:
        raise MediaError(
            f"{container.name}: damaged after {count} frames ({_reason(exc)}); re-copy the file"
        ) from exc
    return count, _uneven_steps(pts_values, stream, rate, truncated=count > len(pts_values))


def _find_timecode(container: InputContainer, stream: VideoStream) -> str | None:
    """Start timecode from the video stream, a tmcd/data stream or the container, in that order."""
    sources = [stream.metadata, *(s.metadata for s in container.streams.data), container.metadata]
    for metadata in sources:
        for key, value in metadata.items():
            if key.lower() == "timecode" and value:
                return str(value)
    return None


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).strip() or type(exc).__name__
