"""Probe source and result media with PyAV: exact rate, exact frame count, start timecode."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.container import InputContainer
from av.video.stream import VideoStream

from aleph_otio.errors import MediaError
from aleph_otio.media.info import (
    FULL_RANGE,
    STILL_FORMATS,
    STILL_SUFFIXES,
    UNSPECIFIED,
    MediaInfo,
    _reason,
    open_media,
    stream_rate,
    timecode_to_frame,
    video_stream,
)
from aleph_otio.media.sequence import probe_sequence
from aleph_otio.timeline.sequences import parse_sequence

__all__ = [
    "FULL_RANGE",
    "STILL_FORMATS",
    "STILL_SUFFIXES",
    "UNSPECIFIED",
    "MediaInfo",
    "open_media",
    "probe",
    "stream_rate",
    "timecode_to_frame",
    "video_stream",
]

#: Containers whose sample tables give an exact frame count without reading packets.
_INDEXED_FORMATS = ("mov", "mp4")
#: Relative difference between mean and nominal rate above which a source counts as VFR.
_VFR_TOLERANCE = 0.002
#: Packets whose timestamps are checked for even spacing in indexed containers.
_VFR_SAMPLE = 300
#: Frames a decoder may reorder (B-frames); H.264 allows at most 16.
_REORDER_DEPTH = 16
_HDR_TRANSFERS = {16: "PQ, SMPTE ST 2084", 18: "HLG, ARIB STD-B67"}
#: FFmpeg's field orders (AVFieldOrder) of interlaced video: 2-5 (0 unknown, 1 progressive).
_FIELD_ORDERS = {
    2: "top field first",
    3: "bottom field first",
    4: "top field first",
    5: "bottom field first",
}


def probe(path: str | Path, *, count_frames: bool = True) -> MediaInfo:
    """Probe a media file: exact rate and frame count, size, codec, start timecode.

    Frame counts are exact: taken from MP4/MOV sample tables when they agree with the stream
    duration, otherwise counted by demuxing the video packets (no decoding). With
    ``count_frames=False`` that packet count (a read of the whole file) is skipped and
    ``frame_count`` is 0 (unknown) for such files. An image sequence's path
    (:mod:`aleph_otio.timeline.sequences`) is probed as one clip. Raises :class:`MediaError`
    when the file is missing, unreadable or has no video stream.
    """
    pattern = parse_sequence(path)
    if pattern is not None:
        return probe_sequence(pattern)
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
