"""Check a downloaded result against the shot it was made for."""

from __future__ import annotations

from pathlib import Path

from aleph_otio.errors import MediaError, MediaVerificationError
from aleph_otio.media.probe import MediaInfo, probe

#: Rates closer than this (frames per second) are the same rate (23.976 == 24000/1001).
RATE_TOLERANCE = 1e-3
#: Relative aspect-ratio difference allowed for a resized result (even-size rounding).
ASPECT_TOLERANCE = 0.01


def verify_result(
    path: Path,
    *,
    expected_frames: int,
    rate: float,
    width: int | None = None,
    height: int | None = None,
) -> MediaInfo:
    """Probe a downloaded result and check that it can replace its shot's input clip.

    Rule: the frame count must equal ``expected_frames`` exactly and the frame rate must equal
    ``rate`` (within 0.001 fps, so ``23.976`` matches ``24000/1001``), otherwise the result
    cannot be conformed frame for frame. The size may differ from ``width`` x ``height`` only
    by a uniform scale (same aspect ratio within 1%): the result is relinked at the
    timeline's resolution, so scaling is harmless but a different framing is not. Variable
    frame rate results are refused. Raises :class:`MediaVerificationError` (one line, naming
    the file, the expectation and what was found) or :class:`MediaError` if unreadable.
    """
    path = Path(path)
    try:
        info = probe(path)
    except MediaVerificationError:
        raise
    except MediaError as exc:
        raise MediaVerificationError(f"result {exc}; download it again") from exc
    problems: list[str] = []
    if info.is_still:
        problems.append("is a still image, not a video")
    else:
        if info.frame_count != expected_frames:
            problems.append(f"has {info.frame_count} frames, expected {expected_frames}")
        if abs(info.rate - rate) > RATE_TOLERANCE:
            problems.append(
                f"runs at {info.rate_fraction} fps ({info.rate:.3f}), expected {rate:.3f}"
            )
        if info.variable_frame_rate:
            problems.append("has a variable frame rate")
    if width is not None and height is not None and (info.width, info.height) != (width, height):
        expected_aspect = width / height
        aspect = info.width / info.height if info.height else 0.0
        if abs(aspect - expected_aspect) / expected_aspect > ASPECT_TOLERANCE:
            problems.append(
                f"is {info.width}x{info.height} (aspect {aspect:.3f}), expected {width}x{height}"
                f" or the same aspect ({expected_aspect:.3f})"
            )
    if problems:
        raise MediaVerificationError(
            f"result {path}: "
            + "; ".join(problems)
            + "; the result cannot be conformed: re-run the shot or check the task settings"
        )
    return info


def verify_delivered(
    path: str,
    *,
    expected_frames: int,
    rate: float,
    width: int,
    height: int,
    timecode: str | None,
) -> MediaInfo:
    """Check delivered media (a movie or an image sequence) is what was asked of it: frames,
    rate, size and time code, exactly. Raises :class:`MediaVerificationError`."""
    try:
        info = probe(path)
    except MediaError as exc:
        raise MediaVerificationError(f"delivered {exc}; it is made again on the next run") from exc
    problems: list[str] = []
    if info.frame_count != expected_frames or info.missing_frames:
        missing = f" ({len(info.missing_frames)} files missing)" if info.missing_frames else ""
        problems.append(f"has {info.frame_count} frames{missing}, expected {expected_frames}")
    if abs(info.rate - rate) > RATE_TOLERANCE:
        problems.append(f"runs at {info.rate:.3f} fps, expected {rate:.3f}")
    if (info.width, info.height) != (width, height):
        problems.append(f"is {info.width}x{info.height}, expected {width}x{height}")
    if timecode is not None and (info.timecode or "").replace(";", ":") != timecode.replace(
        ";", ":"
    ):
        problems.append(f"starts at time code {info.timecode}, expected {timecode}")
    if problems:
        raise MediaVerificationError(
            f"delivered {path}: " + "; ".join(problems) + "; it is made again on the next run"
        )
    return info


def check_sdr10(info: MediaInfo, path: Path) -> None:
    """Runway's ``sdr_rec709_10bit``: HEVC, 10 bits a sample, BT.709 wherever it is tagged."""
    problems = []
    if info.codec not in ("hevc", "h265"):
        problems.append(f"is {info.codec}, not HEVC")
    if "10" not in (info.pix_fmt or ""):
        problems.append(f"has {info.pix_fmt or 'an unknown'} pixels, not 10 bits")
    tags = {"primaries": info.color_primaries, "transfer": info.color_trc}
    tags["matrix"] = info.colorspace
    for what, code in tags.items():
        if code not in (1, 2):  # 1 BT.709, 2 unspecified
            problems.append(f"is tagged {what} {code}, not BT.709")
    if problems:
        raise MediaVerificationError(
            f"result {path}: " + "; ".join(problems) + " (sdr_rec709_10bit is 10-bit Rec.709 "
            "HEVC); download it again or check the task's output format"
        )
