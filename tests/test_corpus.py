"""Hostile and broken input through the real command line: a clear error or a right result.

Every entry of the corpus (:mod:`corpus_gen`: truncated and malformed OTIO/EDL/FCP XML/FCPXML,
missing media, empty and negative ranges, markers off their clips, 4K, odd-sized and variable
frame rate sources, audio-only and still clips, path-hostile and unicode names, 1000/1001
character prompts) goes through ``aleph-otio plan`` and, when it plans, ``aleph-otio run
--emulator``. What a user must see: exit 0 and a correct result, or a non-zero exit with an
``error:`` line naming the file (and track/clip/timecode where there is one); never a
traceback, never a hang, never a file written outside the output folder.

The commands run in-process through the console-script entry point (:func:`aleph_otio.cli.main`)
to stay fast; one hostile run goes through a real subprocess as a user would start it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import corpus_gen
import opentimelineio as otio
import pytest
from corpus_gen import CASES, Case, Media, cli

from aleph_otio.media.probe import probe
from aleph_otio.synth import decode_indices, make_video

#: Cases that plan and then go through ``run --emulator`` in-process (hostile_names runs in a
#: subprocess below).
RUN_CASES = [
    "missing_media_with_range", "odd_size_source", "prompt_1000", "hostile_names_fcp_xml",
    "markup_names",
]  # fmt: skip
SLOW_CASES = {"uhd_source"}


def tree(root: Path) -> dict[Path, tuple[int, int]]:
    """Every file under ``root`` with its size and mtime, and every folder (as (-1, -1))."""
    found = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs:
            found[Path(dirpath) / name] = (-1, -1)
        for name in files:
            path = Path(dirpath) / name
            st = path.lstat()
            found[path] = (st.st_size, st.st_mtime_ns)
    return found


@contextlib.contextmanager
def only_writes_under(root: Path, *allowed: Path) -> Iterator[None]:
    """Fail when a file or folder under ``root`` outside ``allowed`` is created or changed."""
    before = tree(root)
    yield
    after = tree(root)
    changed = [p for p, facts in after.items() if before.get(p) != facts]
    outside = [
        p for p in changed if not any(p.is_relative_to(a) or a.is_relative_to(p) for a in allowed)
    ]
    assert not outside, f"written outside {[str(a) for a in allowed]}: {outside}"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Work three levels down, so that a name escaping with ../ still lands inside the
    # snapshotted tree.
    return tmp_path_factory.mktemp("corpus")


@pytest.fixture(scope="module")
def media(base: Path) -> Media:
    return corpus_gen.make_media(base / "a" / "b" / "c" / "media")


def build(name: str, media: Media, base: Path) -> Case:
    folder = base / "a" / "b" / "c" / "cases" / name
    folder.mkdir(parents=True, exist_ok=True)
    return CASES[name](media, folder)


def _params(names: list[str]) -> list[object]:
    return [
        pytest.param(n, marks=pytest.mark.slow) if n in SLOW_CASES else n for n in sorted(names)
    ]


def check_plan(case: Case, base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(base)
    with only_writes_under(base):  # plan writes nothing at all
        before = tree(base)
        shown = cli("plan", str(case.timeline))
        assert tree(base) == before
    if case.expect == "plans":
        assert shown.code == 0, shown.stderr
        assert shown.error_lines == []
        assert f"{case.shots} shot(s)" in shown.stdout
        as_json = cli("plan", "--json", str(case.timeline))
        batch = json.loads(as_json.stdout)
        assert len(batch["shots"]) == case.shots and batch["errors"] == []
        for shot in batch["shots"]:
            assert 1 <= len(shot["prompt"]) <= 1000
            assert shot["task"]["inputs"]["video"] == f"shot-{shot['id']}.mp4"
        return
    assert shown.code == (2 if case.expect == "read" else 3), (shown.code, shown.stderr)
    assert shown.error_lines, f"no 'error:' line: {shown.stderr!r}"
    for line in shown.error_lines:
        assert line.isprintable(), f"control characters in {line!r}"
        assert len(line) < 1200, "an error line should name things, not dump them"
    hits = [line for line in shown.error_lines if all(m in line for m in case.mentions)]
    assert hits, f"no error line names {case.mentions}: {shown.error_lines}"
    if case.expect == "refused":
        assert "no edit requests" not in shown.stdout, "refused markers are edit requests"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", _params(list(CASES)))
def test_plan_gives_a_clear_error_or_a_plan(
    name: str, media: Media, base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_plan(build(name, media, base), base, monkeypatch)


def _version_clips(timeline: otio.schema.Timeline) -> list[otio.schema.Clip]:
    return [
        clip
        for track in timeline.video_tracks()
        if (track.name or "").startswith("ALEPH v")
        for clip in track.find_clips()
    ]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", _params(RUN_CASES + sorted(SLOW_CASES)))
def test_run_relinks_or_fails_each_shot_clearly(
    name: str, media: Media, base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = build(name, media, base)
    out_dir = base / "out" / name
    out_dir.mkdir(parents=True)
    output = out_dir / f"cut_aleph{case.timeline.suffix}"  # written in the input's format
    monkeypatch.chdir(out_dir)
    source_before = case.timeline.read_bytes()
    with only_writes_under(base, out_dir):
        done = cli(
            "run", str(case.timeline), "-o", str(output), "--emulator",
            "--emulator-latency", "0.05",
        )  # fmt: skip
    assert case.timeline.read_bytes() == source_before, "the input timeline was modified"
    assert not list(out_dir.rglob("*.part")), "a partial download was left behind"
    if case.run == "fail":
        assert done.code == 5, (done.code, done.stderr[-2000:])
        assert done.error_lines, done.stderr
        for mention in case.run_mentions:
            assert any(mention in line for line in done.error_lines), done.error_lines
        if output.exists():  # the timeline may be written, but with nothing relinked into it
            assert _version_clips(otio.adapters.read_from_file(str(output))) == []
        return
    assert done.code == 0, (done.code, done.stdout[-3000:], done.stderr[-3000:])
    assert_relinked(case, output, out_dir)


def _local(url: str) -> Path:
    return Path(otio.url_utils.filepath_from_url(url) if "://" in url else url)


def _first_frame(clip: otio.schema.Clip) -> int:
    """The file frame (0-based) where the clip starts showing its media."""
    avail = clip.media_reference.available_range
    return round(
        (clip.source_range.start_time - avail.start_time).value_rescaled_to(avail.start_time.rate)
    )


def assert_relinked(case: Case, output: Path, out_dir: Path) -> None:
    """Every shot relinked over the clip it replaces, showing the same source frames.

    The corpus media carry their frame number in each frame (code strip), and the emulator
    keeps it, so the frames a version clip shows are read back from the result file and
    compared with the frames the original clip shows.
    """
    written = otio.adapters.read_from_file(str(output))
    original = otio.adapters.read_from_file(str(case.timeline))
    originals = list(original.video_tracks()[0].find_clips())
    versions = _version_clips(written)
    assert len(versions) == case.shots
    for version in versions:
        record = version.range_in_parent()
        (under,) = [c for c in originals if c.range_in_parent() == record]
        if output.suffix == ".otio":
            # The relink convention: the version clip has the original's source range.
            assert version.source_range == under.source_range
        result = _local(version.media_reference.target_url)
        assert result.is_file() and result.is_relative_to(out_dir)
        info = probe(result)
        # Delivered at its plate's size (--deliver-size source), never larger; Aleph's own
        # results are at most 1080p.
        plate = probe(_local(under.media_reference.target_url))
        assert info.width <= max(plate.width, 1920) and info.height <= max(plate.height, 1080)
        count = round(under.source_range.duration.value)
        assert round(version.source_range.duration.value) == count
        first, shown = _first_frame(under), _first_frame(version)
        assert decode_indices(result)[shown : shown + count] == list(range(first, first + count))


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "name",
    sorted(n for n, b in CASES.items() if n not in RUN_CASES + ["hostile_names", "uhd_source"]),
)
def test_run_on_unplannable_input_stops_with_a_clear_error(
    name: str, media: Media, base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a user gets from ``run`` (not only ``plan``) on input that cannot be planned."""
    case = build(name, media, base)
    if case.expect == "plans":
        pytest.skip("plans; see test_run_relinks_or_fails_each_shot_clearly")
    out_dir = base / "out-refused" / name
    out_dir.mkdir(parents=True)
    monkeypatch.chdir(out_dir)
    with only_writes_under(base, out_dir):
        done = cli(
            "run", str(case.timeline), "-o", str(out_dir / "cut_aleph.otio"), "--emulator",
            "--emulator-latency", "0.05",
        )  # fmt: skip
    assert done.error_lines, done.stderr
    assert all(line.isprintable() for line in done.error_lines)
    if case.expect == "read":
        assert done.code == 2
        assert any(case.mentions[0] in line for line in done.error_lines)
    else:
        # Nothing could be planned, so nothing is relinked (README: exit 3 = unplannable).
        assert done.code in (3, 5), done.code
        # The error names the clip (else the track) it is about.
        named = case.mentions[2] if len(case.mentions) > 2 else case.mentions[1]
        assert any(named in line for line in done.error_lines), done.error_lines
    output = out_dir / "cut_aleph.otio"
    assert not output.exists() or _version_clips(otio.adapters.read_from_file(str(output))) == []


@pytest.mark.timeout(120)
def test_hostile_names_through_the_real_command(media: Media, base: Path, tmp_path: Path) -> None:
    """As a user runs it: a subprocess, with a deadline; names like ../../evil stay inside."""
    case = build("hostile_names", media, base)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "RUNWARE_API_KEY"}
    with only_writes_under(base.parent, out_dir), only_writes_under(tmp_path, out_dir):
        proc = subprocess.run(
            [
                sys.executable, "-m", "aleph_otio", "run", str(case.timeline),
                "-o", str(out_dir / "v.otio"), "--emulator", "--emulator-latency", "0.05",
            ],
            cwd=out_dir, env=env, capture_output=True, timeout=110, text=True,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert not (base / "evil").exists() and not (base.parent / "evil").exists()
    assert_relinked(case, out_dir / "v.otio", out_dir)


def test_vfr_detection_has_no_false_alarm_on_long_b_frame_media(tmp_path: Path) -> None:
    """Constant-rate H.264 with B-frames, longer than the probe's timestamp sample."""
    path = make_video(tmp_path / "cfr.mp4", frames=420, size=(64, 36))
    info = probe(path)
    assert info.frame_count == 420 and not info.variable_frame_rate


def test_vfr_source_is_detected(media: Media) -> None:
    info = probe(media.vfr)
    assert info.variable_frame_rate and "variable frame rate" in info.warnings[0]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("output", ["cut_aleph.mov", "cut_aleph", "cut_aleph.txt"])
def test_unwritable_output_format_is_refused_before_anything_is_sent(
    output: str, media: Media, base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typo in -o must not cost a whole job first (it used to fail only at the end)."""
    case = build("odd_size_source", media, base)
    out_dir = base / "out-format" / output.replace(".", "_")
    out_dir.mkdir(parents=True)
    monkeypatch.chdir(out_dir)
    before = tree(base)
    done = cli("run", str(case.timeline), "-o", str(out_dir / output), "--emulator")
    assert done.code == 2
    (line,) = done.error_lines
    assert str(out_dir / output) in line and ".otio" in line
    assert tree(base) == before, "files were written (clips cut, ledger made) for a bad -o"


@pytest.mark.timeout(60)
def test_newline_in_a_clip_name_cannot_forge_edl_events(
    media: Media, base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = base / "a" / "b" / "c" / "cases" / "edl_injection"
    folder.mkdir(parents=True, exist_ok=True)
    forged = "999  EVIL     V     C        00:00:00:00 00:00:01:00 00:00:00:00 00:00:01:00"
    clip = corpus_gen._clip(
        f"A\n{forged}\n* x", corpus_gen._ref(media.normal, 72, 86400), 86400 + 12, 48
    )
    clip.markers.append(corpus_gen._marker("newline in the name", 86400 + 12))
    timeline = corpus_gen._write(corpus_gen._timeline(clip), folder / "newline.otio")
    out_dir = base / "out" / "edl_injection"
    out_dir.mkdir(parents=True)
    monkeypatch.chdir(out_dir)
    done = cli("run", str(timeline), "-o", str(out_dir / "v.edl"), "--emulator",
               "--emulator-latency", "0.05")  # fmt: skip
    assert done.code == 0, done.stderr[-2000:]
    edl = (out_dir / "v.edl").read_text()
    assert not any(line.startswith("999 ") for line in edl.splitlines()), edl


@pytest.mark.timeout(120)
def test_markup_in_names_and_prompts_is_shown_as_text(
    media: Media, base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """status, stills and the HTML report show "[/]", "<script>" and "%s" as text."""
    from aleph_otio.report import write_report

    case = build("markup_names", media, base)
    out_dir = base / "out-markup" / "[red] x [bold"
    out_dir.mkdir(parents=True)
    monkeypatch.chdir(out_dir)
    done = cli("run", str(case.timeline), "-o", str(out_dir / "cut [red].otio"), "--emulator",
               "--emulator-latency", "0.05")  # fmt: skip
    assert done.code == 0, done.stderr[-2000:]
    # (tables wrap at spaces: look for the markup-like words one by one)
    for shown in (done.stdout,):
        assert "[/]clip" in shown and "[bold]A[/bold]" in shown, "the name lost its brackets"
    (work,) = [p for p in out_dir.iterdir() if p.name.endswith(".aleph-rehearsal")]
    status = cli("status", str(work))
    assert status.code == 0 and "[/]clip" in status.stdout and "[bold]A" in status.stdout
    stills = cli("stills", str(case.timeline), "-o", str(out_dir / "stills"))
    assert stills.code == 0 and "[bold]A[/bold] <b>" in stills.stdout, stills.stderr
    page = write_report(work / "ledger.sqlite", out_dir / "report.html").read_text()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    assert "[/]clip [bold]A[/bold] &lt;b&gt;" in page


def test_every_case_that_plans_is_also_run(media: Media, base: Path) -> None:
    """A corpus entry that plans must also go through ``run --emulator`` ("Prove it", 7)."""
    ran = set(RUN_CASES) | SLOW_CASES | {"hostile_names"}
    for name in CASES:
        if name in ran:
            continue
        assert build(name, media, base).expect != "plans", f"{name} plans but is never run"
