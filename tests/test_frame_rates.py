"""High frame rates: 50, 59.94 and 60 fps sources go at half rate; faster ones are refused.

Runway states 24-30 fps as Aleph's input (the task reference is silent), so the default
``max_fps`` is 30. Expected frames are worked out by hand: a clip of source frames
``a .. b`` sent at half rate holds ``a, a+2, a+4, ...``.
"""

from __future__ import annotations

import asyncio
from fractions import Fraction
from pathlib import Path

import av
import opentimelineio as otio
import pytest
from edits import write_marked_clip

from aleph_otio.api.client import AlephClient
from aleph_otio.config import APISettings, PlanSettings
from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.ledger import Ledger
from aleph_otio.media import prepare_shot, probe
from aleph_otio.pipeline import RunConfig, plan_file, run_pipeline
from aleph_otio.synth import decode_index, make_video

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
KEY = "test-key-not-secret-rates"


def one_clip(folder: Path, rate: Fraction, frames: int, clip_in: int, clip_frames: int) -> Path:
    """A movie at ``rate`` and a timeline using ``clip_frames`` of it from ``clip_in``, marked."""
    media = make_video(folder / f"A001_{float(rate):g}.mov", frames=frames, rate=rate)
    fps = float(rate)
    ref = otio.schema.ExternalReference(
        target_url=str(media), available_range=TR(RT(0, fps), RT(frames, fps))
    )
    used = TR(RT(clip_in, fps), RT(clip_frames, fps))
    return write_marked_clip(folder / "hfr.otio", ref, used, timeline="hfr")


def decoded(path: str | Path) -> list[int]:
    with av.open(str(path)) as container:
        return [decode_index(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]


@pytest.mark.parametrize(
    ("rate", "sent"),
    [
        (Fraction(60000, 1001), Fraction(30000, 1001)),
        (Fraction(50), Fraction(25)),
        (Fraction(60), Fraction(30)),
    ],
)
def test_a_high_rate_source_is_cut_at_half_rate_every_second_frame(
    tmp_path: Path, rate: Fraction, sent: Fraction
) -> None:
    timeline = one_clip(tmp_path, rate, 300, clip_in=41, clip_frames=151)
    _, plan = plan_file(timeline, PlanSettings(handles=3))
    (shot,) = plan.shots
    assert shot.send_step == 2
    assert any(f"sent at {float(sent):g} fps (every second frame)" in w for w in shot.warnings)
    # Source frames 38-194 (3 handles each side): 157 frames, every second one sent: 79.
    assert (shot.frame_count, shot.sent_frame_count) == (157, 79)
    clip = prepare_shot(shot, tmp_path / "clip.mp4")
    assert (clip.frame_count, clip.rate_fraction) == (79, f"{sent.numerator}/{sent.denominator}")
    assert decoded(clip.path) == list(range(38, 195, 2))
    # Same length in time as the source range, which is what Aleph's 2-30 s limits are about.
    assert probe(clip.path).duration_seconds == pytest.approx(79 / float(sent), abs=1e-3)


def test_rates_within_the_limit_go_as_they_are_and_keep_their_shot_ids(tmp_path: Path) -> None:
    timeline = one_clip(tmp_path, Fraction(30000, 1001), 120, clip_in=0, clip_frames=90)
    _, plan = plan_file(timeline, PlanSettings())
    (shot,) = plan.shots
    assert shot.send_step == 1 and shot.sent_frame_count == shot.frame_count == 90
    _, raised = plan_file(timeline, PlanSettings(max_fps=24))
    # 29.97 is above 24 and half of it is below: half rate, and so another request.
    assert raised.shots[0].send_step == 2 and raised.shots[0].id != shot.id


def test_a_rate_that_does_not_halve_into_range_is_refused_with_the_reason(
    tmp_path: Path,
) -> None:
    timeline = one_clip(tmp_path, Fraction(120), 400, clip_in=0, clip_frames=300)
    _, plan = plan_file(timeline, PlanSettings())
    assert plan.shots == []
    (error,) = plan.errors
    assert "runs at 120 fps" in error and "at most 30 fps" in error and "--max-fps" in error
    _, allowed = plan_file(timeline, PlanSettings(max_fps=60))
    assert allowed.shots[0].send_step == 2


def test_a_half_rate_shot_passes_an_emulator_that_takes_at_most_30_fps(tmp_path: Path) -> None:
    timeline = one_clip(tmp_path, Fraction(60000, 1001), 240, clip_in=20, clip_frames=150)
    config = EmulatorConfig(
        latency=0.2, concurrency=2, storage_dir=tmp_path / "emu", api_key=KEY, max_fps=30
    )
    with Emulator(config) as emu:
        api = APISettings(base_url=emu.base_url, poll_interval=0.05, poll_max_interval=0.2)
        run = RunConfig(
            timeline=timeline,
            output=tmp_path / "out.otio",
            work_dir=tmp_path / "work",
            api_settings=api,
            plan_settings=PlanSettings(),
        )

        async def go():  # type: ignore[no-untyped-def]
            async with AlephClient(api_key=KEY, settings=api) as client:
                return await run_pipeline(run, client)

        summary = asyncio.run(go())
    assert summary.exit_code == 0, [(s.name, s.state, s.reason) for s in summary.shots]
    with Ledger(tmp_path / "work" / "ledger.sqlite") as ledger:
        (shot,) = [record.shot for record in ledger.shots()]
        (result,) = ledger.results(shot.id)
    # Verified against what was sent: 75 frames at 29.97 fps; delivered at 59.94 (150 frames,
    # tests/test_deliver.py proves them frame by frame).
    assert result.verified and result.frame_count == 75 and result.delivered_frames == 150
    assert result.rate == pytest.approx(30000 / 1001)
    assert decoded(result.path)[:3] == [20, 22, 24]
