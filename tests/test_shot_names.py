"""Shot names: from the marker's own id, a regex on clip names or a template; unique, safe."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import opentimelineio as otio
import pytest
import typer
from typer.testing import CliRunner

from aleph_otio.cli import plan as plan_cli
from aleph_otio.config import PlanSettings
from aleph_otio.errors import ConfigError
from aleph_otio.naming import (
    NameFields,
    marker_id,
    result_file_name,
    safe_name,
    shot_name,
)
from aleph_otio.plan import plan_timeline
from aleph_otio.sample import make_sample_project
from aleph_otio.shots import Plan, shot_id
from aleph_otio.timeline import read_timeline, write_timeline

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
HOUR = 86400  # 01:00:00:00 at 24 fps


def tr(start: float, duration: float) -> otio.opentime.TimeRange:
    return TR(RT(start, 24), RT(duration, 24))


def clip(name: str, start: float, duration: float, reel: str = "") -> otio.schema.Clip:
    ref = otio.schema.ExternalReference(
        target_url=f"/media/{name}.mov", available_range=tr(HOUR, 480)
    )
    made = otio.schema.Clip(name=name, media_reference=ref, source_range=tr(start, duration))
    if reel:
        made.metadata["cmx_3600"] = {"reel": reel}
    return made


def cut(*clips: otio.schema.Clip, name: str = "REEL1_v3") -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name=name, global_start_time=RT(HOUR, 24))
    tl.tracks.append(otio.schema.Track(name="V1", children=list(clips)))
    return tl


def plan_of(tl: otio.schema.Timeline, folder: Path, **settings: object) -> Plan:
    path = write_timeline(tl, folder / "cut.otio")
    return plan_timeline(read_timeline(path), PlanSettings(**settings))  # type: ignore[arg-type]


def fields(**kw: object) -> NameFields:
    base: dict[str, object] = dict(
        sequence="REEL1 v3", track="V1", clip="A010C004", reel="A010", marker="", index=2
    )
    base.update(kw)
    return NameFields(**base)  # type: ignore[arg-type]


# --- the pure rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("SQ010 SH020", "SQ010_SH020"),
        ('a/b\\c:d*e?f"g<h>i|j', "a_b_c_d_e_f_g_h_i_j"),  # Windows' forbidden characters
        ("..hidden", "hidden"),  # no hidden files on Unix
        ("trailing. ", "trailing"),  # Windows drops trailing dots and spaces
        ("CON", "_CON"),  # a Windows device name
        ("lpt1.mov", "_lpt1.mov"),
        ("tab\there\nnewline", "tab_here_newline"),
        ("Caf\u0065\u0301", "Café"),  # one NFC form: macOS would store it decomposed
        ("///", ""),
    ],
)
def test_safe_name_holds_on_every_desktop_system(text: str, safe: str) -> None:
    assert safe_name(text) == safe


def test_safe_name_is_cut_to_a_length_every_file_system_takes() -> None:
    name = safe_name("é" * 200)  # 400 bytes of UTF-8
    assert len(name.encode()) <= 120 and name == "é" * 60


@pytest.mark.parametrize(
    ("name", "prompt", "expected"),
    [
        ("SH020", "remove the sign", "SH020"),  # name + comment: the name is the id
        ("aleph: remove the sign", "remove the sign", ""),  # the name is the request
        ("remove the sign", "remove the sign", ""),  # by colour: the name is the prompt
        ("Marker 1", "remove the sign", ""),  # an NLE's default name
        ("", "remove the sign", ""),
        ("SQ010 SH020", "x", ""),  # words, not an id
        ("VFX", "remove the sign", ""),  # a label (or Avid's user name) many markers share
        ("see notes", "remove the sign", ""),
        ("VFX-0231", "remove the sign", "VFX-0231"),
    ],
)
def test_marker_id_is_a_name_that_is_not_the_request(name: str, prompt: str, expected: str) -> None:
    assert marker_id(name, prompt, "aleph:") == expected


def test_sources_are_tried_in_the_order_given() -> None:
    f = fields(marker="SH020", clip="SQ010_SH030_A010C004")
    regex = r"(?P<shot>SQ\d+_SH\d+)"
    assert shot_name(f, regex=regex) == "SH020"
    assert shot_name(f, order=("regex", "marker"), regex=regex) == "SQ010_SH030"
    assert shot_name(f, order=("template",), template="{sequence}_{index}") == "REEL1_v3_020"
    # No marker id, regex not matching: the template (default sh{index}) names it.
    assert shot_name(fields(clip="A010C004"), regex=regex) == "sh020"
    # A group without a name, or none, also works.
    assert shot_name(f, order=("regex",), regex=r"(SH\d+)") == "SH030"
    assert shot_name(f, order=("regex",), regex=r"SQ\d+") == "SQ010"


def test_every_template_token() -> None:
    f = fields(marker="M1", index=12)
    template = "{sequence}-{track}-{clip}-{reel}-{marker}-{index}"
    expected = "REEL1_v3-V1-A010C004-A010-M1-120"
    assert shot_name(f, order=("template",), template=template) == expected


def test_result_file_names_are_for_people() -> None:
    assert (
        result_file_name("SQ010_SH020", version=1, variant=0, ext="MOV")
        == "SQ010_SH020_aleph_v001a.mov"
    )
    assert result_file_name("SH020", version=12, variant=3, ext=".mp4") == "SH020_aleph_v012d.mp4"
    assert (
        result_file_name("SH020", version=2, variant=1, ext="mp4", template="{shot}.{version}")
        == "SH020.2.mp4"
    )


# --- planning ------------------------------------------------------------------------------------


def test_marker_name_beside_a_comment_names_the_shot(tmp_path: Path) -> None:
    a, b, c = clip("A010C004", HOUR, 48), clip("B020C001", HOUR, 48), clip("C030C002", HOUR, 48)
    # Avid/Premiere/Resolve: the editor typed the VFX id as the name, the request as comment.
    a.markers.append(otio.schema.Marker(name="SQ010_SH100", marked_range=tr(HOUR, 48)))
    a.markers[0].comment = "aleph: remove the sign"
    # The request in the name: no id, the template names it by its place (2nd -> 020).
    b.markers.append(otio.schema.Marker(name="aleph: make it snow", marked_range=tr(HOUR, 48)))
    c.markers.append(otio.schema.Marker(name="Marker 3", marked_range=tr(HOUR, 48)))
    c.markers[0].comment = "aleph: red car"
    plan = plan_of(cut(a, b, c), tmp_path)
    assert plan.errors == []
    assert [(s.name, s.prompt) for s in plan.shots] == [
        ("SQ010_SH100", "remove the sign"),
        ("sh020", "make it snow"),
        ("sh030", "red car"),
    ]


def test_premiere_xml_marker_name_and_comment(tmp_path: Path) -> None:
    # Premiere Pro's xmeml: a clip marker has <comment> and <name>, <in>/<out> in file frames.
    xml = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE xmeml>
<xmeml version="4">
  <sequence id="sequence-1">
    <name>REEL1 v3</name>
    <duration>96</duration>
    <rate><timebase>24</timebase><ntsc>FALSE</ntsc></rate>
    <timecode><rate><timebase>24</timebase><ntsc>FALSE</ntsc></rate>
      <string>01:00:00:00</string><frame>86400</frame><displayformat>NDF</displayformat>
    </timecode>
    <media><video><track>
      <clipitem id="clipitem-1">
        <name>SQ010_SH010_A010C004</name><duration>480</duration>
        <rate><timebase>24</timebase><ntsc>FALSE</ntsc></rate>
        <start>0</start><end>48</end><in>24</in><out>72</out>
        <file id="file-1"><name>A010C004.mov</name><pathurl>file:///media/A010C004.mov</pathurl>
          <rate><timebase>24</timebase><ntsc>FALSE</ntsc></rate><duration>480</duration>
          <timecode><rate><timebase>24</timebase><ntsc>FALSE</ntsc></rate>
            <string>01:00:00:00</string><frame>86400</frame><displayformat>NDF</displayformat>
          </timecode>
          <media><video><samplecharacteristics><width>1920</width><height>1080</height>
          </samplecharacteristics></video></media>
        </file>
        <marker><comment>aleph: remove the sign</comment><name>SH020</name>
          <in>30</in><out>60</out></marker>
      </clipitem>
      <clipitem id="clipitem-2">
        <name>SQ010_SH030_B020C001</name><duration>480</duration>
        <rate><timebase>24</timebase><ntsc>FALSE</ntsc></rate>
        <start>48</start><end>96</end><in>0</in><out>48</out>
        <file id="file-2"><name>B020C001.mov</name><pathurl>file:///media/B020C001.mov</pathurl>
          <rate><timebase>24</timebase><ntsc>FALSE</ntsc></rate><duration>480</duration>
          <media><video><samplecharacteristics><width>1920</width><height>1080</height>
          </samplecharacteristics></video></media>
        </file>
        <marker><comment></comment><name>aleph: make it snow</name><in>0</in><out>48</out></marker>
      </clipitem>
    </track></video></media>
  </sequence>
</xmeml>
"""
    path = tmp_path / "premiere.xml"
    path.write_text(xml)
    settings = PlanSettings(shot_regex=r"(?P<shot>SQ\d+_SH\d+)")
    plan = plan_timeline(read_timeline(path), settings)
    assert plan.errors == []
    # The marker's own id first; the second marker has none, so the clip name's shot code.
    assert [(s.name, s.prompt) for s in plan.shots] == [
        ("SH020", "remove the sign"),
        ("SQ010_SH030", "make it snow"),
    ]
    order = PlanSettings(shot_regex=settings.shot_regex, shot_names=("regex", "marker"))
    assert [s.name for s in plan_timeline(read_timeline(path), order).shots] == [
        "SQ010_SH010",
        "SQ010_SH030",
    ]


def test_reel_token_from_the_edl_reel_else_the_file(tmp_path: Path) -> None:
    a, b = clip("A010C004", HOUR, 48, reel="A010"), clip("B020C001", HOUR, 48)
    for c in (a, b):
        c.markers.append(otio.schema.Marker(name="aleph: snow", marked_range=tr(HOUR, 48)))
    plan = plan_of(cut(a, b), tmp_path, shot_template="{reel}_{index}")
    assert [s.name for s in plan.shots] == ["A010_010", "B020C001_020"]


def test_a_name_clash_is_refused_with_both_places(tmp_path: Path) -> None:
    a, b, c = clip("A010C004", HOUR, 48), clip("B020C001", HOUR, 48), clip("C030C002", HOUR, 48)
    for made, prompt in ((a, "remove the sign"), (b, "make it snow")):
        made.markers.append(otio.schema.Marker(name="SH020", marked_range=tr(HOUR, 48)))
        made.markers[0].comment = f"aleph: {prompt}"
    # Case differs only: the same file on macOS and Windows, so the same name.
    c.markers.append(otio.schema.Marker(name="sh030", marked_range=tr(HOUR, 48)))
    c.markers[0].comment = "aleph: red car"
    plan = plan_of(cut(a, b, c), tmp_path)
    assert [s.name for s in plan.shots] == ["sh030"]
    assert len(plan.errors) == 1
    error = plan.errors[0]
    assert "shot name 'SH020' is given to two different requests" in error
    assert "clip A010C004" in error and "clip B020C001" in error


def test_one_request_cut_in_twice_keeps_one_name(tmp_path: Path) -> None:
    # The same source range at two places is one paid request: one name, no clash.
    a, b = clip("A010C004", HOUR, 48), clip("A010C004", HOUR, 48)
    for made in (a, b):
        made.markers.append(otio.schema.Marker(name="SH020", marked_range=tr(HOUR, 48)))
        made.markers[0].comment = "aleph: remove the sign"
    plan = plan_of(cut(a, b), tmp_path)
    assert plan.errors == []
    assert [s.name for s in plan.shots] == ["SH020", "SH020"]
    assert plan.shots[0].id == plan.shots[1].id


def test_names_do_not_change_the_ledger_key(tmp_path: Path) -> None:
    a = clip("A010C004", HOUR, 48)
    a.markers.append(otio.schema.Marker(name="SH020", marked_range=tr(HOUR, 48)))
    a.markers[0].comment = "aleph: remove the sign"
    named = plan_of(cut(a), tmp_path).shots[0]
    other = plan_of(cut(a), tmp_path, shot_names=("template",), shot_template="x{index}").shots[0]
    assert named.name == "SH020" and other.name == "x010"
    # The id is the content hash existing ledgers hold: names leave it alone.
    assert (
        named.id
        == other.id
        == shot_id(named.prompt, named.segments, named.guides, 0, 0, named.options)
    )


def test_marker_names_survive_a_cut_revision(tmp_path: Path) -> None:
    def shot(name: str, prompt: str) -> otio.schema.Clip:
        made = clip(f"{name}_plate", HOUR, 48)
        made.markers.append(otio.schema.Marker(name=name, marked_range=tr(HOUR, 48)))
        made.markers[0].comment = f"aleph: {prompt}"
        return made

    first = plan_of(cut(shot("SH020", "sign"), shot("SH030", "snow")), tmp_path)
    # Revision: a new shot cut in first, the others reordered.
    second = plan_of(
        cut(shot("SH010", "car"), shot("SH030", "snow"), shot("SH020", "sign")), tmp_path
    )
    assert {s.name: s.id for s in first.shots}.items() <= {
        s.name: s.id for s in second.shots
    }.items()


def test_bad_naming_settings_are_config_errors(tmp_path: Path) -> None:
    a = clip("A010C004", HOUR, 48)
    a.markers.append(otio.schema.Marker(name="aleph: x", marked_range=tr(HOUR, 48)))
    with pytest.raises(ConfigError, match=r"unknown token \{shot\}"):
        plan_of(cut(a), tmp_path, shot_template="{shot}")
    with pytest.raises(ConfigError, match="--shot-regex"):
        plan_of(cut(a), tmp_path, shot_regex="(")


# --- the command line ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def root() -> None:
        """Keep ``plan`` a sub-command, as in the real CLI."""

    plan_cli.register(app)
    return app


def test_plan_prints_names_and_json_holds_them(app: typer.Typer, tmp_path: Path) -> None:
    a, b = clip("SQ010_SH010_A010", HOUR, 48), clip("SQ010_SH030_B020", HOUR, 48)
    a.markers.append(otio.schema.Marker(name="SH020", marked_range=tr(HOUR, 48)))
    a.markers[0].comment = "aleph: remove the sign"
    b.markers.append(otio.schema.Marker(name="aleph: snow", marked_range=tr(HOUR, 48)))
    path = write_timeline(cut(a, b), tmp_path / "cut.otio")
    runner = CliRunner()
    args = ["plan", str(path), "--shot-regex", r"(?P<shot>SQ\d+_SH\d+)"]
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    assert "SH020" in table.stdout and "SQ010_SH030" in table.stdout
    manifest = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert [s["name"] for s in manifest["shots"]] == ["SH020", "SQ010_SH030"]

    bad = runner.invoke(app, ["plan", str(path), "--shot-template", "{scene}"])
    assert bad.exit_code == 2
    assert bad.stderr.strip().splitlines() == [
        "error: --shot-template '{scene}': unknown token {scene}; use {sequence}, {track}, "
        "{clip}, {reel}, {marker}, {index}"
    ]
    bad = runner.invoke(app, ["plan", str(path), "--shot-names", "marker,colour"])
    assert bad.exit_code == 2 and "--shot-names" in bad.stderr


def test_plan_refuses_a_clash_with_exit_3(app: typer.Typer, tmp_path: Path) -> None:
    a, b = clip("A010C004", HOUR, 48), clip("B020C001", HOUR, 48)
    for made in (a, b):
        made.markers.append(otio.schema.Marker(name="aleph: snow", marked_range=tr(HOUR, 48)))
    path = write_timeline(cut(a, b), tmp_path / "cut.otio")
    result = CliRunner().invoke(app, ["plan", str(path), "--shot-template", "{sequence}"])
    assert result.exit_code == 3
    assert "shot name 'REEL1_v3' is given to two different requests" in result.stderr


# --- result files named for people, end to end ---------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUNWARE_API_KEY": "test-key-not-secret"}
    return subprocess.run(
        [sys.executable, "-m", "aleph_otio", *args],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _tasks(ledger: Path) -> int:
    with sqlite3.connect(ledger) as db:
        return int(db.execute("SELECT count(*) FROM tasks").fetchone()[0])


def test_results_are_named_for_their_shots_in_every_output(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path / "proj")
    work = tmp_path / "work"
    template = ["--shot-template", "SQ010_SH{index}", "--number-results", "2"]
    done = _cli(
        "run", str(project.timeline), "-o", str(tmp_path / "out.otio"), "--work-dir", str(work),
        "--emulator", "--emulator-latency", "0.1", *template,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    expected = {f"SQ010_SH{n}_aleph_v001{v}.mp4" for n in ("010", "020", "030") for v in ("a", "b")}
    assert {p.name for p in (work / "results").iterdir()} == expected

    out = otio.adapters.read_from_file(str(tmp_path / "out.otio"))
    relinked = [c for t in out.tracks if t.name.startswith("ALEPH v") for c in t.find_clips()]
    # The C/D shot is two clips (one per source clip), both of the same result file.
    assert {c.name for c in relinked} == {n.removesuffix(".mp4") for n in expected}
    for c in relinked:
        assert Path(c.media_reference.target_url).name == c.name + ".mp4"

    ledger = work / "ledger.sqlite"
    for suffix in ("edl", "xml"):
        target = tmp_path / f"out.{suffix}"
        done = _cli("relink", str(project.timeline), "-o", str(target), "--ledger", str(ledger))
        assert done.returncode == 0, done.stderr
    edl = (tmp_path / "out.edl").read_text()
    # OTIO's CMX writer puts two spaces after the colon, as Avid does.
    assert re.search(r"^\* FROM CLIP NAME: +SQ010_SH010_aleph_v001a$", edl, re.MULTILINE)
    assert "* SOURCE FILE: SQ010_SH010_aleph_v001a.mp4" in edl
    xml = (tmp_path / "out.xml").read_text()
    assert "<name>SQ010_SH020_aleph_v001a</name>" in xml
    assert "SQ010_SH020_aleph_v001a.mp4</pathurl>" in xml

    # status shows the names too.
    status = _cli("status", str(work))
    assert status.returncode == 0, status.stderr
    assert all(f"SQ010_SH{n}" in status.stdout for n in ("010", "020", "030"))

    # A new request on the same shot is its next version: v002 beside v001, not a stranger.
    tl = otio.adapters.read_from_file(str(project.timeline))
    swap = next(c for c in tl.find_clips() if c.name == "A010C004").markers[0]
    swap.name = "aleph: swap the can for a green bottle"
    edited = project.folder / "edited.otio"
    otio.adapters.write_to_file(tl, str(edited))
    paid = _tasks(ledger)
    done = _cli(
        "run", str(edited), "-o", str(tmp_path / "out2.otio"), "--work-dir", str(work),
        "--emulator", "--emulator-latency", "0.1", *template,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _tasks(ledger) == paid + 1  # only the changed request is paid
    assert {p.name for p in (work / "results").iterdir()} == expected | {
        "SQ010_SH010_aleph_v002a.mp4",
        "SQ010_SH010_aleph_v002b.mp4",
    }

    def swap_clips(path: Path) -> list[tuple[str, str]]:
        written = otio.adapters.read_from_file(str(path))
        return sorted(
            (Path(c.media_reference.target_url).name, c.metadata["aleph_otio"]["prompt"])
            for t in written.tracks
            if t.name.startswith("ALEPH v")
            for c in t.find_clips()
            if c.name.startswith("SQ010_SH010")
        )

    v1 = [
        ("SQ010_SH010_aleph_v001a.mp4", "swap the can for a bottle"),
        ("SQ010_SH010_aleph_v001b.mp4", "swap the can for a bottle"),
    ]
    v2 = [
        ("SQ010_SH010_aleph_v002a.mp4", "swap the can for a green bottle"),
        ("SQ010_SH010_aleph_v002b.mp4", "swap the can for a green bottle"),
    ]
    # v001 is kept beside v002 in the written timeline, each on its own track, newest on top.
    assert swap_clips(tmp_path / "out2.otio") == v1 + v2

    def version_tracks(path: Path) -> list[str]:
        written = otio.adapters.read_from_file(str(path))
        return [t.name for t in written.tracks if t.name.startswith("ALEPH v")]

    assert version_tracks(tmp_path / "out2.otio") == [
        "ALEPH v001a", "ALEPH v001b", "ALEPH v002a", "ALEPH v002b",
    ]  # fmt: skip
    # --version 1 puts the first version on top at the same place, without paying.
    back = tmp_path / "back.otio"
    done = _cli("relink", str(edited), "-o", str(back), "--ledger", str(ledger), "--version", "1")
    assert done.returncode == 0, done.stderr
    assert swap_clips(back) == v1 + v2
    assert version_tracks(back) == [
        "ALEPH v002a", "ALEPH v002b", "ALEPH v001a", "ALEPH v001b",
    ]  # fmt: skip
    # The other shots have no earlier version: the latest (v001) is relinked, and said so.
    assert "SQ010_SH020: no v001" not in done.stdout  # v001 is theirs: found
    assert _tasks(ledger) == paid + 1
    done = _cli("relink", str(edited), "-o", str(back), "--ledger", str(ledger), "--version", "2")
    assert done.returncode == 0, done.stderr
    assert "SQ010_SH020: no v002 covering this shot" in done.stdout


def test_an_older_work_folder_keeps_its_files_and_pays_nothing(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path / "proj")
    work = tmp_path / "work"
    run = [
        "run", str(project.timeline), "-o", str(tmp_path / "out.otio"), "--work-dir", str(work),
        "--emulator", "--emulator-latency", "0.1",
    ]  # fmt: skip
    assert _cli(*run).returncode == 0
    ledger = work / "ledger.sqlite"
    # What aleph-otio wrote before results were named for shots: <shot id>_<task>_<index>.mp4,
    # recorded in the ledger under that path.
    with sqlite3.connect(ledger) as db:
        rows = db.execute(
            "SELECT r.task_uuid, r.result_index, r.path, t.shot_id FROM results r "
            "JOIN tasks t USING (task_uuid)"
        ).fetchall()
        for task, index, path, shot in rows:
            old = Path(path).with_name(f"{shot}_{task[:8]}_{index}.mp4")
            Path(path).rename(old)
            db.execute(
                "UPDATE results SET path = ? WHERE task_uuid = ? AND result_index = ?",
                (str(old), task, index),
            )
    before = {p.name for p in (work / "results").iterdir()}
    paid = _tasks(ledger)

    done = _cli(*run)
    assert done.returncode == 0, done.stderr
    assert _tasks(ledger) == paid  # nothing sent again
    assert {p.name for p in (work / "results").iterdir()} == before  # nothing renamed
    out = otio.adapters.read_from_file(str(tmp_path / "out.otio"))
    urls = {
        Path(c.media_reference.target_url).name
        for t in out.tracks
        if t.name.startswith("ALEPH v")
        for c in t.find_clips()
    }
    assert urls == before
