"""Stills: a shot's first frame as PNG (through its colour), guide images as Aleph takes them."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from av.video.frame import VideoFrame

from aleph_otio.errors import MediaError
from aleph_otio.files import atomic_path
from aleph_otio.media.frames import SCALER, Upright, iter_frames, output_size
from aleph_otio.media.info import open_media, video_stream
from aleph_otio.media.pixels import colour_step, frame_levels, to_rgb
from aleph_otio.media.sequence import present_numbers
from aleph_otio.shots import ShotColour
from aleph_otio.synth import write_png
from aleph_otio.timeline.sequences import parse_sequence


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
    return _write_still(frame, Path(out_png), max_height, sample_aspect(path), colour)


def prepare_guide(image_path: str | Path, out_path: Path, *, max_height: int = 1080) -> Path:
    """Normalise a guide (PNG/JPEG/TIFF, or a video's first frame) to a PNG sized like clips."""
    path = Path(image_path)
    frames = iter_frames(path, 0, 1)
    frame = next(frames)
    frames.close()
    return _write_still(frame, Path(out_path), max_height, sample_aspect(path))


def _write_still(
    frame: VideoFrame,
    out_png: Path,
    max_height: int | None,
    sar: Fraction | None,
    colour: ShotColour | None = None,
) -> Path:
    upright = Upright(frame)
    sar = upright.aspect(sar)
    frame = upright(frame)
    if max_height is not None:
        width, height = output_size(frame.width, frame.height, max_height, sar)
    else:
        width, height = frame.width, frame.height
    step = colour_step(colour, width, height)
    if step is not None:
        display = step.from_decoded(frame, width, height, **to_rgb(None, frame))
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


def sample_aspect(path: Path) -> Fraction | None:
    pattern = parse_sequence(path)
    if pattern is not None:
        # One file tells for all: a plate's frames share their pixel aspect.
        present = present_numbers(pattern)
        numbers = [n for n in range(pattern.first, pattern.last + 1) if n in present]
        if not numbers:
            return None
        path = pattern.file_for(numbers[0] - pattern.first)
    with open_media(path) as container:
        sar = video_stream(container, path).sample_aspect_ratio
    return Fraction(sar.numerator, sar.denominator) if sar else None
