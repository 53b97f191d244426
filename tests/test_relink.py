"""Relinking results into timelines, checked frame by frame on real (tiny) video files.

Every source file and fake result is made with PyAV; each frame carries its source frame number
in the code strip, so "the version clip shows the same frames as the original" is checked by
decoding what each clip addresses through its reference's ``available_range``, after a round
trip through ``.otio`` and FCP 7 ``.xml`` files.
"""

from __future__ import annotations

import importlib.util
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import av
import opentimelineio as otio
import pytest

from aleph_otio.errors import RelinkError
from aleph_otio.ledger import Ledger
from aleph_otio.relink import (
    RelinkResult,
    original_media_reference,
    reference_for_clip,
    relink_timeline,
)
from aleph_otio.shots import Shot, SourceSegment, TaskOptions, shot_id
from aleph_otio.synth import decode_indices, draw_frame, make_video

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
VIDEO = otio.schema.TrackKind.Video
SIZE = (160, 90)
B_OFFSET = 1000  # b.mp4 frames are numbered from 1000 so they differ from a.mp4's
REPO = Path(__file__).resolve().parents[1]


# --- media and timeline fixtures ---------------------------------------------------------------


def encode(path: Path, indices: list[int], hue: int = 5) -> Path:
    """A video whose frame k carries code-strip number indices[k] (a fake Aleph result)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(24))
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        stream.options = {"crf": "18", "preset": "ultrafast"}
        for index in indices:
            frame = av.VideoFrame.from_ndarray(draw_frame(index, *SIZE, hue), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("media")
    return {
        "a": make_video(folder / "a.mp4", frames=120, size=SIZE),
        "b": make_video(folder / "b.mp4", frames=60, size=SIZE, first_index=B_OFFSET),
        "folder": folder,
    }


def ref(path: Path, start: int, frames: int) -> otio.schema.ExternalReference:
    return otio.schema.ExternalReference(
        target_url=str(path), available_range=TR(RT(start, 24), RT(frames, 24))
    )


def build_timeline(media: dict[str, Path]) -> otio.schema.Timeline:
    """V1: A (48) | gap (12) | B (36) | C (20 at 2x speed); A1: audio; 01:00:00:00 start."""
    timeline = otio.schema.Timeline(name="cut", global_start_time=RT(86400, 24))
    v1 = otio.schema.Track(name="V1", kind=VIDEO)
    clip_a = otio.schema.Clip(
        name="A",
        media_reference=ref(media["a"], 86400, 120),
        source_range=TR(RT(86410, 24), RT(48, 24)),
    )
    clip_b = otio.schema.Clip(
        name="B",
        media_reference=ref(media["b"], 172800, 60),
        source_range=TR(RT(172805, 24), RT(36, 24)),
    )
    clip_c = otio.schema.Clip(
        name="C",
        media_reference=ref(media["a"], 86400, 120),
        source_range=TR(RT(86460, 24), RT(20, 24)),
    )
    clip_c.effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))
    v1.extend([clip_a, otio.schema.Gap(source_range=TR(RT(0, 24), RT(12, 24))), clip_b, clip_c])
    a1 = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    a1.append(
        otio.schema.Clip(
            name="A audio",
            media_reference=ref(media["a"], 86400, 120),
            source_range=TR(RT(86410, 24), RT(48, 24)),
        )
    )
    timeline.tracks.extend([v1, a1])
    return timeline


def scalar_of(clip: otio.schema.Clip) -> float:
    scalar = 1.0
    for fx in clip.effects:
        if isinstance(fx, otio.schema.LinearTimeWarp):
            scalar *= fx.time_scalar
    return scalar


def segment_for(
    timeline: otio.schema.Timeline, ti: int, ci: int, offset: int = 0, length: int | None = None
) -> SourceSegment:
    """The segment a planner would make for frames offset..offset+length of a clip."""
    track = timeline.tracks[ti]
    clip = track[ci]
    source = clip.source_range
    avail = clip.media_reference.available_range
    scalar = scalar_of(clip)
    length = int(source.duration.value) - offset if length is None else length
    record = int(track.range_of_child_at_index(ci).start_time.value) + offset
    media_start = int(source.start_time.value - avail.start_time.value + offset * scalar)
    count = int(length * scalar)
    tc = otio.opentime.to_timecode
    return SourceSegment(
        clip_name=clip.name,
        track_name=track.name,
        track_index=ti,
        clip_index=ci,
        media_path=clip.media_reference.target_url,
        media_rate=24,
        available_start=avail.start_time.value,
        media_start_frame=media_start,
        media_frame_count=count,
        record_start=record,
        record_duration=length,
        record_rate=24,
        clip_source_start=source.start_time.value + offset,
        clip_source_duration=length,
        clip_source_rate=24,
        time_scalar=scalar,
        source_tc_in=tc(RT(avail.start_time.value + media_start, 24)),
        source_tc_out=tc(RT(avail.start_time.value + media_start + count, 24)),
        record_tc_in=tc(RT(86400 + record, 24)),
    )


def make_shot(
    prompt: str, segments: list[SourceSegment], head: int = 0, tail: int = 0, n: int = 1
) -> Shot:
    options = TaskOptions(number_results=n)
    return Shot(
        id=shot_id(prompt, segments, [], head, tail, options),
        name=f"sh {prompt}",
        prompt=prompt,
        segments=segments,
        head_frames=head,
        tail_frames=tail,
        options=options,
    )


def source_index(segment: SourceSegment, media_frame: int) -> int:
    return media_frame + (B_OFFSET if segment.media_path.endswith("b.mp4") else 0)


def fake_result(shot: Shot, folder: Path, variant: int = 0) -> RelinkResult:
    """Encode what Aleph would return: the input clip's frames (handles too), restyled."""
    first, last = shot.segments[0], shot.segments[-1]
    indices = [
        source_index(first, first.media_start_frame - k - 1) for k in range(shot.head_frames)
    ]
    indices.reverse()
    for seg in shot.segments:
        indices += [
            source_index(seg, seg.media_start_frame + k) for k in range(seg.media_frame_count)
        ]
    end = last.media_start_frame + last.media_frame_count
    indices += [source_index(last, end + k) for k in range(shot.tail_frames)]
    path = encode(folder / f"result_{shot.id}_{variant}.mp4", indices, hue=5 + variant)
    return RelinkResult(
        shot=shot,
        variant=variant,
        path=str(path),
        frame_count=len(indices),
        rate=24.0,
        width=SIZE[0],
        height=SIZE[1],
        task_uuid=f"task-{shot.id}",
        prompt=shot.prompt,
        seed=42 + variant,
        cost=0.56,
        created="2026-11-25T12:00:00Z",
        video_uuid=f"video-{shot.id}-{variant}",
    )


# --- frame checks -------------------------------------------------------------------------------


@cache
def _indices(path: str) -> tuple[int, ...]:
    return tuple(decode_indices(Path(path)))


def url_path(url: str) -> str:
    return otio.url_utils.filepath_from_url(url) if url.startswith("file://") else url


def shown(track: otio.schema.Track) -> dict[int, int]:
    """Record frame -> code-strip number shown there, for every clip of a track."""
    out: dict[int, int] = {}
    for index, item in enumerate(track):
        if not isinstance(item, otio.schema.Clip):
            continue
        ref_ = item.media_reference
        frames = _indices(url_path(ref_.target_url))
        rec = int(track.range_of_child_at_index(index).start_time.value)
        first = (item.source_range.start_time - ref_.available_range.start_time).value
        for t in range(int(item.source_range.duration.value)):
            k = round(first + t * scalar_of(item))
            out[rec + t] = frames[k] if 0 <= k < len(frames) else -1
    return out


def track_named(timeline: otio.schema.Timeline, name: str) -> otio.schema.Track:
    matches = [t for t in timeline.tracks if t.name == name]
    assert len(matches) == 1, [t.name for t in timeline.tracks]
    return matches[0]


def serialised(timeline: otio.schema.Timeline) -> str:
    return otio.adapters.write_to_string(timeline, "otio_json")


def round_trip(timeline: otio.schema.Timeline, path: Path) -> otio.schema.Timeline:
    otio.adapters.write_to_file(timeline, str(path))
    read = otio.adapters.read_from_file(str(path))
    assert isinstance(read, otio.schema.Timeline)
    return read


def video_tracks(timeline: otio.schema.Timeline) -> list[otio.schema.Track]:
    return [t for t in timeline.tracks if t.kind == VIDEO]


# --- version mode -------------------------------------------------------------------------------


def test_version_track_with_handles_and_variations(media: dict[str, Path], tmp_path: Path) -> None:
    timeline = build_timeline(media)
    before = serialised(timeline)
    shot = make_shot("snow", [segment_for(timeline, 0, 0)], head=4, tail=4, n=2)
    results = [fake_result(shot, tmp_path, 0), fake_result(shot, tmp_path, 1)]

    out = relink_timeline(timeline, results)

    assert serialised(timeline) == before, "the input timeline was modified"
    assert [t.name for t in out.tracks] == ["V1", "ALEPH v001a", "ALEPH v001b", "A1"]
    original = timeline.tracks[0][0]
    for variant, name in enumerate(["ALEPH v001a", "ALEPH v001b"]):
        track = track_named(out, name)
        clips = list(track.find_clips())
        assert len(clips) == 1
        clip = clips[0]
        assert clip.source_range == original.source_range
        assert clip.range_in_parent() == original.range_in_parent()
        avail = clip.media_reference.available_range
        # Handles: in the media, not in the record range.
        assert avail.start_time.value == 86410 - 4 and avail.duration.value == 56
        assert clip.media_reference.target_url == results[variant].path
        prov = clip.metadata["aleph_otio"]
        assert prov["task_uuid"] == f"task-{shot.id}" and prov["variant"] == variant
        assert prov["prompt"] == "snow" and prov["seed"] == 42 + variant
        assert prov["cost"] == 0.56 and prov["shot_id"] == shot.id
        assert prov["created"] == "2026-11-25T12:00:00Z"
        assert track.duration() == timeline.tracks[0].duration()
    # The original track is untouched.
    assert serialised(out.tracks[0]) == serialised(timeline.tracks[0])

    for suffix in ("otio", "xml"):
        read = round_trip(out, tmp_path / f"out.{suffix}")
        tracks = video_tracks(read)
        assert [t.name for t in tracks[1:]] == ["ALEPH v001a", "ALEPH v001b"], suffix
        source = shown(tracks[0])
        for variant, track in enumerate(tracks[1:]):
            version = shown(track)
            assert sorted(version) == list(range(48)), suffix
            assert all(version[f] == source[f] for f in version), suffix
            clip = track.find_clips()[0]
            assert clip.source_range == original.source_range
            assert url_path(clip.media_reference.target_url) == results[variant].path


def test_shot_across_a_cut_is_split_at_the_cut(media: dict[str, Path], tmp_path: Path) -> None:
    timeline = build_timeline(media)
    # Last 16 frames of B, then all of C (2x speed): one Aleph task across the cut.
    segments = [segment_for(timeline, 0, 2, offset=20), segment_for(timeline, 0, 3)]
    shot = make_shot("rain", segments, head=2, tail=3)
    result = fake_result(shot, tmp_path)

    out = relink_timeline(timeline, [result])

    track = track_named(out, "ALEPH v001")
    clips = list(track.find_clips())
    assert [c.name for c in clips] == ["B ALEPH v001", "C ALEPH v001"]
    # Record ranges: exactly the original parts, split at the B|C cut.
    assert [c.range_in_parent() for c in clips] == [
        TR(RT(80, 24), RT(16, 24)),
        TR(RT(96, 24), RT(20, 24)),
    ]
    # Each piece keeps its original clip's source range, its reference shifted so that this
    # range addresses the part of the result made from that clip.
    assert clips[0].source_range == TR(RT(172825, 24), RT(16, 24))
    assert clips[1].source_range == timeline.tracks[0][3].source_range
    avail = [c.media_reference.available_range for c in clips]
    assert avail[0] == TR(RT(172825 - 2, 24), RT(2 + 16 + 40 + 3, 24))
    assert avail[1] == TR(RT(86460 - 2 - 16, 24), RT(2 + 16 + 40 + 3, 24))
    assert {c.media_reference.target_url for c in clips} == {result.path}
    assert [fx.time_scalar for fx in clips[1].effects] == [2.0]
    assert not clips[0].effects
    assert [c.metadata["aleph_otio"]["piece"] for c in clips] == [0, 1]

    for suffix in ("otio", "xml"):
        read = round_trip(out, tmp_path / f"cut.{suffix}")
        tracks = video_tracks(read)
        source, version = shown(tracks[0]), shown(tracks[1])
        assert sorted(version) == list(range(80, 116)), suffix
        if suffix == "otio":
            # FCP 7 XML does not carry the 2x speed effect through its reader; OTIO does.
            assert all(version[f] == source[f] for f in version)
            assert [c.source_range for c in tracks[1].find_clips()] == [
                c.source_range for c in clips
            ]
        else:
            assert all(version[f] == source[f] for f in range(80, 96))
            # One time code per file in FCP 7 XML: piece 1 is read back in the file's (B's)
            # time code, still on the same frames of the result.
            piece = tracks[1].find_clips()[1]
            start = piece.source_range.start_time - piece.media_reference.available_range.start_time
            assert start.value == 2 + 16


def test_next_free_version_goes_on_top(media: dict[str, Path], tmp_path: Path) -> None:
    timeline = build_timeline(media)
    first = make_shot("snow", [segment_for(timeline, 0, 0)])
    once = relink_timeline(timeline, [fake_result(first, tmp_path)])
    second = make_shot("fog", [segment_for(timeline, 0, 2)])

    twice = relink_timeline(once, [fake_result(second, tmp_path)])

    assert [t.name for t in twice.tracks] == ["V1", "ALEPH v001", "ALEPH v002", "A1"]
    assert serialised(twice.tracks[1]) == serialised(once.tracks[1])
    clip = twice.tracks[2].find_clips()[0]
    assert clip.range_in_parent() == timeline.tracks[0][2].range_in_parent()
    assert clip.metadata["aleph_otio"]["version"] == "v002"


def test_overlapping_shots_get_separate_versions(media: dict[str, Path], tmp_path: Path) -> None:
    timeline = build_timeline(media)
    whole = make_shot("snow", [segment_for(timeline, 0, 0)])
    part = make_shot("fire", [segment_for(timeline, 0, 0, offset=10, length=24)])
    later = make_shot("fog", [segment_for(timeline, 0, 2)])
    results = [fake_result(s, tmp_path) for s in (whole, part, later)]

    out = relink_timeline(timeline, results)

    assert [t.name for t in out.tracks] == ["V1", "ALEPH v001", "ALEPH v002", "A1"]
    assert [c.name for c in out.tracks[1].find_clips()] == ["A ALEPH v001", "B ALEPH v001"]
    partial = out.tracks[2].find_clips()[0]
    assert partial.range_in_parent() == TR(RT(10, 24), RT(24, 24))
    assert partial.source_range == TR(RT(86420, 24), RT(24, 24))
    source = shown(out.tracks[0])
    for track in out.tracks[1:3]:
        version = shown(track)
        assert all(version[f] == source[f] for f in version)


def test_uri_style_and_relative_inputs(media: dict[str, Path], tmp_path: Path) -> None:
    timeline = build_timeline(media)
    shot = make_shot("snow", [segment_for(timeline, 0, 0)])
    result = fake_result(shot, tmp_path)
    out = relink_timeline(timeline, [result], url_style="uri")
    url = out.tracks[1].find_clips()[0].media_reference.target_url
    assert url == Path(result.path).as_uri()
    read = round_trip(out, tmp_path / "uri.xml")
    assert shown(video_tracks(read)[1]) == {
        f: v for f, v in shown(read.tracks[0]).items() if f < 48
    }


# --- reference and replace modes ----------------------------------------------------------------


def test_reference_mode_adds_active_alternate(media: dict[str, Path], tmp_path: Path) -> None:
    timeline = build_timeline(media)
    before = serialised(timeline)
    shot_a = make_shot("snow", [segment_for(timeline, 0, 0)], head=4, tail=4, n=2)
    across = make_shot("rain", [segment_for(timeline, 0, 2), segment_for(timeline, 0, 3)], head=2)
    results = [
        fake_result(shot_a, tmp_path, 0),
        fake_result(shot_a, tmp_path, 1),
        fake_result(across, tmp_path),
    ]

    out = relink_timeline(timeline, results, mode="reference")

    assert serialised(timeline) == before
    assert [t.name for t in out.tracks] == ["V1", "A1"]
    clip_a = out.tracks[0][0]
    refs = clip_a.media_references()
    assert set(refs) == {"DEFAULT_MEDIA", "aleph_v001a", "aleph_v001b"}
    assert clip_a.active_media_reference_key == "aleph_v001a"
    assert serialised(refs["DEFAULT_MEDIA"]) == serialised(timeline.tracks[0][0].media_reference)
    assert clip_a.source_range == timeline.tracks[0][0].source_range
    assert clip_a.metadata["aleph_otio"]["active"] == "aleph_v001a"
    assert set(clip_a.metadata["aleph_otio"]["versions"]) == {"aleph_v001a", "aleph_v001b"}
    assert out.tracks[0][2].active_media_reference_key == "aleph_v001"

    original = shown(timeline.tracks[0])
    read = round_trip(out, tmp_path / "ref.otio")
    assert read.tracks[0][0].active_media_reference_key == "aleph_v001a"
    assert set(read.tracks[0][0].media_references()) == set(refs)
    assert shown(read.tracks[0]) == original
    # FCP 7 XML keeps only the active reference: the result.
    xml = round_trip(out, tmp_path / "ref.xml")
    assert url_path(xml.tracks[0][0].media_reference.target_url) == results[0].path
    assert url_path(xml.tracks[0][0].media_reference.target_url) != str(media["a"])
    assert {f: v for f, v in shown(xml.tracks[0]).items() if f < 60} == {
        f: v for f, v in original.items() if f < 60
    }

    # A second relink adds the next version beside the first.
    again = relink_timeline(out, [fake_result(shot_a, tmp_path, 0)], mode="reference")
    assert again.tracks[0][0].active_media_reference_key == "aleph_v002a"
    assert "aleph_v001b" in again.tracks[0][0].media_references()


def test_replace_mode_swaps_reference_and_keeps_original(
    media: dict[str, Path], tmp_path: Path
) -> None:
    timeline = build_timeline(media)
    shot = make_shot("snow", [segment_for(timeline, 0, 0)], head=4, tail=4)
    result = fake_result(shot, tmp_path)

    out = relink_timeline(timeline, [result], mode="replace")

    clip = out.tracks[0][0]
    assert clip.media_reference.target_url == result.path
    assert list(clip.media_references()) == ["DEFAULT_MEDIA"]
    restored = original_media_reference(clip)
    assert restored is not None
    assert serialised(restored) == serialised(timeline.tracks[0][0].media_reference)
    assert serialised(out.tracks[0][2]) == serialised(timeline.tracks[0][2])
    for suffix in ("otio", "xml"):
        read = round_trip(out, tmp_path / f"replace.{suffix}")
        assert url_path(read.tracks[0][0].media_reference.target_url) == result.path
        # (FCP 7 XML drops C's speed effect, relinked or not: compare up to C.)
        limit = 116 if suffix == "otio" else 96
        original = {f: v for f, v in shown(timeline.tracks[0]).items() if f < limit}
        assert {f: v for f, v in shown(read.tracks[0]).items() if f < limit} == original
    read = round_trip(out, tmp_path / "replace2.otio")
    again = original_media_reference(read.tracks[0][0])
    assert again is not None and again.target_url == str(media["a"])


# --- refusals -----------------------------------------------------------------------------------


def test_clip_name_mismatch_names_the_clip(media: dict[str, Path], tmp_path: Path) -> None:
    timeline = build_timeline(media)
    shot = make_shot("snow", [segment_for(timeline, 0, 0)])
    result = fake_result(shot, tmp_path)
    edited = timeline.deepcopy()
    edited.tracks[0][0].name = "A_retake"
    with pytest.raises(RelinkError, match="'A_retake', not clip 'A'"):
        relink_timeline(edited, [result])
    moved = timeline.deepcopy()
    del moved.tracks[0][0]
    with pytest.raises(RelinkError, match="sh snow.*track 'V1'"):
        relink_timeline(moved, [result])


def test_short_result_and_duplicates_are_refused(media: dict[str, Path], tmp_path: Path) -> None:
    timeline = build_timeline(media)
    shot = make_shot("snow", [segment_for(timeline, 0, 0)], head=4, tail=4)
    result = fake_result(shot, tmp_path)
    short = RelinkResult(**{**result.__dict__, "frame_count": 50})
    with pytest.raises(RelinkError, match="has 50 frames, the shot needs 56"):
        relink_timeline(timeline, [short])
    with pytest.raises(RelinkError, match="given twice"):
        relink_timeline(timeline, [result, result])
    wrong_rate = RelinkResult(**{**result.__dict__, "rate": 25.0})
    with pytest.raises(RelinkError, match="25 fps"):
        relink_timeline(timeline, [wrong_rate])


def test_reference_mode_refuses_two_shots_on_one_clip(
    media: dict[str, Path], tmp_path: Path
) -> None:
    timeline = build_timeline(media)
    first = make_shot("part1", [segment_for(timeline, 0, 0, 0, 24)])
    second = make_shot("part2", [segment_for(timeline, 0, 0, 24, 24)])
    results = [fake_result(first, tmp_path), fake_result(second, tmp_path)]
    with pytest.raises(RelinkError, match="clip 'A' is covered by 2 shots"):
        relink_timeline(timeline, results, mode="replace")
    # Version mode handles consecutive parts of one long shot side by side.
    out = relink_timeline(timeline, results)
    assert [t.name for t in out.tracks] == ["V1", "ALEPH v001", "A1"]
    assert shown(out.tracks[1]) == {f: v for f, v in shown(timeline.tracks[0]).items() if f < 48}


# --- the ledger-driven media linker -------------------------------------------------------------


def _ledger_with_result(path: Path, shot: Shot, result: RelinkResult) -> None:
    with Ledger(path) as ledger:
        ledger.add_shots([shot], "cut.otio")
        ledger.record_prepared(shot.id, "/c.mp4", "aa")
        ledger.record_uploaded(shot.id, "m")
        task = ledger.mark_submitting(shot.id)
        ledger.mark_submitted(shot.id)
        ledger.record_result(task, 0, status="success", video_uuid="v", seed=1, cost=0.5)
        ledger.record_download(task, 0, result.path, "ff")
        ledger.mark_verified(task, 0, frame_count=result.frame_count, rate=24.0)


def test_media_linker_relinks_from_the_ledger(media: dict[str, Path], tmp_path: Path) -> None:
    timeline = build_timeline(media)
    shot = make_shot("snow", [segment_for(timeline, 0, 0)], head=4, tail=4)
    result = fake_result(shot, tmp_path)
    ledger_path = tmp_path / "ledger.sqlite"
    _ledger_with_result(ledger_path, shot, result)
    cut = tmp_path / "cut.otio"
    otio.adapters.write_to_file(timeline, str(cut))

    # Loaded the way OTIO loads plugins: from the file, without a package.
    linker = otio.media_linker.MediaLinker(
        name="aleph_linker", filepath=str(REPO / "adapters" / "aleph_linker.py")
    )
    read = otio.adapters.read_from_file(str(cut))
    linked = [
        linker.link_media_reference(clip, {"ledger": str(ledger_path)})
        for clip in read.tracks[0].find_clips()
    ]
    assert [r.target_url if r else None for r in linked] == [result.path, None, None]
    read.tracks[0][0].media_reference = linked[0]
    assert shown(read.tracks[0]) == shown(timeline.tracks[0])
    with pytest.raises(Exception, match="no job ledger given"):
        linker.link_media_reference(read.tracks[0][0], {})


def test_reference_for_clip_finds_version_clips(media: dict[str, Path], tmp_path: Path) -> None:
    timeline = build_timeline(media)
    shot = make_shot("rain", [segment_for(timeline, 0, 2), segment_for(timeline, 0, 3)], head=2)
    result = fake_result(shot, tmp_path)
    out = relink_timeline(timeline, [result])
    moved = RelinkResult(**{**result.__dict__, "path": str(tmp_path / "moved.mp4")})
    for clip in out.tracks[1].find_clips():
        new = reference_for_clip(clip, [moved])
        assert new is not None and new.target_url == moved.path
        assert new.available_range == clip.media_reference.available_range
    # Original clips of the shot are matched by their source.
    originals = [reference_for_clip(c, [moved]) for c in timeline.tracks[0].find_clips()]
    assert [r is not None for r in originals] == [False, True, True]


def _load_shim() -> Any:
    spec = importlib.util.spec_from_file_location("aleph_linker", REPO / "adapters/aleph_linker.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_linker_shim_refuses_missing_ledger(tmp_path: Path) -> None:
    shim = _load_shim()
    clip = otio.schema.Clip(name="x")
    with pytest.raises(Exception, match="no such job ledger"):
        shim.link_media_reference(clip, {"ledger": str(tmp_path / "nope.sqlite")})


# --- with the real planner ----------------------------------------------------------------------


def test_planned_shots_relink_frame_accurately(media: dict[str, Path], tmp_path: Path) -> None:
    plan_mod = pytest.importorskip("aleph_otio.plan")
    timeline_mod = pytest.importorskip("aleph_otio.timeline")
    from aleph_otio.config import PlanSettings

    timeline = build_timeline(media)
    v1 = timeline.tracks[0]
    # A whole-clip request on A, and a track request across the B|C cut (C at 2x speed).
    v1[0].markers.append(
        otio.schema.Marker(name="aleph: make it snow", marked_range=TR(RT(86410, 24), RT(0, 24)))
    )
    v1.markers.append(
        otio.schema.Marker(name="aleph: make it rain", marked_range=TR(RT(84, 24), RT(24, 24)))
    )
    cut = tmp_path / "cut.otio"
    otio.adapters.write_to_file(timeline, str(cut))
    loaded = timeline_mod.read_timeline(cut)
    plan = plan_mod.plan_timeline(loaded, PlanSettings(handles=3, number_results=2))
    assert plan.errors == []
    assert sorted(len(s.segments) for s in plan.shots) == [1, 2]
    results = [fake_result(shot, tmp_path, v) for shot in plan.shots for v in (0, 1)]

    out = relink_timeline(loaded.timeline, results)

    assert [t.name for t in out.tracks] == ["V1", "ALEPH v001a", "ALEPH v001b", "A1"]
    source = shown(loaded.timeline.tracks[0])
    for track in out.tracks[1:3]:
        version = shown(track)
        assert sorted(version) == list(range(48)) + list(range(84, 108))
        assert all(version[f] == source[f] for f in version)
    read = round_trip(out, tmp_path / "planned.otio")
    for track in video_tracks(read)[1:]:
        assert all(v == source[f] for f, v in shown(track).items())
    a_version = out.tracks[1][0]
    assert a_version.source_range == loaded.timeline.tracks[0][0].source_range
