"""``--return-colorspace source``: a result converted back to its plate's colour space.

Aleph returns a display-referred Rec.709 picture (what it was sent). For a conform that grades
the returns with the camera originals, the result is taken back through the inverse of the
shot's pipeline (OCIO's inverse of the same group, baked like the forward one) and re-encoded
in the source's encoding: H.264 High 4:4:4 10-bit (yuv444p10le, BT.709 matrix, full detail
of the log signal that 8-bit 4:2:0 would band), same frames, rate and size, in the result's
own container, so verification and timecode stamping treat it as any result.

Approximate by nature: the view clipped what the display cannot show, so highlights above
the display's white and colours outside Rec.709 come back at the edge of what was shown, not
as they were in the plate; in range, the round trip is within a few 10-bit code values (tests
measure it). Only for sources held in 0-1 (camera log, video): scene-linear plates need a float
delivery (EXR), which is refused until VFX returns deliver them.
"""

from __future__ import annotations

import functools
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace

from aleph_otio.errors import MediaError
from aleph_otio.media.colour.apply import LATTICE, BakedLut, _graph_for
from aleph_otio.media.colour.transform import exact_processor
from aleph_otio.shots import ShotColour

_CONTAINERS = {".mp4": "mp4", ".mov": "mov"}
#: x264 quality for the converted result: visually lossless on a 10-bit log signal.
RETURN_CRF = 12


@functools.lru_cache(maxsize=8)
def bake_inverse(colour: ShotColour, size: int = LATTICE) -> BakedLut:
    """The inverse pipeline sampled on a lattice over the display picture's 0-1."""
    axis = np.linspace(0.0, 1.0, size, dtype=np.float32)
    r, g, b = np.meshgrid(axis, axis, axis, indexing="ij")
    lattice = np.ascontiguousarray(np.stack([r, g, b], axis=-1).reshape(-1, 3))
    exact_processor(colour, inverse=True).applyRGB(lattice)
    return BakedLut(lattice.reshape(size, size, size, 3), None)


def return_to_source(path: Path, colour: ShotColour) -> None:
    """Rewrite result ``path`` in place, converted back to ``colour``'s input space."""
    path = Path(path)
    container = _CONTAINERS.get(path.suffix.lower())
    if container is None:
        raise MediaError(
            f"{path}: --return-colorspace source needs MP4 or MOV results (--output-format);"
            " WEBM cannot carry the 10-bit 4:4:4 H.264 it is converted to"
        )
    baked = bake_inverse(colour)
    tmp = path.with_name(path.name + ".colour.part")
    try:
        with av.open(str(path)) as src, av.open(str(tmp), "w", format=container) as dst:
            stream_in = src.streams.video[0]
            stream_in.thread_type = "AUTO"
            rate = Fraction(stream_in.average_rate or 24)
            time_base = Fraction(rate.denominator, rate.numerator)
            out = None
            for index, frame in enumerate(src.decode(stream_in)):
                if out is None:
                    out = dst.add_stream("libx264", rate=rate)
                    out.width, out.height, out.pix_fmt = frame.width, frame.height, "yuv444p10le"
                    out.options = {"crf": str(RETURN_CRF), "preset": "fast"}
                    ctx = out.codec_context
                    ctx.thread_type = "AUTO"
                    ctx.color_range = ColorRange.MPEG
                    # Log is no standard transfer: primaries and transfer left unspecified.
                    ctx.color_primaries, ctx.color_trc, ctx.colorspace = 2, 2, 1
                    ctx.time_base = time_base
                    graph = _graph_for(baked, frame.width, frame.height, "gbrp16le")
                rgb = frame.reformat(
                    format="gbrp16le",
                    src_colorspace=Colorspace.ITU709,
                    src_color_range=ColorRange.MPEG,
                )
                graph.vpush(rgb)
                source = graph.vpull().reformat(
                    format="yuv444p10le",
                    dst_colorspace=Colorspace.ITU709,
                    dst_color_range=ColorRange.MPEG,
                )
                source.pts, source.time_base = index, time_base
                dst.mux(out.encode(source))
            if out is None:
                raise MediaError(f"{path}: the result has no frames to convert back")
            dst.mux(out.encode())
        tmp.replace(path)
    except av.error.FFmpegError as exc:
        raise MediaError(
            f"{path}: could not convert the result back to {colour.input_colorspace} ({exc});"
            " the download is kept, run again to retry"
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
