"""Media for the emulator: sniffing uploads, probing inputs and rendering results with PyAV.

A result is a real video with the input's frame count, rate and size. Below the code strip (the
top eighth, which :mod:`aleph_otio.synth` uses to encode the source frame index) each frame gets
a seed-dependent colour grade and a small seed-dependent mark, so variations differ visibly;
the code strip is copied from the input unchanged so tests can check frame accuracy. At each
guide-frame position the output frame shows the guide image itself (resized, strip excepted).
"""

from __future__ import annotations

import base64
import binascii
import re
import zipfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from aleph_otio.synth import code_strip_height

Image = npt.NDArray[np.uint8]

#: Container, encoder, pixel format and MIME type per ``outputFormat``.
FORMATS: dict[str, tuple[str, str, str, str]] = {
    "MP4": ("mp4", "libx264", "yuv420p", "video/mp4"),
    "WEBM": ("webm", "libvpx-vp9", "yuv420p", "video/webm"),
    "MOV": ("mov", "libx264", "yuv420p", "video/quicktime"),
}
MOV_PRORES = ("mov", "prores_ks", "yuv422p10le", "video/quicktime")

CONTENT_TYPES = {
    "mp4": "video/mp4",
    "webm": "video/webm",
    "mov": "video/quicktime",
    "png": "image/png",
    "jpg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "zip": "application/zip",
}
VIDEO_EXTS = {"mp4", "webm", "mov"}
_MIME_EXT = {v: k for k, v in CONTENT_TYPES.items()} | {"image/jpg": "jpg"}
_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?:;[\w=.+-]+)*;base64,", re.I)


class MediaDecodeError(ValueError):
    """Bytes or a file that are not the media they claim to be."""


def sniff(data: bytes) -> str | None:
    """File extension for the leading bytes of a media file, or None when unknown."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"BM"):
        return "bmp"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if data[4:8] == b"ftyp":
        return "mov" if data[8:12] == b"qt  " else "mp4"
    return None


def decode_inline(value: str) -> tuple[bytes, str | None]:
    """Bytes and declared MIME type of a data URI or raw base64 string.

    Raises MediaDecodeError when the text is not valid base64.
    """
    mime: str | None = None
    match = _DATA_URI.match(value)
    if match:
        mime = (match.group("mime") or "").lower() or None
        value = value[match.end() :]
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise MediaDecodeError("not valid base64") from None
    if not data:
        raise MediaDecodeError("empty media")
    return data, mime


def extension_for(data: bytes, mime: str | None = None) -> str:
    """The extension to store ``data`` under: sniffed, else from the MIME type."""
    ext = sniff(data) or (_MIME_EXT.get(mime) if mime else None)
    if ext is None:
        raise MediaDecodeError(
            "unrecognised media type (expected PNG/JPEG/WEBP/GIF/BMP or MP4/MOV/WEBM)"
        )
    return ext


@dataclass(frozen=True)
class VideoFacts:
    """What validation and rendering need to know about an input video."""

    frames: int
    rate: Fraction
    width: int
    height: int

    @property
    def duration(self) -> float:
        return float(self.frames / self.rate)


def probe_video(path: Path) -> VideoFacts:
    """Frame count (by demuxing, not trusting headers), rate and size of a video file."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaDecodeError("no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            if not rate:
                raise MediaDecodeError("unknown frame rate")
            width, height = stream.codec_context.width, stream.codec_context.height
            frames = sum(1 for packet in container.demux(stream) if packet.size)
    except av.FFmpegError as exc:
        raise MediaDecodeError(f"not a readable video ({exc.strerror or exc})") from None
    if frames == 0 or not width or not height:
        raise MediaDecodeError("video has no frames")
    return VideoFacts(frames=frames, rate=Fraction(rate), width=width, height=height)


def load_image(path: Path, size: tuple[int, int] | None = None) -> Image:
    """The first picture of an image file as RGB, optionally resized to ``(width, height)``."""
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                if size is not None:
                    frame = frame.reformat(width=size[0], height=size[1], format="rgb24")
                return np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)
    except av.FFmpegError as exc:
        raise MediaDecodeError(f"not a readable image ({exc.strerror or exc})") from None
    raise MediaDecodeError("image has no picture")


def _crf(quality: int, lo: int, hi: int) -> int:
    """Map outputQuality 20..99 linearly onto an encoder CRF range (higher quality, lower CRF)."""
    return round(hi - (quality - 20) * (hi - lo) / 79)


#: Saturated tints: any two differ by at least 140 in some channel.
TINTS = ((255, 40, 40), (40, 220, 40), (40, 80, 255), (255, 220, 0), (230, 0, 230), (0, 220, 230))


def seed_look(
    seed: int, width: int, height: int
) -> tuple[npt.NDArray[np.uint16], tuple[int, int, int]]:
    """The tint colour and the mark's (x, y, side) for a seed: what makes variations differ.

    Tints are strongly saturated colours picked by ``seed % len(TINTS)``, so seeds that differ
    there always look clearly different.
    """
    rng = np.random.default_rng(seed)
    tint = np.array(TINTS[seed % len(TINTS)], dtype=np.uint16)
    strip = code_strip_height(height)
    side = max(4, height // 8)
    x = int(rng.integers(0, max(1, width - side)))
    y = int(rng.integers(strip + 1, max(strip + 2, height - side)))
    return tint, (x, y, side)


def render(
    src: Path,
    dst: Path,
    *,
    facts: VideoFacts,
    output_format: str,
    quality: int,
    seed: int,
    guides: dict[int, Image],
    mov_prores: bool = False,
) -> None:
    """Write one result of ``src`` to ``dst`` (see the module docstring for what changes).

    ``facts`` are the input's (from :func:`probe_video`); ``guides`` maps output frame indexes to
    RGB images already at the input's size.
    """
    _, codec, pix_fmt, _ = (
        MOV_PRORES if output_format == "MOV" and mov_prores else FORMATS[output_format]
    )
    width, height = facts.width, facts.height
    if width % 2 or height % 2:
        # 4:2:0 and 4:2:2 need even sizes; full chroma keeps an odd-sized input's exact size.
        pix_fmt = "yuv444p10le" if codec == "prores_ks" else "yuv444p"
    strip = code_strip_height(height)
    tint, (mx, my, side) = seed_look(seed, width, height)
    mark = (255 - tint).astype(np.uint8)
    # 40% of the tint over the picture: clearly visible, yet the source still reads through.
    alpha = 102
    tinted = tint * alpha
    tmp = dst.with_name(dst.name + ".part")
    with av.open(str(src)) as inp, av.open(str(tmp), "w", format=FORMATS[output_format][0]) as out:
        stream = out.add_stream(codec, rate=facts.rate)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if codec == "libx264":
            stream.options = {"crf": str(_crf(quality, 12, 34)), "preset": "veryfast"}
        elif codec == "libvpx-vp9":
            stream.options = {
                "crf": str(_crf(quality, 10, 45)),
                "b:v": "0",
                "deadline": "realtime",
                "cpu-used": "8",
            }
        elif codec == "prores_ks":
            stream.options = {"profile": "4" if pix_fmt.startswith("yuv444") else "3"}
        time_base = 1 / facts.rate
        index = 0
        for frame in inp.decode(video=0):
            source = frame.to_ndarray(format="rgb24")
            if index in guides:
                picture = guides[index].copy()
            else:
                picture = ((source.astype(np.uint16) * (256 - alpha) + tinted) >> 8).astype(
                    np.uint8
                )
                picture[my : my + side, mx : mx + side] = mark
            picture[:strip] = source[:strip]
            video_frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            video_frame.pts = index
            video_frame.time_base = time_base
            out.mux(stream.encode(video_frame))
            index += 1
        out.mux(stream.encode())
    tmp.replace(dst)


def render_upscale(src: Path, dst: Path, *, facts: VideoFacts, size: tuple[int, int]) -> None:
    """Write ``src`` scaled to ``size`` as H.264 MP4: every frame, at the input's rate.

    The picture is only resampled (bicubic), so the code strip still reads after the upscale.
    """
    width, height = size
    tmp = dst.with_name(dst.name + ".part")
    with av.open(str(src)) as inp, av.open(str(tmp), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=facts.rate)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "20", "preset": "veryfast"}
        time_base = 1 / facts.rate
        for index, frame in enumerate(inp.decode(video=0)):
            scaled = frame.reformat(
                width=width, height=height, format="yuv420p", interpolation="BICUBIC"
            )
            scaled.pts, scaled.time_base = index, time_base
            out.mux(stream.encode(scaled))
        out.mux(stream.encode())
    tmp.replace(dst)


def transcode_sdr10(src: Path, dst: Path, *, facts: VideoFacts) -> None:
    """``sdr_rec709_10bit``: ``src`` as 10-bit 4:2:0 HEVC in MP4, tagged BT.709 (Runway's
    "10-bit Rec.709 HEVC .mp4 for SDR grading pipelines")."""
    tmp = dst.with_name(dst.name + ".part")
    with av.open(str(src)) as inp, av.open(str(tmp), "w", format="mp4") as out:
        stream = out.add_stream("libx265", rate=facts.rate)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height = facts.width + facts.width % 2, facts.height + facts.height % 2
        stream.pix_fmt = "yuv420p10le"
        stream.options = {"crf": "18", "preset": "ultrafast", "x265-params": "log-level=error"}
        stream.codec_tag = "hvc1"
        ctx = stream.codec_context
        ctx.color_primaries, ctx.color_trc, ctx.colorspace = 1, 1, 1  # BT.709
        time_base = 1 / facts.rate
        for index, frame in enumerate(inp.decode(video=0)):
            ten = frame.reformat(width=stream.width, height=stream.height, format="yuv420p10le")
            ten.pts, ten.time_base = index, time_base
            out.mux(stream.encode(ten))
        out.mux(stream.encode())
    tmp.replace(dst)


def zip_png_frames(src: Path, dst: Path) -> None:
    """``png_sequence``: every frame of ``src`` as a PNG in a zip (``frame_00000.png``...)."""
    tmp = dst.with_name(dst.name + ".part")
    with av.open(str(src)) as inp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
        for index, frame in enumerate(inp.decode(video=0)):
            archive.writestr(f"frame_{index:05d}.png", _png(frame))
    tmp.replace(dst)


def _png(frame: av.VideoFrame) -> bytes:
    """One frame as PNG bytes (RGB, 8 bits)."""
    codec = av.CodecContext.create("png", "w")
    assert isinstance(codec, av.VideoCodecContext)
    codec.width, codec.height, codec.pix_fmt = frame.width, frame.height, "rgb24"
    packets = codec.encode(frame.reformat(format="rgb24"))
    packets += codec.encode(None)
    return b"".join(bytes(p) for p in packets)
