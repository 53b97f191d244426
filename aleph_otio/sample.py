"""A small, realistic sample edit with real media, for ``plan --sample`` and ``demo``.

Four camera clips (320x180, 24 fps, start timecodes 01:00:00:00 .. 04:00:00:00) cut one after
the other on ``V1`` (record start 01:00:00:00), carrying the three kinds of edit request an
editor types:

- a clip marker with a duration: ``aleph: swap the can for a bottle`` (3 s inside clip A);
- a zero-length clip marker: ``aleph: relight to dusk`` (covers the whole of clip B, 3.5 s);
- a track marker across the C/D cut: ``aleph: remove the boom mic`` (3 s, one task);

and a painted guide still on the ``ALEPH GUIDES`` track at the start of the first range.

Every frame carries ``INDEX_STRIDE * clip_number + media_frame`` in its code strip (see
:mod:`aleph_otio.synth`), so any result can be traced to the exact source clip and frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from aleph_otio.errors import ConfigError

if TYPE_CHECKING:
    import opentimelineio as otio

RATE = 24
SIZE = (320, 180)
INDEX_STRIDE = 1000
GUIDE_TRACK = "ALEPH GUIDES"
#: Suffixes make_sample_project can write (each through its OTIO adapter).
SAMPLE_FORMATS = ("otio", "xml", "fcpxml", "edl")

SWAP_PROMPT = "swap the can for a bottle"
RELIGHT_PROMPT = "relight to dusk"
BOOM_PROMPT = "remove the boom mic"


@dataclass(frozen=True)
class SourceClip:
    """One camera file of the sample, and the part of it the edit uses (media frames)."""

    name: str
    timecode: str
    start_frame: int  # the timecode as frames at RATE
    frames: int
    hue: int
    cut_in: int
    cut_frames: int


#: The camera files; cut_in leaves handles on both sides of every cut.
SOURCES: tuple[SourceClip, ...] = (
    SourceClip("A010C004", "01:00:00:00", 1 * 3600 * RATE, 144, 0, 12, 108),
    SourceClip("B020C001", "02:00:00:00", 2 * 3600 * RATE, 120, 1, 18, 84),
    SourceClip("C030C002", "03:00:00:00", 3 * 3600 * RATE, 120, 2, 12, 96),
    SourceClip("D040C003", "04:00:00:00", 4 * 3600 * RATE, 96, 3, 12, 72),
)


@dataclass(frozen=True)
class SampleProject:
    """What :func:`make_sample_project` made."""

    folder: Path
    timeline: Path
    media: list[Path] = field(default_factory=list)
    guides: list[Path] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)


def code_index(clip_number: int, media_frame: int) -> int:
    """The code-strip value of ``media_frame`` (0-based) of sample clip ``clip_number`` (0-3)."""
    return INDEX_STRIDE * (clip_number + 1) + media_frame


def make_sample_project(folder: Path, *, fmt: str = "otio") -> SampleProject:
    """Write the sample media, guide still and timeline (``sample.<fmt>``) into ``folder``.

    Existing sample files are overwritten, so the project is always in its documented state.
    ``fmt`` is the timeline suffix. OTIO keeps everything. The others keep what their adapter
    can express: FCP 7 XML gets the C/D marker as a sequence marker and no guide; FCPXML loses
    that marker; an EDL has no guide track and LOC markers without durations.
    """
    # Imported here for start-up time: PyAV, numpy and the OTIO adapters load only when a
    # sample is made, not when the command line starts.
    from aleph_otio.synth import make_still, make_video
    from aleph_otio.timeline import write_timeline

    fmt = fmt.lower().lstrip(".")
    if fmt not in SAMPLE_FORMATS:
        raise ConfigError(
            f"sample format {fmt!r} is not one of {', '.join(SAMPLE_FORMATS)}; "
            "pick one of those (default: otio)"
        )
    folder = Path(folder).expanduser().resolve()
    media_dir = folder / "media"
    guide_dir = folder / "guides"
    try:
        media_dir.mkdir(parents=True, exist_ok=True)
        guide_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{folder}: cannot create the sample folder ({exc.strerror})") from None

    media: list[Path] = []
    for number, src in enumerate(SOURCES):
        path = media_dir / f"{src.name}.mp4"
        make_video(
            path,
            frames=src.frames,
            rate=RATE,
            size=SIZE,
            timecode=src.timecode,
            hue=src.hue,
            first_index=code_index(number, 0),
        )
        media.append(path)

    # The artist's painted first frame of the swap shot: same code as the source frame it
    # replaces, different colours, so a test can see which frame it was meant for.
    swap_first = SOURCES[0].cut_in + _SWAP_OFFSET
    guide = make_still(
        guide_dir / "A010C004_swap_first.png", size=SIZE, index=code_index(0, swap_first), hue=5
    )

    timeline = build_sample_timeline(
        media,
        guide,
        relative_to=folder,
        # Only OTIO keeps track markers; the XML writers keep sequence markers.
        cut_marker_on="track" if fmt == "otio" else "stack",
        # An EDL holds one video track.
        guide_track=fmt != "edl",
    )
    path = write_timeline(timeline, folder / f"sample.{fmt}")
    return SampleProject(
        folder=folder,
        timeline=Path(path),
        media=media,
        guides=[guide],
        prompts=[SWAP_PROMPT, RELIGHT_PROMPT, BOOM_PROMPT],
    )


#: Where the swap marker starts inside clip A's cut, and how long it is (frames).
_SWAP_OFFSET = 12
_SWAP_FRAMES = 72
#: The boom-mic marker: this many frames each side of the C/D cut.
_BOOM_HALF = 36


def build_sample_timeline(
    media: list[Path],
    guide: Path,
    *,
    relative_to: Path | None = None,
    cut_marker_on: Literal["track", "stack"] = "track",
    guide_track: bool = True,
) -> otio.schema.Timeline:
    """The sample edit as an OTIO Timeline (``media`` in SOURCES order).

    With ``relative_to`` (the timeline's folder) media paths are written relative to it, so the
    project folder can be moved or shared as a whole. The marker across the C/D cut sits on V1
    or, with ``cut_marker_on="stack"``, on the timeline (V1 starts at stack time 0, so the
    range is the same).
    """
    import opentimelineio as otio

    def url(path: Path) -> str:
        if relative_to is not None and path.is_relative_to(relative_to):
            return path.relative_to(relative_to).as_posix()
        return str(path)

    rt, tr = otio.opentime.RationalTime, otio.opentime.TimeRange
    timeline = otio.schema.Timeline(name="aleph sample", global_start_time=rt(3600 * RATE, RATE))
    v1 = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    clips = []
    for src, path in zip(SOURCES, media, strict=True):
        reference = otio.schema.ExternalReference(
            target_url=url(path),
            available_range=tr(rt(src.start_frame, RATE), rt(src.frames, RATE)),
        )
        clip = otio.schema.Clip(
            name=src.name,
            media_reference=reference,
            source_range=tr(rt(src.start_frame + src.cut_in, RATE), rt(src.cut_frames, RATE)),
        )
        v1.append(clip)
        clips.append(clip)

    clip_a, clip_b, clip_c, _ = clips
    a_in = clip_a.source_range.start_time
    clip_a.markers.append(
        otio.schema.Marker(
            name=f"aleph: {SWAP_PROMPT}",
            marked_range=tr(a_in + rt(_SWAP_OFFSET, RATE), rt(_SWAP_FRAMES, RATE)),
            color=otio.schema.MarkerColor.GREEN,
        )
    )
    b_in = clip_b.source_range.start_time
    clip_b.markers.append(
        otio.schema.Marker(
            name=f"aleph: {RELIGHT_PROMPT}",
            marked_range=tr(b_in + rt(30, RATE), rt(0, RATE)),
            color=otio.schema.MarkerColor.ORANGE,
        )
    )
    cut = v1.range_of_child(clip_c).end_time_exclusive()
    owner = v1 if cut_marker_on == "track" else timeline.tracks
    owner.markers.append(
        otio.schema.Marker(
            name=f"aleph: {BOOM_PROMPT}",
            marked_range=tr(cut - rt(_BOOM_HALF, RATE), rt(2 * _BOOM_HALF, RATE)),
            color=otio.schema.MarkerColor.YELLOW,
        )
    )

    guides = otio.schema.Track(name=GUIDE_TRACK, kind=otio.schema.TrackKind.Video)
    guide_at = v1.range_of_child(clip_a).start_time + rt(_SWAP_OFFSET, RATE)
    guides.append(otio.schema.Gap(source_range=tr(rt(0, RATE), guide_at)))
    guides.append(
        otio.schema.Clip(
            name=guide.stem,
            media_reference=otio.schema.ExternalReference(
                target_url=url(guide), available_range=tr(rt(0, RATE), rt(RATE, RATE))
            ),
            source_range=tr(rt(0, RATE), rt(RATE, RATE)),
        )
    )
    timeline.tracks.append(v1)
    if guide_track:
        timeline.tracks.append(guides)
    return timeline
