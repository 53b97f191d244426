"""Media preparation and verification, on real files made with PyAV (aleph_otio.synth).

Every synthetic frame carries its source index in a code strip, so decoding a prepared clip
says exactly which source frames it holds.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from aleph_otio import synth
from aleph_otio.errors import MediaError, MediaVerificationError
from aleph_otio.media import (
    MediaInfo,
    extract_still,
    iter_frames,
    output_size,
    prepare_guide,
    prepare_shot,
    probe,
    stamp_timecode,
    timecode_to_frame,
    verify_result,
)
from aleph_otio.shots import Shot, SourceSegment

NTSC_FILM = Fraction(24000, 1001)
NTSC_VIDEO = Fraction(30000, 1001)
SMALL = (160, 90)


def segment(
    path: Path, start: int, count: int, rate: float = 24.0, name: str = "A001"
) -> SourceSegment:
    return SourceSegment(
        clip_name=name,
        track_name="V1",
        track_index=0,
        clip_index=0,
        media_path=str(path),
        media_rate=rate,
        available_start=0,
        media_start_frame=start,
        media_frame_count=count,
        record_start=0,
        record_duration=count,
        record_rate=rate,
        clip_source_start=start,
        clip_source_duration=count,
        clip_source_rate=rate,
        source_tc_in="00:00:00:00",
        source_tc_out="00:00:01:00",
        record_tc_in="01:00:00:00",
    )


def shot(*segments: SourceSegment, head: int = 0, tail: int = 0) -> Shot:
    return Shot(
        id="abc123",
        name="sh010",
        prompt="make it snow",
        segments=list(segments),
        head_frames=head,
        tail_frames=tail,
    )


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def long_gop(media: Path) -> Path:
    # 20 s at 24 fps: libx264's default GOP (250) puts the next keyframe at 250, so a cut from
    # 300 starts mid-GOP and a correct seek decodes from 250, not from 0. Has audio to drop.
    return synth.make_video(media / "long_gop.mp4", frames=480, size=SMALL, audio=True)


@pytest.fixture(scope="module")
def prores(media: Path) -> Path:
    return synth.make_video(
        media / "prores.mov",
        frames=72,
        rate=NTSC_FILM,
        size=SMALL,
        codec="prores_ks",
        pix_fmt="yuv422p10le",
        timecode="01:00:10:00",
    )


# --- probe ------------------------------------------------------------------------------------


def test_probe_reports_exact_rate_count_and_stream_facts(long_gop: Path) -> None:
    info = probe(long_gop)
    assert isinstance(info, MediaInfo)
    assert (info.frame_count, info.rate, info.rate_fraction) == (480, 24.0, "24/1")
    assert (info.width, info.height, info.codec, info.pix_fmt) == (160, 90, "h264", "yuv420p")
    assert info.has_audio and info.has_video and not info.is_still
    assert info.duration_seconds == pytest.approx(20.0)
    assert info.timecode is None and info.start_frame == 0
    assert "mp4" in info.container_format


@pytest.mark.parametrize("suffix", ["mov", "mp4"])
@pytest.mark.parametrize(
    ("rate", "timecode", "start_frame"),
    [
        (NTSC_FILM, "01:00:10:00", (3600 + 10) * 24),
        (Fraction(25), "10:00:00:12", 36000 * 25 + 12),
        # Drop-frame: 2 labels skipped per minute except every tenth minute.
        (NTSC_VIDEO, "00:59:59;28", 3599 * 30 + 28 - 2 * (59 - 5)),
    ],
)
def test_probe_reads_start_timecode_from_mov_and_mp4(
    tmp_path: Path, suffix: str, rate: Fraction, timecode: str, start_frame: int
) -> None:
    path = synth.make_video(
        tmp_path / f"tc.{suffix}", frames=6, rate=rate, size=SMALL, timecode=timecode
    )
    info = probe(path)
    assert info.timecode == timecode
    assert info.start_frame == start_frame
    assert info.rate_fraction == f"{rate.numerator}/{rate.denominator}"
    assert info.frame_count == 6


@pytest.mark.parametrize(
    ("name", "codec", "pix_fmt"),
    [
        ("h264.mp4", "libx264", "yuv420p"),
        ("prores.mov", "prores_ks", "yuv422p10le"),
        ("mjpeg.mov", "mjpeg", "yuvj420p"),
        ("vp9.webm", "libvpx-vp9", "yuv420p"),
        ("h264.mkv", "libx264", "yuv420p"),
        ("mpeg2.mxf", "mpeg2video", "yuv420p"),
    ],
)
def test_probe_frame_count_is_exact_in_every_container(
    tmp_path: Path, name: str, codec: str, pix_fmt: str
) -> None:
    path = synth.make_video(
        tmp_path / name,
        frames=53,
        rate=NTSC_VIDEO,
        size=SMALL,
        codec=codec,
        pix_fmt=pix_fmt,
        timecode="00:10:00;00",
    )
    info = probe(path)
    assert info.frame_count == len(synth.decode_indices(path)) == 53
    assert info.rate_fraction == "30000/1001"
    assert info.start_frame == 17982  # 00:10:00;00 drop-frame
    assert not info.variable_frame_rate


def test_probe_stills_have_one_frame(tmp_path: Path) -> None:
    png = synth.make_still(tmp_path / "guide.png", size=(200, 100))
    info = probe(png)
    assert (info.frame_count, info.is_still, info.width, info.height) == (1, True, 200, 100)
    jpeg = tmp_path / "guide.jpg"
    with av.open(str(jpeg), "w", format="image2") as out:
        stream = out.add_stream("mjpeg", rate=1)
        stream.width, stream.height, stream.pix_fmt = 200, 100, "yuvj420p"
        frame = av.VideoFrame.from_ndarray(synth.draw_frame(5, 200, 100), format="rgb24")
        out.mux(stream.encode(frame))
        out.mux(stream.encode())
    assert probe(jpeg).frame_count == 1 and probe(jpeg).is_still
    tiff = tmp_path / "guide.tif"
    with av.open(str(tiff), "w", format="image2") as out:
        stream = out.add_stream("tiff", rate=1)
        stream.width, stream.height, stream.pix_fmt = 200, 100, "rgb24"
        out.mux(stream.encode(frame))
        out.mux(stream.encode())
    assert (probe(tiff).frame_count, probe(tiff).is_still, probe(tiff).codec) == (1, True, "tiff")


def write_audio_only(path: Path) -> Path:
    """A tenth of a second of silent AAC and no picture."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=48000)
        tone = np.zeros((1, 4800), dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(tone, format="flt", layout="mono")
        frame.sample_rate = 48000
        out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def test_probe_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match=r"missing\.mov: file not found"):
        probe(tmp_path / "missing.mov")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a movie at all" * 100)
    with pytest.raises(MediaError, match=r"garbage\.mp4: not a readable media file"):
        probe(garbage)
    audio_only = write_audio_only(tmp_path / "audio.m4a")
    with pytest.raises(MediaError, match=r"audio\.m4a: has no video stream"):
        probe(audio_only)


def make_vfr(path: Path) -> Path:
    """A clip whose frames sit at irregular times (a phone recording stand-in)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = SMALL[0], SMALL[1], "yuv420p"
        stream.codec_context.time_base = Fraction(1, 24000)
        pts = 0
        for i in range(48):
            frame = av.VideoFrame.from_ndarray(synth.draw_frame(i, *SMALL), format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 24000)
            pts += 1000 if i % 3 else 2500  # every third frame lasts 2.5 frames
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


@pytest.mark.parametrize("suffix", ["mp4", "mkv"])
def test_variable_frame_rate_is_detected_and_refused_for_cuts(tmp_path: Path, suffix: str) -> None:
    path = make_vfr(tmp_path / f"vfr.{suffix}")
    info = probe(path)
    assert info.variable_frame_rate
    assert any("variable frame rate" in w for w in info.warnings)
    out = tmp_path / "out.mp4"
    with pytest.raises(MediaError, match="variable frame rate"):
        prepare_shot(shot(segment(path, 0, 40)), out)
    assert not out.exists() and leftovers(tmp_path) == []


def test_timecode_to_frame() -> None:
    assert timecode_to_frame("00:00:01:00", 24) == 24
    assert timecode_to_frame("00:01:00;02", NTSC_VIDEO) == 1800
    assert timecode_to_frame("00:10:00;00", NTSC_VIDEO) == 17982
    assert timecode_to_frame("01:00:00;00", Fraction(60000, 1001)) == 215784
    assert timecode_to_frame("01:00:00:00", NTSC_VIDEO) == 108000  # non-drop at 29.97
    with pytest.raises(ValueError):
        timecode_to_frame("1h", 24)


# --- prepare_shot -----------------------------------------------------------------------------


def decoded_pts(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        pts = [f.pts for f in container.decode(video=0)]
    assert None not in pts
    return [p for p in pts if p is not None]


def test_prepare_h264_mid_gop_is_frame_accurate_and_seeks(long_gop: Path, tmp_path: Path) -> None:
    out = tmp_path / "clips" / "sh010.mp4"
    clip = prepare_shot(shot(segment(long_gop, 300, 50), head=3, tail=4), out)
    assert synth.decode_indices(out) == list(range(297, 354))
    assert clip.frame_count == 57 and Path(clip.path) == out
    # Decoding starts at the keyframe before frame 297 (250), never at the file's start.
    assert clip.decoded_frames < 297 - 250 + 57 + 40
    info = probe(out)
    assert (info.codec, info.pix_fmt, info.rate_fraction) == ("h264", "yuv420p", "24/1")
    assert (info.width, info.height) == (160, 90) == (clip.width, clip.height)
    assert not info.has_audio
    pts = decoded_pts(out)
    step = pts[1] - pts[0]
    assert pts[0] == 0 and pts == [i * step for i in range(57)]
    assert clip.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    assert leftovers(out.parent) == []


@pytest.mark.parametrize("suffix", ["mp4", "mkv"])
def test_iter_frames_is_pixel_exact_on_open_gop_b_frames(tmp_path: Path, suffix: str) -> None:
    # Open GOPs with B-pyramids: frames just before a keyframe (in display order) are decoded
    # after it and reference the previous GOP; a cut starting there must still be exact.
    path = tmp_path / f"open_gop.{suffix}"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = SMALL[0], SMALL[1], "yuv420p"
        params = "open-gop=1:keyint=24:min-keyint=24:scenecut=0:bframes=3:b-pyramid=normal"
        stream.options = {"x264-params": params}
        for i in range(120):
            image = synth.draw_frame(i, *SMALL)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    with av.open(str(path)) as container:
        full = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    for start in range(40, 76):
        got = [f.to_ndarray(format="rgb24") for f in iter_frames(path, start, 2)]
        assert len(got) == 2
        assert np.array_equal(got[0], full[start]) and np.array_equal(got[1], full[start + 1])


def test_prepare_prores_mov_23976_keeps_exact_rate(prores: Path, tmp_path: Path) -> None:
    out = tmp_path / "sh.mp4"
    clip = prepare_shot(shot(segment(prores, 20, 30, float(NTSC_FILM)), head=2, tail=2), out)
    assert synth.decode_indices(out) == list(range(18, 52))
    assert clip.rate_fraction == probe(out).rate_fraction == "24000/1001"
    assert probe(out).frame_count == 34


def test_prepare_2997_from_start_of_file(tmp_path: Path) -> None:
    src = synth.make_video(tmp_path / "src.mov", frames=60, rate=NTSC_VIDEO, size=SMALL)
    out = tmp_path / "sh.mp4"
    clip = prepare_shot(shot(segment(src, 0, 60, float(NTSC_VIDEO))), out)
    assert synth.decode_indices(out) == list(range(60))
    assert clip.rate_fraction == probe(out).rate_fraction == "30000/1001"


def test_prepare_shot_across_a_cut_concatenates_files(tmp_path: Path) -> None:
    a = synth.make_video(tmp_path / "A.mp4", frames=80, size=SMALL)
    b = synth.make_video(
        tmp_path / "B.mov",
        frames=50,
        size=SMALL,
        hue=2,
        first_index=1000,
        codec="prores_ks",
        pix_fmt="yuv422p10le",
    )
    out = tmp_path / "cut.mp4"
    clip = prepare_shot(shot(segment(a, 40, 24), segment(b, 10, 24, name="B"), head=5, tail=6), out)
    assert synth.decode_indices(out) == list(range(35, 64)) + list(range(1010, 1040))
    assert clip.frame_count == 59


def make_dnxhr(path: Path, frames: int) -> Path:
    """DNxHR LB in MOV (DNxHD proper only allows broadcast sizes, DNxHR any size >= 256 wide)."""
    size = (256, 144)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("dnxhd", rate=25)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv422p"
        stream.options = {"profile": "dnxhr_lb"}
        for i in range(frames):
            image = synth.draw_frame(i, *size)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    return path


@pytest.mark.parametrize(
    ("name", "codec", "pix_fmt"),
    [
        ("mjpeg.mov", "mjpeg", "yuvj420p"),
        ("vp9.webm", "libvpx-vp9", "yuv420p"),
        ("h264.mkv", "libx264", "yuv420p"),
        ("mpeg2.mxf", "mpeg2video", "yuv420p"),
        ("dnxhr.mov", "dnxhd", "yuv422p"),
    ],
)
def test_prepare_is_frame_accurate_from_every_source_format(
    tmp_path: Path, name: str, codec: str, pix_fmt: str
) -> None:
    if codec == "dnxhd":
        src = make_dnxhr(tmp_path / name, 90)
    else:
        src = synth.make_video(
            tmp_path / name, frames=90, rate=25, size=SMALL, codec=codec, pix_fmt=pix_fmt
        )
    out = tmp_path / "sh.mp4"
    clip = prepare_shot(shot(segment(src, 61, 20, 25.0), head=4, tail=3), out)
    assert synth.decode_indices(out) == list(range(57, 84))
    assert (clip.rate_fraction, probe(out).rate_fraction, probe(out).frame_count) == (
        "25/1",
        "25/1",
        27,
    )


def test_prepare_refuses_a_cut_between_different_rates(tmp_path: Path) -> None:
    a = synth.make_video(tmp_path / "A.mp4", frames=30, size=SMALL, rate=24)
    b = synth.make_video(tmp_path / "B.mp4", frames=30, size=SMALL, rate=25)
    out = tmp_path / "sh.mp4"
    with pytest.raises(MediaError, match=r"B\.mp4: .*25/1 fps .*24/1 fps"):
        prepare_shot(shot(segment(a, 0, 20), segment(b, 0, 20, 25.0)), out)
    assert not out.exists()


def test_prepare_scales_4k_down_to_1080p(tmp_path: Path) -> None:
    src = synth.make_video(tmp_path / "uhd.mp4", frames=3, size=(3840, 2160))
    out = tmp_path / "sh.mp4"
    clip = prepare_shot(shot(segment(src, 1, 2)), out)
    assert (clip.width, clip.height) == (1920, 1080)
    info = probe(out)
    assert (info.width, info.height, info.frame_count) == (1920, 1080, 2)
    assert synth.decode_indices(out) == [1, 2]


def test_prepare_makes_odd_sizes_even(tmp_path: Path) -> None:
    src = synth.make_video(
        tmp_path / "odd.mov", frames=12, size=(321, 181), codec="prores_ks", pix_fmt="yuv422p10le"
    )
    out = tmp_path / "sh.mp4"
    clip = prepare_shot(shot(segment(src, 2, 8)), out, max_height=1080)
    assert (clip.width, clip.height) == (probe(out).width, probe(out).height) == (320, 180)
    assert synth.decode_indices(out) == list(range(2, 10))


def test_output_size_fits_box_keeping_aspect() -> None:
    assert output_size(3840, 2160) == (1920, 1080)
    assert output_size(4096, 2160) == (1920, 1012)
    assert output_size(1080, 1920) == (606, 1080)  # portrait fits the 1080-high box
    assert output_size(1280, 720) == (1280, 720)  # never scaled up
    assert output_size(1440, 1080, sar=Fraction(4, 3)) == (1920, 1080)  # anamorphic HDV
    assert output_size(1920, 1080, max_height=720) == (1280, 720)


def test_prepare_refuses_ranges_past_the_media_and_leaves_nothing(
    long_gop: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sh.mp4"
    out.write_bytes(b"previous clip")
    with pytest.raises(MediaError, match=r"long_gop\.mp4: .*frames 460-499 .*0-479"):
        prepare_shot(shot(segment(long_gop, 460, 30), tail=10), out)
    with pytest.raises(MediaError, match=r"frames -2-"):
        prepare_shot(shot(segment(long_gop, 0, 30), head=2), out)
    assert out.read_bytes() == b"previous clip"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix", ["mkv", "mxf"])
def test_prepare_past_the_end_of_unindexed_containers(tmp_path: Path, suffix: str) -> None:
    # MKV/MXF frame counts need a full read, so prepare finds the end while cutting instead.
    codec = "mpeg2video" if suffix == "mxf" else "libx264"
    src = synth.make_video(tmp_path / f"short.{suffix}", frames=40, size=SMALL, codec=codec)
    out = tmp_path / "sh.mp4"
    with pytest.raises(
        MediaError, match=rf"short\.{suffix}: needs frames 30-49 .*ends at frame 39"
    ):
        prepare_shot(shot(segment(src, 30, 20)), out)
    with pytest.raises(MediaError, match=r"frames -1-18 .*no frame before 0"):
        prepare_shot(shot(segment(src, 0, 19), head=1), out)
    assert not out.exists() and leftovers(tmp_path) == []


def test_prepare_truncated_source_fails_cleanly(long_gop: Path, tmp_path: Path) -> None:
    # A copy cut short on disk: the header still promises 480 frames, the data stops early.
    broken = tmp_path / "broken.mp4"
    data = long_gop.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    out = tmp_path / "sh.mp4"
    with pytest.raises(MediaError, match=r"broken\.mp4"):
        prepare_shot(shot(segment(broken, 400, 40)), out)
    assert not out.exists() and leftovers(tmp_path) == []


# --- stills -----------------------------------------------------------------------------------


def test_extract_still_is_the_exact_frame(long_gop: Path, prores: Path, tmp_path: Path) -> None:
    for source, index in [(long_gop, 0), (long_gop, 301), (long_gop, 479), (prores, 37)]:
        png = extract_still(source, index, tmp_path / f"{source.stem}_{index}.png")
        assert synth.decode_indices(png) == [index]
        assert probe(png).is_still
    with pytest.raises(MediaError, match="ends at frame 479"):
        extract_still(long_gop, 480, tmp_path / "past.png")
    assert not (tmp_path / "past.png").exists()


def test_stills_as_sources(tmp_path: Path) -> None:
    still = synth.make_still(tmp_path / "plate.png", size=(160, 90), index=42)
    assert synth.decode_indices(extract_still(still, 0, tmp_path / "copy.png")) == [42]
    with pytest.raises(MediaError, match=r"plate\.png: is a still image; only frame 0"):
        extract_still(still, 3, tmp_path / "f3.png")
    with pytest.raises(MediaError, match=r"plate\.png: is a still image, not a video"):
        prepare_shot(shot(segment(still, 0, 48)), tmp_path / "sh.mp4")
    assert not (tmp_path / "sh.mp4").exists() and leftovers(tmp_path) == []


def test_extract_still_scales_like_the_clip(tmp_path: Path) -> None:
    src = synth.make_video(tmp_path / "big.mp4", frames=4, size=(640, 360))
    png = extract_still(src, 2, tmp_path / "s.png", max_height=180)
    info = probe(png)
    assert (info.width, info.height) == (320, 180)
    assert synth.decode_indices(png) == [2]


def test_prepare_guide_normalises_to_png_at_clip_size(tmp_path: Path) -> None:
    guide = synth.make_still(tmp_path / "painted.png", size=(1280, 720), index=7)
    out = prepare_guide(guide, tmp_path / "guides" / "g.png", max_height=180)
    info = probe(out)
    assert (info.width, info.height, info.codec) == (320, 180, "png")
    assert synth.decode_indices(out) == [7]


# --- verify_result ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def result(media: Path) -> Path:
    return synth.make_video(media / "result.mp4", frames=48, rate=NTSC_FILM, size=(320, 180))


def test_verify_result_accepts_matching_and_rescaled_results(result: Path) -> None:
    info = verify_result(result, expected_frames=48, rate=24000 / 1001, width=320, height=180)
    assert info.frame_count == 48
    verify_result(result, expected_frames=48, rate=23.976, width=1920, height=1080)
    verify_result(result, expected_frames=48, rate=23.976)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"expected_frames": 49, "rate": 23.976}, "has 48 frames, expected 49"),
        ({"expected_frames": 48, "rate": 24.0}, r"runs at 24000/1001 fps .*expected 24\.000"),
        ({"expected_frames": 48, "rate": 23.976, "width": 320, "height": 240}, r"is 320x180"),
    ],
)
def test_verify_result_refuses_mismatches(
    result: Path, kwargs: dict[str, float], message: str
) -> None:
    with pytest.raises(MediaVerificationError, match=message) as caught:
        verify_result(result, **kwargs)  # type: ignore[arg-type]
    assert "result.mp4" in str(caught.value) and "\n" not in str(caught.value)


def test_verify_result_refuses_broken_downloads(result: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(result.read_bytes()[:500])
    with pytest.raises(MediaVerificationError, match=r"truncated\.mp4"):
        verify_result(truncated, expected_frames=48, rate=23.976)
    with pytest.raises(MediaVerificationError, match=r"nothing\.mp4: file not found"):
        verify_result(tmp_path / "nothing.mp4", expected_frames=48, rate=23.976)


# --- timecode on results ------------------------------------------------------------------------


def _pictures(path: Path) -> list[str]:
    """A digest of every decoded picture, in presentation order."""
    with av.open(str(path)) as container:
        return [
            hashlib.sha256(frame.to_ndarray(format="rgb24").tobytes()).hexdigest()
            for frame in container.decode(video=0)
        ]


@pytest.mark.parametrize(
    ("suffix", "rate", "start", "expected"),
    [
        ("mp4", 24, 2 * 3600 * 24 + 18, "02:00:00:18"),
        ("mov", NTSC_FILM, 3600 * 24, "01:00:00:00"),  # counts at the nominal 24
        ("mp4", 25, 10 * 3600 * 25 + 24, "10:00:00:24"),
        ("mov", NTSC_VIDEO, 107892, "01:00:00;00"),  # drop-frame, as the EDLs write it
    ],
)
def test_stamped_result_carries_its_source_timecode_with_the_same_pictures(
    tmp_path: Path, suffix: str, rate: Fraction | int, start: int, expected: str
) -> None:
    path = synth.make_video(tmp_path / f"result.{suffix}", frames=30, rate=rate, size=SMALL)
    pictures = _pictures(path)
    assert probe(path).timecode is None

    assert stamp_timecode(path, start, float(rate)) == expected

    info = probe(path)
    assert (info.timecode, info.start_frame) == (expected, start)
    assert info.frame_count == 30 and Fraction(info.rate_fraction) == rate
    assert _pictures(path) == pictures, "stamping must not change a single picture"
    assert synth.decode_indices(path) == list(range(30))
    assert not list(tmp_path.glob("*.part"))


def test_stamping_keeps_the_audio_and_replaces_an_earlier_timecode(tmp_path: Path) -> None:
    path = synth.make_video(
        tmp_path / "result.mov", frames=24, size=SMALL, audio=True, timecode="00:59:59:00"
    )
    assert stamp_timecode(path, 86400, 24.0) == "01:00:00:00"
    info = probe(path)
    assert info.timecode == "01:00:00:00" and info.has_audio and info.frame_count == 24


@pytest.mark.parametrize(
    ("suffix", "start", "rate"),
    [
        ("webm", 86400, 24.0),  # no timecode track NLEs read
        ("mp4", -12, 24.0),  # before 00:00:00:00
        ("mp4", 86400.5, 24.0),  # between two frames
        ("mp4", 24 * 3600 * 24, 24.0),  # past 24 hours
        ("mp4", 86400, 12.5),  # no SMPTE rate
    ],
)
def test_a_result_timecode_cannot_express_is_left_untouched(
    tmp_path: Path, suffix: str, start: float, rate: float
) -> None:
    codec = "libvpx-vp9" if suffix == "webm" else "libx264"
    path = synth.make_video(tmp_path / f"result.{suffix}", frames=12, size=SMALL, codec=codec)
    before = path.read_bytes()
    assert stamp_timecode(path, start, rate) is None
    assert path.read_bytes() == before


def test_a_damaged_result_is_left_for_verification_to_report(tmp_path: Path) -> None:
    path = synth.make_video(tmp_path / "result.mp4", frames=48, size=SMALL)
    path.write_bytes(path.read_bytes()[:300])  # a truncated download: no usable moov
    before = path.read_bytes()
    assert stamp_timecode(path, 86400, 24.0) is None
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("*.part"))
    with pytest.raises(MediaVerificationError):
        verify_result(path, expected_frames=48, rate=24.0)


def test_a_result_without_picture_is_left_untouched(tmp_path: Path) -> None:
    path = write_audio_only(tmp_path / "result.mp4")
    before = path.read_bytes()
    assert stamp_timecode(path, 86400, 24.0) is None
    assert path.read_bytes() == before and not list(tmp_path.glob("*.part"))


# --- colour: levels and tags ------------------------------------------------------------------

BARS = (0, 128, 255)  # luma of three vertical bars: black, mid grey, white


def write_bars(path: Path, *, pix_fmt: str, codec: str = "libx264", **tags: int) -> Path:
    """48 frames of three grey bars at full-range luma 0/128/255 (RGB formats: grey 0/128/255),
    with the given codec-context colour tags (color_range, color_primaries, ...)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=24)
        stream.width, stream.height, stream.pix_fmt = 96, 64, pix_fmt
        for name, value in tags.items():
            setattr(stream.codec_context, name, value)
        rgb = np.zeros((64, 96, 3), np.uint8)
        for i, level in enumerate(BARS):
            rgb[:, i * 32 : (i + 1) * 32] = level
        for i in range(48):
            if av.VideoFormat(pix_fmt).is_rgb:
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
            else:
                eight_bit = "yuvj420p" if pix_fmt == "yuvj420p" else "yuv420p"
                frame = av.VideoFrame(96, 64, eight_bit)
                frame.planes[0].update(np.ascontiguousarray(rgb[:, :, 0]).tobytes())
                for plane in frame.planes[1:]:
                    plane.update(bytes([128]) * (plane.line_size * plane.height))
                if eight_bit != pix_fmt:  # the same code values in more bits
                    frame = frame.reformat(format=pix_fmt)
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def prores_bars(path: Path, primaries: int, trc: int, matrix: int) -> Path:
    """10-bit ProRes bars at video levels, tagged with FFmpeg's colour codes."""
    return write_bars(
        path,
        pix_fmt="yuv422p10le",
        codec="prores_ks",
        color_range=1,
        color_primaries=primaries,
        color_trc=trc,
        colorspace=matrix,
    )


def tags(info: MediaInfo) -> tuple[int, int, int]:
    return info.color_primaries, info.color_trc, info.colorspace


def bar_levels(path: Path) -> tuple[list[int], list[int]]:
    """(luma of each bar as stored, grey of each bar as shown: RGB through the file's own tags)."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    columns = (16, 48, 80)
    stored: list[int] = []
    if not frame.format.is_rgb:
        plane = frame.planes[0]
        wide = "10" in frame.format.name
        luma = np.frombuffer(plane, np.uint16 if wide else np.uint8)
        luma = luma.reshape(plane.height, -1)
        stored = [int(luma[32, c]) >> (2 if wide else 0) for c in columns]
    shown = frame.to_ndarray(format="rgb24")
    return stored, [int(shown[32, c, 1]) for c in columns]


def test_a_full_range_source_is_sent_at_video_levels_and_looks_the_same(tmp_path: Path) -> None:
    """Phones and DSLRs record full-range (0-255) H.264. Copied as is into an untagged clip,
    black and white would be read as 16-235: crushed shadows, clipped highlights, and Aleph
    would edit a harsher picture than the editor sees. The clip holds video levels instead."""
    source = write_bars(tmp_path / "phone.mp4", pix_fmt="yuvj420p")
    assert probe(source).full_range
    assert bar_levels(source)[1] == list(BARS)
    clip = prepare_shot(shot(segment(source, 0, 48)), tmp_path / "clip.mp4")
    stored, shown = bar_levels(Path(clip.path))
    assert stored == pytest.approx([16, 126, 235], abs=1)
    assert shown == pytest.approx(list(BARS), abs=2)
    # A still for painting a guide on shows the same levels.
    still = extract_still(source, 0, tmp_path / "still.png")
    assert bar_levels(still)[1] == pytest.approx(list(BARS), abs=1)


def test_a_video_level_source_keeps_its_levels_and_its_colour_tags(tmp_path: Path) -> None:
    source = prores_bars(tmp_path / "camera.mov", 1, 1, 1)
    info = probe(source)
    assert tags(info) == (1, 1, 1) and not info.full_range
    clip = prepare_shot(shot(segment(source, 0, 48)), tmp_path / "clip.mp4")
    made = probe(clip.path)
    assert tags(made) == (1, 1, 1) and not made.full_range
    # Luma written 0/128/255 into a video-level file stays as stored (16-235 clipping is the
    # viewer's business, not the cut's).
    assert bar_levels(Path(clip.path))[0] == pytest.approx(bar_levels(source)[0], abs=2)


def test_an_rgb_source_is_converted_with_the_bt709_matrix_and_tagged_so(tmp_path: Path) -> None:
    """Animation and PNG-codec QuickTimes hold RGB; converted with swscale's default (BT.601)
    and left untagged, an HD player (BT.709) would shift every colour."""
    source = write_bars(tmp_path / "graphics.mov", pix_fmt="rgb24", codec="png")
    clip = prepare_shot(shot(segment(source, 0, 48)), tmp_path / "clip.mp4")
    assert tags(probe(clip.path)) == (1, 1, 1)
    assert bar_levels(Path(clip.path))[1] == pytest.approx(list(BARS), abs=2)


def test_hdr_sources_keep_their_tags_and_are_flagged(tmp_path: Path) -> None:
    source = prores_bars(tmp_path / "hdr.mov", 9, 16, 9)
    info = probe(source)
    assert any("HDR video (PQ" in w and str(source) in w for w in info.warnings)
    clip = prepare_shot(shot(segment(source, 0, 48)), tmp_path / "clip.mp4")
    assert tags(probe(clip.path)) == (9, 16, 9)
    hlg = prores_bars(tmp_path / "hlg.mov", 9, 18, 9)
    assert any("HLG" in w for w in probe(hlg).warnings)


def test_the_plan_shows_the_hdr_warning_on_the_shot(tmp_path: Path) -> None:
    import opentimelineio as otio

    from aleph_otio.config import PlanSettings
    from aleph_otio.pipeline import plan_file

    source = prores_bars(tmp_path / "hdr.mov", 9, 18, 9)
    rt, tr = otio.opentime.RationalTime, otio.opentime.TimeRange
    clip = otio.schema.Clip(
        name="A001",
        media_reference=otio.schema.ExternalReference(target_url=source.as_uri()),
        source_range=tr(rt(0, 24), rt(48, 24)),
    )
    clip.markers.append(otio.schema.Marker(name="aleph: dusk", marked_range=tr(rt(0, 24), rt())))
    timeline = otio.schema.Timeline()
    track = otio.schema.Track(name="V1")
    track.append(clip)
    timeline.tracks.append(track)
    otio.adapters.write_to_file(timeline, str(tmp_path / "cut.otio"))
    _, plan = plan_file(tmp_path / "cut.otio", PlanSettings())
    assert len(plan.shots) == 1
    assert any("A001" in w and "HDR video (HLG" in w for w in plan.shots[0].warnings)


# --- orientation ------------------------------------------------------------------------------


def write_turned(path: Path, degrees: int, frames: int = 48) -> Path:
    """A 64x32 picture stored landscape, white in its stored top-left 16x8 corner, with a
    display matrix of ``degrees`` counter-clockwise (a phone held upright writes -90)."""
    image = np.zeros((32, 64, 3), np.uint8)
    image[:8, :16] = 255
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        stream.set_display_rotation(degrees)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def white_box(path: Path | str) -> tuple[tuple[int, int], tuple[int, int, int, int], int]:
    """((width, height), (top, bottom, left, right) of the white area, rotation) of frame 0."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
    grey = frame.to_ndarray(format="gray")
    rows, cols = np.nonzero(grey > 128)
    box = (int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max()))
    return (frame.width, frame.height), box, frame.rotation


# Where the ffmpeg CLI (autorotate) shows the corner, checked by hand with ffmpeg 5.1:
# -90 (turn clockwise): top-right; 90: bottom-left; 180: bottom-right.
TURNED = {
    -90: ((32, 64), (0, 15, 24, 31)),
    90: ((32, 64), (48, 63, 0, 7)),
    180: ((64, 32), (24, 31, 48, 63)),
}


@pytest.mark.parametrize("degrees", sorted(TURNED))
def test_a_turned_phone_clip_is_cut_and_stilled_upright(tmp_path: Path, degrees: int) -> None:
    source = write_turned(tmp_path / f"phone{degrees}.mp4", degrees)
    clip = prepare_shot(shot(segment(source, 0, 48)), tmp_path / "clip.mp4")
    size, box, rotation = white_box(clip.path)
    expected_size, expected_box = TURNED[degrees]
    assert (clip.width, clip.height) == size == expected_size
    assert rotation == 0  # the picture itself is upright: no matrix left to apply
    assert all(abs(a - b) <= 1 for a, b in zip(box, expected_box, strict=True))
    assert probe(clip.path).frame_count == 48
    still = extract_still(source, 5, tmp_path / "still.png")
    still_size, still_box, _ = white_box(still)
    assert still_size == expected_size
    assert all(abs(a - b) <= 1 for a, b in zip(still_box, expected_box, strict=True))


def test_a_shot_across_a_cut_between_portrait_and_landscape_is_refused(tmp_path: Path) -> None:
    upright = write_turned(tmp_path / "phone.mp4", -90)
    flat = write_turned(tmp_path / "flat.mp4", 0)
    out = tmp_path / "clip.mp4"
    with pytest.raises(MediaError, match=r"flat\.mp4.*one orientation"):
        prepare_shot(shot(segment(upright, 0, 24), segment(flat, 0, 24, name="B")), out)
    assert not out.exists() and leftovers(tmp_path) == []


def test_interlaced_sources_are_flagged_and_progressive_ones_not(tmp_path: Path) -> None:
    path = tmp_path / "1080i.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.options = {"x264-params": "tff=1"}  # interlaced, top field first
        for i in range(25):
            frame = av.VideoFrame(64, 64, "yuv420p")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    info = probe(path)
    assert info.interlaced
    assert any("interlaced video (top field first)" in w and str(path) in w for w in info.warnings)
    progressive = probe(synth.make_video(tmp_path / "p.mp4", frames=24, size=SMALL))
    assert not progressive.interlaced and progressive.warnings == ()


def test_a_source_with_alpha_is_flagged(tmp_path: Path) -> None:
    """ProRes 4444 graphics with alpha: the clip cannot carry it, so the plan says so."""
    path = tmp_path / "lower_third.mov"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("prores_ks", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuva444p10le"
        stream.options = {"profile": "4"}  # 4444, which keeps alpha
        for i in range(24):
            rgba = np.zeros((32, 64, 4), np.uint8)
            frame = av.VideoFrame.from_ndarray(rgba, format="rgba").reformat(format="yuva444p10le")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    info = probe(path)
    assert any("has an alpha channel" in w and str(path) in w for w in info.warnings)
    clip = prepare_shot(shot(segment(path, 0, 24)), tmp_path / "clip.mp4")
    assert probe(clip.path).warnings == ()
