"""Turnover sheets: CSV a spreadsheet opens, ALE Media Composer imports; each read back."""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import opentimelineio as otio
import pytest

from aleph_otio.config import PlanSettings
from aleph_otio.exports.sheets import SheetEntry, write_sheet
from aleph_otio.plan import plan_timeline
from aleph_otio.sample import make_sample_project
from aleph_otio.shots import Shot
from aleph_otio.timeline import read_timeline, write_timeline

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
HOUR = 86400  # 01:00:00:00 at 24 fps


def tr(start: float, duration: float) -> otio.opentime.TimeRange:
    return TR(RT(start, 24), RT(duration, 24))


def _planned(tmp_path: Path, prompt: str) -> Shot:
    """One shot: clip A (file TC 01:00:00:00, 480 frames) used from frame 48 for 72 frames,
    cut in at record 01:00:00:00 + 24 (after a one-second gap); the marker covers frames
    60-107 (48 frames); 8 frames of handles each side."""
    ref = otio.schema.ExternalReference(
        target_url="/media/A010C004.mov", available_range=tr(HOUR, 480)
    )
    a = otio.schema.Clip(name="A010C004", media_reference=ref, source_range=tr(HOUR + 48, 72))
    a.metadata["cmx_3600"] = {"reel": "A010"}
    marker = otio.schema.Marker(name="SQ010_SH020", marked_range=tr(HOUR + 60, 48))
    marker.comment = f"aleph: {prompt}"
    a.markers.append(marker)
    tl = otio.schema.Timeline(name="REEL1", global_start_time=RT(HOUR, 24))
    tl.tracks.append(
        otio.schema.Track(name="V1", children=[otio.schema.Gap(source_range=tr(0, 24)), a])
    )
    path = write_timeline(tl, tmp_path / "cut.otio")
    plan = plan_timeline(read_timeline(path), PlanSettings(handles=8))
    assert plan.errors == [] and len(plan.shots) == 1
    return plan.shots[0]


# Worked out by hand from _planned: source frames 60..107 of a file starting at 01:00:00:00
# -> 01:00:02:12 to 01:00:04:12 (exclusive); with 8 handles 01:00:02:04 to 01:00:04:20; record:
# the clip starts at record frame 24 and the marker is 12 frames into it -> 01:00:01:12 to
# 01:00:03:12.
EXPECTED = {
    "Shot": "SQ010_SH020",
    "Version": "v002",
    "Variation": "b",
    "Clip": "A010C004",
    "Reel": "A010",
    "Source In": "01:00:02:12",
    "Source Out": "01:00:04:12",
    "Source In (handles)": "01:00:02:04",
    "Source Out (handles)": "01:00:04:20",
    "Record In": "01:00:01:12",
    "Record Out": "01:00:03:12",
    "Frames": "48",
    "Frames (handles)": "64",
    "Guides": "0",
    "State": "relinked",
    "Task UUID": "3f1c2b7e-0000-4000-8000-000000000001",
    "Estimate USD": "0.75",
    "Cost USD": "0.7467",
    "Result File": "SQ010_SH020_aleph_v002b.mp4",
}


def _entry(shot: Shot) -> SheetEntry:
    return SheetEntry(
        shot=shot,
        version=2,
        state="relinked",
        task_uuid="3f1c2b7e-0000-4000-8000-000000000001",
        estimate=0.7467,
        cost=0.7467,
        result_path="/Volumes/Edit/snow/results/SQ010_SH020_aleph_v002b.mp4",
        variant=1,
        reel=shot.reel,
        height=1080,
    )


def test_csv_reads_back_in_a_spreadsheet_reader(tmp_path: Path) -> None:
    # A prompt with everything RFC 4180 quotes: a comma, a double quote, a line break; and
    # letters outside ASCII, which Excel shows right only with the byte-order mark.
    prompt = 'replace the "OPEN" sign, keep the neon\nglow: café'
    shot = _planned(tmp_path, prompt)
    path = write_sheet([_entry(shot)], tmp_path / "shots.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1
    row = rows[0]
    assert row["Prompt"] == prompt
    assert {k: row[k] for k in EXPECTED} == EXPECTED


def _parse_ale(text: str) -> tuple[dict[str, str], list[str], list[list[str]]]:
    """A small ALE reader: Heading key/value lines, the Column line, the Data lines."""
    lines = text.split("\r\n")
    assert lines[0] == "Heading"
    heading: dict[str, str] = {}
    i = 1
    while lines[i] != "":
        key, value = lines[i].split("\t")
        heading[key] = value
        i += 1
    assert lines[i + 1] == "Column"
    columns = lines[i + 2].split("\t")
    assert lines[i + 3] == "" and lines[i + 4] == "Data"
    data = [line.split("\t") for line in lines[i + 5 :] if line]
    return heading, columns, data


def test_ale_has_avids_sections_and_one_clip_per_result(tmp_path: Path) -> None:
    shot = _planned(tmp_path, "remove\tthe sign\non the left")
    path = write_sheet([_entry(shot)], tmp_path / "shots.ale")
    heading, columns, data = _parse_ale(path.read_bytes().decode("utf-8"))
    assert heading == {"FIELD_DELIM": "TABS", "VIDEO_FORMAT": "1080", "FPS": "24"}
    assert columns[:6] == ["Name", "Tracks", "Start", "End", "Tape", "Source File"]
    assert len(data) == 1 and len(data[0]) == len(columns)
    row = dict(zip(columns, data[0], strict=True))
    # The result file is stamped with the input clip's first frame (handles included): a bin
    # clip from 01:00:02:04 for 64 frames, End exclusive.
    assert row["Name"] == "SQ010_SH020_aleph_v002b"
    assert row["Start"] == "01:00:02:04" and row["End"] == "01:00:04:20"
    assert row["Source File"] == "SQ010_SH020_aleph_v002b.mp4"
    assert row["Tracks"] == "V"
    # A tab or line break in a prompt must not shift the columns after it.
    assert row["Prompt"] == "remove the sign on the left"
    assert row["Shot"] == "SQ010_SH020" and row["Version"] == "v002"


def test_ale_fps_for_ntsc_rates() -> None:
    from aleph_otio.exports.sheets import ale_fps

    assert [ale_fps(r) for r in (24000 / 1001, 24, 25, 30000 / 1001, 60000 / 1001)] == [
        "23.976",
        "24",
        "25",
        "29.97",
        "59.94",
    ]


def test_an_unknown_sheet_suffix_is_refused(tmp_path: Path) -> None:
    from aleph_otio.errors import TimelineWriteError

    shot = _planned(tmp_path, "x")
    with pytest.raises(TimelineWriteError, match=r"shots\.xlsx: a sheet is \.csv"):
        write_sheet([_entry(shot)], tmp_path / "shots.xlsx")
    assert not (tmp_path / "shots.xlsx").exists()


# --- end to end: a run's work folder, and a timeline not yet run --------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUNWARE_API_KEY": "test-key-not-secret"}
    return subprocess.run(
        [sys.executable, "-m", "aleph_otio", *args],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_sheet_of_a_work_folder_and_of_a_timeline(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path / "proj")
    work = tmp_path / "work"
    done = _cli(
        "run", str(project.timeline), "-o", str(tmp_path / "out.otio"), "--work-dir", str(work),
        "--emulator", "--emulator-latency", "0.1", "--number-results", "2",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

    done = _cli("sheet", str(work), "-o", str(tmp_path / "shots.csv"))
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "(6 row(s))" in done.stdout
    with (tmp_path / "shots.csv").open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    with sqlite3.connect(work / "ledger.sqlite") as db:
        tasks = dict(db.execute("SELECT s.name, s.task_uuid FROM shots s").fetchall())
        costs = dict(
            db.execute("SELECT r.path, r.cost FROM results r WHERE r.status = 'success'").fetchall()
        )
    # Two variations of three shots, in plan order, every one relinked and paid.
    assert [(r["Shot"], r["Variation"]) for r in rows] == [
        (s, v) for s in ("sh010", "sh020", "sh030") for v in ("a", "b")
    ]
    for row in rows:
        assert row["State"] == "relinked" and row["Version"] == "v001"
        assert row["Task UUID"] == tasks[row["Shot"]]
        assert row["Result File"] == f"{row['Shot']}_aleph_v001{row['Variation']}.mp4"
        path = str(work / "results" / row["Result File"])
        assert Path(path).is_file()
        assert float(row["Cost USD"]) == pytest.approx(costs[path], abs=1e-4)
    # The boom-mic shot crosses the C/D cut: both clips named, source in C, out in D.
    boom = rows[4]
    assert boom["Clip"] == "C030C002+D040C003"
    assert boom["Source In"].startswith("03:") and boom["Source Out"].startswith("04:")

    done = _cli("sheet", str(work), "-o", str(tmp_path / "shots.ale"))
    assert done.returncode == 0, done.stderr
    heading, columns, data = _parse_ale((tmp_path / "shots.ale").read_bytes().decode("utf-8"))
    assert heading["FPS"] == "24" and heading["FIELD_DELIM"] == "TABS"
    assert [dict(zip(columns, d, strict=True))["Source File"] for d in data] == [
        r["Result File"] for r in rows
    ]

    # Before anything is run: the shots the timeline would send, planned, no task yet.
    done = _cli("sheet", str(project.timeline), "-o", str(tmp_path / "plan.csv"), "--handles", "4")
    assert done.returncode == 0, done.stderr
    with (tmp_path / "plan.csv").open(newline="", encoding="utf-8-sig") as handle:
        planned = list(csv.DictReader(handle))
    assert [(r["Shot"], r["State"], r["Task UUID"], r["Result File"]) for r in planned] == [
        (s, "planned", "", "") for s in ("sh010", "sh020", "sh030")
    ]
    assert all(int(r["Frames (handles)"]) == int(r["Frames"]) + 8 for r in planned)

    bad = _cli("sheet", str(work), "-o", str(tmp_path / "shots.txt"))
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines()[-1].startswith("error: ")


NTSC = "<rate><timebase>30</timebase><ntsc>TRUE</ntsc></rate>"


def _ntsc_shot(tmp_path: Path, display: str) -> Shot:
    """A 29.97 FCP 7 XML cut (``display``: DF or NDF) from 01:00:00;00 / 01:00:00:00: clip C001
    (file TC the same) uses file frames 30-89 at record frame 0; the marker covers it all."""
    start = 107892 if display == "DF" else 108000  # 01:00:00;00 or 01:00:00:00 in frames
    tc = "01:00:00;00" if display == "DF" else "01:00:00:00"
    timecode = (
        f"<timecode>{NTSC}<string>{tc}</string><frame>{start}</frame>"
        f"<displayformat>{display}</displayformat></timecode>"
    )
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE xmeml>
<xmeml version="4"><sequence id="sequence-1"><name>News</name><duration>60</duration>{NTSC}
<media><video><track><clipitem id="clipitem-1"><name>C001</name><duration>300</duration>{NTSC}
<start>0</start><end>60</end><in>30</in><out>90</out>
<file id="file-1"><name>C001.mov</name><pathurl>file:///media/C001.mov</pathurl>{NTSC}
<duration>300</duration>{timecode}</file>
<marker><name>SH010</name><comment>aleph: remove the boom mic</comment><in>30</in><out>90</out>
</marker></clipitem></track></video></media>{timecode}</sequence></xmeml>
"""
    path = tmp_path / f"news_{display}.xml"
    path.write_text(xml, encoding="utf-8")
    plan = plan_timeline(read_timeline(path), PlanSettings(handles=6))
    assert plan.errors == [] and len(plan.shots) == 1
    return plan.shots[0]


@pytest.mark.parametrize(
    ("display", "expected"),
    [
        # File frames 30-89 from a file at 01:00:00;00, 6 handles: 24-95; record from 01:00:00;00.
        ("DF", ("01:00:01;00", "01:00:03;00", "01:00:00;24", "01:00:03;06", "01:00:00;00",
                "01:00:02;00")),
        ("NDF", ("01:00:01:00", "01:00:03:00", "01:00:00:24", "01:00:03:06", "01:00:00:00",
                 "01:00:02:00")),
    ],
)  # fmt: skip
def test_ntsc_sheets_count_time_code_as_the_timeline_and_the_result_stamp_do(
    tmp_path: Path, display: str, expected: tuple[str, ...]
) -> None:
    from aleph_otio.media.stamp import file_timecode

    shot = _ntsc_shot(tmp_path, display)
    path = write_sheet([_entry(shot)], tmp_path / "shots.csv")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        (row,) = list(csv.DictReader(handle))
    columns = ("Source In", "Source Out", "Source In (handles)", "Source Out (handles)")
    assert tuple(row[c] for c in (*columns, "Record In", "Record Out")) == expected
    # The ALE's Start is the time code stamped on the result file (drop-frame at 29.97, as
    # aleph-otio's EDLs write it), whatever the timeline counts: Media Composer relinks by it.
    ale = write_sheet([_entry(shot)], tmp_path / "shots.ale")
    heading, cols, data = _parse_ale(ale.read_bytes().decode("utf-8"))
    ale_row = dict(zip(cols, data[0], strict=True))
    first = shot.segments[0]
    stamped = file_timecode(first.available_start + first.media_start_frame - 6, 30000 / 1001)
    assert heading["FPS"] == "29.97"
    assert ale_row["Start"] == stamped
    # NDF: the file's first frame is 108000 + 24 = 108024, which drop-frame counts 132 frames
    # after 01:00:00;00 (107892): 4 s 12 frames.
    assert ale_row["Start"] == ("01:00:00;24" if display == "DF" else "01:00:04;12")
