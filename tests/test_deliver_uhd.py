"""``aleph-otio run --emulator --deliver dpx`` on a UHD camera movie: the return at UHD.

The plate is 3840x2160 (H.264 at 24 fps from 01:00:00:00, every frame carrying its number in
the code strip); Aleph gets it scaled down whole to 1920x1080, and the delivered DPX sequence
must be the plate's size, framing and numbers: 10-bit DPX files from 1001 (a movie plate: the VFX
convention) at the plate's time code, each decoding to the plate frame it replaces, and a
delivered frame matching the plate frame scaled down and up the same way where the emulator
leaves the picture alone (the code strip).

DPX rather than EXR here: FFmpeg's EXR encoder spends about 1.6 s of CPU per UHD frame in zlib,
more than the test suite can give 48 frames. Delivery is one code path for both kinds at every
size; EXR returns are decoded back in ``test_deliver.py``, and at UHD they are what
``benchmarks/bench_deliver.py`` measures.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
import pytest
from edits import write_marked_clip

from aleph_otio.ledger import Ledger
from aleph_otio.media.headers import read_image_header
from aleph_otio.synth import code_strip_height, decode_index, make_video

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
TC = 86400  # 01:00:00:00 at 24 fps


def rgb(frame: av.VideoFrame) -> np.ndarray:
    return frame.reformat(format="rgb24", src_colorspace="ITU709").to_ndarray().astype(float)


@pytest.mark.slow
@pytest.mark.timeout(900)  # a UHD plate and 48 UHD DPX files: about 30 s on a free machine
def test_run_delivers_a_uhd_plate_as_a_uhd_dpx_sequence(tmp_path: Path) -> None:
    plate = make_video(
        tmp_path / "A001C003.mov", frames=54, size=(3840, 2160), timecode="01:00:00:00"
    )
    ref = otio.schema.ExternalReference(
        target_url=str(plate), available_range=TR(RT(TC, 24), RT(54, 24))
    )
    used = TR(RT(TC + 6, 24), RT(48, 24))  # plate frames 6-53: the 2 s Aleph needs at least
    path = write_marked_clip(tmp_path / "uhd.otio", ref, used, clip="A001C003", timeline="uhd")
    out = tmp_path / "uhd_aleph.otio"
    work = tmp_path / "work"
    done = subprocess.run(
        [sys.executable, "-m", "aleph_otio", "run", str(path), "-o", str(out), "--emulator",
         "--emulator-latency", "0.1", "--handles", "0", "--deliver", "dpx", "--work-dir",
         str(work)],
        env={**os.environ, "RUNWARE_API_KEY": "k"}, capture_output=True, text=True, timeout=850,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    relinked = otio.adapters.read_from_file(str(out))
    (version,) = [c for t in relinked.video_tracks()[1:] for c in t.find_clips()]
    seq = version.media_reference
    assert isinstance(seq, otio.schema.ImageSequenceReference)
    assert (seq.start_frame, seq.frame_zero_padding, seq.name_suffix) == (1001, 4, ".dpx")
    assert seq.available_range == TR(RT(TC + 6, 24), RT(48, 24))
    assert version.metadata["aleph_otio"]["deliver"] == "dpx/source"
    assert seq.metadata["aleph_otio"]["width"] == 3840
    folder = Path(otio.url_utils.filepath_from_url(seq.target_url_base))
    files = sorted(folder.glob("*.dpx"))
    assert [f.name for f in (files[0], files[-1])] == [
        f"{folder.name}.1001.dpx",
        f"{folder.name}.1048.dpx",
    ]
    header = read_image_header(files[0])
    assert header is not None and header.timecode == "01:00:00:06"
    # Each delivered file shows the plate frame it stands for, at the plate's size.
    with av.open(str(plate)) as container:
        source = [f for i, f in enumerate(container.decode(video=0)) if i in (6, 30, 53)]
    for number, original in zip((1001, 1025, 1048), source, strict=True):
        with av.open(str(folder / f"{folder.name}.{number}.dpx")) as container:
            frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == (3840, 2160)
        shown = frame.reformat(format="rgb24", src_colorspace="ITU709").to_ndarray()
        assert decode_index(shown) == number - 1001 + 6
        # The framing. The emulator tints the picture and paints a mark, but leaves the code
        # strip (the top eighth) as it got it: there the delivered frame is the plate frame
        # scaled down as the cut does and up as delivery does; a shift of 8 pixels (a crop, a
        # pad, a stretch) is far from it.
        down = original.reformat(width=1920, height=1080, format="yuv420p", interpolation="BICUBIC")
        expected = rgb(down.reformat(width=3840, height=2160, interpolation="LANCZOS"))
        rows = slice(0, code_strip_height(2160) - 4)
        strip, want = shown[rows].astype(float), expected[rows]
        error = np.abs(strip - want).mean()
        assert error < 3.0
        assert np.abs(strip[:, 8:] - want[:, :-8]).mean() > 3 * error
    with Ledger(work / "ledger.sqlite") as ledger:
        (record,) = ledger.shots()
        (result,) = ledger.results(record.shot.id)
    assert (result.delivered_width, result.delivered_height) == (3840, 2160)
    assert (result.width, result.height) == (1920, 1080)  # what Aleph returned
