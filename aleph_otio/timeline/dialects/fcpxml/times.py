"""FCPXML times: rational seconds (``3003/30000s``), frame rates and linear time maps."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from xml.etree.ElementTree import Element

#: ``3003/30000s``, ``10s``, ``0s``, ``1.5s`` (FCP writes the first two; others write decimals).
_TIME = re.compile(r"^\s*(-?\d+(?:\.\d+)?)(?:/(\d+))?s?\s*$")


class FcpxmlError(ValueError):
    """A value in the file that no FCPXML writer produces; the message says which and where."""


def parse_time(text: str | None, what: str, default: Fraction | None = None) -> Fraction:
    """An FCPXML time attribute as exact seconds (``default`` when absent)."""
    if text is None or not text.strip():
        if default is None:
            raise FcpxmlError(f"{what} has no time")
        return default
    match = _TIME.match(text)
    if match is None:
        raise FcpxmlError(f"{what} is not an FCPXML time: {text[:40]!r}")
    value, denominator = match.groups()
    if denominator is not None and int(denominator) == 0:
        raise FcpxmlError(f"{what} divides by zero: {text[:40]!r}")
    seconds = Fraction(value)
    return seconds / int(denominator) if denominator is not None else seconds


def attr_time(element: Element, name: str, default: Fraction | None = None) -> Fraction:
    """Attribute ``name`` of ``element`` as seconds; the message names element and attribute."""
    label = element.get("name") or element.get("value") or ""
    where = f"<{element.tag}{f' {label[:40]!r}' if label else ''}> {name}"
    return parse_time(element.get(name), where, default)


def rate_of_frame_duration(text: str | None) -> Fraction | None:
    """Frames per second from a ``format`` frameDuration (``1001/24000s`` -> 24000/1001)."""
    if not text:
        return None
    try:
        duration = parse_time(text, "frameDuration")
    except FcpxmlError:
        return None
    return 1 / duration if duration > 0 else None


#: conform-rate srcFrameRate tokens (the DTD's list) as exact rates.
_SRC_RATES = {
    "23.98": Fraction(24000, 1001),
    "29.97": Fraction(30000, 1001),
    "47.95": Fraction(48000, 1001),
    "59.94": Fraction(60000, 1001),
}


def src_frame_rate(text: str | None) -> Fraction | None:
    """A conform-rate ``srcFrameRate`` token as an exact rate (None when absent or odd)."""
    if not text:
        return None
    if text in _SRC_RATES:
        return _SRC_RATES[text]
    try:
        rate = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return None
    return rate if rate > 0 else None


def same_rate(a: Fraction, b: Fraction) -> bool:
    """Rates FCP counts alike (24 and 24000/1001 are not: one plays 0.1 % slower)."""
    return abs(a - b) < Fraction(1, 1000)


@dataclass(frozen=True)
class Linear:
    """``y = scale * x + shift``: how one time line maps onto another."""

    scale: Fraction
    shift: Fraction

    def __call__(self, x: Fraction) -> Fraction:
        return self.scale * x + self.shift

    def then(self, outer: Linear) -> Linear:
        """This map followed by ``outer``."""
        return Linear(outer.scale * self.scale, outer.scale * self.shift + outer.shift)

    def inverse(self) -> Linear:
        return Linear(1 / self.scale, -self.shift / self.scale)


IDENTITY = Linear(Fraction(1), Fraction(0))


@dataclass(frozen=True)
class TimeMap:
    """A ``<timeMap>``: clip time -> media time through ``<timept>`` points."""

    points: tuple[tuple[Fraction, Fraction], ...]  # (time, value), by time

    def segment(self, lo: Fraction, hi: Fraction) -> tuple[Linear | None, str]:
        """The one linear map over clip times [lo, hi), or (None, why it is not linear)."""
        pts = self.points
        if len(pts) < 2:
            return Linear(Fraction(1), pts[0][1] - pts[0][0]) if pts else IDENTITY, ""
        slopes: list[Linear] = []
        for (t0, v0), (t1, v1) in zip(pts, pts[1:], strict=False):
            if t1 <= t0:
                continue
            inside = t1 > lo and t0 < hi
            # Times outside the points keep the nearest segment's speed (FCP extends them).
            first, last = t0 == pts[0][0], t1 == pts[-1][0]
            if inside or (first and hi <= t0) or (last and lo >= t1):
                scale = (v1 - v0) / (t1 - t0)
                slopes.append(Linear(scale, v0 - scale * t0))
        if not slopes:
            return None, "retime whose points do not cover the clip"
        if any(s.scale != slopes[0].scale for s in slopes[1:]):
            speeds = [f"{float(scale) * 100:.0f}%" for scale in sorted({s.scale for s in slopes})]
            return None, f"speed ramp {' to '.join(speeds)}"
        return slopes[0], ""


def time_map_of(element: Element) -> TimeMap | None:
    """The ``<timeMap>`` of a clip element, or None."""
    found = element.find("timeMap")
    if found is None:
        return None
    points = []
    for point in found.findall("timept"):
        time = attr_time(point, "time")
        value = parse_time(point.get("value"), "<timept> value")
        points.append((time, value))
    points.sort(key=lambda p: p[0])
    return TimeMap(tuple(points))
