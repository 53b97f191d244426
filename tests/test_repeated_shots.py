"""The same edit requested twice: once paid, relinked wherever the edit uses it.

Real Avid AAFs do both (see tests/test_adapter_samples.py): a marker attached to two slots comes
back from OTIO's AAF reader as two identical markers on one clip, and a source range cut into the
edit twice carries its source markers at both places.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import opentimelineio as otio
import pytest

from aleph_otio.api.client import AlephClient
from aleph_otio.config import APISettings, PlanSettings
from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.pipeline import RunConfig, run_pipeline
from aleph_otio.plan import plan_timeline
from aleph_otio.synth import make_video
from aleph_otio.timeline import read_timeline, write_timeline

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
KEY = "rw-test-key-repeat-41c7e2d9"


def _edit(folder: Path) -> Path:
    """V1: A (two identical markers), B, A again (the same range, the same request)."""
    media = folder / "media"
    media.mkdir(parents=True)
    a = make_video(media / "A.mp4", frames=120, size=(64, 36))
    b = make_video(media / "B.mp4", frames=120, size=(64, 36), hue=90)

    def clip(name: str, path: Path, markers: int) -> otio.schema.Clip:
        ref = otio.schema.ExternalReference(
            target_url=str(path), available_range=TR(RT(0, 24), RT(120, 24))
        )
        made = otio.schema.Clip(
            name=name, media_reference=ref, source_range=TR(RT(24, 24), RT(48, 24))
        )
        for _ in range(markers):
            made.markers.append(
                otio.schema.Marker(
                    name="aleph: swap the can", marked_range=TR(RT(24, 24), RT(0, 24))
                )
            )
        return made

    track = otio.schema.Track(name="V1")
    track.extend([clip("A", a, 2), clip("B", b, 0), clip("A", a, 1)])
    timeline = otio.schema.Timeline(name="repeat")
    timeline.tracks.append(track)
    return write_timeline(timeline, folder / "repeat.otio")


def test_identical_markers_on_one_clip_plan_one_shot_with_a_warning(tmp_path: Path) -> None:
    plan = plan_timeline(read_timeline(_edit(tmp_path)), PlanSettings())
    assert plan.errors == []
    placements = [(s.id, s.segments[0].clip_index) for s in plan.shots]
    # Clip 0's two markers are one request; clip 2 uses the same media range with the same
    # prompt: the same shot id, planned at its own place.
    assert placements == [(plan.shots[0].id, 0), (plan.shots[0].id, 2)]
    assert any("identical marker" in w for w in plan.shots[0].warnings)


def test_a_repeated_request_is_paid_once_and_relinked_at_every_place(tmp_path: Path) -> None:
    timeline = _edit(tmp_path)
    out = tmp_path / "out.otio"
    with Emulator(
        EmulatorConfig(latency=0.2, concurrency=4, storage_dir=tmp_path / "emu", api_key=KEY)
    ) as emu:
        settings = APISettings(base_url=emu.base_url, poll_interval=0.05, poll_max_interval=0.2)
        config = RunConfig(
            timeline=timeline,
            output=out,
            work_dir=tmp_path / "work",
            api_settings=settings,
            plan_settings=PlanSettings(),
        )

        async def go() -> int:
            async with AlephClient(api_key=KEY, settings=settings) as client:
                return (await run_pipeline(config, client)).exit_code

        assert asyncio.run(go()) == 0
        submitted = Counter(
            t["taskUUID"] for t in emu.received if t.get("taskType") == "videoInference"
        )
        assert len(emu.jobs) == 1, submitted
    relinked = otio.adapters.read_from_file(str(out))
    versions = [t for t in relinked.video_tracks() if t.name.startswith("ALEPH v")]
    assert len(versions) == 1
    placed = [
        (versions[0].range_of_child(c).start_time.value, c.source_range.duration.value)
        for c in versions[0].find_clips()
    ]
    # Both uses of A (record 0 and 96), 48 frames each; B's place stays a gap.
    assert placed == [(0, 48), (96, 48)]


def test_a_repeated_request_is_estimated_once(tmp_path: Path) -> None:
    from aleph_otio.scripting import estimate_shots

    plan = plan_timeline(read_timeline(_edit(tmp_path)), PlanSettings())
    assert len(plan.shots) == 2
    cost = estimate_shots(plan.shots, 0.5)
    assert [s.shot_id for s in cost.shots] == [plan.shots[0].id]
    assert cost.total == pytest.approx(0.5 * plan.shots[0].duration_seconds)


def test_distinct_keeps_the_first_place_of_each_shot_in_plan_order(tmp_path: Path) -> None:
    from aleph_otio.shots import distinct

    a1, a2 = plan_timeline(read_timeline(_edit(tmp_path)), PlanSettings()).shots
    b = a1.model_copy(update={"id": "b" * 12})
    assert distinct([a1, b, a2]) == [a1, b]
    assert distinct([b, a2, a1]) == [b, a2]
