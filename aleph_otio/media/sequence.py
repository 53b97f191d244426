"""Image-sequence sources (EXR, DPX, TIFF, PNG files numbered from 1001 or anywhere).

Each file is opened and decoded on its own rather than through FFmpeg's image2 demuxer: the
demuxer stops at the first missing number and invents a 25 fps clock, where a plate needs its
gaps named by frame number and the timeline's rate. Decoding one file per frame costs nothing
extra, since every image is an intra picture.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator
from pathlib import Path

import av
import av.error
from av.video.frame import VideoFrame

from aleph_otio.errors import MediaError
from aleph_otio.media.headers import read_image_header
from aleph_otio.media.info import MediaInfo, open_media, timecode_to_frame, video_stream
from aleph_otio.timeline.sequences import SequencePattern, parse_sequence


def present_numbers(pattern: SequencePattern) -> set[int]:
    """File numbers of the sequence on disk (one directory listing)."""
    numbered = re.compile(
        re.escape(pattern.prefix) + r"(-?\d+)" + re.escape(pattern.suffix) + r"\Z",
        re.IGNORECASE if os.name == "nt" else 0,
    )
    found: set[int] = set()
    try:
        with os.scandir(pattern.folder) as entries:
            for entry in entries:
                match = numbered.match(entry.name)
                if match is not None and (
                    len(match[1]) == pattern.padding or len(match[1].lstrip("-")) > pattern.padding
                ):
                    found.add(int(match[1]))
    except OSError:  # missing, not a folder, or a name the OS refuses: no files there
        return set()
    return found


def probe_sequence(pattern: SequencePattern) -> MediaInfo:
    """What :func:`~aleph_otio.media.probe.probe` says of a movie, for an image sequence.

    ``frame_count`` is the span ``first..last``; files missing in it are listed by number in
    ``missing_frames``; the start timecode comes from the first present file's header.
    """
    present = present_numbers(pattern)
    wanted = range(pattern.first, pattern.last + 1)
    missing = tuple(n for n in wanted if n not in present)
    if len(missing) == pattern.frame_count:
        raise MediaError(
            f"{pattern}: no file of the sequence is there (looked for {pattern.name} numbered "
            f"{pattern.first}-{pattern.last} in {pattern.folder}); check the path or relink it"
        )
    first_file = next(pattern.file_for(n - pattern.first) for n in wanted if n in present)
    with open_media(first_file) as container:
        stream = video_stream(container, first_file)
        ctx = stream.codec_context
        codec = ctx.name if ctx is not None else "unknown"
        pix_fmt = ctx.format.name if ctx is not None and ctx.format is not None else None
        trc = int(ctx.color_trc) if ctx is not None else 2
        primaries = int(ctx.color_primaries) if ctx is not None else 2
        width, height = stream.width, stream.height
    header = read_image_header(first_file)
    warnings: list[str] = []
    if header is not None and header.multipart:
        raise MediaError(
            f"{first_file}: a multi-part EXR, which FFmpeg cannot read; write the plate as "
            "single-part EXR (the RGB(A) layer is what is sent)"
        )
    if header is not None and header.channels and not {"R", "G", "B"} <= set(header.channels):
        layers = ", ".join(header.channels[:8])
        raise MediaError(
            f"{first_file}: has no R, G, B channels (it holds {layers}); aleph-otio sends the "
            "plate's RGB(A) layer: write the beauty pass as R, G, B"
        )
    rate = pattern.rate
    if header is not None and header.rate is not None and header.rate != rate:
        warnings.append(
            f"{pattern.name}: its files say {float(header.rate):g} fps, the timeline "
            f"{float(rate):g} fps; frames follow the timeline"
        )
    timecode = header.timecode if header is not None else None
    start_frame = 0
    if timecode is not None:
        try:
            start_frame = timecode_to_frame(timecode, rate)
        except ValueError:
            timecode = None
        else:
            # The header is the first present file's; the sequence starts at ``first``.
            start_frame -= first_file_offset(pattern, present)
    return MediaInfo(
        path=str(pattern),
        rate=float(rate),
        rate_fraction=f"{rate.numerator}/{rate.denominator}",
        frame_count=pattern.frame_count,
        start_frame=max(0, start_frame),
        width=width,
        height=height,
        codec=codec,
        pix_fmt=pix_fmt,
        timecode=timecode,
        duration_seconds=float(pattern.frame_count / rate),
        container_format="image_sequence",
        warnings=tuple(warnings),
        color_primaries=primaries,
        color_trc=trc,
        colorspace=0,  # RGB images: no YUV matrix
        first_number=pattern.first,
        missing_frames=missing,
    )


def first_file_offset(pattern: SequencePattern, present: set[int]) -> int:
    return min(n for n in present if pattern.first <= n <= pattern.last) - pattern.first


def iter_sequence_frames(
    pattern: SequencePattern, start: int, count: int
) -> Generator[VideoFrame, None, None]:
    """Decode media frames ``start .. start+count-1`` (files ``first+start ..``) in order."""
    if start < 0 or start + count > pattern.frame_count:
        raise MediaError(
            f"{pattern}: needs files {pattern.first + start}-{pattern.first + start + count - 1}"
            f" but the sequence is {pattern.first}-{pattern.last}; check the clip's range"
        )
    for index in range(start, start + count):
        path = pattern.file_for(index)
        if not path.is_file():
            raise MediaError(
                f"{pattern}: frame {pattern.first + index} ({path.name}) is missing; render or "
                "copy it, or shorten the shot so it does not need it"
            )
        with open_media(path) as container:
            stream = video_stream(container, path)
            try:
                frame = next(iter(container.decode(stream)), None)
            except av.error.FFmpegError as exc:
                raise MediaError(
                    f"{path}: frame {pattern.first + index} cannot be decoded ({exc}); "
                    "re-render or re-copy it"
                ) from exc
        if frame is None:
            raise MediaError(f"{path}: frame {pattern.first + index} holds no picture")
        frame.pts = index
        yield frame


def sequence_of(path: str | Path) -> SequencePattern | None:
    """The sequence a media path names (see :mod:`aleph_otio.timeline.sequences`)."""
    return parse_sequence(path)
