"""Synthetic media with a machine-readable frame number, made with PyAV.

Used by the sample/demo project, the emulator's tests and every frame-accuracy test: each frame
carries its own index as a row of black/white blocks across the top eighth of the picture (the
*code strip*), which survives H.264/VP9/ProRes compression and scaling, so decoding any clip cut
from it tells exactly which source frames it holds.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream
from av.video.stream import VideoStream

CODE_BITS = 16
#: Fraction of the picture height the code strip takes (top of frame).
CODE_STRIP = 1 / 8

Frame = npt.NDArray[np.uint8]


def code_strip_height(height: int) -> int:
    return max(4, int(height * CODE_STRIP))


def draw_frame(index: int, width: int, height: int, hue: int = 0) -> Frame:
    """An RGB frame: a moving colour gradient with ``index`` encoded in the code strip."""
    xs, ys = np.arange(width), np.arange(height)
    phase = (index * 4 + hue * 37) % 256
    # Red runs along x, green along y: filled by broadcasting one row and one column, not
    # from full index grids (a UHD plate of 54 frames took 35 s to make that way).
    frame = np.empty((height, width, 3), dtype=np.uint8)
    frame[:, :, 0] = ((xs * 255 // max(1, width - 1) + phase) % 256).astype(np.uint8)
    frame[:, :, 1] = ((ys * 255 // max(1, height - 1) + hue * 50) % 256).astype(np.uint8)[:, None]
    frame[:, :, 2] = (hue * 80 + 60) % 256
    # A bright square that moves one step per frame: motion is visible when scrubbing.
    side = max(4, height // 6)
    x0 = (index * 3) % max(1, width - side)
    y0 = height // 2
    frame[y0 : y0 + side, x0 : x0 + side] = 255
    encode_index(frame, index)
    return frame


def encode_index(frame: Frame, index: int) -> None:
    """Write ``index`` into the code strip of ``frame`` (in place)."""
    height, width = frame.shape[:2]
    strip = code_strip_height(height)
    block = width // CODE_BITS
    frame[:strip] = 0
    for bit in range(CODE_BITS):
        if index >> (CODE_BITS - 1 - bit) & 1:
            frame[1 : strip - 1, bit * block + 1 : (bit + 1) * block - 1] = 255


def decode_index(frame: Frame) -> int:
    """Read the index back from an RGB frame made by :func:`draw_frame` (any later size)."""
    height, width = frame.shape[:2]
    strip = code_strip_height(height)
    block = width / CODE_BITS
    row = frame[strip // 2].astype(np.int32).mean(axis=-1) if frame.ndim == 3 else frame[strip // 2]
    value = 0
    for bit in range(CODE_BITS):
        centre = int((bit + 0.5) * block)
        value = (value << 1) | int(row[centre] > 127)
    return value


def make_video(
    path: Path,
    *,
    frames: int,
    rate: Fraction | int = 24,
    size: tuple[int, int] = (320, 180),
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    timecode: str | None = None,
    hue: int = 0,
    first_index: int = 0,
    audio: bool = False,
) -> Path:
    """Encode ``frames`` frames numbered from ``first_index``; optional start timecode (tmcd)."""
    rate = Fraction(rate)
    width, height = size
    with av.open(str(path), "w") as container:
        if timecode:
            container.metadata["timecode"] = timecode
        stream = cast(VideoStream, container.add_stream(codec, rate=rate))
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if codec == "libx264":
            stream.options = {"crf": "18", "preset": "veryfast"}
        audio_stream = cast(AudioStream, container.add_stream("aac", rate=48000)) if audio else None
        for i in range(frames):
            image = draw_frame(first_index + i, width, height, hue)
            video_frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode())
        if audio_stream is not None:
            samples = int(frames / rate * 48000)
            tone = (np.sin(np.arange(samples) * 2 * np.pi * 440 / 48000) * 0.1).astype(np.float32)
            audio_frame = av.AudioFrame.from_ndarray(
                tone.reshape(1, -1), format="flt", layout="mono"
            )
            audio_frame.sample_rate = 48000
            container.mux(audio_stream.encode(audio_frame))
            container.mux(audio_stream.encode())
    return path


def make_still(
    path: Path, *, size: tuple[int, int] = (320, 180), index: int = 0, hue: int = 3
) -> Path:
    """A PNG still (a painted guide stand-in) with ``index`` in its code strip."""
    image = draw_frame(index, size[0], size[1], hue)
    frame = av.VideoFrame.from_ndarray(image, format="rgb24")
    write_png(path, frame)
    return path


def write_png(path: Path, frame: av.VideoFrame) -> None:
    """Write one frame as a PNG file with PyAV (no Pillow needed)."""
    with av.open(str(path), "w", format="image2") as container:
        stream = cast(VideoStream, container.add_stream("png", rate=1))
        stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, "rgb24"
        container.mux(stream.encode(frame))
        container.mux(stream.encode())


def decode_indices(path: Path) -> list[int]:
    """The code-strip index of every frame of a video, in presentation order."""
    with av.open(str(path)) as container:
        return [
            decode_index(cast(Frame, f.to_ndarray(format="rgb24")))
            for f in container.decode(video=0)
        ]
