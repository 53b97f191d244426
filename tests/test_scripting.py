"""The Python scripting API (``aleph_otio.scripting``) and docs/scripting.md.

Every code block of docs/scripting.md is executed here, in a folder holding the sample edit as
``cut.otio``: python blocks in this process (``# file: NAME`` blocks are saved for the shell
blocks that run them), shell blocks with bash, against real emulators over real sockets. The
direct tests prove what a script author relies on: OTIO objects in and out, in-memory
timelines, resuming without paying twice, running under an already running event loop, and
one-line errors.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import opentimelineio as otio
import pytest

import aleph_otio
from aleph_otio import APISettings, PlanSettings, plan_timeline, relink_timeline, run_timeline
from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.errors import AlephOtioError, ConfigError, TimelineReadError
from aleph_otio.ledger import Ledger
from aleph_otio.sample import BOOM_PROMPT, RELIGHT_PROMPT, SWAP_PROMPT, make_sample_project

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "scripting.md"
KEY = "test-key-scripting-not-secret"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project, made once per session (read-only: tests copy it).

    Same folder as tests/test_cli_plan.py uses, so the suite makes it only once.
    """
    folder = tmp_path_factory.getbasetemp() / "aleph-sample-shared"
    if not (folder / "sample.otio").is_file():
        make_sample_project(folder)
    return folder


@pytest.fixture()
def edit(sample_dir: Path, tmp_path: Path) -> Path:
    """A private folder with the sample edit as ``cut.otio`` (relative media paths)."""
    folder = Path(shutil.copytree(sample_dir, tmp_path / "edit"))
    shutil.copy(folder / "sample.otio", folder / "cut.otio")
    return folder


@pytest.fixture()
def emu(tmp_path: Path) -> Any:
    with Emulator(
        EmulatorConfig(latency=0.2, concurrency=4, storage_dir=tmp_path / "emu", api_key=KEY)
    ) as server:
        yield server


@pytest.fixture()
def api(emu: Emulator) -> APISettings:
    return APISettings(base_url=emu.base_url, api_key=KEY, poll_interval=0.05)


def _submitted(emu: Emulator) -> list[str]:
    return [t["taskUUID"] for t in emu.received if t.get("taskType") == "videoInference"]


def _track_names(timeline: otio.schema.Timeline) -> list[str]:
    return [t.name for t in timeline.video_tracks()]


# --- docs/scripting.md, executed ----------------------------------------------------------------


class _FakeResolveTimeline:
    """Just the Resolve calls the doc uses, as Resolve's scripting README documents them."""

    def __init__(self, name: str, source: Path) -> None:
        self.name, self.source = name, source

    def GetName(self) -> str:  # noqa: N802 (Resolve's naming)
        return self.name

    def Export(self, file_name: str, export_type: str, export_subtype: str = "") -> bool:  # noqa: N802
        if export_type != _FakeResolve.EXPORT_OTIO:
            return False
        timeline = otio.adapters.read_from_file(str(self.source))
        # Resolve writes plain absolute OS paths.
        for clip in timeline.find_clips():
            url = clip.media_reference.target_url
            if not os.path.isabs(url):
                clip.media_reference.target_url = str((self.source.parent / url).resolve())
        otio.adapters.write_to_file(timeline, file_name)
        return True


class _FakeResolve:
    EXPORT_OTIO = "otio"

    def __init__(self, source: Path) -> None:
        self.current = _FakeResolveTimeline("Reel 1", source)
        self.imported: list[tuple[str, dict[str, Any], otio.schema.Timeline]] = []

    def GetProjectManager(self) -> _FakeResolve:  # noqa: N802
        return self

    def GetCurrentProject(self) -> _FakeResolve:  # noqa: N802
        return self

    def GetCurrentTimeline(self) -> _FakeResolveTimeline:  # noqa: N802
        return self.current

    def GetMediaPool(self) -> _FakeResolve:  # noqa: N802
        return self

    def ImportTimelineFromFile(  # noqa: N802
        self, file_path: str, options: dict[str, Any]
    ) -> _FakeResolveTimeline:
        self.imported.append((file_path, options, otio.adapters.read_from_file(file_path)))
        return _FakeResolveTimeline(options["timelineName"], Path(file_path))


def _blocks() -> list[tuple[str, str]]:
    return [(lang, body) for lang, body in FENCE.findall(DOC.read_text(encoding="utf-8"))]


def test_doc_has_the_promised_sections() -> None:
    text = DOC.read_text(encoding="utf-8")
    for heading in ("## In DaVinci Resolve's console", "## With OpenTimelineIO's tools"):
        assert heading in text
    assert "docs/resolve.md" in text
    # The integrator copies everything after this heading into the README.
    readme_part = text.split("\n## README section\n", 1)[1]
    assert "## Scripting" in readme_part and "--estimate" in readme_part
    langs = [lang for lang, _ in _blocks()]
    assert langs.count("python") >= 8 and "sh" in langs
    assert set(langs) <= {"python", "sh"}, "a block the docs test would not run"


@pytest.mark.slow  # about 25 s: eight real runs against emulators, two of them in subprocesses
@pytest.mark.timeout(240)
def test_every_doc_example_runs(
    edit: Path,
    emu: Emulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Run the doc top to bottom, as a reader would, then check what each example made."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(edit)
    monkeypatch.setenv("HOME", str(home))
    # The real-run examples (no emulator=True) go to this test's emulator, with its key.
    monkeypatch.setenv("RUNWARE_BASE_URL", emu.base_url)
    monkeypatch.setenv("RUNWARE_API_KEY", KEY)
    monkeypatch.setenv("ALEPH_OTIO_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    resolve = _FakeResolve(edit / "cut.otio")
    saved: list[str] = []
    ran = 0
    for number, (lang, body) in enumerate(_blocks(), start=1):
        where = f"docs/scripting.md block {number}"
        first = body.splitlines()[0] if body.strip() else ""
        if lang == "python" and first.startswith("# file: "):
            name = first.removeprefix("# file: ").strip()
            (edit / name).write_text(body, encoding="utf-8")
            saved.append(name)
        elif lang == "python":
            code = compile(body, where, "exec")
            exec(code, {"__name__": "__main__", "resolve": resolve})  # noqa: S102
        else:
            done = subprocess.run(
                ["bash", "-eo", "pipefail", "-c", body],
                cwd=edit,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, f"{where}:\n{body}\n{done.stdout}\n{done.stderr}"
            print(done.stdout)
            saved = [n for n in saved if n not in body]
        ran += 1
    assert ran == len(_blocks())
    assert not saved, f"saved but never run by a shell block: {saved}"
    printed = capsys.readouterr().out

    # Plan and estimate: the sample's three shots and their documented price.
    assert "3 shot(s), 9.50 s of input video, 3 result(s): $2.66 at $0.28/s per result" in printed
    # The rehearsal wrote the relinked timeline: the boom shot across the cut is two clips.
    rehearsal = otio.adapters.read_from_file(str(edit / "cut_aleph.otio"))
    assert _track_names(rehearsal)[:2] == ["V1", "ALEPH v001"]
    assert len(list(rehearsal.video_tracks()[1].find_clips())) == 4
    # The "real" run went to RUNWARE_BASE_URL with two variations per shot.
    assert len(_submitted(emu)) == 3
    assert all(t["numberResults"] == 2 for t in emu.received if "numberResults" in t)
    v2 = otio.adapters.read_from_file(str(edit / "cut_v2.xml"))
    assert len([c for c in v2.find_clips() if "_aleph_v001b" in c.name]) == 4
    # In memory: the snow marker replaced clip B's request; relinked as alternate media.
    snow = otio.adapters.read_from_file(str(edit / "cut_snow.otio")).video_tracks()[0]
    clip_b = snow.find_clips()[1]
    assert clip_b.metadata["aleph_otio"]["prompt"] == "make it snow"
    assert len(clip_b.media_references()) == 2
    # Relinked from the rehearsal's ledger without running anything.
    alternates = otio.adapters.read_from_file(str(edit / "cut_alternates.otio"))
    assert sum(len(c.media_references()) > 1 for c in alternates.find_clips()) == 4
    # OTIO tooling: only the first eight seconds were sent (two shots), the boom marker refused.
    reel1 = otio.adapters.read_from_file(str(edit / "reel1_aleph.otio"))
    assert len(list(reel1.video_tracks()[1].find_clips())) == 2
    assert "ALEPH v001" in printed
    batch = (edit / "cut.aleph.json").read_text(encoding="utf-8")
    assert all(p in batch for p in (SWAP_PROMPT, RELIGHT_PROMPT, BOOM_PROMPT))
    # Resolve: exported, run, and imported as a NEW timeline holding the version track.
    [(path, options, imported)] = resolve.imported
    assert options == {"timelineName": "Reel 1 ALEPH", "importSourceClips": True}
    assert Path(path) == home / "aleph-otio" / "Reel 1" / "cut_aleph.otio"
    assert "ALEPH v001" in _track_names(imported)
    assert "async: 0 ['relinked', 'relinked', 'relinked']" in printed
    assert "no such file; check the path" in printed


# --- the API directly ---------------------------------------------------------------------------


def test_import_is_light_and_the_api_is_reexported() -> None:
    """OTIO imports the package while building its plugin list: that must stay cheap."""
    code = (
        "import sys, aleph_otio\n"
        "heavy = [m for m in ('opentimelineio', 'pydantic', 'httpx', 'av', 'aleph_otio.scripting')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from aleph_otio import plan_timeline, run_timeline, relink_timeline, PlanSettings, "
        "APISettings, estimate, RunResult, CostEstimate, Plan, Shot, RunSummary\n"
        "import aleph_otio.scripting as s\n"
        "assert plan_timeline is s.plan_timeline and RunSummary.__name__ == 'RunSummary'\n"
        "assert 'run_timeline' in dir(aleph_otio)\n"
        "try:\n    aleph_otio.no_such_name\nexcept AttributeError as e:\n    print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "no attribute 'no_such_name'" in done.stdout


def test_wheel_ships_py_typed(tmp_path: Path) -> None:
    build = pytest.importorskip("hatchling.builders.wheel")
    project = tmp_path / "src"
    project.mkdir()
    for name in ("pyproject.toml", "README.md", "plugin_manifest.json"):
        shutil.copy(ROOT / name, project / name)
    for name in ("aleph_otio", "adapters"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    builder = build.WheelBuilder(str(project))
    [wheel] = list(builder.build(directory=str(tmp_path / "dist"), versions=["standard"]))
    names = zipfile.ZipFile(wheel).namelist()
    assert "aleph_otio/py.typed" in names and "aleph_otio/scripting/__init__.py" in names
    assert "aleph_otio/exports/edl.py" in names and "aleph_otio/resolve/script.py" in names


def test_in_memory_timeline_needs_base_dir_for_relative_media(edit: Path) -> None:
    timeline = otio.adapters.read_from_file(str(edit / "cut.otio"))
    with pytest.raises(ConfigError, match=r"clip 'A010C004' \(media/A010C004.mp4\).*base_dir="):
        plan_timeline(timeline)
    from_file = plan_timeline(edit / "cut.otio")
    in_memory = plan_timeline(timeline, base_dir=edit)
    assert [s.id for s in in_memory.shots] == [s.id for s in from_file.shots]
    assert in_memory.timeline_path == str(edit / "aleph_sample.otio")
    # Absolute media paths need no base_dir.
    for clip in timeline.find_clips():
        clip.media_reference.target_url = str(edit / clip.media_reference.target_url)
    assert [s.id for s in plan_timeline(timeline).shots] == [s.id for s in from_file.shots]


def test_plan_options_override_settings_and_bad_ones_are_named(edit: Path) -> None:
    plan = plan_timeline(edit / "cut.otio", PlanSettings(number_results=2), handles=6)
    assert {(s.head_frames, s.tail_frames, s.options.number_results) for s in plan.shots} == {
        (6, 6, 2)
    }
    with pytest.raises(ConfigError, match="number_results=9"):
        plan_timeline(edit / "cut.otio", number_results=9)
    with pytest.raises(ConfigError, match="unknown plan option.*handle"):
        plan_timeline(edit / "cut.otio", handle=6)
    with pytest.raises(TimelineReadError, match="nope.otio: no such file"):
        plan_timeline(edit / "nope.otio")
    with pytest.raises(ConfigError, match="OTIO Timeline or a timeline file path"):
        plan_timeline(otio.schema.Track())  # type: ignore[arg-type]


def test_run_in_memory_returns_the_relinked_timeline_and_resumes_without_paying_twice(
    edit: Path, emu: Emulator, api: APISettings
) -> None:
    timeline = otio.adapters.read_from_file(str(edit / "cut.otio"))
    before = otio.adapters.write_to_string(timeline)
    events: list[tuple[str, str]] = []

    result = run_timeline(
        timeline,
        base_dir=edit,
        api=api,
        progress=lambda stage, shot, status: events.append((stage, status)),
    )

    assert result.ok, [(s.name, s.state, s.reason) for s in result.shots]
    assert otio.adapters.write_to_string(timeline) == before, "the input timeline changed"
    assert result.output is None and not list(edit.glob("*aleph*.otio")), "nothing is written"
    assert result.work_dir == edit / "aleph_sample.aleph-work"
    assert [s.state for s in result.shots] == ["relinked"] * 3
    assert _track_names(result.timeline)[:2] == ["V1", "ALEPH v001"]
    assert result.cost == pytest.approx(result.estimate) and result.cost > 0
    assert ("submit", "done") in events and ("verify", "done") in events
    with Ledger(result.ledger) as ledger:
        assert {r.state for r in ledger.shots()} == {"relinked"}
    tasks = _submitted(emu)
    assert len(tasks) == 3

    # Again, from inside a running event loop (as in Jupyter): resumes, submits nothing.
    async def from_a_notebook() -> Any:
        return run_timeline(timeline, base_dir=edit, api=api)

    again = asyncio.run(from_a_notebook())
    assert again.ok and _submitted(emu) == tasks
    assert otio.adapters.write_to_string(again.timeline) == otio.adapters.write_to_string(
        result.timeline
    )


def test_relink_timeline_from_a_ledger(edit: Path, api: APISettings) -> None:
    result = run_timeline(edit / "cut.otio", output=edit / "out.otio", api=api)
    assert result.ok
    work = edit / "out.aleph-work"
    assert result.work_dir == work and result.ledger == work / "ledger.sqlite"

    replaced = relink_timeline(edit / "cut.otio", work, mode="replace")
    results = {Path(p) for s in result.shots for p in s.results}
    urls = {Path(c.media_reference.target_url) for c in replaced.video_tracks()[0].find_clips()}
    assert len(results) == 3 and results <= urls

    in_memory = otio.adapters.read_from_file(str(edit / "cut.otio"))
    versions = relink_timeline(in_memory, work / "ledger.sqlite", base_dir=edit)
    assert len(list(versions.video_tracks()[1].find_clips())) == 4
    with pytest.raises(ConfigError, match="pass the settings the run used"):
        relink_timeline(in_memory, work, base_dir=edit, handles=6)
    with pytest.raises(ConfigError, match="no job ledger"):
        relink_timeline(edit / "cut.otio", edit / "nowhere")


def test_run_refuses_mistakes_with_one_line(
    edit: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("RUNWARE_API_KEY", raising=False)
    monkeypatch.setenv("ALEPH_OTIO_CONFIG", str(tmp_path / "no-config.toml"))
    cut = edit / "cut.otio"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"output": cut}, "is the input timeline"),
        ({"output": edit / "cut.mov"}, "no timeline format writes .mov; use one of"),
        ({"relink": "overwrite"}, "relink='overwrite'"),
        ({"concurrency": 0}, "concurrency=0"),
        ({"budget": -1.0}, "budget=-1.0"),
        ({}, "no Runware API key: set RUNWARE_API_KEY"),
    ]
    for kwargs, message in cases:
        with pytest.raises(AlephOtioError, match=re.escape(message)) as caught:
            run_timeline(cut, **kwargs)
        assert "\n" not in str(caught.value)
    assert not (edit / "cut.aleph-work" / "ledger.sqlite").exists(), "nothing was started"
    assert aleph_otio.AlephOtioError is AlephOtioError


@pytest.mark.parametrize("receiver", ["process", "another thread"])
def test_interrupting_a_run_under_a_running_loop_stops_it_and_the_same_call_resumes(
    edit: Path, emu: Emulator, api: APISettings, receiver: str
) -> None:
    """Jupyter's "interrupt kernel" raises KeyboardInterrupt in the waiting thread.

    The OS may hand the SIGINT to any thread; Python runs its handler in the main thread, which
    is waiting for the run: it must notice soon, not when the run is over.
    """
    submitted = threading.Event()

    def progress(stage: str, shot: object, status: str) -> None:
        if stage == "submit" and status == "done":
            submitted.set()

    def interrupt() -> None:
        if submitted.wait(60):
            if receiver == "process":
                os.kill(os.getpid(), signal.SIGINT)
            else:
                signal.pthread_kill(threading.get_ident(), signal.SIGINT)

    async def cell() -> Any:
        threading.Thread(target=interrupt, daemon=True).start()
        return run_timeline(edit / "cut.otio", output=edit / "out.otio", api=api, progress=progress)

    # A loop that does not trap SIGINT itself, as in a notebook kernel.
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(cell())
    finally:
        loop.close()
    # The worker winds down (cancelling its tasks) right after the interrupt; give it a moment.
    deadline = time.monotonic() + 10
    while [t for t in threading.enumerate() if t.name.startswith("aleph-otio")]:
        assert time.monotonic() < deadline, "the run's worker thread never stopped"
        time.sleep(0.05)
    assert not (edit / "out.otio").exists(), "the run went on after the interrupt"
    with Ledger(edit / "out.aleph-work" / "ledger.sqlite") as ledger:
        assert "relinked" not in {r.state for r in ledger.shots()}

    result = run_timeline(edit / "cut.otio", output=edit / "out.otio", api=api)
    assert result.ok
    # A submit cut off by the interrupt is sent again under the same taskUUID (the server
    # knows it already); no shot ever gets a second task, so nothing is paid twice.
    assert len(set(_submitted(emu))) == len(emu.jobs) == 3
    assert result.cost == pytest.approx(result.estimate)
