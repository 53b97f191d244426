"""``aleph-otio plan``: the table, --json, -o, exit codes, options and one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import opentimelineio as otio
import pytest
import typer
from typer.testing import CliRunner

from aleph_otio.batch import read_batch
from aleph_otio.cli import plan as plan_cli
from aleph_otio.sample import (
    BOOM_PROMPT,
    RELIGHT_PROMPT,
    SWAP_PROMPT,
    build_sample_timeline,
    make_sample_project,
)
from aleph_otio.timeline import write_timeline


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project, made once per session (read-only: copy it before changing it)."""
    folder = tmp_path_factory.getbasetemp() / "aleph-sample-shared"
    if not (folder / "sample.otio").is_file():
        make_sample_project(folder)
    return folder


@pytest.fixture
def work(sample_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the sample project."""
    return Path(shutil.copytree(sample_dir, tmp_path / "work"))


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def root() -> None:
        """Keep ``plan`` a sub-command, as in the real CLI."""

    plan_cli.register(app)
    return app


def invoke(app: typer.Typer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["plan", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def _edit(path: Path, change: object) -> None:
    timeline = otio.adapters.read_from_file(str(path))
    change(timeline)  # type: ignore[operator]
    otio.adapters.write_to_file(timeline, str(path))


def test_table_lists_every_shot(app: typer.Typer, sample_dir: Path) -> None:
    code, out, err = invoke(app, str(sample_dir / "sample.otio"))
    assert code == 0, err
    for text in ("A010C004", "B020C001", "C030C002", "D040C003"):
        assert text in out
    for tc in ("01:00:01:00", "01:00:04:00", "02:00:00:18", "03:00:03:00", "04:00:02:00"):
        assert tc in out
    assert "swap the can for a" in out and "first" in out
    assert "3 shot(s), 9.50 s of input video" in out
    assert "error" not in err


def test_json_is_the_batch_manifest(app: typer.Typer, sample_dir: Path) -> None:
    code, out, err = invoke(app, str(sample_dir / "sample.otio"), "--json", "--handles", "6")
    assert code == 0, err
    data = json.loads(out)
    assert data["format"] == "aleph-otio.batch"
    assert data["settings"]["handles"] == 6
    assert sorted(s["prompt"] for s in data["shots"]) == sorted(
        [SWAP_PROMPT, RELIGHT_PROMPT, BOOM_PROMPT]
    )
    assert all(s["head_frames"] == 6 for s in data["shots"])
    assert data["errors"] == []


def test_output_writes_the_manifest(app: typer.Typer, sample_dir: Path, tmp_path: Path) -> None:
    out_path = tmp_path / "cut.aleph.json"
    code, out, err = invoke(
        app,
        str(sample_dir / "sample.otio"),
        "-o",
        str(out_path),
        "--number-results",
        "2",
        "--output-format",
        "mov",
        "--output-quality",
        "70",
    )
    assert code == 0, err
    assert f"wrote {out_path}" in err.replace("\n", "")
    batch = read_batch(out_path)
    assert len(batch.shots) == 3
    assert {
        (s.task.numberResults, s.task.outputFormat, s.task.outputQuality) for s in batch.shots
    } == {(2, "MOV", 70)}


def test_refused_marker_exits_3_with_one_line_per_marker(app: typer.Typer, work: Path) -> None:
    def offline(timeline: otio.schema.Timeline) -> None:
        clip_b = list(timeline.tracks[0].find_clips())[1]
        clip_b.media_reference = otio.schema.ExternalReference(target_url="media/gone.mp4")

    _edit(work / "sample.otio", offline)
    code, out, err = invoke(app, str(work / "sample.otio"))
    assert code == 3
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert "B020C001" in errors[0] and "relight to dusk" in errors[0]
    # The markers that did plan are still shown.
    assert "A010C004" in out and "D040C003" in out
    assert "Traceback" not in err


def test_guide_track_and_prefix_options(app: typer.Typer, sample_dir: Path) -> None:
    code, out, _ = invoke(app, str(sample_dir / "sample.otio"), "--json", "--guide-track", "V9")
    assert code == 0
    assert all(s["guides"] == [] for s in json.loads(out)["shots"])
    code, out, _ = invoke(app, str(sample_dir / "sample.otio"), "--prefix", "ai:")
    assert code == 0
    assert "no edit requests" in out


def test_marker_color_picks_unprefixed_markers(app: typer.Typer, work: Path) -> None:
    def add_purple(timeline: otio.schema.Timeline) -> None:
        clip_d = list(timeline.tracks[0].find_clips())[3]
        start = clip_d.source_range.start_time
        clip_d.markers.append(
            otio.schema.Marker(
                name="snow",
                comment="add falling snow",
                color="PURPLE",
                marked_range=otio.opentime.TimeRange(start, otio.opentime.RationalTime(60, 24)),
            )
        )

    _edit(work / "sample.otio", add_purple)
    code, out, _ = invoke(app, str(work / "sample.otio"), "--json")
    assert code == 0 and len(json.loads(out)["shots"]) == 3
    code, out, _ = invoke(app, str(work / "sample.otio"), "--json", "--marker-color", "purple")
    assert code == 0
    prompts = [s["prompt"] for s in json.loads(out)["shots"]]
    assert "add falling snow" in prompts and len(prompts) == 4


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--handles", "-1"], "--handles -1"),
        (["--number-results", "5"], "--number-results 5"),
        (["--output-quality", "10"], "--output-quality 10"),
        (["--output-format", "avi"], "--output-format 'AVI'"),
        (["--marker-color", "mauve"], "unknown marker colour 'mauve'"),
    ],
)
def test_bad_options_are_one_error_line(
    app: typer.Typer, sample_dir: Path, args: list[str], needle: str
) -> None:
    code, out, err = invoke(app, str(sample_dir / "sample.otio"), *args)
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err


def test_bad_inputs_are_one_error_line(app: typer.Typer, tmp_path: Path) -> None:
    not_json = tmp_path / "cut.otio"
    not_json.write_text("this is not a timeline")
    unknown = tmp_path / "cut.txt"
    unknown.write_text("x")
    cases = [
        ([str(tmp_path / "missing.otio")], "missing.otio: no such file"),
        ([str(not_json)], "cut.otio: cannot read as otio_json"),
        ([str(unknown)], "cut.txt"),
        ([], "no timeline given"),
    ]
    for args, needle in cases:
        code, _, err = invoke(app, *args)
        assert code == 2, (args, err)
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert needle in lines[0]


def test_rate_applies_to_edls(app: typer.Typer, work: Path) -> None:
    # The sample edit as an EDL next to its media (what make_sample_project(fmt="edl") writes).
    media = sorted((work / "media").glob("*.mp4"))
    (guide,) = (work / "guides").glob("*.png")
    timeline = build_sample_timeline(
        media, guide, relative_to=work, cut_marker_on="stack", guide_track=False
    )
    edl = write_timeline(timeline, work / "sample.edl")
    code, out, err = invoke(app, str(edl), "--rate", "24", "--json")
    assert code == 0, err
    shots = json.loads(out)["shots"]
    assert len(shots) == 2  # an EDL keeps clip LOCs, not the marker across the cut
    assert {s["segments"][0]["source_tc_in"] for s in shots} == {"01:00:00:12", "02:00:00:18"}
    code, _, err = invoke(app, str(edl), "--rate", "fast")
    assert code == 2 and err.startswith("error: ") and "sample.edl" in err


def test_sample_option_makes_and_plans_the_project(app: typer.Typer, tmp_path: Path) -> None:
    folder = tmp_path / "my sample"
    code, out, err = invoke(app, "--sample", str(folder))
    assert code == 0, err
    assert (folder / "sample.otio").is_file()
    assert len(list((folder / "media").glob("*.mp4"))) == 4
    assert "sample project:" in err
    assert "3 shot(s)" in out


@pytest.mark.slow
def test_real_command_line(tmp_path: Path) -> None:
    """The installed entry point: default sample folder, then a bad file, without tracebacks."""
    run = [sys.executable, "-m", "aleph_otio", "plan"]
    ok = subprocess.run(
        [*run, "--sample"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "aleph-sample" / "sample.otio").is_file()
    assert "remove the boom mic" in ok.stdout
    bad = tmp_path / "cut.otio"
    bad.write_text("{")
    fail = subprocess.run([*run, str(bad)], cwd=tmp_path, capture_output=True, text=True)
    assert fail.returncode == 2
    assert fail.stderr.startswith("error: ") and fail.stderr.count("\n") == 1
    assert "Traceback" not in fail.stderr
