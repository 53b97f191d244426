"""Image sequences (EXR, DPX, ... numbered frames) as one source path a shot can name.

A shot's segments name their media by one string. For a movie that is its path; for an image
sequence it is the way Nuke shows a Read node, with the frame rate, which the files themselves
may not carry (DPX and EXR headers are optional about it and the timeline is what counts):

    /plates/SH010/SH010_plate.%04d.exr [1001-1240] @23.976

Media frame ``n`` (0-based, as for movies) is file number ``first + n``. The string is what the
ledger, the shot id and the report show, so it stays readable and never changes for one
reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from aleph_otio.timeline.media_refs import media_path

_SEQUENCE_RE = re.compile(
    r"^(?P<pattern>.*%0?(?P<pad>\d*)d[^/\\]*) \[(?P<first>\d+)-(?P<last>\d+)\] "
    r"@(?P<rate>\d+(?:\.\d+)?)$"
)


class SequenceError(ValueError):
    """An image-sequence reference that cannot be cut (the message says why)."""


def exact_rate(rate: float) -> Fraction:
    """``rate`` as the exact fraction it stands for: 24, or 24000/1001 for 23.976."""
    if abs(rate - round(rate)) < 1e-3:
        return Fraction(round(rate))
    ntsc = rate * 1001 / 1000
    if abs(ntsc - round(ntsc)) < 1e-2:
        return Fraction(round(ntsc) * 1000, 1001)
    return Fraction(rate).limit_denominator(1001)


def rate_text(rate: Fraction) -> str:
    """24, 23.976, 29.97, 59.94: as editors write rates (read back by :func:`exact_rate`)."""
    return f"{float(rate):.3f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class SequencePattern:
    """Numbered files ``first..last`` of one sequence, at ``rate``."""

    folder: str
    prefix: str
    suffix: str
    padding: int
    first: int
    last: int
    rate: Fraction

    @property
    def frame_count(self) -> int:
        return self.last - self.first + 1

    @property
    def printf(self) -> str:
        """``/plates/SH010_plate.%04d.exr``: the numbered file name, printf style."""
        pad = f"%0{self.padding}d" if self.padding > 1 else "%d"
        return str(Path(self.folder) / f"{self.prefix}{pad}{self.suffix}")

    def __str__(self) -> str:
        return f"{self.printf} [{self.first}-{self.last}] @{rate_text(self.rate)}"

    def number_name(self, number: int) -> str:
        """The file name of frame ``number`` (a file number, not a media frame)."""
        digits = str(number).zfill(self.padding) if number >= 0 else str(number)
        return f"{self.prefix}{digits}{self.suffix}"

    def file_for(self, media_frame: int) -> Path:
        """The file of media frame ``media_frame`` (0-based from ``first``)."""
        return Path(self.folder) / self.number_name(self.first + media_frame)

    @property
    def name(self) -> str:
        """What a user calls it: ``SH010_plate.####.exr``."""
        return f"{self.prefix}{'#' * max(self.padding, 1)}{self.suffix}"


def parse_sequence(path: str | Path) -> SequencePattern | None:
    """The sequence a source path names, None for a plain file path."""
    match = _SEQUENCE_RE.match(str(path))
    if match is None:
        return None
    printf = Path(match["pattern"])
    prefix, _, suffix = printf.name.partition("%")
    suffix = suffix.split("d", 1)[1]
    return SequencePattern(
        folder=str(printf.parent),
        prefix=prefix,
        suffix=suffix,
        padding=int(match["pad"] or 1),
        first=int(match["first"]),
        last=int(match["last"]),
        rate=exact_rate(float(match["rate"])),
    )


#: ``SH010_plate.[1001-1096].exr``: how Resolve names a sequence (media pool, XML and EDL exports).
_BRACKET_RE = re.compile(r"^(?P<prefix>.*)\[(?P<first>\d+)-(?P<last>\d+)\](?P<suffix>\.\w+)$")


def bracket_sequence(path: str, rate: float) -> SequencePattern | None:
    """The sequence a file path in bracket notation names (``plate.[1001-1096].exr``)."""
    folder, _, name = path.replace("\\", "/").rpartition("/")
    match = _BRACKET_RE.match(name)
    if match is None or rate <= 0 or int(match["last"]) < int(match["first"]):
        return None
    return SequencePattern(
        folder=str(Path(path).parent) if folder else ".",
        prefix=match["prefix"],
        suffix=match["suffix"],
        padding=len(match["first"]),
        first=int(match["first"]),
        last=int(match["last"]),
        rate=exact_rate(rate),
    )


def is_sequence_path(path: str | Path) -> bool:
    return parse_sequence(path) is not None


def sequence_of_reference(
    ref: otio.schema.ImageSequenceReference, folder: Path, fallback_rate: float | None = None
) -> SequencePattern:
    """The sequence an OTIO ``ImageSequenceReference`` points at (relative to ``folder``).

    Its frames run from ``start_frame`` for as long as its available range says.
    """
    if ref.frame_step != 1:
        raise SequenceError(
            f"the image sequence uses every {ref.frame_step}th file (frame_step); aleph-otio "
            "cuts sequences of consecutive files: renumber or re-render the plate"
        )
    if not ref.target_url_base:
        raise SequenceError("the image-sequence reference names no folder (target_url_base)")
    rate = ref.rate or (ref.available_range.start_time.rate if ref.available_range else 0)
    rate = rate or (fallback_rate or 0)
    if rate <= 0:
        raise SequenceError("the image-sequence reference has no frame rate; set its rate")
    count = (
        round(ref.available_range.duration.rescaled_to(rate).value)
        if ref.available_range is not None
        else 0
    )
    if count <= 0:
        raise SequenceError(
            "the image-sequence reference has no available range (how many frames it holds); "
            "re-export the timeline with the media's range"
        )
    base = media_path(ref.target_url_base, folder)
    return SequencePattern(
        folder=base,
        prefix=ref.name_prefix,
        suffix=ref.name_suffix,
        padding=max(1, ref.frame_zero_padding),
        first=ref.start_frame,
        last=ref.start_frame + count - 1,
        rate=exact_rate(rate),
    )


def sequence_reference(
    pattern: SequencePattern, available_start: float | None = None
) -> otio.schema.ImageSequenceReference:
    """An OTIO reference to ``pattern``; ``available_start`` (frames at its rate): its time
    code, by default the first file's number, as OTIO counts sequences without one."""
    rate = float(pattern.rate)
    start = pattern.first if available_start is None else available_start
    folder = Path(pattern.folder).as_posix().rstrip("/") + "/"
    return otio.schema.ImageSequenceReference(
        target_url_base=folder,
        name_prefix=pattern.prefix,
        name_suffix=pattern.suffix,
        start_frame=pattern.first,
        frame_step=1,
        rate=rate,
        frame_zero_padding=pattern.padding,
        available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(start, rate),
            otio.opentime.RationalTime(pattern.frame_count, rate),
        ),
    )


def number_ranges(numbers: list[int]) -> str:
    """``[1017, 1018, 1019, 1042]`` as ``1017-1019, 1042`` (at most 8 runs, then a count)."""
    runs: list[tuple[int, int]] = []
    for n in sorted(numbers):
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:8])
    return text + (f" and {len(runs) - 8} more runs" if len(runs) > 8 else "")
