"""DaVinci Resolve round trip against a fake of Resolve's documented scripting API.

The fake holds a real edit (PyAV-made media whose frames carry their index) and exports and
imports real OTIO files the way Resolve does; the job runs against the emulator over real
sockets. What an editor would notice: the right markers become shots (by ``aleph:`` text, by the
Resolve colour they chose, by script ``customData``), the original timeline is untouched, and
the new ``<name> ALEPH v001`` timeline shows each result at the record time of its marker, on
exactly the source frames it replaces.
"""

from __future__ import annotations

import json
import os
import runpy
from pathlib import Path

import opentimelineio as otio
import pytest
from fake_resolve import FakeMediaPoolItem, FakeProject, FakeResolve, FakeTimeline

from aleph_otio import resolve as aleph_resolve
from aleph_otio.config import PlanSettings
from aleph_otio.errors import AlephOtioError, ConfigError
from aleph_otio.resolve import ResolveError
from aleph_otio.synth import decode_indices, make_video

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "resolve" / "Aleph OTIO.py"
START = 86400  # 01:00:00:00 at 24 fps, Resolve's default timeline start
SNOW, SKY, RAIN = "make it snow", "turn the sky purple", "add rain"


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("resolve_media")
    return {
        "A001": make_video(
            folder / "A001.mp4", frames=96, size=(160, 90), timecode="01:00:00:00", first_index=1000
        ),
        "B002": make_video(
            folder / "B002 take 2.mp4",  # a space in the path, as real media has
            frames=96,
            size=(160, 90),
            timecode="02:00:00:00",
            first_index=2000,
            hue=2,
        ),
    }


def make_resolve(media: dict[str, Path], **flags: object) -> tuple[FakeResolve, FakeTimeline]:
    """Project "Spot" with timeline "Edit 1": A001 frames 12-71, then B002 frames 6-77 on V1.

    Timeline markers: ``aleph: make it snow`` (Sand, 50 frames over A001), a Rose marker with
    the note "turn the sky purple" (1 frame: the whole B002 clip), a Blue review note.
    """
    project = FakeProject("Spot")
    timeline = FakeTimeline("Edit 1", **flags)  # type: ignore[arg-type]
    v1 = timeline.add_track("video")
    timeline.add_track("audio")
    timeline.append_clip(v1, FakeMediaPoolItem(media["A001"]), 12, 60)
    timeline.append_clip(v1, FakeMediaPoolItem(media["B002"]), 6, 72)
    assert timeline.AddMarker(4, "Sand", f"aleph: {SNOW}", "", 50)
    assert timeline.AddMarker(70, "Rose", "Marker 2", SKY, 1)
    assert timeline.AddMarker(100, "Blue", "review", "a bit dark?", 1)
    project.timelines.append(timeline)
    project.current = timeline
    timeline.calls.clear()  # from here on, only what aleph-otio calls
    return FakeResolve(project), timeline


def shots_of(plan: object) -> list[tuple[str, str, int]]:
    return [(s.prompt, s.segments[0].record_tc_in, s.frame_count) for s in plan.shots]  # type: ignore[attr-defined]


EXPECTED = [(SNOW, "01:00:00:04", 50), (SKY, "01:00:02:12", 72)]


def test_resolve_colour_and_aleph_text_become_shots(media: dict[str, Path], tmp_path: Path) -> None:
    resolve, _ = make_resolve(media)
    # OTIO has no Rose: the export says PINK; only GetMarkers() knows the colour the editor chose.
    rose = aleph_resolve.plan_current_timeline(
        resolve, PlanSettings(marker_color="Rose"), folder=tmp_path
    )
    assert shots_of(rose) == EXPECTED
    assert not rose.errors
    plain = aleph_resolve.plan_current_timeline(resolve, PlanSettings(), folder=tmp_path)
    assert shots_of(plain) == EXPECTED[:1], "a Rose marker was taken without --marker-color"
    raw = otio.adapters.read_from_file(str(tmp_path / "Edit 1.resolve.otio"))
    assert {m.color for m in raw.tracks.markers} == {"ORANGE", "PINK", "BLUE"}


@pytest.mark.parametrize(
    "flags",
    [
        {"export_timeline_markers": False},  # an export that drops timeline markers
        {"stack_markers_absolute": True},  # markers counted from the start time code
        {"export_marker_colors": True},  # an export that keeps Resolve's colour names
    ],
    ids=["markers-missing", "markers-absolute", "colours-kept"],
)
def test_getmarkers_fills_what_the_export_lacks(
    media: dict[str, Path], tmp_path: Path, flags: dict[str, object]
) -> None:
    resolve, _ = make_resolve(media, **flags)
    plan = aleph_resolve.plan_current_timeline(
        resolve, PlanSettings(marker_color="rose"), folder=tmp_path
    )
    assert shots_of(plan) == EXPECTED
    # exactly one marker per Resolve marker: none doubled by the fill
    written = otio.adapters.read_from_file(str(tmp_path / "Edit 1.otio"))
    assert len(written.tracks.markers) == 3


def test_custom_data_request(media: dict[str, Path], tmp_path: Path) -> None:
    resolve, timeline = make_resolve(media)
    custom = json.dumps({"aleph": {"prompt": RAIN, "numberResults": 2}})
    assert timeline.AddMarker(110, "Blue", "Marker 4", "", 48, custom)
    plan = aleph_resolve.plan_current_timeline(resolve, folder=tmp_path)
    rain = [s for s in plan.shots if s.prompt == RAIN]
    assert len(rain) == 1 and rain[0].options.number_results == 2
    assert rain[0].segments[0].record_tc_in == "01:00:04:14"


def _frames(item: object) -> list[int]:
    """Code indices of the media frames a fake timeline item shows."""
    first = item.source_start  # type: ignore[attr-defined]
    return decode_indices(item.media.path)[first : first + item.duration]  # type: ignore[attr-defined]


def _record_frames(timeline: FakeTimeline, track: int, start: int, count: int) -> list[int]:
    """What track ``track`` (1-based, video) shows at record frames ``start .. start+count``."""
    shown: dict[int, int] = {}
    for item in timeline.GetItemListInTrack("video", track):
        for offset, index in enumerate(_frames(item)):
            shown[item.start + offset] = index
    return [shown[f] for f in range(start, start + count)]


def test_round_trip_imports_a_new_timeline_frame_accurately(
    media: dict[str, Path], tmp_path: Path
) -> None:
    resolve, original = make_resolve(media)
    project = resolve.GetProjectManager().GetCurrentProject()
    before = original.state()
    events: list[tuple[str, str]] = []

    summary = aleph_resolve.run_current_timeline(
        resolve,
        PlanSettings(marker_color="Rose"),
        emulator=True,
        folder=tmp_path,
        progress=lambda stage, shot, status: events.append((stage, status)),
        emulator_latency=0.2,
    )
    assert summary.exit_code == 0, [(s.name, s.state, s.reason) for s in summary.shots]
    assert ("verify", "done") in events and ("write", "done") in events
    assert summary.output == tmp_path / "Edit 1 ALEPH.otio"

    imported = aleph_resolve.import_result(resolve, summary.output)
    assert imported.GetName() == "Edit 1 ALEPH v001"
    assert project.GetTimelineCount() == 2 and project.GetTimelineByIndex(1) is original
    assert project.GetCurrentTimeline() is imported
    # The original was only read: same edit, same markers, no editing call made.
    assert original.state() == before
    assert set(original.calls) <= {"GetName", "GetSetting", "GetStartFrame", "GetMarkers", "Export"}

    ready, options = project.GetMediaPool().imports[-1]
    assert options == {"timelineName": "Edit 1 ALEPH v001", "importSourceClips": True}
    assert "file://" not in Path(ready).read_text(), "Resolve rejects file:// URLs"

    names = [imported.GetTrackName("video", i) for i in (1, 2)]
    assert names == ["Video 1", "ALEPH v001"]
    v1 = [
        (i.name, i.start, i.duration, i.source_start)
        for i in imported.GetItemListInTrack("video", 1)
    ]
    assert v1 == [("A001", START, 60, 12), ("B002 take 2", START + 60, 72, 6)]
    versions = imported.GetItemListInTrack("video", 2)
    # each result at its marker's record time, for the marker's length ...
    assert [(v.start, v.duration) for v in versions] == [(START + 4, 50), (START + 60, 72)]
    for version in versions:
        assert version.media is not None, f"{version.name} is offline in Resolve"
        assert "/results/" in str(version.media.path)
        # ... showing exactly the source frames it replaces
        assert _frames(version) == _record_frames(original, 1, version.start, version.duration)

    again = aleph_resolve.import_result(resolve, summary.output)
    assert again.GetName() == "Edit 1 ALEPH v002" and project.GetTimelineCount() == 3


@pytest.mark.parametrize(("output_format", "stamped"), [("MP4", True), ("WEBM", False)])
def test_results_come_in_online_by_their_time_code(
    media: dict[str, Path], tmp_path: Path, output_format: str, stamped: bool
) -> None:
    """Stamped results carry their source time code, so Resolve places them as relinked; a file
    without one (WEBM) would be offline without moving its time code onto the file's."""
    resolve, _ = make_resolve(media)
    summary = aleph_resolve.run_current_timeline(
        resolve,
        PlanSettings(output_format=output_format),
        emulator=True,
        folder=tmp_path,
        emulator_latency=0.2,
    )
    assert summary.exit_code == 0 and summary.output is not None
    pool = resolve.GetProjectManager().GetCurrentProject().GetMediaPool()
    raw = pool.ImportTimelineFromFile(str(summary.output), {"timelineName": "unconformed"})
    assert raw is not None
    online = [v.media is not None for v in raw.GetItemListInTrack("video", 2)]
    assert online and all(o is stamped for o in online)
    fixed = aleph_resolve.import_result(resolve, summary.output)
    assert all(v.media is not None for v in fixed.GetItemListInTrack("video", 2))


def _rehearse_in_resolve(
    resolve: FakeResolve,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    **env: str,
) -> str:
    """Run the script inside (fake) Resolve in emulator mode, Rose markers, no API key set, with
    ``env`` besides; what it printed."""
    monkeypatch.setenv("ALEPH_OTIO_RESOLVE_DIR", str(tmp_path))
    monkeypatch.setenv("ALEPH_OTIO_MODE", "emulator")
    monkeypatch.setenv("ALEPH_OTIO_MARKER_COLOR", "Rose")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RUNWARE_API_KEY", raising=False)
    monkeypatch.delenv("RUNWAYML_API_SECRET", raising=False)
    runpy.run_path(str(SCRIPT), init_globals={"resolve": resolve}, run_name="__main__")
    return capsys.readouterr().out


def test_script_runs_inside_resolve(
    media: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    resolve, original = make_resolve(media)
    out = _rehearse_in_resolve(resolve, tmp_path, monkeypatch, capsys)
    project = resolve.GetProjectManager().GetCurrentProject()
    assert project.GetCurrentTimeline().GetName() == "Edit 1 ALEPH v001", out
    assert len(project.GetCurrentTimeline().GetItemListInTrack("video", 2)) == 2
    assert "2 shot(s) in Edit 1" in out and "2/2 shot(s) relinked" in out
    folder = tmp_path / "Spot" / "Edit 1"
    assert f"relinked timeline: {folder / 'Edit 1 ALEPH.otio'}" in out
    assert "imported as new timeline 'Edit 1 ALEPH v001'" in out


class _Bmd:
    """Resolve's ``bmd`` module, for scripts that get no ``resolve`` global."""

    def __init__(self, resolve: FakeResolve) -> None:
        self.resolve = resolve

    def scriptapp(self, name: str) -> FakeResolve | None:
        return self.resolve if name == "Resolve" else None


@pytest.mark.parametrize(("mode", "host"), [("plan", "resolve"), ("ask", "bmd")])
def test_script_without_consent_sends_nothing(
    media: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    mode: str,
    host: str,
) -> None:
    resolve, _ = make_resolve(media)
    monkeypatch.setenv("ALEPH_OTIO_RESOLVE_DIR", str(tmp_path))
    monkeypatch.setenv("ALEPH_OTIO_MODE", mode)
    given = {"resolve": resolve} if host == "resolve" else {"bmd": _Bmd(resolve)}
    runpy.run_path(str(SCRIPT), init_globals=given, run_name="__main__")
    out = capsys.readouterr().out
    assert "1 shot(s) in Edit 1" in out and "not run" in out
    assert resolve.GetProjectManager().GetCurrentProject().GetTimelineCount() == 1
    assert not (tmp_path / "Spot" / "Edit 1" / "work").exists()


def test_real_mode_without_key_says_where_to_put_it(
    media: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolve, _ = make_resolve(media)
    monkeypatch.delenv("RUNWARE_API_KEY", raising=False)
    monkeypatch.setenv("ALEPH_OTIO_CONFIG", str(tmp_path / "none.toml"))
    with pytest.raises(ConfigError, match="RUNWARE_API_KEY"):
        aleph_resolve.script_main(resolve, mode="real", folder=tmp_path, out=lambda _: None)
    assert not (tmp_path / "work" / "ledger.sqlite").exists()


def test_old_resolve_exports_fcp7_xml(media: dict[str, Path], tmp_path: Path) -> None:
    resolve, _ = make_resolve(media)
    resolve.version = (18, 1)
    exported = aleph_resolve.export_timeline(resolve, tmp_path)
    assert exported.raw_path.suffix == ".xml"
    assert any("no OTIO export" in line for line in exported.filled)
    plan = aleph_resolve.plan_current_timeline(
        resolve, PlanSettings(marker_color="Rose"), folder=tmp_path
    )
    assert shots_of(plan) == EXPECTED
    # the result goes back as FCP 7 XML too (Resolve before 18.5 imports no OTIO)
    summary = aleph_resolve.run_current_timeline(
        resolve, PlanSettings(marker_color="Rose"), emulator=True, folder=tmp_path,
        emulator_latency=0.2,
    )  # fmt: skip
    assert summary.exit_code == 0 and summary.output == tmp_path / "Edit 1 ALEPH.xml"
    imported = aleph_resolve.import_result(resolve, summary.output)
    assert imported.GetName() == "Edit 1 ALEPH v001"
    versions = imported.GetItemListInTrack("video", 2)
    assert [(v.start, v.duration) for v in versions] == [(START + 4, 50), (START + 60, 72)]
    original = resolve.GetProjectManager().GetCurrentProject().GetTimelineByIndex(1)
    for version in versions:
        assert version.media is not None, f"{version.name} is offline in Resolve"
        assert _frames(version) == _record_frames(original, 1, version.start, version.duration)


def test_user_mistakes_are_one_line_errors(media: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ResolveError, match="no project open"):
        aleph_resolve.export_current_timeline(FakeResolve(None), tmp_path)
    empty = FakeProject("Empty")
    with pytest.raises(ResolveError, match="'Empty' has no current timeline"):
        aleph_resolve.export_current_timeline(FakeResolve(empty), tmp_path)
    resolve, timeline = make_resolve(media)
    timeline.Export = lambda *args: False  # type: ignore[method-assign]
    with pytest.raises(ResolveError, match="refused to export timeline 'Edit 1'"):
        aleph_resolve.export_current_timeline(resolve, tmp_path)
    with pytest.raises(ResolveError, match="no relinked timeline"):
        aleph_resolve.import_result(resolve, tmp_path / "missing.otio")
    not_otio = tmp_path / "broken.otio"
    not_otio.write_text("{}")
    with pytest.raises(AlephOtioError):
        aleph_resolve.import_result(resolve, not_otio)
    with pytest.raises(ConfigError, match="ALEPH_OTIO_MODE"):
        aleph_resolve.script_main(resolve, mode="yes please", out=lambda _: None)


def test_clip_marker_colour_from_timeline_items(media: dict[str, Path], tmp_path: Path) -> None:
    resolve, timeline = make_resolve(media)
    first = timeline.GetItemListInTrack("video", 1)[0]
    assert first.AddMarker(20, "Cream", "Marker 5", "remove the logo", 48)
    plan = aleph_resolve.plan_current_timeline(
        resolve, PlanSettings(marker_color="Cream"), folder=tmp_path
    )
    # OTIO has no Cream (the export says WHITE): only the item's GetMarkers() knows it
    assert shots_of(plan) == [EXPECTED[0], ("remove the logo", "01:00:00:20", 48)], plan.errors
    assert not plan.errors


def test_fill_never_doubles_a_marker_the_export_renamed(
    media: dict[str, Path], tmp_path: Path
) -> None:
    resolve, timeline = make_resolve(media)
    raw = tmp_path / "raw.otio"
    assert timeline.Export(str(raw), resolve.EXPORT_OTIO, resolve.EXPORT_NONE)
    exported = otio.adapters.read_from_file(str(raw))
    for marker in exported.tracks.markers:
        marker.name = f"exported {marker.name}"  # an export that names markers its own way
    filled = aleph_resolve.fill_markers(
        exported, aleph_resolve.markers_from_resolve(timeline), start_frame=START
    )
    assert len(exported.tracks.markers) == 3, filled
    colours = [m.metadata["Resolve_OTIO"]["Color"] for m in exported.tracks.markers]
    assert colours == ["Sand", "Rose", "Blue"]


@pytest.mark.parametrize(
    ("setting", "rate"), [("24", 24.0), ("23.976", 24000 / 1001), ("29.97 DF", 30000 / 1001)]
)
def test_timeline_rate_reads_resolve_settings(
    media: dict[str, Path], monkeypatch: pytest.MonkeyPatch, setting: str, rate: float
) -> None:
    _, timeline = make_resolve(media)
    monkeypatch.setattr(timeline, "GetSetting", lambda name="": setting)
    assert aleph_resolve.timeline_rate(timeline) == pytest.approx(rate)
    monkeypatch.setattr(timeline, "GetSetting", lambda name="": "fast")
    with pytest.raises(ResolveError, match="unreadable frame rate 'fast'"):
        aleph_resolve.timeline_rate(timeline)


def test_resolve_settings_search_media_folders_from_the_environment(tmp_path: Path) -> None:
    from aleph_otio.resolve.script import settings_from_env

    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    settings = settings_from_env({"ALEPH_OTIO_MEDIA_SEARCH": f"{one}{os.pathsep}{two}"})
    assert settings.media_search == (str(one.resolve()), str(two.resolve()))
    with pytest.raises(ConfigError, match="ALEPH_OTIO_MEDIA_SEARCH: .*missing is not a folder"):
        settings_from_env({"ALEPH_OTIO_MEDIA_SEARCH": str(tmp_path / "missing")})


def test_script_rehearses_against_runways_api_when_asked(
    media: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``ALEPH_OTIO_BACKEND=runway``: Runway's API (emulated), its price in the plan, the ledger
    bound to it, and the same new timeline back in Resolve."""
    from aleph_otio.config import runway_price_per_second
    from aleph_otio.ledger import Ledger

    resolve, _ = make_resolve(media)
    out = _rehearse_in_resolve(resolve, tmp_path, monkeypatch, capsys, ALEPH_OTIO_BACKEND="runway")
    project = resolve.GetProjectManager().GetCurrentProject()
    assert project.GetCurrentTimeline().GetName() == "Edit 1 ALEPH v001", out
    assert "2/2 shot(s) relinked" in out
    assert f"at ${runway_price_per_second():.2f}/s per result" in out
    work = tmp_path / "Spot" / "Edit 1" / "work"
    with Ledger(work / "ledger.sqlite") as ledger:
        assert {ledger.task_backend(r.task_uuid) for r in ledger.shots()} == {"runway"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ALEPH_OTIO_BACKEND": "replicate"}, "ALEPH_OTIO_BACKEND='replicate': use runware or"),
        ({"ALEPH_OTIO_UPSCALE": "8k", "ALEPH_OTIO_BACKEND": "runway"}, "use 4k or 2k"),
        ({"ALEPH_OTIO_UPSCALE": "4k"}, "the upscaler is Runway's; set ALEPH_OTIO_BACKEND=runway"),
    ],
)
def test_resolve_backend_settings_are_checked_before_anything_is_exported(
    env: dict[str, str], message: str
) -> None:
    from aleph_otio.resolve.script import backend_from_env

    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("$", r"\$")):
        backend_from_env(env)
    assert backend_from_env({"ALEPH_OTIO_BACKEND": "Runway", "ALEPH_OTIO_UPSCALE": "4K"}) == (
        "runway",
        "4k",
    )
    assert backend_from_env({}) == ("runware", None)
