"""Media that moved: --media-map and --media-search, as a conform artist relinks in an NLE.

Timelines exported on another machine name its paths (a Mac's /Volumes, a Windows drive), and
Resolve timelines name camera originals FFmpeg cannot decode. Each test plans a real timeline
against real files (made with aleph_otio.synth) and checks which file each shot will be cut
from, or the one-line reason it cannot be.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
import pytest

from aleph_otio import synth
from aleph_otio.config import PlanSettings
from aleph_otio.errors import ConfigError, TimelineReadError
from aleph_otio.locate import MediaLocator, parse_media_map, written_path
from aleph_otio.pipeline import plan_file

RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange


def timeline_naming(folder: Path, *urls: str) -> Path:
    """A timeline of one marked 2 s clip per URL, each media without an available range (so a
    file that is not found cannot be planned from the timeline alone)."""
    timeline = otio.schema.Timeline(name="moved")
    track = otio.schema.Track(name="V1")
    for number, url in enumerate(urls):
        clip = otio.schema.Clip(
            name=f"C{number:03d}",
            media_reference=otio.schema.ExternalReference(target_url=url),
            source_range=TR(RT(0, 24), RT(48, 24)),
        )
        clip.markers.append(otio.schema.Marker(name=f"aleph: edit {number}", marked_range=TR()))
        track.append(clip)
    timeline.tracks.append(track)
    path = folder / "moved.otio"
    otio.adapters.write_to_file(timeline, str(path))
    return path


@pytest.fixture()
def raid(tmp_path: Path) -> Path:
    """Where the media is on this machine: /mnt/raid/Project/Day1/A001.mov, and so on."""
    day = tmp_path / "mnt" / "raid" / "Project" / "Day1"
    day.mkdir(parents=True)
    for name in ("A001.mov", "A002.mov"):
        synth.make_video(day / name, frames=72, size=(64, 36))
    return tmp_path / "mnt" / "raid"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aleph_otio", *args], capture_output=True, text=True, timeout=120
    )


def media_paths(timeline: Path, settings: PlanSettings) -> tuple[list[str], list[str]]:
    _, plan = plan_file(timeline, settings)
    return [s.segments[0].media_path for s in plan.shots], plan.errors


def test_a_mac_timeline_plans_against_the_media_here_with_media_map(
    tmp_path: Path, raid: Path
) -> None:
    timeline = timeline_naming(
        tmp_path,
        "file:///Volumes/RAID/Project/Day1/A001.mov",
        "file:///Volumes/RAID%20Two/A002.mov",  # another volume: not mapped, so not found
    )
    before, errors = media_paths(timeline, PlanSettings())
    assert before == [] and len(errors) == 2
    assert "missing or offline" in errors[0] and "--media-map" in errors[0]
    settings = PlanSettings(media_map=(("/Volumes/RAID", str(raid)),))
    paths, errors = media_paths(timeline, settings)
    assert paths == [str(raid / "Project" / "Day1" / "A001.mov")]
    assert len(errors) == 1 and "RAID Two/A002.mov" in errors[0]


def test_a_windows_timeline_maps_drive_paths(tmp_path: Path, raid: Path) -> None:
    timeline = timeline_naming(
        tmp_path, "D:\\Project\\Day1\\A001.mov", "file:///D:/Project/Day1/A002.mov"
    )
    settings = PlanSettings(media_map=(("D:\\Project", str(raid / "Project")),))
    paths, errors = media_paths(timeline, settings)
    assert errors == []
    assert paths == [str(raid / "Project" / "Day1" / n) for n in ("A001.mov", "A002.mov")]


def test_media_search_finds_files_by_name_in_subfolders(tmp_path: Path, raid: Path) -> None:
    timeline = timeline_naming(tmp_path, "/old/place/a001.MOV", "/old/place/A002.mov")
    paths, errors = media_paths(timeline, PlanSettings(media_search=(str(raid),)))
    assert (
        errors == []
    )  # names compare without case, as on the Mac and Windows disks they came from
    assert paths == [str(raid / "Project" / "Day1" / n) for n in ("A001.mov", "A002.mov")]


def test_two_files_of_one_name_refuse_that_marker_naming_both(tmp_path: Path, raid: Path) -> None:
    other = raid / "Project" / "Day2"
    other.mkdir()
    synth.make_video(other / "A001.mov", frames=72, size=(64, 36))
    timeline = timeline_naming(tmp_path, "/old/A001.mov", "/old/A002.mov")
    paths, errors = media_paths(timeline, PlanSettings(media_search=(str(raid),)))
    assert paths == [str(raid / "Project" / "Day1" / "A002.mov")]
    assert len(errors) == 1
    assert "A001.mov: 2 files match" in errors[0] and "Day1" in errors[0] and "Day2" in errors[0]


def test_camera_raw_is_cut_from_its_transcode_with_a_warning(tmp_path: Path, raid: Path) -> None:
    originals = tmp_path / "originals"
    originals.mkdir()
    braw = originals / "A001.braw"
    braw.write_bytes(b"BRAW" + bytes(1000))  # a camera original: FFmpeg cannot read it
    timeline = timeline_naming(tmp_path, braw.as_uri())
    _, plan = plan_file(timeline, PlanSettings())
    assert plan.shots == []
    assert "Blackmagic RAW camera raw, which FFmpeg cannot decode" in plan.errors[0]
    assert "--media-search" in plan.errors[0]
    _, plan = plan_file(timeline, PlanSettings(media_search=(str(raid),)))
    assert plan.errors == []
    (shot,) = plan.shots
    assert shot.segments[0].media_path == str(raid / "Project" / "Day1" / "A001.mov")
    assert any(
        "in place of A001.braw (Blackmagic RAW cannot be decoded)" in w for w in shot.warnings
    )


def test_locator_order_and_untouched_paths(tmp_path: Path, raid: Path) -> None:
    here = raid / "Project" / "Day1" / "A001.mov"
    locator = MediaLocator(maps=[("/Volumes/RAID", str(raid))], search=[tmp_path / "none"])
    # A file that is where the timeline says is used as it is, without searching.
    assert locator.locate(here.as_uri(), str(here)).path == str(here)
    # Only whole folder names are mapped: /Volumes/RAIDER is another volume.
    assert locator.locate("/Volumes/RAIDER/A001.mov", "/Volumes/RAIDER/A001.mov").path == (
        "/Volumes/RAIDER/A001.mov"
    )
    assert written_path("file://server/share/a%20b.mov") == "//server/share/a b.mov"
    assert written_path("file:///C:/x/y.mov") == "C:/x/y.mov"


def test_bad_media_options_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="FROM=TO"):
        parse_media_map(["/Volumes/RAID"])
    timeline = timeline_naming(tmp_path, "/old/A001.mov")
    result = cli("plan", str(timeline), "--media-map", "nothing")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: --media-map 'nothing': write it as FROM=TO, e.g. /Volumes/RAID=/mnt/raid"
    )
    result = cli("stills", str(timeline), "--media-search", str(tmp_path / "no"))
    assert result.returncode == 2 and "not a folder" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_cli_plan_and_stills_use_the_media_search(tmp_path: Path, raid: Path) -> None:
    timeline = timeline_naming(tmp_path, "/old/A001.mov")
    result = cli("plan", str(timeline), "--json", "--media-search", str(raid))
    assert result.returncode == 0, result.stderr
    assert str(raid / "Project" / "Day1" / "A001.mov") in result.stdout
    stills = tmp_path / "stills"
    result = cli("stills", str(timeline), "-o", str(stills), "--media-search", str(raid))
    assert result.returncode == 0, result.stderr
    assert len(list(stills.glob("*.png"))) == 1


# --- files holding several sequences ------------------------------------------------------------


def two_sequences(folder: Path, raid: Path, suffix: str) -> Path:
    """A file holding two sequences, 'Cut A' and 'Cut B', with one marked clip each."""
    collection = otio.schema.SerializableCollection(name="bin")
    for name, media in (("Cut A", "A001.mov"), ("Cut B", "A002.mov")):
        timeline = otio.schema.Timeline(name=name)
        timeline.global_start_time = RT(86400, 24)
        track = otio.schema.Track(name="V1")
        clip = otio.schema.Clip(
            name=media,
            media_reference=otio.schema.ExternalReference(
                target_url=(raid / "Project" / "Day1" / media).as_uri(),
                available_range=TR(RT(0, 24), RT(72, 24)),
            ),
            source_range=TR(RT(0, 24), RT(48, 24)),
        )
        clip.markers.append(otio.schema.Marker(name=f"aleph: {name}", marked_range=TR()))
        track.append(clip)
        timeline.tracks.append(track)
        collection.append(timeline)
    path = folder / f"bin{suffix}"
    otio.adapters.write_to_file(collection, str(path))
    return path


@pytest.mark.parametrize("suffix", [".otio", ".xml"])
def test_a_file_of_several_sequences_needs_one_chosen(
    tmp_path: Path, raid: Path, suffix: str
) -> None:
    path = two_sequences(tmp_path, raid, suffix)
    with pytest.raises(TimelineReadError, match=r"holds 2 sequences \('Cut A', 'Cut B'\); choose"):
        plan_file(path, PlanSettings())
    for wanted, media in (("Cut B", "A002.mov"), ("cut a", "A001.mov")):
        loaded, plan = plan_file(path, PlanSettings(sequence=wanted))
        assert loaded.timeline.name.casefold() == wanted.casefold()
        assert [s.segments[0].clip_name for s in plan.shots] == [media]
    with pytest.raises(TimelineReadError, match=r"no sequence named 'Cut C'; it holds 'Cut A'"):
        plan_file(path, PlanSettings(sequence="Cut C"))


def test_cli_sequence_option_and_its_error(tmp_path: Path, raid: Path) -> None:
    path = two_sequences(tmp_path, raid, ".otio")
    result = cli("plan", str(path))
    assert result.returncode == 2
    assert "holds 2 sequences ('Cut A', 'Cut B'); choose one with --sequence NAME" in result.stderr
    result = cli("plan", str(path), "--sequence", "Cut B", "--json")
    assert result.returncode == 0, result.stderr
    assert '"clip_name": "A002.mov"' in result.stdout and "A001.mov" not in result.stdout


def test_a_run_cuts_the_found_media_and_keeps_the_timelines_own_paths(
    tmp_path: Path, raid: Path
) -> None:
    """The whole job against the emulator: the clip is cut from the file found here, the result
    is relinked, and the output's original clips still name the editor's paths (for the NLE)."""
    url = "file:///Volumes/RAID/Project/Day1/A001.mov"
    timeline = timeline_naming(tmp_path, url)
    out = tmp_path / "out.otio"
    result = cli(
        "run", str(timeline), "-o", str(out), "--emulator", "--media-map",
        f"/Volumes/RAID={raid}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    relinked = otio.adapters.read_from_file(str(out))
    tracks = {t.name: t for t in relinked.tracks}
    (original,) = [c for c in tracks["V1"].find_clips()]
    assert original.media_reference.target_url == url
    (version,) = [c for c in tracks["ALEPH v001"].find_clips()]
    result_file = otio.url_utils.filepath_from_url(version.media_reference.target_url)
    assert Path(result_file).is_file()
    # OTIO's media linker finds the result for the editor's clip, whose path names the Mac.
    linker = otio.media_linker.MediaLinker(
        name="aleph_linker", filepath=str(Path(__file__).parent.parent / "adapters/aleph_linker.py")
    )
    (clip,) = otio.adapters.read_from_file(str(timeline)).find_clips()
    ledger = tmp_path / "out.aleph-rehearsal" / "ledger.sqlite"
    linked = linker.link_media_reference(clip, {"ledger": str(ledger)})
    assert linked is not None and Path(linked.target_url).resolve() == Path(result_file).resolve()


def test_media_missing_is_a_warning_on_a_shot_planned_from_the_timeline(tmp_path: Path) -> None:
    """With an available range the shot can be planned and estimated without its media, but the
    plan says the file is not there now, before a run pays for the other shots."""
    timeline = otio.schema.Timeline(name="offline")
    track = otio.schema.Track(name="V1")
    clip = otio.schema.Clip(
        name="B020C001",
        media_reference=otio.schema.ExternalReference(
            target_url="/Volumes/RAID/B020C001.mov", available_range=TR(RT(0, 24), RT(96, 24))
        ),
        source_range=TR(RT(0, 24), RT(48, 24)),
    )
    clip.markers.append(otio.schema.Marker(name="aleph: relight", marked_range=TR()))
    track.append(clip)
    timeline.tracks.append(track)
    path = tmp_path / "offline.otio"
    otio.adapters.write_to_file(timeline, str(path))
    _, plan = plan_file(path, PlanSettings(media_search=(str(tmp_path),)))
    (shot,) = plan.shots
    (warning,) = shot.warnings
    assert "B020C001.mov not found (nor under" in warning and "--media-search" in warning


def test_guide_stills_are_found_like_the_media(tmp_path: Path, raid: Path) -> None:
    """A painted guide named by the editor's machine is found by name in a search folder."""
    paint = raid / "guides" / "bottle.png"
    paint.parent.mkdir()
    synth.write_png(paint, av.VideoFrame.from_ndarray(np.zeros((36, 64, 3), np.uint8), "rgb24"))
    timeline = otio.schema.Timeline(name="guided")
    track = otio.schema.Track(name="V1")
    clip = otio.schema.Clip(
        name="A001",
        media_reference=otio.schema.ExternalReference(target_url="/Volumes/RAID/A001.mov"),
        source_range=TR(RT(0, 24), RT(48, 24)),
    )
    guide = {"image": "/Volumes/RAID/guides/bottle.png", "frame": "first"}
    clip.markers.append(
        otio.schema.Marker(
            name="swap",
            marked_range=TR(),
            metadata={"aleph": {"prompt": "a bottle", "guides": [guide]}},
        )
    )
    track.append(clip)
    timeline.tracks.append(track)
    path = tmp_path / "guided.otio"
    otio.adapters.write_to_file(timeline, str(path))
    _, plan = plan_file(path, PlanSettings())
    assert plan.shots == [] and "bottle.png not found" in plan.errors[0]
    _, plan = plan_file(path, PlanSettings(media_search=(str(raid),)))
    assert plan.errors == []
    (shot,) = plan.shots
    assert shot.segments[0].media_path == str(raid / "Project" / "Day1" / "A001.mov")
    assert [g.image for g in shot.guides] == [str(paint)]
