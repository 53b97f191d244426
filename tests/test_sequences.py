"""Image-sequence plates (EXR half/float and layered, DPX 10-bit) as sources, numbered from 1001.

The timelines are written as Hiero/Nuke Studio and AYON write plates into OTIO: an
``ImageSequenceReference`` with ``start_frame`` 1001 whose available range starts at the
plate's time code; or, as OTIO's own tools write a sequence without time code, at the first
file's number. Expected files, frames and time codes are worked out by hand in each test.
"""

from __future__ import annotations

import asyncio
import dataclasses
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
import pytest
from edits import write_marked_clip
from plates import picture, write_sequence

from aleph_otio.api.client import AlephClient
from aleph_otio.config import APISettings, ColourSettings, PlanSettings
from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.media import prepare_shot, probe
from aleph_otio.pipeline import RunConfig, plan_file, run_pipeline
from aleph_otio.synth import decode_index
from aleph_otio.timeline.sequences import SequencePattern, parse_sequence

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
RATE = 24
TC_FRAMES = 86400  # 01:00:00:00 at 24 fps
KEY = "test-key-not-secret-sequences"


def hiero_timeline(
    folder: Path,
    plates: Path,
    *,
    suffix: str = ".exr",
    count: int = 96,
    available_start: int = TC_FRAMES,
    clip_in: int = 10,
    clip_frames: int = 60,
    handles_note: str = "",
) -> Path:
    """A one-clip cut: frames ``clip_in..clip_in+clip_frames`` of a plate, marked whole."""
    ref = otio.schema.ImageSequenceReference(
        target_url_base=plates.as_uri() + "/",
        name_prefix="SH010_plate.",
        name_suffix=suffix,
        start_frame=1001,
        frame_step=1,
        rate=RATE,
        frame_zero_padding=4,
        available_range=TR(RT(available_start, RATE), RT(count, RATE)),
    )
    used = TR(RT(available_start + clip_in, RATE), RT(clip_frames, RATE))
    return write_marked_clip(
        folder / "cut.otio",
        ref,
        used,
        clip="SH010_plate",
        prompt="remove the boom mic",
        timeline=f"cut{handles_note}",
    )


def decoded_numbers(path: str | Path) -> list[int]:
    with av.open(str(path)) as container:
        return [decode_index(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]


@pytest.fixture(scope="module")
def exr_plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """96 half-float EXRs, SH010_plate.1001-1096.exr, time code 01:00:00:00 in the headers."""
    return write_sequence(
        tmp_path_factory.mktemp("plates") / "SH010", "SH010_plate", 1001, 96, timecode="01:00:00:00"
    )


def test_a_sequence_probes_as_one_clip_with_its_headers_time_code(exr_plate: Path) -> None:
    pattern = SequencePattern(str(exr_plate), "SH010_plate.", ".exr", 4, 1001, 1096, Fraction(24))
    assert parse_sequence(str(pattern)) == pattern
    info = probe(str(pattern))
    assert (info.frame_count, info.first_number, info.missing_frames) == (96, 1001, ())
    assert info.timecode == "01:00:00:00" and info.start_frame == TC_FRAMES
    assert (info.width, info.height, info.rate) == (160, 96, 24.0)


def test_a_hiero_plate_plans_and_cuts_the_files_the_clip_uses(
    tmp_path: Path, exr_plate: Path
) -> None:
    timeline = hiero_timeline(tmp_path, exr_plate)
    _, plan = plan_file(timeline, PlanSettings(handles=4))
    assert plan.errors == []
    (shot,) = plan.shots
    (seg,) = shot.segments
    # The clip starts 10 frames into the plate: file 1011; 4 handles each side.
    assert (seg.media_start_frame, seg.media_frame_count) == (10, 60)
    assert (shot.head_frames, shot.tail_frames) == (4, 4)
    assert seg.source_tc_in == "01:00:00:10" and seg.source_tc_out == "01:00:02:22"
    assert seg.media_path.endswith("SH010_plate.%04d.exr [1001-1096] @24")
    clip = prepare_shot(shot, tmp_path / "clip.mp4")
    assert decoded_numbers(clip.path) == list(range(1007, 1075))
    assert (clip.width, clip.height, clip.rate) == (160, 96, 24.0)


def test_a_plate_counted_by_file_number_shows_its_headers_time_code(
    tmp_path: Path, exr_plate: Path
) -> None:
    # OTIO's own tools: no time code, the available range starts at the first file's number.
    timeline = hiero_timeline(tmp_path, exr_plate, available_start=1001)
    _, plan = plan_file(timeline, PlanSettings())
    (seg,) = plan.shots[0].segments
    assert seg.media_start_frame == 10
    assert seg.source_tc_in == "01:00:00:10"  # from the EXR headers, not 00:00:42:03


@pytest.mark.parametrize(
    ("kind", "suffix", "options"),
    [("exr", ".exr", {"half": False}), ("dpx", ".dpx", {}), ("layered", ".exr", {})],
)
def test_float_exr_dpx_and_layered_exr_plates_cut_frame_accurately(
    tmp_path: Path, kind: str, suffix: str, options: dict[str, bool]
) -> None:
    plates = write_sequence(
        tmp_path / "plates", "SH010_plate", 1001, 60, kind, timecode="10:20:30:12", **options
    )
    timeline = hiero_timeline(
        tmp_path, plates, suffix=suffix, count=60, clip_in=3, clip_frames=50, available_start=1001
    )
    _, plan = plan_file(timeline, PlanSettings())
    assert plan.errors == [], plan.errors
    (shot,) = plan.shots
    clip = prepare_shot(shot, tmp_path / "clip.mp4")
    assert decoded_numbers(clip.path) == list(range(1004, 1054))
    # The picture, not only the code strip: 10-bit DPX and half floats keep 8-bit accuracy.
    with av.open(clip.path) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    expected = picture(1004) * 255
    body = np.s_[20:, :]  # below the code strip
    assert np.abs(first[body].astype(float) - expected[body]).mean() < 3.0
    # Counted by file number in the timeline, the plate shows its headers' time code (file 1001
    # is 10:20:30:12); the layered render has none, so file 1004 is frame 1004: 00:00:41:20.
    shown = "00:00:41:20" if kind == "layered" else "10:20:30:15"
    assert shot.segments[0].source_tc_in == shown


def test_missing_files_are_named_by_number_before_anything_is_sent(tmp_path: Path) -> None:
    plates = write_sequence(tmp_path / "gappy", "SH010_plate", 1001, 96, missing=(1020, 1021))
    _, plan = plan_file(hiero_timeline(tmp_path, plates), PlanSettings())
    assert plan.shots == []
    (error,) = plan.errors
    assert "missing frame(s) 1020-1021" in error and "1011-1070" in error
    assert "SH010_plate" in error and "nothing was sent" in error


def test_a_missing_file_in_the_handles_shortens_them_and_says_so(tmp_path: Path) -> None:
    plates = write_sequence(tmp_path / "gappy", "SH010_plate", 1001, 96, missing=(1008,))
    _, plan = plan_file(hiero_timeline(tmp_path, plates), PlanSettings(handles=6))
    (shot,) = plan.shots
    # Handles stop at the gap: files 1009 and 1010 before file 1011; 6 after.
    assert (shot.head_frames, shot.tail_frames) == (2, 6)
    assert any("handles before the range cut to 2 frame(s)" in w for w in shot.warnings)
    clip = prepare_shot(shot, tmp_path / "clip.mp4")
    assert decoded_numbers(clip.path) == list(range(1009, 1077))


def test_a_plate_that_moved_is_found_by_its_first_file(tmp_path: Path, exr_plate: Path) -> None:
    timeline = hiero_timeline(tmp_path, tmp_path / "old_server" / "SH010")
    _, lost = plan_file(timeline, PlanSettings())
    # As for a movie that is not there: planned from the timeline, with what to do.
    warning = lost.shots[0].warnings[-1]
    assert "not found" in warning and "--media-search" in warning
    _, found = plan_file(timeline, PlanSettings(media_search=(str(exr_plate.parent),)))
    assert found.errors == [] and len(found.shots) == 1
    assert found.shots[0].segments[0].media_path.startswith(str(exr_plate))


def test_a_plate_goes_through_the_emulator_and_back_frame_for_frame(
    tmp_path: Path, exr_plate: Path
) -> None:
    timeline = hiero_timeline(tmp_path, exr_plate)
    config = EmulatorConfig(latency=0.2, concurrency=2, storage_dir=tmp_path / "emu", api_key=KEY)
    with Emulator(config) as emu:
        api = APISettings(base_url=emu.base_url, poll_interval=0.05, poll_max_interval=0.2)
        run = RunConfig(
            timeline=timeline,
            output=tmp_path / "out.otio",
            work_dir=tmp_path / "work",
            api_settings=api,
            plan_settings=PlanSettings(handles=2),
        )

        async def go():  # type: ignore[no-untyped-def]
            async with AlephClient(api_key=KEY, settings=api) as client:
                return await run_pipeline(run, client)

        summary = asyncio.run(go())
        # FCP 7 XML and FCPXML have no image-sequence type: the plate is its first file.
        for suffix in ("xml", "fcpxml"):
            run = dataclasses.replace(run, output=tmp_path / f"out.{suffix}")
            assert asyncio.run(go()).exit_code == 0
            assert f"{(exr_plate / 'SH010_plate.1001.exr').as_uri()}" in (
                tmp_path / f"out.{suffix}"
            ).read_text().replace("file://localhost/", "file:///")
        assert len(emu.jobs) == 1  # relinked from the ledger, not paid again
    assert summary.exit_code == 0, [(s.name, s.state, s.reason) for s in summary.shots]
    relinked = otio.adapters.read_from_file(str(tmp_path / "out.otio"))
    versions = [c for t in relinked.video_tracks()[1:] for c in t.find_clips()]
    (version,) = versions
    ref = version.media_reference
    start = ref.available_range.start_time
    first = round((version.source_range.start_time - start).value)
    numbers = decoded_numbers(otio.url_utils.filepath_from_url(ref.target_url))
    # The result holds files 1009-1072 (2 handles); the clip shows the 60 the cut uses.
    assert numbers == list(range(1009, 1073))
    assert numbers[first : first + 60] == list(range(1011, 1071))
    assert start.value == TC_FRAMES + 8  # the plate's time code of file 1009


def test_a_scene_linear_plate_goes_through_colour(tmp_path: Path, exr_plate: Path) -> None:
    timeline = hiero_timeline(tmp_path, exr_plate)
    settings = PlanSettings(colour=ColourSettings(input_colorspace="ACEScg"))
    _, plan = plan_file(timeline, settings)
    (shot,) = plan.shots
    assert shot.colour is not None and shot.colour.input_colorspace == "ACEScg"
    clip = prepare_shot(shot, tmp_path / "clip.mp4")
    assert len(decoded_numbers(clip.path)) == 60


def test_a_path_in_resolves_bracket_notation_is_read_as_the_sequence(
    tmp_path: Path, exr_plate: Path
) -> None:
    # Resolve shows (and names) a sequence as SH010_plate.[1001-1096].exr; a reference written
    # with that name is the sequence, its time code the timeline's.
    url = (exr_plate / "SH010_plate.[1001-1096].exr").as_uri()
    ref = otio.schema.ExternalReference(
        target_url=url, available_range=TR(RT(TC_FRAMES, RATE), RT(96, RATE))
    )
    used = TR(RT(TC_FRAMES + 20, RATE), RT(60, RATE))
    clip = otio.schema.Clip(name="SH010_plate", media_reference=ref, source_range=used)
    clip.markers.append(otio.schema.Marker(name="aleph: swap the can", marked_range=used))
    timeline = otio.schema.Timeline(name="resolve")
    timeline.tracks.append(otio.schema.Track(name="V1", children=[clip]))
    path = tmp_path / "resolve.otio"
    otio.adapters.write_to_file(timeline, str(path))
    _, plan = plan_file(path, PlanSettings())
    assert plan.errors == [], plan.errors
    (seg,) = plan.shots[0].segments
    assert seg.media_path.endswith("SH010_plate.%04d.exr [1001-1096] @24")
    assert (seg.media_start_frame, seg.source_tc_in) == (20, "01:00:00:20")
    clip_file = prepare_shot(plan.shots[0], tmp_path / "clip.mp4")
    assert decoded_numbers(clip_file.path) == list(range(1021, 1081))


def test_aleph_otio_plan_reads_the_plate_and_says_what_is_missing(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from aleph_otio.cli import _register_all, app

    _register_all()
    plates = write_sequence(tmp_path / "gappy", "SH010_plate", 1001, 96, missing=(1030,))
    timeline = hiero_timeline(tmp_path, plates)
    result = CliRunner().invoke(app, ["plan", str(timeline), "--json"])
    assert "missing frame(s) 1030" in result.stdout + result.stderr
    ok = write_sequence(tmp_path / "whole", "SH010_plate", 1001, 96)
    good = CliRunner().invoke(app, ["plan", str(hiero_timeline(tmp_path, ok)), "--json"])
    assert good.exit_code == 0, good.stdout + good.stderr
    (shot,) = json.loads(good.stdout)["shots"]
    assert "SH010_plate.%04d.exr [1001-1096] @24" in json.dumps(shot)
