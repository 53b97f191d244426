"""What a media file is (MediaInfo), opening it, its stream and rate, and SMPTE timecode."""

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

#: FFmpeg's colour codes (AVCOL_*) that matter here; 2 is "unspecified" in all three tables.
UNSPECIFIED = 2
FULL_RANGE = 2  # AVCOL_RANGE_JPEG

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
    first_number: int | None = None
    """An image sequence's first file number (1001); None for a movie."""
    missing_frames: tuple[int, ...] = Field(default_factory=tuple)
    """File numbers of an image sequence that are not on disk."""

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


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).strip() or type(exc).__name__
