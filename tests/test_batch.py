"""The batch manifest: task previews in API names, atomic write, strict read, back to OTIO."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import opentimelineio as otio
import pytest

from aleph_otio.api.models import validate_task
from aleph_otio.batch import (
    BATCH_FORMAT,
    Batch,
    batch_to_timeline,
    clip_file_name,
    default_media_facts,
    guess_source_adapter,
    plan_to_batch,
    read_batch,
    write_batch,
)
from aleph_otio.config import PlanSettings
from aleph_otio.errors import ConfigError, TimelineReadError, TimelineWriteError
from aleph_otio.plan import plan_timeline
from aleph_otio.sample import BOOM_PROMPT, RELIGHT_PROMPT, SWAP_PROMPT, make_sample_project
from aleph_otio.timeline import LoadedTimeline, read_timeline


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project, made once per session (read-only: copy it before changing it)."""
    folder = tmp_path_factory.getbasetemp() / "aleph-sample-shared"
    if not (folder / "sample.otio").is_file():
        make_sample_project(folder)
    return folder


def _batch(sample_dir: Path, **settings: Any) -> Batch:
    plan_settings = PlanSettings(**settings)
    loaded = read_timeline(sample_dir / "sample.otio")
    plan = plan_timeline(loaded, plan_settings, media_facts=default_media_facts())
    return plan_to_batch(plan, plan_settings)


def _by_prompt(batch: Batch) -> dict[str, Any]:
    return {shot.prompt: shot for shot in batch.shots}


def test_task_previews_use_the_api_field_names(sample_dir: Path) -> None:
    batch = _batch(sample_dir, number_results=2, output_format="WEBM", output_quality=80)
    data = json.loads(batch.model_dump_json())
    assert data["format"] == BATCH_FORMAT and data["version"] == 1
    assert data["timeline"] == str(sample_dir / "sample.otio")
    assert data["settings"]["number_results"] == 2
    tasks = {s["prompt"]: s["task"] for s in data["shots"]}
    swap = tasks[SWAP_PROMPT]
    assert swap["taskType"] == "videoInference"
    assert swap["model"] == "runway:aleph@2.0"
    assert swap["positivePrompt"] == SWAP_PROMPT
    assert (swap["numberResults"], swap["outputFormat"], swap["outputQuality"]) == (2, "WEBM", 80)
    shot_id = _by_prompt(batch)[SWAP_PROMPT].id
    assert swap["inputs"]["video"] == f"shot-{shot_id}.mp4"
    guide = str(sample_dir / "guides" / "A010C004_swap_first.png")
    assert swap["inputs"]["frameImages"] == [{"image": guide, "frame": "first"}]
    # No guides: no frameImages key at all (the API refuses an empty list).
    assert "frameImages" not in tasks[RELIGHT_PROMPT]["inputs"]


def test_task_previews_pass_the_api_models_validation(sample_dir: Path) -> None:
    """With the uploads' UUIDs in place of the file names, each preview is a valid task."""
    for shot in _batch(sample_dir, handles=12).shots:
        task = shot.task.model_dump(mode="json")
        task["taskUUID"] = str(uuid.uuid4())
        task["inputs"]["video"] = str(uuid.uuid4())
        for item in task["inputs"].get("frameImages", []):
            item["image"] = str(uuid.uuid4())
        validated = validate_task(task)
        assert validated.positive_prompt == shot.prompt
        assert validated.number_results == shot.options.number_results
        assert len(validated.inputs.frame_images or []) == len(shot.guides)


def test_handles_turn_a_first_frame_guide_into_a_timestamp(sample_dir: Path) -> None:
    swap = _by_prompt(_batch(sample_dir, handles=12))[SWAP_PROMPT]
    (frame,) = swap.task.model_dump(mode="json")["inputs"]["frameImages"]
    assert set(frame) == {"image", "timestamp"}
    assert frame["timestamp"] == 0.5  # 12 frames of head at 24 fps


def test_duration_and_cost(sample_dir: Path) -> None:
    batch = _batch(sample_dir, number_results=2)
    by = _by_prompt(batch)
    assert by[SWAP_PROMPT].seconds == 3.0
    assert by[RELIGHT_PROMPT].seconds == 3.5
    assert by[BOOM_PROMPT].seconds == 3.0
    assert batch.total_seconds == 9.5
    assert by[SWAP_PROMPT].estimated_cost_usd == round(3.0 * 2 * 0.28, 2)
    assert batch.estimated_cost_usd == round(9.5 * 2 * 0.28, 2)


def test_clip_file_name_is_per_shot() -> None:
    class FakeShot:
        id = "0123456789ab"

    assert clip_file_name(FakeShot()) == "shot-0123456789ab.mp4"  # type: ignore[arg-type]


def test_write_then_read_gives_the_same_batch(sample_dir: Path, tmp_path: Path) -> None:
    batch = _batch(sample_dir, handles=6)
    path = write_batch(batch, tmp_path / "cut.aleph.json")
    assert path == tmp_path / "cut.aleph.json"
    assert read_batch(path) == batch
    assert sorted(os.listdir(tmp_path)) == ["cut.aleph.json"]  # no temporary file left


def test_failed_write_leaves_the_previous_file_untouched(sample_dir: Path, tmp_path: Path) -> None:
    batch = _batch(sample_dir)
    target = tmp_path / "cut.aleph.json"
    target.mkdir()  # a folder in the way: the final rename must fail
    with pytest.raises(TimelineWriteError, match="cut.aleph.json"):
        write_batch(batch, target)
    assert target.is_dir() and not any(target.iterdir())
    assert sorted(os.listdir(tmp_path)) == ["cut.aleph.json"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json at all", "invalid JSON at line 1"),
        ('{"OTIO_SCHEMA": "Timeline.1"}', "not an aleph-otio batch manifest"),
        ('[{"format": "aleph-otio.batch"}]', "not an aleph-otio batch manifest"),
        ('{"format": "aleph-otio.batch", "version": 7}', "version 7 is newer"),
        ('{"format": "aleph-otio.batch", "version": 1, "timeline": "x.otio"}', "at created"),
    ],
)
def test_read_refuses_what_is_not_a_batch(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "cut.aleph.json"
    path.write_text(content)
    with pytest.raises(TimelineReadError, match=message) as info:
        read_batch(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_read_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TimelineReadError, match="no such file"):
        read_batch(tmp_path / "nope.aleph.json")


def test_batch_to_timeline_keeps_ranges_media_and_prompts(sample_dir: Path) -> None:
    batch = _batch(sample_dir)
    timeline = batch_to_timeline(batch)
    (track,) = timeline.tracks
    clips = list(track.find_clips())
    assert [c.name for c in clips] == ["A010C004", "B020C001", "C030C002", "D040C003"]
    rt, tr = otio.opentime.RationalTime, otio.opentime.TimeRange
    assert clips[0].source_range == tr(rt(86424, 24), rt(72, 24))  # 01:00:01:00, 3 s
    assert clips[3].source_range == tr(rt(345612, 24), rt(36, 24))
    for clip in clips:
        ref = clip.media_reference
        assert Path(ref.target_url).is_file()
        avail, used = ref.available_range, clip.source_range
        assert avail.start_time <= used.start_time
        assert used.end_time_exclusive() <= avail.end_time_exclusive()
    markers = {m.metadata["aleph"]["prompt"]: m for m in track.markers}
    boom = markers[BOOM_PROMPT]
    assert boom.name == f"aleph: {BOOM_PROMPT}"
    # The boom-mic shot is one marker over both of its clips.
    assert boom.marked_range == tr(track.range_of_child(clips[2]).start_time, rt(72, 24))


def test_replanning_the_batch_timeline_asks_for_the_same_shots(
    sample_dir: Path, tmp_path: Path
) -> None:
    """Reading x.aleph.json back and planning it again gives the same shot ids."""
    batch = _batch(sample_dir)
    path = write_batch(batch, tmp_path / "cut.aleph.json")
    timeline = otio.adapters.read_from_file(str(path))
    assert isinstance(timeline, otio.schema.Timeline)
    loaded = LoadedTimeline(timeline=timeline, path=path, adapter_name="aleph_json")
    again = plan_timeline(loaded, PlanSettings(), media_facts=default_media_facts())
    assert again.errors == []
    assert sorted(s.id for s in again.shots) == sorted(s.id for s in batch.shots)


def test_adapter_writes_a_batch_with_settings_from_keywords(
    sample_dir: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    shutil.copytree(sample_dir, work)
    timeline = read_timeline(work / "sample.otio").timeline
    out = tmp_path / "cut.aleph.json"
    otio.adapters.write_to_file(
        timeline, str(out), handles=6, number_results=3, timeline_path=str(work / "sample.otio")
    )
    batch = read_batch(out)
    assert batch.settings.handles == 6
    assert batch.timeline == str(work / "sample.otio")
    assert {s.options.number_results for s in batch.shots} == {3}
    assert all(s.head_frames == 6 for s in batch.shots)
    with pytest.raises(ConfigError, match="unknown argument.*handels"):
        otio.adapters.write_to_file(timeline, str(tmp_path / "b.aleph.json"), handels=6)
    with pytest.raises(ConfigError, match="number_results"):
        otio.adapters.write_to_file(timeline, str(tmp_path / "b.aleph.json"), number_results=9)


def test_plain_otio_json_saved_as_json_still_reads(tmp_path: Path) -> None:
    timeline = otio.schema.Timeline(name="plain")
    timeline.tracks.append(otio.schema.Track(name="V1"))
    path = tmp_path / "plain.json"
    path.write_text(otio.adapters.write_to_string(timeline))
    back = otio.adapters.read_from_file(str(path))
    assert back.name == "plain" and back.tracks[0].name == "V1"


def test_guess_source_adapter_from_metadata() -> None:
    edl = (
        "TITLE: x\n\n001  A010C004 V     C        01:00:00:00 01:00:03:00 00:00:00:00 00:00:03:00\n"
    )
    from_edl = otio.adapters.read_from_string(edl, adapter_name="cmx_3600", rate=24)
    assert guess_source_adapter(from_edl) == "cmx_3600"
    assert guess_source_adapter(otio.schema.Timeline()) == "otio_json"


def test_adapter_records_and_logs_refused_markers(
    sample_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    timeline = read_timeline(sample_dir / "sample.otio").timeline
    clip_b = list(timeline.tracks[0].find_clips())[1]
    clip_b.media_reference = otio.schema.ExternalReference(target_url="media/gone.mp4")
    out = tmp_path / "cut.aleph.json"
    with caplog.at_level("WARNING", logger="aleph_otio.batch"):
        otio.adapters.write_to_file(timeline, str(out), timeline_path=str(sample_dir / "x.otio"))
    batch = read_batch(out)
    assert len(batch.shots) == 2
    (error,) = batch.errors
    assert "B020C001" in error
    assert any("B020C001" in r.getMessage() for r in caplog.records)
