"""VFX returns: a verified result made into the media that replaces its plate.

In order: the source's rate restored (a half-rate result's frames each shown twice, trimmed to
the shot), the picture scaled to the plate's size (Lanczos, aspect kept: the clip sent was the
plate scaled down whole, so scaling back up restores its framing), then written as the plate's
kind of media: ProRes 422 HQ or 4444, DNxHR HQX, or an EXR (half float) or DPX (10-bit)
sequence numbered from the plate's own first frame, with the plate's time code in each file.
Frames are streamed one at a time; everything is written to a temporary name and renamed into
place whole.
"""

from __future__ import annotations

import os
import shutil
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import cast, get_args

import av
import av.error
from av.video.frame import VideoFrame
from av.video.reformatter import ColorRange, Colorspace
from av.video.stream import VideoStream

from aleph_otio.config import DeliverKind
from aleph_otio.errors import MediaError
from aleph_otio.files import atomic_path
from aleph_otio.media.frames import iter_frames
from aleph_otio.media.headers import dpx_with_timecode, exr_with_timecode
from aleph_otio.media.info import MediaInfo
from aleph_otio.media.probe import probe
from aleph_otio.media.stamp import file_timecode
from aleph_otio.timeline.sequences import SequencePattern

DELIVER_KINDS: tuple[str, ...] = get_args(DeliverKind)

#: (codec, pixel format, encoder options) of each movie kind, in a QuickTime .mov.
_MOVIES: dict[str, tuple[str, str, dict[str, str]]] = {
    "prores-422hq": ("prores_ks", "yuv422p10le", {"profile": "3", "vendor": "apl0"}),
    "prores-4444": ("prores_ks", "yuv444p10le", {"profile": "4", "vendor": "apl0"}),
    "dnxhr-hqx": ("dnxhd", "yuv422p10le", {"profile": "dnxhr_hqx"}),
    "as-returned": ("libx264", "yuv420p", {"crf": "10", "preset": "fast"}),
}
#: Kinds whose 4:2:2 encoders need even sizes: an odd-sized plate's return is 1 pixel smaller.
_EVEN_ONLY = ("prores-422hq", "dnxhr-hqx")
#: Lanczos: the sharpest of FFmpeg's scalers without ringing worth the name at 2x.
SCALER = "LANCZOS"


@dataclass(frozen=True)
class DeliverySpec:
    """What the delivered media must be."""

    kind: str
    frame_count: int  # frames delivered: the shot's, handles included
    step: int  # source frames each returned frame stands for (2: a half-rate send)
    rate: Fraction  # the source's exact rate
    size: tuple[int, int] | None  # picture size; None: as returned
    start_frame: float  # time code of the first frame, as frames at ``rate``
    first_number: int  # an image sequence's first file number


@dataclass(frozen=True)
class Delivered:
    """Delivered media: a file, or an image sequence's path (``name.%04d.exr [a-b] @24``)."""

    path: str
    frame_count: int
    width: int
    height: int
    timecode: str | None


def needs_delivery(spec: DeliverySpec, returned: MediaInfo) -> bool:
    """Whether the result itself cannot stand for the plate as asked (so media is made)."""
    if spec.kind != "as-returned" or spec.step != 1:
        return True
    return spec.size is not None and spec.size != (returned.width, returned.height)


def _restored(result: Path, spec: DeliverySpec, returned: int) -> Iterator[VideoFrame]:
    """The result's frames at the source rate: each ``spec.step`` times, ``frame_count`` in all."""
    if -(-spec.frame_count // spec.step) > returned:
        raise MediaError(
            f"{result}: has {returned} frames; {spec.frame_count} source frames need "
            f"{-(-spec.frame_count // spec.step)} at one per {spec.step}: download it again"
        )
    shown = 0
    for frame in iter_frames(result, 0, -(-spec.frame_count // spec.step)):
        for _ in range(spec.step):
            if shown == spec.frame_count:
                return
            yield frame
            shown += 1


def delivery_size(spec: DeliverySpec, returned: MediaInfo) -> tuple[int, int]:
    """The delivered picture size: the plate's (``spec.size``), or the result fitted inside it
    when their aspects differ by more than rounding, or the result's own (``spec.size`` None)."""
    if spec.size is None:
        return returned.width, returned.height
    width, height = spec.size
    # Keep the result's aspect: fit inside the plate, never stretch (a result of another
    # aspect keeps its own; verification then reports the size).
    scale = min(width / returned.width, height / returned.height)
    fit = (round(returned.width * scale), round(returned.height * scale))
    if abs(fit[0] - width) <= 2 and abs(fit[1] - height) <= 2:
        fit = (width, height)
    if spec.kind in _EVEN_ONLY or fit != (width, height):
        return fit[0] - fit[0] % 2, fit[1] - fit[1] % 2
    return fit


def _converted(frame: VideoFrame, size: tuple[int, int], pix_fmt: str) -> VideoFrame:
    """``frame`` scaled to ``size`` in ``pix_fmt`` (BT.709; YUV at video levels, RGB full)."""
    rgb = pix_fmt.startswith("gbr")
    levels = ColorRange.JPEG if frame.color_range == 2 else ColorRange.MPEG
    return frame.reformat(
        width=size[0],
        height=size[1],
        format=pix_fmt,
        src_colorspace=Colorspace.ITU709,
        dst_colorspace=Colorspace.ITU709,
        src_color_range=levels,
        dst_color_range=ColorRange.JPEG if rgb else ColorRange.MPEG,
        interpolation=SCALER,
    )


def deliver(result: Path, dest: Path, spec: DeliverySpec) -> Delivered:
    """Make the delivered media for ``result`` at ``dest`` (a ``.mov`` or a sequence folder)."""
    returned = probe(result)
    size = delivery_size(spec, returned)
    timecode = file_timecode(spec.start_frame, float(spec.rate))
    frames = _restored(result, spec, returned.frame_count)
    try:
        if spec.kind in ("exr", "dpx"):
            return _write_sequence(frames, dest, spec, size, timecode)
        return _write_movie(frames, dest, spec, size, timecode, returned)
    except av.FFmpegError as exc:
        raise MediaError(
            f"{result}: cannot be delivered as {spec.kind} at {size[0]}x{size[1]} ({exc}); "
            "try another --deliver, or --deliver-size returned"
        ) from None


def _write_movie(
    frames: Iterator[VideoFrame],
    dest: Path,
    spec: DeliverySpec,
    size: tuple[int, int],
    timecode: str | None,
    returned: MediaInfo,
) -> Delivered:
    codec, pix_fmt, preset = _MOVIES[spec.kind]
    options: dict[str, object] = dict(preset)
    if spec.kind == "as-returned" and returned.pix_fmt and "444" in returned.pix_fmt:
        # A result returned to the plates' log space (10-bit 4:4:4) stays that precise.
        pix_fmt = "yuv444p10le"
        options["profile"] = "high444"
    elif spec.kind == "as-returned" and (size[0] % 2 or size[1] % 2):
        # An odd-sized plate: 4:2:0 cannot hold it, full chroma keeps its exact size.
        pix_fmt = "yuv444p"
        options["profile"] = "high444"
    count = 0
    time_base = Fraction(spec.rate.denominator, spec.rate.numerator)
    with atomic_path(dest, dest.suffix) as tmp:
        with av.open(str(tmp), "w", format="mov" if dest.suffix == ".mov" else "mp4") as out:
            stream = cast(VideoStream, out.add_stream(codec, rate=spec.rate))
            stream.width, stream.height, stream.pix_fmt = *size, pix_fmt
            stream.options = options
            ctx = stream.codec_context
            ctx.thread_type = "AUTO"
            ctx.time_base = time_base
            ctx.color_range = ColorRange.MPEG
            ctx.color_primaries, ctx.color_trc, ctx.colorspace = (
                returned.color_primaries,
                returned.color_trc,
                returned.colorspace,
            )
            if timecode is not None:
                stream.metadata["timecode"] = timecode
            for frame in frames:
                out_frame = _converted(frame, size, pix_fmt)
                out_frame.pts, out_frame.time_base = count, time_base
                out.mux(stream.encode(out_frame))
                count += 1
            out.mux(stream.encode())
    return Delivered(str(dest), count, size[0], size[1], timecode)


def _write_sequence(
    frames: Iterator[VideoFrame],
    dest: Path,
    spec: DeliverySpec,
    size: tuple[int, int],
    timecode: str | None,
) -> Delivered:
    suffix = f".{spec.kind}"
    last = spec.first_number + spec.frame_count - 1
    pattern = SequencePattern(
        folder=str(dest),
        prefix=f"{dest.name}.",
        suffix=suffix,
        padding=max(4, len(str(last))),
        first=spec.first_number,
        last=last,
        rate=spec.rate,
    )
    tmp = dest.with_name(f".{dest.name}.part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    encoder = _ImageEncoder(spec.kind, size, spec.rate)
    workers = max(1, min(4, os.cpu_count() or 1))
    pending: deque[Future[None]] = deque()
    try:
        # Each image is its own file, so they encode side by side (FFmpeg's EXR and DPX
        # encoders run without the GIL, and one picture per file leaves them no threads of
        # their own to use); at most two per worker wait, so memory stays flat in length.
        with ThreadPoolExecutor(workers, thread_name_prefix="aleph-deliver") as pool:
            for index, frame in enumerate(frames):
                path = tmp / pattern.number_name(pattern.first + index)
                at = spec.start_frame + index
                tc = file_timecode(at, float(spec.rate)) if timecode else None
                # Scaled here: a frame caches its scaler, which two threads must not share
                # (a half-rate result hands the same frame over twice).
                picture = encoder.picture(frame)
                pending.append(pool.submit(encoder.encode, picture, path, tc))
                while len(pending) > 2 * workers:
                    pending.popleft().result()
            while pending:
                pending.popleft().result()
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Delivered(str(pattern), spec.frame_count, size[0], size[1], timecode)


class _ImageEncoder:
    """One image file per frame, encoded in memory (the file is written once, whole, with its
    time code already in the header); EXR in half float, zip1 (a scanline per chunk, as Nuke
    writes by default), DPX at 10 bits."""

    def __init__(self, kind: str, size: tuple[int, int], rate: Fraction) -> None:
        self.kind = kind
        self.pix_fmt = "gbrpf32le" if kind == "exr" else "gbrp10le"
        self.rate = rate
        self.size = size

    def picture(self, frame: VideoFrame) -> VideoFrame:
        """``frame`` as the encoder takes it: at the delivery's size, in its pixel format."""
        picture = _converted(frame, self.size, self.pix_fmt)
        picture.pts = None
        return picture

    def encode(self, picture: VideoFrame, path: Path, timecode: str | None) -> None:
        # A fresh context per image: image encoders keep no state between pictures, and a
        # context fed many frames would buffer none anyway; the rate becomes framesPerSecond.
        ctx = cast(av.VideoCodecContext, av.CodecContext.create(self.kind, "w"))
        ctx.width, ctx.height, ctx.pix_fmt = *self.size, self.pix_fmt
        ctx.time_base = Fraction(self.rate.denominator, self.rate.numerator)
        ctx.framerate = self.rate
        if self.kind == "exr":
            ctx.options = {"format": "half", "compression": "zip1"}
        data = b"".join(bytes(p) for p in [*ctx.encode(picture), *ctx.encode(None)])
        if timecode is not None:
            rate = float(self.rate)
            if self.kind == "exr":
                data = exr_with_timecode(data, timecode, rate)
            else:
                data = dpx_with_timecode(data, timecode, rate)
        path.write_bytes(data)
