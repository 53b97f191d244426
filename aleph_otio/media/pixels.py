"""What a clip's pixels are: video levels, matrix tags, RGB conversion and the colour step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import av
import av.error
from av.video.frame import VideoFrame
from av.video.reformatter import ColorRange, Colorspace

from aleph_otio.media.probe import (
    UNSPECIFIED,
    MediaInfo,
)
from aleph_otio.shots import ShotColour

if TYPE_CHECKING:
    from aleph_otio.media.colour import ColourStep


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
class ClipColor:
    """How the clip's pictures are tagged (FFmpeg's codes): what its YUV values mean."""

    primaries: int
    trc: int
    matrix: int


def _is_rgb(info: MediaInfo) -> bool:
    try:
        return av.VideoFormat(info.pix_fmt).is_rgb if info.pix_fmt else False
    except ValueError:
        return False


def clip_color(info: MediaInfo) -> ClipColor:
    """The first source's primaries, transfer and matrix: the clip keeps its pictures' YUV
    values (only levels and size change), so it keeps their meaning. RGB sources (animation,
    PNG codec, 4:4:4 RGB) are converted with the BT.709 matrix, as an HD timeline shows them."""
    if _is_rgb(info):

        def or_709(code: int) -> int:
            return BT709 if code == UNSPECIFIED else code

        return ClipColor(or_709(info.color_primaries), or_709(info.color_trc), BT709)
    return ClipColor(info.color_primaries, info.color_trc, info.colorspace)


#: How a coloured clip is tagged: display-referred Rec.709 (the colour step's output).
DISPLAY_709 = ClipColor(BT709, BT709, BT709)


def colour_step(colour: ShotColour | None, width: int, height: int) -> ColourStep | None:
    """The shot's colour step, or None when it has none or it changes nothing."""
    if colour is None:
        return None
    # Imported here: OpenColorIO loads only when a shot manages colour.
    from aleph_otio.media.colour import ColourStep, is_identity

    return None if is_identity(colour) else ColourStep(colour, width, height)


def to_rgb(info: MediaInfo | None, frame: VideoFrame) -> dict[str, object]:
    """``reformat`` arguments reading a decoded frame as RGB: its levels, and its matrix
    (BT.709 when untagged, as for HD: swscale would assume BT.601)."""
    if frame.format.is_rgb:
        return {}
    code = info.colorspace if info is not None else frame.colorspace
    return {
        "src_color_range": frame_levels(frame),
        "src_colorspace": _MATRICES.get(code, Colorspace.ITU709),
    }


def conversion(info: MediaInfo, color: ClipColor) -> dict[str, object]:
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
