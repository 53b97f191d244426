"""Frame rates and SMPTE timecode as NLEs count them."""

from __future__ import annotations

import functools
from fractions import Fraction

import opentimelineio as otio

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


_NTSC_RATES = (24000 / 1001, 30000 / 1001, 48000 / 1001, 60000 / 1001, 120000 / 1001)
#: The rates SMPTE drop-frame timecode exists for (29.97 and 59.94).
_DROP_RATES = (30000 / 1001, 60000 / 1001)


def parse_rate(rate: float | int | str | Fraction) -> float:
    """A frame rate as OTIO wants it: ``"24000/1001"``, ``Fraction``, ``23.976`` -> 23.976023976...

    Near-NTSC literals (23.976, 29.97, 59.94) become the exact x000/1001 value, which OTIO's
    timecode functions accept (the literals are rejected by OTIO 0.18.1).
    """
    try:
        value = float(Fraction(str(rate).strip())) if isinstance(rate, str) else float(rate)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"not a frame rate: {rate!r} (use e.g. 24, 25 or 24000/1001)") from None
    if not value > 0:
        raise ValueError(f"not a frame rate: {rate!r} (must be positive)")
    return normalise_rate(value)


# Pure functions of a rate, called several times per marker with a handful of distinct rates.
@functools.lru_cache(maxsize=256)
def normalise_rate(rate: float) -> float:
    """Snap rates within 0.01 of an NTSC x000/1001 rate or an integer onto it."""
    for ntsc in _NTSC_RATES:
        if abs(rate - ntsc) < 0.01:
            return ntsc
    if abs(rate - round(rate)) < 1e-6:
        return float(round(rate))
    return rate


@functools.lru_cache(maxsize=256)
def smpte_rate(rate: float) -> float | None:
    """The timecode rate for ``rate``, or None when SMPTE timecode cannot express it."""
    rate = normalise_rate(rate)
    if RT.is_valid_timecode_rate(rate):
        return rate
    nearest = RT.nearest_smpte_timecode_rate(rate)
    return nearest if abs(nearest - rate) < 0.01 else None


def same_rate(a: float, b: float) -> bool:
    """True when two rates count the same timecode frames (24 and 24000/1001 do)."""
    return abs(a - b) < 0.05


def frames_at(time: otio.opentime.RationalTime, rate: float) -> float:
    """``time`` as a frame count at ``rate``.

    Rates that count the same timecode frames (24 vs 23.976) are relabelled, not rescaled: NLEs
    number frames by nominal rate, so rescaling would drift by 0.1 % per hour of timecode.
    """
    if same_rate(time.rate, rate):
        return float(time.value)
    return float(time.value_rescaled_to(rate))


def timecode(
    time: otio.opentime.RationalTime, rate: float | None = None, *, drop_frame: bool = False
) -> str:
    """SMPTE timecode of ``time`` at ``rate``; seconds when no TC rate fits.

    Non-drop-frame unless ``drop_frame`` (the timeline counts drop-frame) and the rate is 29.97
    or 59.94: then ``01:00:00;00`` as the NLE shows the same frame.
    """
    rate = rate if rate is not None else time.rate
    return timecode_of(frames_at(time, rate), rate, drop_frame=drop_frame)


def timecode_of(frames_value: float, rate: float, *, drop_frame: bool = False) -> str:
    """``timecode(RationalTime(frames_value, rate))`` without making the RationalTime."""
    tc_rate = smpte_rate(rate)
    frames = round(frames_value)
    if frames < 0:
        # A time before the timeline/media start: said so, never as a negative timecode
        # (which no NLE shows, and OTIO refuses).
        before = timecode_of(-frames, rate, drop_frame=drop_frame)
        return f"{before} before {timecode_of(0, rate, drop_frame=drop_frame)}"
    if tc_rate is None:
        return f"{frames / rate:.3f}s"
    if drop_frame and tc_rate in _DROP_RATES:
        return str(otio.opentime.to_timecode(RT(frames, tc_rate), tc_rate, drop_frame=True))
    # Non-drop-frame: frame numbers from media/EDL start TCs are counted that way.
    if frames < 82800 * int(tc_rate):
        # Below 23 hours, OTIO's non-drop-frame timecode is plain counting at the nominal rate
        # (checked against OTIO frame by frame over 24 hours at every SMPTE rate); formatting
        # it here is several times cheaper than the C++ call and its RationalTime.
        nominal = round(tc_rate)
        seconds, frame = divmod(frames, nominal)
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}:{frame:02d}"
    # OTIO wraps at 24 hours in its own way for NTSC rates: let it.
    return str(otio.opentime.to_timecode(RT(frames, tc_rate), tc_rate, drop_frame=False))
