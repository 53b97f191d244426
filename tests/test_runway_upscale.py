"""``--upscale`` (Runway): each result upscaled by Runway's upscaler, a paid step of its own.

- ``run --emulator --backend runway --upscale 4k`` on a UHD clip: the result comes back at the
  cut's 1080p, is upscaled to 3840x2160 and relinked at the timeline's size, its metadata naming
  the upscale task, its cost and its size;
- a dropped answer to the upscale create, or a run SIGKILLed while it was out, is uncertain:
  the next runs create nothing until ``--resubmit-uncertain``, and a resumed run polls the
  upscale it made rather than paying again;
- a result already at the target size is not sent (nothing paid), and ``--upscale`` without
  ``--backend runway`` is one clear error naming the option.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import av
import opentimelineio as otio
import pytest

from aleph_otio.api.runway import RunwayBackend
from aleph_otio.config import APISettings
from aleph_otio.emulator.runway import RunwayEmulator
from aleph_otio.ledger import Ledger
from aleph_otio.media import timecode_to_frame
from aleph_otio.pipeline import RunConfig, RunSummary, run_pipeline
from aleph_otio.synth import make_video

KEY = "runway-upscale-secret-5a4b3c"
RATE = 24
FRAMES = 48  # 2 s: the shortest shot Aleph takes
PROMPT = "Make it dusk."


def make_project(folder: Path, size: tuple[int, int], timecode: str | None = None) -> Path:
    """One clip of ``size`` with one marker over all of it (its media starting at ``timecode``)."""
    folder.mkdir(parents=True, exist_ok=True)
    media = make_video(folder / "plate.mp4", frames=FRAMES, rate=RATE, size=size, timecode=timecode)
    rt = otio.opentime.RationalTime
    start = 0 if timecode is None else timecode_to_frame(timecode, RATE)
    clip = otio.schema.Clip(
        name="plate",
        media_reference=otio.schema.ExternalReference(
            target_url=str(media),
            available_range=otio.opentime.TimeRange(rt(start, RATE), rt(FRAMES, RATE)),
        ),
        source_range=otio.opentime.TimeRange(rt(start, RATE), rt(FRAMES, RATE)),
    )
    clip.markers.append(
        otio.schema.Marker(
            name=f"aleph: {PROMPT}",
            marked_range=otio.opentime.TimeRange(rt(start, RATE), rt(FRAMES, RATE)),
        )
    )
    timeline = otio.schema.Timeline(name="uhd")
    track = otio.schema.Track(name="V1")
    track.append(clip)
    timeline.tracks.append(track)
    path = folder / "edit.otio"
    otio.adapters.write_to_file(timeline, str(path))
    return path


def probe(path: str | Path) -> tuple[int, int, int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return frames, stream.codec_context.width, stream.codec_context.height


def version_refs(out: Path) -> list[otio.schema.ExternalReference]:
    timeline = otio.adapters.read_from_file(str(out))
    return [
        clip.media_reference
        for track in timeline.video_tracks()
        if track.name.startswith("ALEPH v")
        for clip in track.find_clips()
    ]


def aleph_otio(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aleph_otio", *args], capture_output=True, text=True, timeout=600
    )


def test_run_emulator_backend_runway_upscale_4k_relinks_a_uhd_clip_at_its_size(
    tmp_path: Path,
) -> None:
    timeline = make_project(tmp_path / "proj", (3840, 2160))
    out, work = tmp_path / "out.otio", tmp_path / "work"
    done = aleph_otio(
        "run", str(timeline), "-o", str(out), "--work-dir", str(work), "--emulator",
        "--backend", "runway", "--upscale", "4k", "--emulator-latency", "0.3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (ref,) = version_refs(out)
    # The cut went at 1080p, the result came back at 1080p; the upscale is what is relinked.
    assert ref.target_url.endswith("_up4k.mp4")
    assert probe(ref.target_url) == (FRAMES, 3840, 2160)
    facts = ref.metadata["aleph_otio"]
    assert (facts["width"], facts["height"]) == (3840, 2160)
    with Ledger(work / "ledger.sqlite") as ledger:
        (record,) = ledger.shots()
        (result,) = ledger.results(record.shot.id)
        assert (result.width, result.height) == (1920, 1080)
        (upscale,) = ledger.upscales(record.task_uuid)
        # 2 credits per second upscaled, recorded in USD as billed.
        assert upscale.status == "succeeded" and upscale.cost == pytest.approx(0.04)
        assert upscale.remote_id and upscale.path == ref.target_url
        assert record.state == "relinked"
    timeline_out = otio.adapters.read_from_file(str(out))
    clip = next(
        c
        for t in timeline_out.video_tracks()
        if t.name.startswith("ALEPH v")
        for c in t.find_clips()
    )
    upscale_meta = clip.metadata["aleph_otio"]["upscale"]
    assert upscale_meta["task_id"] == upscale.remote_id
    assert upscale_meta["cost"] == pytest.approx(0.04)
    assert (upscale_meta["width"], upscale_meta["height"]) == (3840, 2160)
    # The summary's cost is both paid steps: 28 credits/s of aleph2 and 2 of upscale.
    assert "$0.60" in done.stdout + done.stderr


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[RunwayEmulator]:
    with RunwayEmulator(tmp_path / "runway-emu", api_key=KEY, latency=0.3) as server:
        yield server


def run(
    timeline: Path, work: Path, emu: RunwayEmulator, upscale: str = "2k", resubmit: bool = False
) -> RunSummary:
    settings = APISettings(
        base_url=emu.base_url,
        backend="runway",
        upscale=upscale,  # type: ignore[arg-type]
        poll_interval=0.05,
        poll_max_interval=0.2,
        resubmit_uncertain=resubmit,
    )
    config = RunConfig(
        timeline=timeline, output=work.parent / "out.otio", work_dir=work, api_settings=settings
    )

    async def go() -> RunSummary:
        async with RunwayBackend(
            api_key=KEY, base_url=emu.base_url, settings=settings, resubmit_uncertain=resubmit
        ) as client:
            return await run_pipeline(config, client)

    return asyncio.run(go())


def upscale_creates(emu: RunwayEmulator) -> int:
    return sum(1 for body in emu.creates if body.get("model") != "aleph2")


def test_a_dropped_upscale_answer_is_uncertain_and_never_paid_twice(
    emu: RunwayEmulator, tmp_path: Path
) -> None:
    timeline = make_project(tmp_path / "proj", (640, 360))
    work = tmp_path / "work"
    emu.faults.create_faults_on = "/v1/video_upscale"
    emu.faults.drop_after_create = 1  # the upscale task is made; its answer is lost
    first = run(timeline, work, emu)
    (shot,) = first.shots
    assert shot.state == "verified" and "--resubmit-uncertain" in (shot.reason or "")
    assert upscale_creates(emu) == 1 and len(emu.tasks) == 2
    assert not (work.parent / "out.otio").exists()  # nothing relinked un-upscaled
    again = run(timeline, work, emu)
    assert again.shots[0].state == "verified" and upscale_creates(emu) == 1
    forced = run(timeline, work, emu, resubmit=True)
    assert forced.shots[0].state == "relinked", forced.shots[0].reason
    assert upscale_creates(emu) == 2
    (ref,) = version_refs(work.parent / "out.otio")
    assert probe(ref.target_url) == (FRAMES, 2560, 1440)
    # Resumed once more: the upscale is done, nothing is created or paid again.
    run(timeline, work, emu)
    assert upscale_creates(emu) == 2 and len(emu.creates) == 3


_RUNNER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from aleph_otio.api.runway import RunwayBackend
    from aleph_otio.config import APISettings
    from aleph_otio.pipeline import RunConfig, run_pipeline

    timeline, work, url, key = sys.argv[1:5]
    settings = APISettings(base_url=url, backend="runway", upscale="2k", poll_interval=0.05,
                           poll_max_interval=0.2)
    config = RunConfig(timeline=Path(timeline), output=Path(work).parent / "out.otio",
                       work_dir=Path(work), api_settings=settings)

    async def main():
        async with RunwayBackend(api_key=key, base_url=url, settings=settings) as client:
            await run_pipeline(config, client)

    asyncio.run(main())
    """
)


def test_sigkill_during_the_upscale_create_never_pays_it_twice(
    emu: RunwayEmulator, tmp_path: Path
) -> None:
    timeline = make_project(tmp_path / "proj", (640, 360))
    work = tmp_path / "work"
    emu.faults.create_faults_on = "/v1/video_upscale"
    emu.faults.hold_create = 60.0  # the upscale task is made; its answer is held back
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUNNER, str(timeline), str(work), emu.base_url, KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while upscale_creates(emu) == 0 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert upscale_creates(emu) == 1, proc.communicate(timeout=5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    emu.faults.hold_create = 0.0
    with Ledger(work / "ledger.sqlite") as ledger:
        (marker,) = ledger.upscale_tasks().values()
        assert marker[0] is None  # committed before the create was sent
    resumed = run(timeline, work, emu)
    assert resumed.shots[0].state == "verified"
    assert "may have made (and billed) it" in (resumed.shots[0].reason or "")
    assert upscale_creates(emu) == 1 and len(emu.creates) == 2


def test_a_result_already_at_the_target_size_is_not_upscaled_or_paid(
    emu: RunwayEmulator, tmp_path: Path
) -> None:
    timeline = make_project(tmp_path / "proj", (1920, 1080))
    work = tmp_path / "work"
    summary = run(timeline, work, emu, upscale="1k")  # 1k is 1920 px: the result's own size
    assert summary.shots[0].state == "relinked"
    assert upscale_creates(emu) == 0
    (ref,) = version_refs(work.parent / "out.otio")
    assert probe(ref.target_url) == (FRAMES, 1920, 1080)
    assert "_up" not in ref.target_url
    with Ledger(work / "ledger.sqlite") as ledger:
        (record,) = ledger.shots()
        (upscale,) = ledger.upscales(record.task_uuid)
        assert upscale.status == "skipped" and "nothing was sent or paid" in (upscale.note or "")


def test_upscale_without_the_runway_backend_is_one_clear_error(tmp_path: Path) -> None:
    timeline = make_project(tmp_path / "proj", (320, 180))
    done = aleph_otio(
        "run", str(timeline), "-o", str(tmp_path / "o.otio"), "--emulator", "--upscale", "4k"
    )
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--upscale 4k is a Runway option" in errors[0], done.stderr
    assert "--backend runway" in errors[0] and "Traceback" not in done.stderr


def test_a_failed_upscale_keeps_the_shot_unrelinked_and_the_next_run_tries_it_again(
    emu: RunwayEmulator, tmp_path: Path
) -> None:
    timeline = make_project(tmp_path / "proj", (640, 360))
    work = tmp_path / "work"
    emu.faults.create_faults_on = "/v1/video_upscale"
    emu.faults.fail_tasks = 1
    first = run(timeline, work, emu, upscale="1k")
    (shot,) = first.shots
    assert shot.state == "verified" and "upscale" in (shot.reason or "")
    assert "not billed" in (shot.reason or "") and shot.cost == pytest.approx(0.56)
    assert not (work.parent / "out.otio").exists()
    again = run(timeline, work, emu, upscale="1k")
    assert again.shots[0].state == "relinked", again.shots[0].reason
    assert upscale_creates(emu) == 2 and len(emu.creates) == 3
    (ref,) = version_refs(work.parent / "out.otio")
    assert probe(ref.target_url) == (FRAMES, 1920, 1080)


def test_the_official_sdk_sees_a_dropped_upscale_answer_after_the_task_was_made(
    emu: RunwayEmulator, tmp_path: Path
) -> None:
    import runwayml

    clip = make_video(tmp_path / "clip.mp4", frames=12, size=(160, 90))
    emu.faults.drop_after_create = 1

    async def go() -> None:
        async with runwayml.AsyncRunwayML(
            api_key=KEY, base_url=emu.base_url, max_retries=0
        ) as client:
            uploaded = await client.uploads.create_ephemeral(file=clip)
            with pytest.raises(runwayml.APIConnectionError):
                await client.video_upscale.create(
                    model="magnific_video_upscaler_creative", video_uri=uploaded.uri
                )

    asyncio.run(go())
    (task,) = emu.tasks.values()  # made, and billed, though the client never heard
    assert task.request.resolution == "2k"  # type: ignore[union-attr]
