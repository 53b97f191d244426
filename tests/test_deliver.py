"""VFX returns: results delivered at the source's rate and size, as ProRes, DNxHR, EXR or DPX.

Results stand in for what Aleph returns: frames carrying their index in the code strip
(:mod:`aleph_otio.synth`), so every delivered frame tells which returned frame, and so which
source frame, it shows. Expected frames, file numbers and time codes are worked out by hand.
"""

from __future__ import annotations

import asyncio
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
import pytest
from edits import write_marked_clip
from plates import write_sequence

from aleph_otio.api.client import AlephClient
from aleph_otio.config import APISettings, PlanSettings
from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.ledger import Ledger
from aleph_otio.media import probe
from aleph_otio.media.deliver import DeliverySpec, deliver
from aleph_otio.media.frames import iter_frames
from aleph_otio.media.headers import read_image_header
from aleph_otio.media.verify import verify_delivered
from aleph_otio.pipeline import RunConfig, run_pipeline
from aleph_otio.synth import decode_index, draw_frame, make_video

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
KEY = "test-key-not-secret-deliver"
NTSC60 = Fraction(60000, 1001)


def numbers(path: str | Path, count: int | None = None) -> list[int]:
    found = probe(path)
    total = found.frame_count if count is None else count
    return [
        decode_index(f.reformat(format="rgb24").to_ndarray())
        for f in iter_frames(Path(str(path)), 0, total)
    ]


@pytest.fixture(scope="module")
def half_rate_result(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 frames at 29.97 fps, 320x180: what comes back for a 59.94 fps shot sent at half."""
    folder = tmp_path_factory.mktemp("results")
    return make_video(folder / "SH010_aleph_v001a.mp4", frames=40, rate=NTSC60 / 2)


@pytest.mark.parametrize(
    ("kind", "pix_fmt"),
    [
        ("as-returned", "yuv420p"),
        ("prores-422hq", "yuv422p10le"),
        ("prores-4444", "yuv444p12le"),  # FFmpeg decodes ProRes 4444 at 12 bits
        ("dnxhr-hqx", "yuv422p10le"),
        ("exr", "gbrpf16le"),
        ("dpx", "gbrp10le"),
    ],
)
def test_each_kind_restores_the_rate_and_size_with_the_plates_time_code(
    tmp_path: Path, half_rate_result: Path, kind: str, pix_fmt: str
) -> None:
    # The shot: 79 source frames at 59.94 from 01:00:03;56 (216000 + 236 frames: 01:00:00;00 is
    # frame 215784 at 59.94 drop-frame, so the start is frame 216020), plate 640x360.
    spec = DeliverySpec(
        kind=kind,
        frame_count=79,
        step=2,
        rate=NTSC60,
        size=(640, 360),
        start_frame=216020,
        first_number=1001,
    )
    dest = tmp_path / ("SH010_aleph_v001a" + ("" if kind in ("exr", "dpx") else ".mov"))
    made = deliver(half_rate_result, dest, spec)
    info = verify_delivered(
        made.path, expected_frames=79, rate=float(NTSC60), width=640, height=360,
        timecode=made.timecode,
    )  # fmt: skip
    assert made.timecode == "01:00:03;56"
    assert info.pix_fmt == pix_fmt and (info.width, info.height) == (640, 360)
    # Returned frame k stands for source frames 2k and 2k+1; 79 frames end on returned 39.
    assert numbers(made.path) == [k // 2 for k in range(79)]
    if kind in ("exr", "dpx"):
        assert made.path.endswith(f"SH010_aleph_v001a.%04d.{kind} [1001-1079] @59.94")
        first = dest / f"SH010_aleph_v001a.1001.{kind}"
        header = read_image_header(first)
        assert header is not None and header.rate is not None
        assert abs(float(header.rate) - float(NTSC60)) < 1e-3
        # Each file its own time code: file 1002 is one frame on.
        second = read_image_header(dest / f"SH010_aleph_v001a.1002.{kind}")
        assert second is not None and (second.timecode or "").replace(";", ":") == "01:00:03:57"


def test_the_size_restored_is_the_plates_framing(tmp_path: Path) -> None:
    """A 640x360 result of a 1280x720 plate: scaled back up, it matches the plate scaled down
    and up again the same way (what Aleph saw, at the plate's size), not a crop or a stretch."""
    plate = draw_frame(7, 1280, 720).astype(np.uint8)
    small = av.VideoFrame.from_ndarray(plate, format="rgb24").reformat(
        width=640, height=360, format="yuv420p", interpolation="BICUBIC", dst_colorspace="ITU709"
    )
    result = tmp_path / "r.mp4"
    with av.open(str(result), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"crf": "4"}
        for i in range(3):
            small.pts = i
            out.mux(stream.encode(small))
        out.mux(stream.encode())
    spec = DeliverySpec("prores-422hq", 3, 1, Fraction(24), (1280, 720), 0, 1001)
    made = deliver(result, tmp_path / "d.mov", spec)
    with av.open(made.path) as container:
        decoded = next(container.decode(video=0))
        frame = decoded.reformat(format="rgb24", src_colorspace="ITU709").to_ndarray()
        frame = frame.astype(float)
    assert frame.shape == (720, 1280, 3)
    # The plate scaled the same way: down as the cut does, up with the delivery's Lanczos.
    expected = (
        small.reformat(
            width=1280, height=720, format="rgb24", interpolation="LANCZOS", src_colorspace="ITU709"
        )
        .to_ndarray()
        .astype(float)
    )
    error = np.abs(frame - expected).mean()
    assert error < 2.0  # what H.264 at crf 4 and ProRes 422 HQ cost, nothing more
    # A framing off by 8 pixels (a crop, a pad) or a stretch would be far from it.
    assert np.abs(frame[:, 8:] - expected[:, :-8]).mean() > 4 * error
    assert np.abs(frame - plate.astype(float)).mean() < 10.0  # and it is the plate's picture


def hfr_timeline(folder: Path, media: Path, frames: int, clip_in: int, clip_frames: int) -> Path:
    fps = float(NTSC60)
    ref = otio.schema.ExternalReference(
        target_url=str(media), available_range=TR(RT(0, fps), RT(frames, fps))
    )
    used = TR(RT(clip_in, fps), RT(clip_frames, fps))
    return write_marked_clip(folder / "hfr.otio", ref, used, timeline="hfr")


def run(timeline: Path, out: Path | None, work: Path, settings: PlanSettings) -> object:
    config = EmulatorConfig(
        latency=0.2, concurrency=2, storage_dir=work.parent / "emu", api_key=KEY, max_fps=30
    )
    with Emulator(config) as emu:
        api = APISettings(base_url=emu.base_url, poll_interval=0.05, poll_max_interval=0.2)
        cfg = RunConfig(
            timeline=timeline, output=out, work_dir=work, api_settings=api, plan_settings=settings
        )

        async def go():  # type: ignore[no-untyped-def]
            async with AlephClient(api_key=KEY, settings=api) as client:
                return await run_pipeline(cfg, client)

        summary = asyncio.run(go())
        summary.jobs = len(emu.jobs)  # type: ignore[attr-defined]
        return summary


def test_a_5994_shot_comes_back_at_5994_frame_for_frame(tmp_path: Path) -> None:
    media = make_video(tmp_path / "A001_5994.mov", frames=240, rate=NTSC60, size=(320, 180))
    timeline = hfr_timeline(tmp_path, media, 240, clip_in=20, clip_frames=150)
    out = tmp_path / "out.otio"
    summary = run(timeline, out, tmp_path / "work", PlanSettings(handles=3))
    assert summary.exit_code == 0, summary.shots  # type: ignore[attr-defined]
    relinked = otio.adapters.read_from_file(str(out))
    (version,) = [c for t in relinked.video_tracks()[1:] for c in t.find_clips()]
    ref = version.media_reference
    start = ref.available_range.start_time
    first = round((version.source_range.start_time - start).value)
    shown = numbers(ref.target_url)
    # Sent: source frames 17, 19, ... (3 handles before 20); delivered at 59.94, each twice:
    # delivered frame i (from source frame 17) shows the source frame 17 + i - i % 2.
    assert len(shown) == 156 and abs(ref.available_range.duration.rate - float(NTSC60)) < 1e-6
    assert shown == [17 + i - i % 2 for i in range(156)]
    assert shown[first : first + 150] == [17 + i - i % 2 for i in range(3, 153)]
    assert probe(ref.target_url).timecode is not None
    assert version.metadata["aleph_otio"]["deliver"] == "as-returned/source"


def test_a_plate_delivered_as_exr_is_relinked_as_its_sequence(tmp_path: Path) -> None:
    plates = write_sequence(tmp_path / "plates", "SH010_plate", 1001, 72, timecode="01:00:00:00")
    ref = otio.schema.ImageSequenceReference(
        target_url_base=plates.as_uri() + "/",
        name_prefix="SH010_plate.",
        name_suffix=".exr",
        start_frame=1001,
        rate=24,
        frame_zero_padding=4,
        available_range=TR(RT(86400, 24), RT(72, 24)),
    )
    used = TR(RT(86400 + 10, 24), RT(50, 24))
    clip = otio.schema.Clip(name="SH010_plate", media_reference=ref, source_range=used)
    clip.markers.append(otio.schema.Marker(name="aleph: remove the sign", marked_range=used))
    timeline = otio.schema.Timeline(name="vfx")
    timeline.tracks.append(otio.schema.Track(name="V1", children=[clip]))
    path = tmp_path / "vfx.otio"
    otio.adapters.write_to_file(timeline, str(path))
    work = tmp_path / "work"
    out = tmp_path / "out.otio"
    summary = run(path, out, work, PlanSettings(handles=2, deliver="exr"))
    assert summary.exit_code == 0, summary.shots  # type: ignore[attr-defined]
    relinked = otio.adapters.read_from_file(str(out))
    (version,) = [c for t in relinked.video_tracks()[1:] for c in t.find_clips()]
    seq = version.media_reference
    assert isinstance(seq, otio.schema.ImageSequenceReference)
    # Numbered from the plate's own first frame of the shot: file 1009 (two handles before
    # 1011), at the plate's time code 01:00:00:08; 54 files.
    assert (seq.start_frame, seq.frame_zero_padding, seq.name_suffix) == (1009, 4, ".exr")
    assert seq.available_range.start_time.value == 86400 + 8
    assert seq.available_range.duration.value == 54
    folder = Path(otio.url_utils.filepath_from_url(seq.target_url_base))
    files = sorted(folder.glob("*.exr"))
    assert [f.name for f in files[:2]] == [f"{folder.name}.1009.exr", f"{folder.name}.1010.exr"]
    assert len(files) == 54
    header = read_image_header(files[0])
    assert header is not None and header.timecode == "01:00:00:08"
    # The frames the cut uses: files 1011-1060 of the plate, in order.
    first = seq.frame_for_time(version.source_range.start_time)
    shown = [
        decode_index(f.reformat(format="rgb24").to_ndarray())
        for f in iter_frames(Path(folder / files[first - 1009].name), 0, 1)
    ]
    assert shown == [1011]
    with Ledger(work / "ledger.sqlite") as ledger:
        (record,) = ledger.shots()
        (result,) = ledger.results(record.shot.id)
    assert result.delivered_as == "exr/source" and result.delivered_frames == 54
    # Asked again as DPX: delivered anew, nothing paid.
    again = run(path, out, work, PlanSettings(handles=2, deliver="dpx"))
    assert again.exit_code == 0  # type: ignore[attr-defined]
    assert again.jobs == 0  # type: ignore[attr-defined]  (a fresh emulator: no task sent)
    redone = otio.adapters.read_from_file(str(out))
    (dpx,) = [c for t in redone.video_tracks()[1:] for c in t.find_clips()]
    assert dpx.media_reference.name_suffix == ".dpx"


def test_a_result_of_another_aspect_is_fitted_inside_the_plate_not_stretched(
    tmp_path: Path,
) -> None:
    from aleph_otio.media.deliver import delivery_size

    result = make_video(tmp_path / "r.mp4", frames=4, size=(320, 180))  # 16:9
    spec = DeliverySpec("prores-422hq", 4, 1, Fraction(24), (640, 480), 0, 1001)  # a 4:3 plate
    assert delivery_size(spec, probe(result)) == (640, 360)
    made = deliver(result, tmp_path / "d.mov", spec)
    info = verify_delivered(
        made.path, expected_frames=4, rate=24.0, width=640, height=360, timecode=made.timecode
    )
    assert (info.width, info.height) == (640, 360)
    assert numbers(made.path) == [0, 1, 2, 3]  # the code strip still reads: scaled, not cut
    # Sent and returned at one aspect, a plate comes back at its own size despite even-size
    # rounding: DCI 4K (4096x2160) was sent as 1920x1012.
    dci = DeliverySpec("exr", 4, 1, Fraction(24), (4096, 2160), 0, 1001)
    sent = make_video(tmp_path / "dci.mp4", frames=1, size=(1920, 1012))
    assert delivery_size(dci, probe(sent)) == (4096, 2160)


def test_an_odd_sized_plate_keeps_its_size_in_a_sequence_and_loses_a_pixel_in_a_movie(
    tmp_path: Path, half_rate_result: Path
) -> None:
    # 4:2:2 video holds whole chroma samples: 641x361 becomes 640x360 in ProRes 422 HQ;
    # an as-returned H.264 goes 4:4:4 and keeps it, as sequences do.
    for kind, size in (
        ("exr", (641, 361)),
        ("prores-422hq", (640, 360)),
        ("as-returned", (641, 361)),
    ):
        spec = DeliverySpec(kind, 10, 2, NTSC60, (641, 361), 216020, 1001)
        dest = tmp_path / ("seq" if kind == "exr" else f"{kind}.mov")
        made = deliver(half_rate_result, dest, spec)
        assert (made.width, made.height) == size
        assert (probe(made.path).width, probe(made.path).height) == size
