"""Runware's official Python SDK (runware-sdk, REST transport) against the emulator.

Proves the emulator speaks the protocol the way Runware's own client reads it, not only the way
aleph-otio's client does: uploads through mediaStorage, an async videoInference the SDK polls by
itself, the result downloaded and decoded, a validation error naming its field, failed generations
in both shapes the emulator can answer with, and what the SDK makes of ``conflictTaskUUID``.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from runware import Runware, RunwareError

from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.synth import make_still, make_video

KEY = "rw-sdk-test-key-0a9b8c7d6e5f"
MODEL = "runway:aleph@2.0"
FRAMES = 48  # 2 s at 24 fps
SIZE = (160, 90)


def data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def sdk(base_url: str, **config: Any) -> Runware:
    """The official client over REST, pointed at the emulator (no retries unless asked)."""
    config.setdefault("max_retries", 0)
    return Runware(api_key=KEY, transport="rest", http_base_url=base_url, retry_delay=50, **config)


def video_task(video: str, **extra: Any) -> dict[str, Any]:
    return {
        "taskType": "videoInference",
        "model": MODEL,
        "positivePrompt": "Make it dusk; keep the framing.",
        "inputs": {"video": video},
        "outputFormat": "MP4",
        **extra,
    }


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sdk-media")
    return {
        "clip": make_video(root / "clip.mp4", frames=FRAMES, size=SIZE),
        "still": make_still(root / "guide.png", size=SIZE),
    }


@pytest.fixture(scope="module")
def emulator_process() -> Iterator[str]:
    """``aleph-otio emulator`` as a user starts it; yields its task endpoint."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "aleph_otio", "emulator", "--port", "0", "--latency", "0.4"]
        + ["--api-key", KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("RUNWARE_BASE_URL="), (line, proc.stderr and proc.stderr.read())
        yield line.split("=", 1)[1]
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def frames_of(path: Path) -> tuple[int, int, int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        return count, stream.codec_context.width, stream.codec_context.height


def test_official_sdk_runs_the_whole_aleph_flow_against_the_emulator_command(
    emulator_process: str, media: dict[str, Path], tmp_path: Path
) -> None:
    async def go() -> tuple[list[dict[str, Any]], list[dict[str, Any]], RunwareError]:
        async with sdk(emulator_process) as client:
            clip = await client.media_storage(
                {"operation": "upload", "media": data_uri(media["clip"], "video/mp4")}
            )
            still = await client.media_storage(
                {"operation": "upload", "media": data_uri(media["still"], "image/png")}
            )
            frame_images = [{"image": still[0]["mediaUUID"], "frame": "first"}]
            results = await client.run(
                video_task(
                    clip[0]["mediaUUID"],
                    inputs={"video": clip[0]["mediaUUID"], "frameImages": frame_images},
                    numberResults=2,
                    includeCost=True,
                )
            )
            with pytest.raises(RunwareError) as info:
                await client.run(video_task(clip[0]["mediaUUID"], outputQuality=250))
            return clip, results, info.value

    clip, results, invalid = asyncio.run(go())
    assert clip[0]["mediaURL"].startswith(emulator_process)
    # The SDK polled getResponse on its own until both generations were in.
    assert len(results) == 2
    assert len({r["videoUUID"] for r in results}) == 2
    assert all(r["status"] == "success" and r["cost"] > 0 for r in results)
    for index, result in enumerate(results):
        out = tmp_path / f"result-{index}.mp4"
        out.write_bytes(httpx.get(result["videoURL"]).raise_for_status().content)
        assert frames_of(out) == (FRAMES, *SIZE)
    # The server's validation error reaches the SDK's user with the field it concerns.
    assert invalid.code == "validation"
    assert invalid.parameter == "outputQuality"
    assert "outputQuality" in str(invalid)


@pytest.mark.parametrize("shape", ["errors", "data"])
def test_official_sdk_reads_a_failed_generation_in_either_shape(
    shape: str, media: dict[str, Path]
) -> None:
    config = EmulatorConfig(latency=0.3, api_key=KEY, failure_shape=shape)  # type: ignore[arg-type]
    with Emulator(config) as emu:
        emu.faults.safety_rejects = 1

        async def go() -> RunwareError:
            async with sdk(emu.base_url) as client:
                clip = await client.media_storage(
                    {"operation": "upload", "media": data_uri(media["clip"], "video/mp4")}
                )
                with pytest.raises(RunwareError) as info:
                    await client.run(video_task(clip[0]["mediaUUID"]))
                return info.value

        error = asyncio.run(go())
        (job,) = emu.jobs.values()
    assert error.code == "safety"
    assert error.task_uuid == job.task_uuid
    assert "content check" in str(error)


def test_official_sdk_reads_conflict_task_uuid_as_an_error_even_after_its_own_retry(
    media: dict[str, Path],
) -> None:
    """The SDK's REST retry of a task whose answer was lost meets conflictTaskUUID and raises it
    as a validation error, though the server holds (and bills) the task: aleph-otio's client
    counts that conflict as accepted instead (docs/protocol-assumptions.md)."""
    with Emulator(EmulatorConfig(latency=0.3, api_key=KEY)) as emu:
        task_uuid = str(uuid.uuid4())

        async def go() -> RunwareError:
            async with sdk(emu.base_url, max_retries=1) as client:
                clip = await client.media_storage(
                    {"operation": "upload", "media": data_uri(media["clip"], "video/mp4")}
                )
                emu.faults.drop_after_accept = 1
                with pytest.raises(RunwareError) as info:
                    await client.run(video_task(clip[0]["mediaUUID"], taskUUID=task_uuid))
                return info.value

        error = asyncio.run(go())
        sent = [t for t in emu.received if t.get("taskType") == "videoInference"]
        assert list(emu.jobs) == [task_uuid]
    assert [t["taskUUID"] for t in sent] == [task_uuid, task_uuid]
    assert error.code == "validation"
    assert error.task_uuid == task_uuid
