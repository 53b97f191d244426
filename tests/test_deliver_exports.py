"""A result delivered as an EXR sequence, written to every format we export.

One real run (an EXR plate numbered from 1001, the emulator over real sockets, ``--deliver exr``,
``--relink reference``) relinks the plate's clip to the delivered sequence over the marked
frames only, so each NLE format must split the clip into result and plate pieces. Each format
is written and read back; the piece showing the result must name the delivered media and start
on the delivered file that shows the plate frame the cut uses there (decoded from the code
strip: delivered file N shows plate file N).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

import opentimelineio as otio
import pytest
from plates import write_sequence

from aleph_otio.api.client import AlephClient
from aleph_otio.config import APISettings, PlanSettings
from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.errors import TimelineWriteError
from aleph_otio.exports import write_output
from aleph_otio.media.frames import iter_frames
from aleph_otio.pipeline import RunConfig, run_pipeline
from aleph_otio.synth import decode_index

KEY = "test-key-not-secret-deliver-exports"
RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
TC = 86400  # 01:00:00:00 at 24 fps: the plate's file 1001


@dataclass(frozen=True)
class Run:
    relinked: otio.schema.Timeline
    plates: Path
    delivered: Path  # the delivered sequence's folder


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("deliver_exports")
    plates = write_sequence(root / "plates", "SH010_plate", 1001, 72, timecode="01:00:00:00")
    ref = otio.schema.ImageSequenceReference(
        target_url_base=plates.as_uri() + "/",
        name_prefix="SH010_plate.",
        name_suffix=".exr",
        start_frame=1001,
        rate=24,
        frame_zero_padding=4,
        available_range=TR(RT(TC, 24), RT(72, 24)),
    )
    # The clip uses plate files 1011-1060; the marker asks for 1021-1040 only.
    clip = otio.schema.Clip(
        name="SH010_plate", media_reference=ref, source_range=TR(RT(TC + 10, 24), RT(50, 24))
    )
    marked = TR(RT(TC + 20, 24), RT(20, 24))
    clip.markers.append(otio.schema.Marker(name="aleph: remove the sign", marked_range=marked))
    timeline = otio.schema.Timeline(name="vfx")
    timeline.tracks.append(otio.schema.Track(name="V1", children=[clip]))
    path = root / "vfx.otio"
    otio.adapters.write_to_file(timeline, str(path))
    out = root / "out.otio"
    config = EmulatorConfig(latency=0.2, concurrency=2, storage_dir=root / "emu", api_key=KEY)
    with Emulator(config) as emu:
        api = APISettings(base_url=emu.base_url, poll_interval=0.05, poll_max_interval=0.2)
        cfg = RunConfig(
            timeline=path,
            output=out,
            work_dir=root / "work",
            api_settings=api,
            plan_settings=PlanSettings(handles=2, deliver="exr"),
            relink_mode="reference",
        )

        async def go() -> int:
            async with AlephClient(api_key=KEY, settings=api) as client:
                return (await run_pipeline(cfg, client)).exit_code

        assert asyncio.run(go()) == 0
    relinked = otio.adapters.read_from_file(str(out))
    (clip,) = relinked.find_clips()
    seq = clip.media_reference
    assert isinstance(seq, otio.schema.ImageSequenceReference)
    delivered = Path(otio.url_utils.filepath_from_url(seq.target_url_base))
    return Run(relinked=relinked, plates=plates, delivered=delivered)


def shows(file: Path) -> int:
    """The plate file number a delivered (or plate) file shows."""
    (frame,) = iter_frames(file, 0, 1)
    return decode_index(frame.reformat(format="rgb24").to_ndarray())


def pieces(timeline: otio.schema.Timeline) -> list[tuple[int, int, otio.schema.Clip]]:
    """(record start, record frames, clip) of every clip on the first video track."""
    track = timeline.video_tracks()[0]
    out = []
    for clip in track.find_clips():
        record = clip.transformed_time_range(clip.trimmed_range(), timeline.tracks)
        out.append((round(record.start_time.value), round(record.duration.value), clip))
    return out


def test_the_delivered_media_covers_the_shot_with_handles(run: Run) -> None:
    # The marked 20 frames are widened to the shortest shot (2 s), with 2 handles each side.
    files = sorted(run.delivered.glob("*.exr"))
    assert (files[0].name, len(files)) == (f"{run.delivered.name}.1007.exr", 48)
    assert [shows(files[0]), shows(files[-1])] == [1007, 1054]


def test_otio_keeps_the_sequence_reference(run: Run, tmp_path: Path) -> None:
    out = write_output(run.relinked, tmp_path / "cut.otio")
    (clip,) = otio.adapters.read_from_file(str(out)).find_clips()
    seq = clip.media_reference
    assert isinstance(seq, otio.schema.ImageSequenceReference)
    number = seq.frame_for_time(clip.source_range.start_time)
    assert number == 1011
    assert shows(Path(otio.url_utils.filepath_from_url(seq.target_url_for_image_number(4)))) == 1011


def test_otioz_bundles_the_delivered_files_and_opens_elsewhere(run: Run, tmp_path: Path) -> None:
    out = write_output(run.relinked, tmp_path / "cut.otioz")
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    back = otio.adapters.read_from_file(str(out), extract_to_directory=str(moved))
    (clip,) = back.find_clips()
    seq = clip.media_reference
    assert isinstance(seq, otio.schema.ImageSequenceReference)
    assert seq.target_url_base == f"media/{run.delivered.name}/"
    files = sorted((moved / "media" / run.delivered.name).glob("*.exr"))
    assert len(files) == 48
    first = seq.frame_for_time(clip.source_range.start_time)
    assert shows(moved / "media" / run.delivered.name / f"{run.delivered.name}.{first}.exr") == 1011


def test_otioz_refuses_a_sequence_with_a_missing_file(run: Run, tmp_path: Path) -> None:
    broken = run.relinked.deepcopy()
    (clip,) = broken.find_clips()
    clip.media_reference.available_range = TR(RT(TC + 6, 24), RT(60, 24))  # 12 past the end
    with pytest.raises(TimelineWriteError, match=r"SH010_plate.*12 file\(s\).*1055\.exr"):
        write_output(broken, tmp_path / "cut.otioz")
    assert not list(tmp_path.iterdir()), "a partial bundle was left behind"


@pytest.mark.parametrize("suffix", ["xml", "fcpxml", "aaf"])
def test_one_file_formats_split_the_clip_and_name_the_first_file(
    run: Run, tmp_path: Path, suffix: str
) -> None:
    out = write_output(run.relinked, tmp_path / f"cut.{suffix}")
    back = otio.adapters.read_from_file(str(out))
    (result, plate) = pieces(back)
    # Record 0-44: the result (its 48 frames start 4 before the clip); 44-50: the plate again.
    assert (result[0], result[1]) == (0, 44) and (plate[0], plate[1]) == (44, 6)
    ref = result[2].media_reference
    first_file = run.delivered / f"{run.delivered.name}.1007.exr"
    assert otio.url_utils.filepath_from_url(ref.target_url) == str(first_file)
    # The sequence's times are kept (the files' time code), not the first file's (none).
    offset = result[2].source_range.start_time - ref.available_range.start_time
    assert round(offset.value) == 4
    assert shows(run.delivered / f"{run.delivered.name}.{1007 + 4}.exr") == 1011
    plate_ref = plate[2].media_reference
    assert Path(otio.url_utils.filepath_from_url(plate_ref.target_url)).parent == run.plates
    plate_offset = plate[2].source_range.start_time - plate_ref.available_range.start_time
    assert 1001 + round(plate_offset.value) == 1055  # the plate resumes where the result ends


def test_edl_names_the_delivered_sequence_at_its_time_code(run: Run, tmp_path: Path) -> None:
    out = write_output(run.relinked, tmp_path / "cut.edl")
    text = out.read_text()
    events = re.findall(r"^(\d{3})\s+\S+\s+V\s+C\s+(\S+) (\S+) (\S+) (\S+)$", text, re.M)
    # The result from 01:00:00:10 (plate file 1011) for 44 frames, then the plate's last 6.
    assert events == [
        ("001", "01:00:00:10", "01:00:02:06", "00:00:00:00", "00:00:01:20"),
        ("002", "01:00:02:06", "01:00:02:12", "00:00:01:20", "00:00:02:02"),
    ]
    assert f"FROM CLIP: {run.delivered}/{run.delivered.name}.[1011-1054].exr" in text
