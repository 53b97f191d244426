"""The bad-input corpus: hostile and broken timelines and media, generated under a tmp folder.

Nothing here is committed media: :func:`make_media` writes a handful of tiny files with PyAV
(frames carry their index, see :mod:`aleph_otio.synth`) and each entry of :data:`CASES` writes
one timeline file next to them and says what a user must see when it goes through
``aleph-otio plan`` (and, when it plans, ``aleph-otio run --emulator``):

- ``read``: exit 2 and an ``error:`` line naming the file (it is not a readable timeline);
- ``refused``: exit 3 and an ``error:`` line naming the file and ``mentions`` (track, clip, TC);
- ``plans``: exit 0 with ``shots`` shots; ``run`` says whether ``run --emulator`` must relink
  them all (``"ok"``) or fail each shot with a reason naming ``mentions`` (``"fail"``).
"""

from __future__ import annotations

import contextlib
import io
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal, cast

import av
import numpy as np
import opentimelineio as otio
import pytest
from av.audio.stream import AudioStream
from av.video.stream import VideoStream

from aleph_otio.cli import app, main
from aleph_otio.synth import draw_frame, encode_index, make_still, make_video
from aleph_otio.timeline import write_timeline

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
RATE = 24
#: Clip names a path-hostile editor (or a hostile file) can produce.
HOSTILE_NAMES = (
    "../../evil",
    "nul\x00byte",
    "L" * 4000,
    "\u202eRTL \u05e2\u05d1\u05e8\u05d9\u05ea \u0627\u0644\u0639\u0631\u0628\u064a\u0629",
    "emoji \U0001f3ac\U0001f525\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "/abs/olute\\..\\win",
)

Expect = Literal["read", "refused", "plans"]


@dataclass(frozen=True)
class Media:
    """The corpus's source files (all in one ``media`` folder)."""

    folder: Path
    normal: Path  # 320x180, 24 fps, 72 frames, TC 01:00:00:00
    unicode_named: Path  # same, under an RTL/emoji file name
    uhd: Path  # 3840x2160, 48 frames (see make_uhd)
    odd: Path  # 721x405, 48 frames
    vfr: Path  # irregular frame timestamps
    audio_only: Path
    still: Path


@dataclass(frozen=True)
class Case:
    """One corpus entry: its timeline file and what ``plan``/``run`` must do with it."""

    name: str
    timeline: Path
    expect: Expect
    mentions: tuple[str, ...] = ()
    shots: int = 0
    run: Literal["ok", "fail", "skip"] = "skip"
    run_mentions: tuple[str, ...] = field(default=())


# --- media ------------------------------------------------------------------------------------


def _big_video(path: Path, size: tuple[int, int], frames: int, pix_fmt: str = "yuv420p") -> Path:
    """A large-frame video made cheaply: one drawn picture, only the code strip changes."""
    width, height = size
    base = draw_frame(0, width, height, hue=2)
    with av.open(str(path), "w") as container:
        stream = cast(VideoStream, container.add_stream("libx264", rate=RATE))
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.options = {"preset": "ultrafast", "crf": "30"}
        for i in range(frames):
            image = base.copy()
            encode_index(image, i)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


def _vfr_video(path: Path, frames: int = 72) -> Path:
    """A phone-style variable frame rate file: timestamps on a 1/600 s clock with jitter."""
    steps = [25, 25, 13, 37, 25, 50, 25, 20, 30]  # 600/24 = 25 ticks is one nominal frame
    with av.open(str(path), "w") as container:
        stream = cast(VideoStream, container.add_stream("libx264", rate=RATE))
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 600)
        stream.options = {"preset": "ultrafast"}
        pts = 0
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(draw_frame(i, 320, 180), format="rgb24")
            frame.pts = pts
            frame.time_base = Fraction(1, 600)
            pts += steps[i % len(steps)]
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def _audio_only(path: Path, seconds: float = 3.0) -> Path:
    with av.open(str(path), "w") as container:
        stream = cast(AudioStream, container.add_stream("pcm_s16le", rate=48000))
        samples = int(seconds * 48000)
        tone = (np.sin(np.arange(samples) * 2 * np.pi * 440 / 48000) * 8000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48000
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def make_media(folder: Path) -> Media:
    """Write every source file the corpus's timelines point at (a few seconds of CPU)."""
    folder.mkdir(parents=True, exist_ok=True)
    normal = make_video(folder / "A001.mp4", frames=72, timecode="01:00:00:00")
    unicode_named = make_video(
        folder / "\u202eclip \u05e2\u05d1\u05e8\u05d9\u05ea \U0001f3ac.mp4", frames=72, hue=1
    )
    return Media(
        folder=folder,
        normal=normal,
        unicode_named=unicode_named,
        # Made on first use (make_uhd): 4K encoding is the one slow part of the corpus.
        uhd=folder / "UHD_3840x2160.mp4",
        # 4:2:0 needs even sizes; odd-sized screen recordings come as 4:4:4.
        odd=_big_video(folder / "odd_721x405.mp4", (721, 405), 48, "yuv444p"),
        vfr=_vfr_video(folder / "phone_vfr.mp4"),
        audio_only=_audio_only(folder / "sound_only.wav"),
        still=make_still(folder / "still.png"),
    )


def make_uhd(media: Media) -> Path:
    """The 3840x2160 source (48 frames), written on first use."""
    if not media.uhd.is_file():
        _big_video(media.uhd, (3840, 2160), 48)
    return media.uhd


# --- timeline building ------------------------------------------------------------------------


def _ref(path: Path, frames: int, start: int = 0) -> otio.schema.ExternalReference:
    return otio.schema.ExternalReference(
        target_url=str(path), available_range=TR(RT(start, RATE), RT(frames, RATE))
    )


def _clip(
    name: str, ref: otio.core.MediaReference, start: float, duration: float
) -> otio.schema.Clip:
    return otio.schema.Clip(
        name=name, media_reference=ref, source_range=TR(RT(start, RATE), RT(duration, RATE))
    )


def _marker(prompt: str, start: float, duration: float = 0) -> otio.schema.Marker:
    """A clip marker at source frame ``start`` (zero length: the whole clip)."""
    return otio.schema.Marker(
        name=f"aleph: {prompt}", marked_range=TR(RT(start, RATE), RT(duration, RATE))
    )


def _timeline(*clips: otio.schema.Clip, track_name: str = "V1") -> otio.schema.Timeline:
    tl = otio.schema.Timeline(name="corpus", global_start_time=RT(86400, RATE))
    tl.tracks.append(otio.schema.Track(name=track_name, children=list(clips)))
    return tl


def _meta_marker(prompt: str) -> otio.schema.Marker:
    marker = _marker("see metadata", 86400 + 12)
    marker.metadata["aleph"] = {"prompt": prompt}
    return marker


def _normal_clip(media: Media, name: str = "A001", marker: bool = True) -> otio.schema.Clip:
    clip = _clip(name, _ref(media.normal, 72, 86400), 86400 + 12, 48)
    if marker:
        clip.markers.append(_marker("make the sky purple", 86400 + 12))
    return clip


def _write(tl: otio.schema.Timeline, path: Path) -> Path:
    return write_timeline(tl, path)


def _truncated(media: Media, folder: Path, suffix: str, at: bytes | None = None) -> Path:
    """A real export of a small edit in ``suffix``'s format, cut off half way (or in the
    middle of the first line that starts with ``at``)."""
    whole = _write(_timeline(_normal_clip(media)), folder / f"whole_for_trunc.{suffix}")
    data = whole.read_bytes()
    whole.unlink()
    cut = len(data) // 2
    if at is not None:
        start = data.index(b"\n" + at) + 1
        cut = start + (data.index(b"\n", start) - start) // 2
    path = folder / f"truncated.{suffix}"
    path.write_bytes(data[:cut])
    return path


# --- the cases ---------------------------------------------------------------------------------

Builder = Callable[[Media, Path], Case]
CASES: dict[str, Builder] = {}


def case(builder: Builder) -> Builder:
    CASES[builder.__name__.removeprefix("c_")] = builder
    return builder


def _raw(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@case
def c_otio_truncated(media: Media, folder: Path) -> Case:
    path = _truncated(media, folder, "otio")
    return Case("otio_truncated", path, "read", (path.name,))


@case
def c_otio_garbage(media: Media, folder: Path) -> Case:
    path = _raw(folder, "garbage.otio", b"\x00\xff\xfe{{{ not json \x00 \xc3\x28")
    return Case("otio_garbage", path, "read", (path.name,))


@case
def c_otio_empty(media: Media, folder: Path) -> Case:
    path = _raw(folder, "empty.otio", b"")
    return Case("otio_empty", path, "read", (path.name,))


@case
def c_otio_wrong_schema(media: Media, folder: Path) -> Case:
    path = _raw(folder, "wrong_schema.otio", b'{"OTIO_SCHEMA": "Bogus.1", "x": [1, 2]}')
    return Case("otio_wrong_schema", path, "read", (path.name,))


@case
def c_otio_not_a_timeline(media: Media, folder: Path) -> Case:
    clip = _normal_clip(media)
    path = folder / "just_a_clip.otio"
    otio.adapters.write_to_file(clip, str(path))
    return Case("otio_not_a_timeline", path, "read", (path.name,))


@case
def c_edl_truncated(media: Media, folder: Path) -> Case:
    # An EDL is line based: cut inside the event line (a cut after it is a valid shorter EDL).
    path = _truncated(media, folder, "edl", at=b"001 ")
    return Case("edl_truncated", path, "read", (path.name,))


@case
def c_edl_garbage(media: Media, folder: Path) -> Case:
    text = (
        "TITLE: broken\nFCM: NON-DROP FRAME\n\n"
        "001  AX       V     C        01:00:00:00 01:00:0X:00 00:00:00:00 00:00:02:00\n"
        "002  AX V C 99:99:99:99\n"
    )
    path = _raw(folder, "garbage.edl", text.encode())
    return Case("edl_garbage", path, "read", (path.name,))


@case
def c_fcp_xml_truncated(media: Media, folder: Path) -> Case:
    path = _truncated(media, folder, "xml")
    return Case("fcp_xml_truncated", path, "read", (path.name,))


@case
def c_fcp_xml_wrong_root(media: Media, folder: Path) -> Case:
    path = _raw(folder, "wrong_root.xml", b'<?xml version="1.0"?><html><body>hi</body></html>')
    return Case("fcp_xml_wrong_root", path, "read", (path.name,))


@case
def c_fcpxml_truncated(media: Media, folder: Path) -> Case:
    path = _truncated(media, folder, "fcpxml")
    return Case("fcpxml_truncated", path, "read", (path.name,))


@case
def c_fcpxml_garbage(media: Media, folder: Path) -> Case:
    path = _raw(folder, "garbage.fcpxml", b"<fcpxml version='1.9'><resources><format id=")
    return Case("fcpxml_garbage", path, "read", (path.name,))


def _edited_otio(media: Media, folder: Path, name: str, old: str, new: str) -> Path:
    """A valid export with one JSON value replaced (what a hand edit or a buggy writer does)."""
    text = _write(_timeline(_normal_clip(media)), folder / f"base_{name}").read_text()
    assert old in text
    path = folder / name
    path.write_text(text.replace(old, new, 1))
    return path


@case
def c_otio_nan_duration(media: Media, folder: Path) -> Case:
    path = _edited_otio(media, folder, "nan.otio", '"value": 48.0', '"value": NaN')
    return Case("otio_nan_duration", path, "read", (path.name, "clip A001", "impossible time"))


@case
def c_otio_infinite_duration(media: Media, folder: Path) -> Case:
    path = _edited_otio(media, folder, "inf.otio", '"value": 48.0', '"value": Infinity')
    return Case("otio_infinite_duration", path, "read", (path.name, "clip A001", "impossible"))


@case
def c_otio_rate_zero(media: Media, folder: Path) -> Case:
    path = _edited_otio(media, folder, "rate0.otio", '"rate": 24.0', '"rate": 0.0')
    return Case("otio_rate_zero", path, "read", (path.name, "impossible time"))


@case
def c_otio_nan_speed(media: Media, folder: Path) -> Case:
    clip = _normal_clip(media)
    clip.effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))
    text = _write(_timeline(clip), folder / "base_speed.otio").read_text()
    path = folder / "nan_speed.otio"
    path.write_text(text.replace('"time_scalar": 2.0', '"time_scalar": NaN'))
    return Case("otio_nan_speed", path, "read", (path.name, "clip A001", "impossible speed"))


@case
def c_unknown_suffix(media: Media, folder: Path) -> Case:
    path = _raw(folder, "notes.txt", b"aleph: not a timeline\n")
    return Case("unknown_suffix", path, "read", (path.name,))


@case
def c_missing_file(media: Media, folder: Path) -> Case:
    path = folder / "does_not_exist.otio"
    return Case("missing_file", path, "read", (path.name,))


@case
def c_directory(media: Media, folder: Path) -> Case:
    path = folder / "a_folder.otio"
    path.mkdir(exist_ok=True)
    return Case("directory", path, "read", (path.name,))


@case
def c_missing_media_offline(media: Media, folder: Path) -> Case:
    ref = otio.schema.ExternalReference(target_url=str(folder / "gone" / "B002.mov"))
    clip = _clip("B002", ref, 0, 48)
    clip.markers.append(_marker("fix it", 0))
    path = _write(_timeline(clip), folder / "missing_media.otio")
    return Case("missing_media_offline", path, "refused", (path.name, "V1", "B002", "01:00:00:00"))


@case
def c_missing_media_with_range(media: Media, folder: Path) -> Case:
    # The timeline knows the media's range, so it plans; cutting it must then fail clearly.
    missing = folder / "gone" / "C003.mov"
    clip = _clip("C003", _ref(missing, 96, 0), 0, 72)
    clip.markers.append(_marker("fix it", 0))
    path = _write(_timeline(clip), folder / "missing_media_range.otio")
    return Case(
        "missing_media_with_range", path, "plans", shots=1, run="fail", run_mentions=("C003.mov",)
    )


@case
def c_zero_length_clip(media: Media, folder: Path) -> Case:
    clip = _clip("Z000", _ref(media.normal, 72, 86400), 86400 + 10, 0)
    clip.markers.append(_marker("zero", 86400 + 10))
    path = _write(_timeline(_normal_clip(media, marker=False), clip), folder / "zero_clip.otio")
    return Case("zero_length_clip", path, "refused", (path.name, "V1", "Z000"))


@case
def c_negative_clip(media: Media, folder: Path) -> Case:
    clip = _clip("N000", _ref(media.normal, 72, 86400), 86400 + 40, -24)
    clip.markers.append(_marker("negative", 86400 + 40))
    path = _write(_timeline(_normal_clip(media, marker=False), clip), folder / "negative_clip.otio")
    return Case("negative_clip", path, "refused", (path.name, "V1", "N000"))


@case
def c_negative_marker(media: Media, folder: Path) -> Case:
    clip = _normal_clip(media, marker=False)
    clip.markers.append(_marker("backwards", 86400 + 40, -20))
    path = _write(_timeline(clip), folder / "negative_marker.otio")
    return Case("negative_marker", path, "refused", (path.name, "V1", "A001"))


@case
def c_marker_outside_clip(media: Media, folder: Path) -> Case:
    clip = _normal_clip(media, marker=False)
    clip.markers.append(_marker("too late", 86400 + 200, 24))
    path = _write(_timeline(clip), folder / "marker_outside.otio")
    return Case("marker_outside_clip", path, "refused", (path.name, "V1", "A001", "outside"))


@case
def c_point_marker_outside_clip(media: Media, folder: Path) -> Case:
    clip = _normal_clip(media, marker=False)
    clip.markers.append(_marker("before", 86400 - 100))
    path = _write(_timeline(clip), folder / "point_marker_outside.otio")
    return Case("point_marker_outside_clip", path, "refused", (path.name, "A001", "outside"))


@case
def c_track_marker_past_the_end(media: Media, folder: Path) -> Case:
    tl = _timeline(_normal_clip(media, marker=False))
    tl.tracks[0].markers.append(_marker("nothing here", 500, 48))
    path = _write(tl, folder / "track_marker_past_end.otio")
    return Case("track_marker_past_the_end", path, "refused", (path.name, "V1"))


@case
def c_uhd_source(media: Media, folder: Path) -> Case:
    clip = _clip("UHD", _ref(make_uhd(media), 48), 0, 48)
    clip.markers.append(_marker("add rain", 0))
    path = _write(_timeline(clip), folder / "uhd.otio")
    return Case("uhd_source", path, "plans", shots=1, run="ok")


@case
def c_odd_size_source(media: Media, folder: Path) -> Case:
    clip = _clip("ODD", _ref(media.odd, 48), 0, 48)
    clip.markers.append(_marker("add snow", 0))
    path = _write(_timeline(clip), folder / "odd_size.otio")
    return Case("odd_size_source", path, "plans", shots=1, run="ok")


@case
def c_vfr_source(media: Media, folder: Path) -> Case:
    clip = _clip("PHONE", _ref(media.vfr, 72), 0, 72)
    clip.markers.append(_marker("steady the shot", 0))
    path = _write(_timeline(clip), folder / "vfr.otio")
    return Case("vfr_source", path, "refused", (path.name, "V1", "PHONE", "variable frame rate"))


@case
def c_audio_only_clip(media: Media, folder: Path) -> Case:
    clip = _clip("SOUND", _ref(media.audio_only, 72), 0, 72)
    clip.markers.append(_marker("remove the hum", 0))
    path = _write(_timeline(clip), folder / "audio_only.otio")
    return Case("audio_only_clip", path, "refused", (path.name, "V1", "SOUND", "video"))


@case
def c_still_clip(media: Media, folder: Path) -> Case:
    clip = _clip("STILL", _ref(media.still, 72), 0, 72)
    clip.markers.append(_marker("animate it", 0))
    path = _write(_timeline(clip), folder / "still_clip.otio")
    return Case("still_clip", path, "refused", (path.name, "V1", "STILL"))


@case
def c_hostile_names(media: Media, folder: Path) -> Case:
    # Six clips cut back to back, each named like an attack, each with a whole-clip marker;
    # the marker names are hostile too, and the track is named like a path.
    clips = []
    for i, name in enumerate(HOSTILE_NAMES):
        source = media.unicode_named if i % 2 else media.normal
        start = 86400 if source == media.normal else 0
        clip = _clip(name, _ref(source, 72, start), start + 12, 48)
        clip.markers.append(_marker(f"{name[:50]} ../../../tmp/x {i}", start + 12))
        clips.append(clip)
    tl = _timeline(*clips, track_name="../../track\x00\u202e")
    tl.name = "../../" + HOSTILE_NAMES[3]
    path = _write(tl, folder / "hostile \U0001f3ac \u202ename.otio")
    return Case("hostile_names", path, "plans", shots=len(HOSTILE_NAMES), run="ok")


@case
def c_hostile_names_fcp_xml(media: Media, folder: Path) -> Case:
    # The same attack through FCP 7 XML (which cannot hold a NUL: XML 1.0 forbids it).
    clips = []
    names = [n for n in HOSTILE_NAMES if "\x00" not in n]
    for i, name in enumerate(names):
        clip = _clip(name, _ref(media.normal, 72, 86400), 86400 + 12, 48)
        clip.markers.append(_marker(f"{name[:50]} ../../x {i}", 86400 + 12))
        clips.append(clip)
    path = _write(_timeline(*clips, track_name="../../track"), folder / "hostile 🎬.xml")
    return Case("hostile_names_fcp_xml", path, "plans", shots=len(names), run="ok")


@case
def c_prompt_1000(media: Media, folder: Path) -> Case:
    clip = _normal_clip(media, marker=False)
    prompt = ("turn the red car blue " * 50)[:1000].strip().ljust(1000, "x")
    clip.markers.append(_meta_marker(prompt))
    path = _write(_timeline(clip), folder / "prompt_1000.otio")
    return Case("prompt_1000", path, "plans", shots=1, run="ok")


@case
def c_prompt_1001(media: Media, folder: Path) -> Case:
    clip = _normal_clip(media, marker=False)
    prompt = "y" * 1001
    clip.markers.append(_meta_marker(prompt))
    path = _write(_timeline(clip), folder / "prompt_1001.otio")
    return Case("prompt_1001", path, "refused", (path.name, "V1", "A001", "1001 characters"))


#: A prompt that is markup in every language the tool prints or writes.
MARKUP_PROMPT = "fix [/] the [red]sky[/red] <script>alert(1)</script> %s {0} $(rm -rf ~)\nline 2"


@case
def c_markup_names(media: Media, folder: Path) -> Case:
    # Rich markup, HTML and format strings in the clip, track, timeline and file names and in
    # the prompt: all must be shown as text (a stray "[/]" crashed the tables).
    clip = _normal_clip(media, marker=False)
    clip.name = "[/]clip [bold]A[/bold] <b>"
    marker = _marker("see metadata", 86400 + 12)
    marker.metadata["aleph"] = {"prompt": MARKUP_PROMPT}
    clip.markers.append(marker)
    tl = _timeline(clip, track_name="[/]V1 <i>")
    tl.name = "[/] cut {0} <title>"
    path = _write(tl, folder / "cut [red] [bold x.otio")  # no "/" in a file name
    return Case("markup_names", path, "plans", shots=1, run="ok")


@case
def c_truncated_media(media: Media, folder: Path) -> Case:
    # A source file cut off by an interrupted copy (the MP4 index is at the end: gone).
    broken = folder / "A001_copy_interrupted.mp4"
    data = media.normal.read_bytes()
    broken.write_bytes(data[: len(data) * 9 // 10])
    clip = _clip("TRUNC", _ref(broken, 72, 86400), 86400 + 12, 48)
    clip.markers.append(_marker("fix it", 86400 + 12))
    path = _write(_timeline(clip), folder / "truncated_media.otio")
    return Case(
        "truncated_media", path, "refused", (path.name, "V1", "TRUNC", "not a readable media")
    )


@case
def c_remote_media(media: Media, folder: Path) -> Case:
    ref = otio.schema.ExternalReference(
        target_url="https://media.invalid/R001.mov", available_range=TR(RT(0, RATE), RT(96, RATE))
    )
    clip = _clip("R001", ref, 0, 72)
    clip.markers.append(_marker("fix it", 0))
    path = _write(_timeline(clip), folder / "remote_media.otio")
    return Case(
        "remote_media", path, "refused", (path.name, "V1", "R001", "https://media.invalid/R001")
    )


@case
def c_missing_guide_still(media: Media, folder: Path) -> Case:
    tl = _timeline(_normal_clip(media))
    guide = _clip("paint", _ref(folder / "gone" / "paint.png", 1), 0, 48)
    tl.tracks.append(otio.schema.Track(name="ALEPH GUIDES", children=[guide]))
    path = _write(tl, folder / "missing_guide.otio")
    return Case("missing_guide_still", path, "refused", (path.name, "V1", "A001", "paint.png"))


@case
def c_marker_without_range(media: Media, folder: Path) -> Case:
    # A hand-written or third-party OTIO marker with no marked_range (OTIO's default: 0 at
    # rate 1) lands an hour before a clip that starts at 01:00:00:12.
    clip = _normal_clip(media, marker=False)
    clip.markers.append(otio.schema.Marker(name="aleph: no range"))
    path = _write(_timeline(clip), folder / "marker_without_range.otio")
    return Case("marker_without_range", path, "refused", (path.name, "V1", "A001", "outside"))


# --- running the command line in-process ------------------------------------------------------


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


def cli(*args: str) -> Outcome:
    """``aleph-otio ARGS`` in-process, as the console script runs it; a traceback fails."""
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["aleph-otio", *args]
    code: int | str | None = 0
    # main() registers every command on each call (it runs once per process); start clean so
    # repeated in-process calls do not pile up duplicate commands.
    app.registered_commands.clear()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code
    except BaseException:  # noqa: BLE001 - an escaping exception is the failure under test
        pytest.fail(f"aleph-otio {' '.join(args)[:200]} raised:\n{traceback.format_exc()}")
    finally:
        sys.argv = argv
    stderr = err.getvalue()
    assert "Traceback" not in stderr, stderr
    return Outcome(
        code if isinstance(code, int) else (0 if code is None else 1), out.getvalue(), stderr
    )
