"""The sample project: real timecoded media, the three kinds of edit request, a guide still."""

from __future__ import annotations

import shutil
from pathlib import Path

import opentimelineio as otio
import pytest

from aleph_otio.batch import default_media_facts
from aleph_otio.config import PlanSettings
from aleph_otio.errors import ConfigError
from aleph_otio.media import probe
from aleph_otio.plan import plan_timeline
from aleph_otio.sample import (
    BOOM_PROMPT,
    GUIDE_TRACK,
    RELIGHT_PROMPT,
    SOURCES,
    SWAP_PROMPT,
    SampleProject,
    code_index,
    make_sample_project,
)
from aleph_otio.shots import Plan
from aleph_otio.synth import decode_index, decode_indices
from aleph_otio.timeline import clip_media_path, read_timeline


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> SampleProject:
    return make_sample_project(tmp_path_factory.mktemp("sample") / "aleph-sample")


def _plan(path: Path, **settings: object) -> Plan:
    return plan_timeline(
        read_timeline(path), PlanSettings(**settings), media_facts=default_media_facts()
    )


def test_media_are_timecoded_320x180_24fps_with_traceable_frames(project: SampleProject) -> None:
    assert [p.name for p in project.media] == [f"{s.name}.mp4" for s in SOURCES]
    timecodes = []
    for number, (src, path) in enumerate(zip(SOURCES, project.media, strict=True)):
        info = probe(path)
        assert (info.width, info.height, info.rate) == (320, 180, 24.0)
        assert info.frame_count == src.frames
        assert 3.0 <= info.frame_count / 24 <= 6.0
        timecodes.append(info.timecode)
        assert info.start_frame == src.start_frame
        indices = decode_indices(path)
        assert indices == [code_index(number, i) for i in range(src.frames)]
    assert timecodes == ["01:00:00:00", "02:00:00:00", "03:00:00:00", "04:00:00:00"]


def test_guide_still_is_a_painted_copy_of_the_swap_shots_first_frame(
    project: SampleProject,
) -> None:
    import av

    (guide,) = project.guides
    assert guide.suffix == ".png"
    with av.open(str(guide)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert frame.shape == (180, 320, 3)
    # Frame 24 of A010C004 (01:00:01:00) is where the swap marker starts.
    assert decode_index(frame) == code_index(0, 24)


def test_timeline_structure(project: SampleProject) -> None:
    loaded = read_timeline(project.timeline)
    timeline = loaded.timeline
    assert project.timeline.name == "sample.otio"
    assert otio.opentime.to_timecode(timeline.global_start_time, 24) == "01:00:00:00"
    v1, guides = timeline.tracks
    assert v1.name == "V1" and guides.name == GUIDE_TRACK
    clips = list(v1.find_clips())
    assert [c.name for c in clips] == [s.name for s in SOURCES]
    # Media paths are relative to the project folder, and resolve to the generated files.
    assert [c.media_reference.target_url for c in clips] == [f"media/{s.name}.mp4" for s in SOURCES]
    assert [clip_media_path(c, loaded.folder) for c in clips] == [str(p) for p in project.media]
    (still,) = guides.find_clips()
    assert still.media_reference.target_url == "guides/A010C004_swap_first.png"
    # The still starts exactly where the swap marker starts in record time.
    (swap,) = clips[0].markers
    swap_record = clips[0].transformed_time(swap.marked_range.start_time, v1)
    assert guides.range_of_child(still).start_time == swap_record


def test_markers_are_the_three_kinds_and_within_alephs_limits(project: SampleProject) -> None:
    timeline = read_timeline(project.timeline).timeline
    v1 = timeline.tracks[0]
    a, b, c, d = v1.find_clips()
    (swap,) = a.markers
    (relight,) = b.markers
    (boom,) = v1.markers
    assert swap.name == f"aleph: {SWAP_PROMPT}" and swap.marked_range.duration.to_seconds() == 3.0
    assert relight.name == f"aleph: {RELIGHT_PROMPT}" and relight.marked_range.duration.value == 0
    assert 2.0 <= b.source_range.duration.to_seconds() <= 30.0
    assert boom.name == f"aleph: {BOOM_PROMPT}"
    cut = v1.range_of_child(c).end_time_exclusive()
    assert boom.marked_range.start_time < cut < boom.marked_range.end_time_exclusive()
    assert boom.marked_range.end_time_exclusive() <= v1.range_of_child(d).end_time_exclusive()


def test_plans_into_three_shots_without_errors(project: SampleProject) -> None:
    plan = _plan(project.timeline)
    assert plan.errors == []
    by_prompt = {s.prompt: s for s in plan.shots}
    assert set(by_prompt) == {SWAP_PROMPT, RELIGHT_PROMPT, BOOM_PROMPT}
    for shot in plan.shots:
        assert 2.0 <= shot.duration_seconds <= 30.0
    swap = by_prompt[SWAP_PROMPT]
    assert (swap.segments[0].media_start_frame, swap.segments[0].media_frame_count) == (24, 72)
    assert [(g.image, g.frame) for g in swap.guides] == [(str(project.guides[0]), "first")]
    relight = by_prompt[RELIGHT_PROMPT]
    (seg,) = relight.segments
    assert (seg.media_start_frame, seg.media_frame_count) == (18, 84)  # the whole clip
    boom = by_prompt[BOOM_PROMPT]
    assert [s.clip_name for s in boom.segments] == ["C030C002", "D040C003"]
    assert [s.source_tc_in for s in boom.segments] == ["03:00:03:00", "04:00:00:12"]


def test_handles_fit_inside_the_media(project: SampleProject) -> None:
    plan = _plan(project.timeline, handles=12)
    assert plan.errors == []
    for shot in plan.shots:
        assert shot.head_frames == 12 and shot.tail_frames == 12


def test_project_folder_can_be_moved(project: SampleProject, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere"
    shutil.copytree(project.folder, moved)
    plan = _plan(moved / "sample.otio")
    assert plan.errors == []
    paths = {s.media_path for shot in plan.shots for s in shot.segments}
    assert paths and all(Path(p).is_relative_to(moved) for p in paths)


def test_fcp7_xml_variant_keeps_the_three_requests(tmp_path: Path) -> None:
    made = make_sample_project(tmp_path / "xml", fmt="xml")
    assert made.timeline.suffix == ".xml"
    plan = _plan(made.timeline)
    assert plan.errors == []
    assert sorted(s.prompt for s in plan.shots) == sorted(
        [SWAP_PROMPT, RELIGHT_PROMPT, BOOM_PROMPT]
    )


def test_unknown_format_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sample format 'mov'"):
        make_sample_project(tmp_path / "x", fmt="mov")
    assert not (tmp_path / "x").exists()
