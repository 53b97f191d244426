"""Runway's other output formats, end to end through ``run --emulator --backend runway``:

- ``png_sequence``: the zip of PNG frames is unpacked into a folder named as the result, its
  frames numbered from the result's source frame, verified frame by frame and relinked as an
  OTIO ImageSequenceReference that finds each frame at its source time;
- a zip that would write outside its folder is refused, and nothing of it is unpacked;
- ``sdr_rec709_10bit``: a 10-bit Rec.709 HEVC MP4, verified as such.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import av
import opentimelineio as otio
import pytest

from aleph_otio.errors import MediaVerificationError
from aleph_otio.ledger import Ledger
from aleph_otio.media import unzip_frames
from tests.test_runway_upscale import FRAMES, aleph_otio, make_project, probe

START = 86400  # the plate's time code, 01:00:00:00 at 24 fps


def version_clip(out: Path) -> otio.schema.Clip:
    timeline = otio.adapters.read_from_file(str(out))
    (clip,) = [
        c for t in timeline.video_tracks() if t.name.startswith("ALEPH v") for c in t.find_clips()
    ]
    return clip


def test_png_sequence_is_unpacked_verified_and_relinked_as_an_image_sequence(
    tmp_path: Path,
) -> None:
    timeline = make_project(tmp_path / "proj", (320, 180), timecode="01:00:00:00")
    out, work = tmp_path / "out.otio", tmp_path / "work"
    done = aleph_otio(
        "run", str(timeline), "-o", str(out), "--work-dir", str(work), "--emulator",
        "--backend", "runway", "--output-format", "png_sequence", "--emulator-latency", "0.3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    clip = version_clip(out)
    ref = clip.media_reference
    assert isinstance(ref, otio.schema.ImageSequenceReference)
    folder = Path(ref.target_url_base)
    assert folder.is_dir() and folder.parent == work / "results"
    assert not list(folder.parent.glob("*.zip"))  # the zip is gone once unpacked
    frames = sorted(folder.iterdir())
    assert len(frames) == FRAMES and ref.start_frame == START
    # Each frame of the clip's range is a file there, at its source time.
    first = clip.source_range.start_time
    assert Path(ref.target_url_for_image_number(0)) == frames[0]
    assert ref.frame_for_time(first) == START
    assert frames[0].name == f"{folder.name}.{START:07d}.png"
    with av.open(str(frames[0])) as image:
        stream = image.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (320, 180)
    with Ledger(work / "ledger.sqlite") as ledger:
        (record,) = ledger.shots()
        (result,) = ledger.results(record.shot.id)
        assert result.path == str(folder) and result.verified and result.frame_count == FRAMES
    # Runway charges 5 credits a second more for PNG frames: 33 a second, 2 s.
    assert "$0.66" in done.stdout + done.stderr


@pytest.mark.parametrize("bad", ["../escape.png", "/etc/evil.png", "sub/../../up.png"])
def test_a_zip_that_would_write_outside_its_folder_is_refused(tmp_path: Path, bad: str) -> None:
    archive = tmp_path / "result.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("frame_00000.png", b"\x89PNG\r\n\x1a\n")
        zipped.writestr(bad, b"\x89PNG\r\n\x1a\n")
    folder = tmp_path / "results" / "SH010_aleph_v001"
    folder.parent.mkdir()
    with pytest.raises(MediaVerificationError, match="outside the folder"):
        unzip_frames(archive, folder, 0)
    assert not folder.exists() and list(folder.parent.iterdir()) == []
    assert not (tmp_path / "escape.png").exists()


def test_sdr_rec709_10bit_is_a_10bit_rec709_hevc_result(tmp_path: Path) -> None:
    timeline = make_project(tmp_path / "proj", (320, 180))
    out, work = tmp_path / "out.otio", tmp_path / "work"
    done = aleph_otio(
        "run", str(timeline), "-o", str(out), "--work-dir", str(work), "--emulator",
        "--backend", "runway", "--output-format", "sdr_rec709_10bit", "--emulator-latency", "0.3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    path = version_clip(out).media_reference.target_url
    assert path.endswith(".mp4") and probe(path) == (FRAMES, 320, 180)
    with av.open(path) as container:
        ctx = container.streams.video[0].codec_context
        assert ctx.name == "hevc" and ctx.pix_fmt == "yuv420p10le"
        assert (ctx.color_primaries, ctx.color_trc, ctx.colorspace) == (1, 1, 1)


def test_upscale_refuses_a_png_sequence_in_one_line(tmp_path: Path) -> None:
    timeline = make_project(tmp_path / "proj", (320, 180))
    done = aleph_otio(
        "run", str(timeline), "-o", str(tmp_path / "o.otio"), "--emulator", "--backend",
        "runway", "--output-format", "png_sequence", "--upscale", "4k",
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "upscaler takes a video" in done.stderr
