"""Turnover sheets: one row per shot, version and result, as CSV (spreadsheets) or ALE (Avid).

The rows are worked out here from shots and what the ledger says of them (pure); the caller
gathers those facts (:mod:`aleph_otio.scripting.sheets`). CSV is UTF-8 with a byte-order mark
(Excel reads it as UTF-8 only then) and RFC 4180 quoting, CRLF line ends (Python's csv module).
ALE is Avid Log Exchange: ``Heading`` (``FIELD_DELIM TABS``, ``VIDEO_FORMAT``, ``FPS``),
``Column`` and ``Data`` sections, tab-separated, CRLF; ``Name``/``Start``/``End``/``Tracks``/
``Source File`` are Media Composer's own columns, so importing the ALE makes a bin of the result
clips (``Start`` is the result's stamped time code, ``End`` exclusive); the rest are custom
columns.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

import opentimelineio as otio

from aleph_otio.errors import TimelineWriteError
from aleph_otio.shots import Shot
from aleph_otio.timeline import timecode_of

SHEET_SUFFIXES = (".csv", ".ale")


@dataclass(frozen=True)
class SheetEntry:
    """What is known of one shot's version (and one of its results, when it has some)."""

    shot: Shot
    version: int = 1
    state: str = "planned"
    task_uuid: str = ""
    estimate: float = 0.0
    cost: float | None = None
    result_path: str = ""
    variant: int | None = None  # result index (0 = a) when there is a result
    reel: str = ""
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class SheetRow:
    """One line of the sheet, every value as it is written."""

    shot: str
    version: str
    variation: str
    clip: str
    reel: str
    source_in: str
    source_out: str
    source_in_handles: str
    source_out_handles: str
    record_in: str
    record_out: str
    frames: int
    frames_handles: int
    prompt: str
    guides: int
    state: str
    task_uuid: str
    estimate: str
    cost: str
    result_file: str
    rate: float
    result_start: str
    result_end: str


#: (CSV heading, SheetRow field), in sheet order.
CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Shot", "shot"),
    ("Version", "version"),
    ("Variation", "variation"),
    ("Clip", "clip"),
    ("Reel", "reel"),
    ("Source In", "source_in"),
    ("Source Out", "source_out"),
    ("Source In (handles)", "source_in_handles"),
    ("Source Out (handles)", "source_out_handles"),
    ("Record In", "record_in"),
    ("Record Out", "record_out"),
    ("Frames", "frames"),
    ("Frames (handles)", "frames_handles"),
    ("Prompt", "prompt"),
    ("Guides", "guides"),
    ("State", "state"),
    ("Task UUID", "task_uuid"),
    ("Estimate USD", "estimate"),
    ("Cost USD", "cost"),
    ("Result File", "result_file"),
)


def _record_frames(tc: str, rate: float) -> float | None:
    try:
        return otio.opentime.from_timecode(tc, rate).value
    except ValueError:  # a rate without time code (the TC is then in seconds)
        return None


def sheet_row(entry: SheetEntry) -> SheetRow:
    """The row of one entry: source and record time codes with and without handles."""
    shot = entry.shot
    first, last = shot.segments[0], shot.segments[-1]
    rate = first.media_rate
    start = first.available_start + first.media_start_frame
    end = last.available_start + last.media_start_frame + last.media_frame_count
    record_in = _record_frames(first.record_tc_in, first.record_rate)
    span = last.record_start + last.record_duration - first.record_start
    # The plan's time codes say how the timeline counts (";": drop-frame); the sheet keeps it.
    df = ";" in first.source_tc_in + first.record_tc_in
    record_out = (
        timecode_of(record_in + span, first.record_rate, drop_frame=df)
        if record_in is not None
        else ""
    )
    core = sum(s.media_frame_count for s in shot.segments)
    head_start = start - shot.head_frames
    result = entry.result_path
    return SheetRow(
        shot=shot.name,
        version=f"v{entry.version:03d}",
        variation=chr(ord("a") + entry.variant) if entry.variant is not None else "",
        clip="+".join(dict.fromkeys(s.clip_name for s in shot.segments)),
        reel=entry.reel,
        source_in=first.source_tc_in,
        source_out=last.source_tc_out,
        source_in_handles=timecode_of(head_start, rate, drop_frame=df),
        source_out_handles=timecode_of(end + shot.tail_frames, rate, drop_frame=df),
        record_in=first.record_tc_in,
        record_out=record_out,
        frames=core,
        frames_handles=shot.frame_count,
        prompt=shot.prompt,
        guides=len(shot.guides),
        state=entry.state,
        task_uuid=entry.task_uuid,
        estimate=f"{entry.estimate:.2f}",
        cost=f"{entry.cost:.4f}" if entry.cost is not None else "",
        result_file=PurePath(result).name if result else "",
        rate=rate,
        # Result files are stamped with the time code of the input clip's first frame, counted
        # as aleph-otio's EDLs and stamps count it (drop-frame at 29.97/59.94), so that Media
        # Composer's relink by time code finds them.
        result_start=timecode_of(head_start, rate, drop_frame=True),
        result_end=timecode_of(head_start + shot.frame_count, rate, drop_frame=True),
    )


def csv_text(rows: Iterable[SheetRow]) -> str:
    """The CSV sheet (without the byte-order mark, which :func:`write_sheet` adds)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180: CRLF, quotes doubled
    writer.writerow([heading for heading, _ in CSV_COLUMNS])
    for row in rows:
        writer.writerow([getattr(row, name) for _, name in CSV_COLUMNS])
    return out.getvalue()


#: (ALE column, SheetRow field or a fixed value); Avid's own columns first.
_ALE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("Name", "name"),
    ("Tracks", "=V"),
    ("Start", "result_start"),
    ("End", "result_end"),
    ("Tape", "tape"),
    ("Source File", "result_file"),
    ("Shot", "shot"),
    ("Version", "version"),
    ("Variation", "variation"),
    ("Source Clip", "clip"),
    ("Source Reel", "reel"),
    ("Source In", "source_in"),
    ("Source Out", "source_out"),
    ("Record In", "record_in"),
    ("Record Out", "record_out"),
    ("Frames", "frames_handles"),
    ("Prompt", "prompt"),
    ("Guides", "guides"),
    ("State", "state"),
    ("Task UUID", "task_uuid"),
    ("Estimate USD", "estimate"),
    ("Cost USD", "cost"),
)


def ale_fps(rate: float) -> str:
    """The FPS heading as Avid writes it: 24, 25, 23.976, 29.97, 59.94."""
    if abs(rate - round(rate)) < 0.001:
        return str(round(rate))
    return f"{rate:.3f}".rstrip("0").rstrip(".")


def video_format(height: int) -> str:
    """Avid's VIDEO_FORMAT for a frame height: 1080, 720, NTSC, PAL, else CUSTOM."""
    return {1080: "1080", 720: "720", 486: "NTSC", 480: "NTSC", 576: "PAL"}.get(height, "CUSTOM")


def _ale_value(row: SheetRow, field: str) -> str:
    if field.startswith("="):
        return field[1:]
    if field == "name":
        return PurePath(row.result_file).stem if row.result_file else f"{row.shot}_{row.version}"
    if field == "tape":
        # Media Composer matches a clip to its media by tape and time code.
        return PurePath(row.result_file).stem if row.result_file else row.shot
    # One line each: a tab or line break in a prompt would shift every column after it.
    return " ".join(str(getattr(row, field)).split())


def ale_text(rows: Sequence[SheetRow], *, height: int = 1080) -> str:
    """The ALE sheet; every row must be at one rate (an ALE has one FPS)."""
    rates = sorted({round(r.rate, 3) for r in rows})
    if len(rates) > 1:
        raise TimelineWriteError(
            f"the shots run at {', '.join(f'{r:g}' for r in rates)} fps and an ALE holds one "
            "rate; write a .csv, or one ALE per rate"
        )
    fps = ale_fps(rows[0].rate) if rows else "24"
    lines = [
        "Heading",
        "FIELD_DELIM\tTABS",
        f"VIDEO_FORMAT\t{video_format(height)}",
        f"FPS\t{fps}",
        "",
        "Column",
        "\t".join(name for name, _ in _ALE_COLUMNS),
        "",
        "Data",
    ]
    lines += ["\t".join(_ale_value(row, field) for _, field in _ALE_COLUMNS) for row in rows]
    return "\r\n".join(lines) + "\r\n"


def write_sheet(entries: Sequence[SheetEntry], path: Path) -> Path:
    """Write the sheet of ``entries`` to ``path`` (.csv or .ale), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    rows = [sheet_row(e) for e in entries]
    if suffix == ".csv":
        data = ("\ufeff" + csv_text(rows)).encode("utf-8")
    elif suffix == ".ale":
        height = next((e.height for e in entries if e.height), 1080)
        data = ale_text(rows, height=height).encode("utf-8")
    else:
        raise TimelineWriteError(
            f"{path}: a sheet is .csv (spreadsheets) or .ale (Avid Log Exchange), not "
            f"{suffix or 'no suffix'}; choose one of those"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
