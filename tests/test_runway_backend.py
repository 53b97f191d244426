"""The Runway backend and the Runway emulator, each proven against the official runwayml SDK.

- the emulator's request tables are the SDK's published aleph2 types, field for field;
- the SDK itself drives the emulator (ephemeral upload, create, retrieve, download, errors), and
  every task state it answers validates against the SDK's ``TaskRetrieveResponse``;
- the backend (which uses the SDK's async client) runs shots through the emulator, records the
  seed of every result, and never creates a task twice: a create whose answer is lost is
  "submission uncertain" until the user says to send it again.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
import typing
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pydantic
import pytest
import runwayml
from runwayml.types import (
    task_retrieve_response,
    video_to_video_create_params,
    video_upscale_create_params,
)

from aleph_otio.api.models import VideoInferenceTask
from aleph_otio.api.runway import (
    RunwayBackend,
    RunwayOptions,
    create_arguments,
    refuse_runware_only,
    remote_key,
)
from aleph_otio.config import APISettings
from aleph_otio.emulator import runway_validate as rules
from aleph_otio.emulator.runway import API_VERSION, RunwayEmulator
from aleph_otio.errors import (
    APIError,
    AuthenticationError,
    ConfigError,
    InvalidParameterError,
    LedgerError,
    SubmissionUncertainError,
)
from aleph_otio.ledger import Ledger
from aleph_otio.synth import make_still, make_video

KEY = "runway-test-secret-9f8e7d6c"
FRAMES = 48
SIZE = (160, 90)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runway-media")
    return {
        "clip": make_video(root / "clip.mp4", frames=FRAMES, size=SIZE),
        "still": make_still(root / "guide.png", size=SIZE),
    }


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[RunwayEmulator]:
    with RunwayEmulator(tmp_path / "runway-emu", api_key=KEY, latency=0.4) as server:
        yield server


def frames_of(path: Path) -> tuple[int, int, int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return (
            sum(1 for _ in container.decode(stream)),
            stream.codec_context.width,
            stream.codec_context.height,
        )


# --- the emulator's tables are the SDK's types --------------------------------------------------


def _wire_fields(typed_dict: Any, required: set[str] | None = None) -> dict[str, Any]:
    """Wire name -> annotation of a runwayml TypedDict (aliases from PropertyInfo).

    The wire names of ``Required[...]`` fields are added to ``required``.
    """
    hints = typing.get_type_hints(typed_dict, include_extras=True)
    out = {}
    for name, hint in hints.items():
        is_required = typing.get_origin(hint) is typing.Required
        while typing.get_origin(hint) in (typing.Required, typing.NotRequired):
            hint = typing.get_args(hint)[0]
        alias = name
        for meta in getattr(hint, "__metadata__", ()):
            alias = getattr(meta, "alias", None) or alias
        out[alias] = hint
        if is_required and required is not None:
            required.add(alias)
    return out


def _literals(hint: Any) -> set[Any]:
    found: set[Any] = set()
    for arg in typing.get_args(hint):
        if typing.get_origin(arg) is typing.Literal:
            found |= set(typing.get_args(arg))
        else:
            found |= _literals(arg)
    if typing.get_origin(hint) is typing.Literal:
        found |= set(typing.get_args(hint))
    return found


def test_the_emulators_aleph2_fields_are_the_sdks_published_types() -> None:
    required: set[str] = set()
    fields = _wire_fields(video_to_video_create_params.Variant0, required)
    assert set(fields) == set(rules.REQUIRED) | set(rules.OPTIONAL)
    assert required == set(rules.REQUIRED) == {"model", "videoUri"}
    assert _literals(fields["outputFormat"]) == set(rules.OUTPUT_FORMATS)
    assert _literals(fields["proresProfile"]) == set(rules.PRORES_PROFILES)
    assert _literals(fields["targetAspectRatio"]) == set(rules.TARGET_ASPECT_RATIOS)
    assert _literals(fields["model"]) == {"aleph2"}
    keyframe_keys = set()
    for member in (
        video_to_video_create_params.Variant0KeyframeUnionMember0,
        video_to_video_create_params.Variant0KeyframeUnionMember1,
    ):
        keyframe_keys |= set(_wire_fields(member))
    assert keyframe_keys == {"uri", "seconds", "at", "range"}
    window = _wire_fields(video_to_video_create_params.Variant0KeyframeUnionMember0Range)
    assert set(window) == {"start_seconds", "end_seconds"}  # no alias: snake_case on the wire


def test_the_emulators_upscale_fields_are_the_sdks_published_types() -> None:
    required: set[str] = set()
    fields = _wire_fields(video_upscale_create_params.MagnificVideoUpscalerCreative, required)
    assert set(fields) == set(rules.UPSCALE_REQUIRED) | set(rules.UPSCALE_OPTIONAL)
    assert required == set(rules.UPSCALE_REQUIRED) == {"model", "videoUri"}
    assert _literals(fields["model"]) == {rules.UPSCALE_MODEL}
    assert _literals(fields["resolution"]) == set(rules.UPSCALE_RESOLUTIONS)
    assert set(rules.UPSCALE_LONG_SIDE) == set(rules.UPSCALE_RESOLUTIONS)
    assert _literals(fields["flavor"]) == set(rules.UPSCALE_FLAVORS)
    other = _wire_fields(video_upscale_create_params.EnhanceFrameRate)
    assert _literals(other["model"]) == {rules.FRAME_RATE_MODEL}


# --- the official SDK against the emulator ------------------------------------------------------

TASK_STATE: Any = pydantic.TypeAdapter(task_retrieve_response.TaskRetrieveResponse)


def test_official_sdk_uploads_creates_polls_and_downloads(
    emu: RunwayEmulator, media: dict[str, Path], tmp_path: Path
) -> None:
    async def go() -> tuple[str, list[str], list[dict[str, Any]]]:
        async with runwayml.AsyncRunwayML(api_key=KEY, base_url=emu.base_url) as client:
            clip = await client.uploads.create_ephemeral(file=media["clip"])
            still = await client.uploads.create_ephemeral(file=media["still"])
            created = await client.video_to_video.create(
                model="aleph2",
                video_uri=clip.uri,
                prompt_text="Make it dusk.",
                seed=42,
                keyframes=[{"uri": still.uri, "at": 0.0}],
            )
            states: list[dict[str, Any]] = []
            statuses: list[str] = []
            async with httpx.AsyncClient() as raw:
                for _ in range(100):
                    state = await client.tasks.retrieve(created.id)
                    statuses.append(state.status)
                    answer = await raw.get(
                        f"{emu.base_url}/v1/tasks/{created.id}",
                        headers={"Authorization": f"Bearer {KEY}", "X-Runway-Version": API_VERSION},
                    )
                    states.append(answer.json())
                    if state.status == "SUCCEEDED":
                        assert state.output
                        return state.output[0], statuses, states
                    await asyncio.sleep(0.05)
            raise AssertionError(statuses)

    url, statuses, states = asyncio.run(go())
    # PENDING, then RUNNING, then SUCCEEDED (a loaded machine may poll past the first).
    assert statuses[-1] == "SUCCEEDED" and "RUNNING" in statuses
    assert statuses == sorted(statuses, key=["PENDING", "RUNNING", "SUCCEEDED"].index)
    for state in states:  # every answer is what the SDK's published type says, strictly
        TASK_STATE.validate_python(state)
    out = tmp_path / "result.mp4"
    out.write_bytes(httpx.get(url).raise_for_status().content)
    assert frames_of(out) == (FRAMES, *SIZE)
    (task,) = emu.tasks.values()
    assert task.request.seed == 42 and task.request.keyframes[0].at == 0.0


def test_official_sdk_upscales_a_video_on_the_emulator(
    emu: RunwayEmulator, media: dict[str, Path], tmp_path: Path
) -> None:
    async def go() -> tuple[str, float, list[dict[str, Any]]]:
        async with runwayml.AsyncRunwayML(api_key=KEY, base_url=emu.base_url) as client:
            clip = await client.uploads.create_ephemeral(file=media["clip"])
            with pytest.raises(runwayml.BadRequestError) as bad:
                await client.video_upscale.create(
                    model="magnific_video_upscaler_creative",
                    video_uri=clip.uri,
                    creativity=101,
                )
            assert bad.value.body["issues"][0]["path"] == ["creativity"]  # type: ignore[index]
            created = await client.video_upscale.create(
                model="magnific_video_upscaler_creative", video_uri=clip.uri, resolution="1k"
            )
            states: list[dict[str, Any]] = []
            async with httpx.AsyncClient() as raw:
                for _ in range(200):
                    answer = await raw.get(
                        f"{emu.base_url}/v1/tasks/{created.id}",
                        headers={"Authorization": f"Bearer {KEY}", "X-Runway-Version": API_VERSION},
                    )
                    states.append(answer.json())
                    state = await client.tasks.retrieve(created.id)
                    if state.status == "SUCCEEDED":
                        assert state.output and state.cost is not None
                        return state.output[0], state.cost.credits, states
                    await asyncio.sleep(0.05)
            raise AssertionError(states[-1])

    url, credits, states = asyncio.run(go())
    for state in states:
        TASK_STATE.validate_python(state)
    out = tmp_path / "upscaled.mp4"
    out.write_bytes(httpx.get(url).raise_for_status().content)
    # Every frame, at the long side of "1k" (1920), the aspect ratio of the 160x90 input.
    assert frames_of(out) == (FRAMES, 1920, 1080)
    assert credits == round(2 * FRAMES / 24)  # 2 credits per second upscaled
    (task,) = emu.tasks.values()
    assert task.request.resolution == "1k"  # type: ignore[union-attr]


def test_official_sdk_sees_runways_error_shapes(
    emu: RunwayEmulator, media: dict[str, Path]
) -> None:
    async def go() -> tuple[runwayml.APIStatusError, runwayml.APIStatusError]:
        async with runwayml.AsyncRunwayML(
            api_key=KEY, base_url=emu.base_url, max_retries=0
        ) as client:
            clip = await client.uploads.create_ephemeral(file=media["clip"])
            with pytest.raises(runwayml.BadRequestError) as bad:
                await client.video_to_video.create(
                    model="aleph2",
                    video_uri=clip.uri,
                    output_format="prores",
                    prores_profile="4444 XQ",
                    seed=-1,
                )
        async with runwayml.AsyncRunwayML(api_key="wrong", base_url=emu.base_url) as client:
            with pytest.raises(runwayml.AuthenticationError) as auth:
                await client.tasks.retrieve(str(uuid.uuid4()))
        return bad.value, auth.value

    bad, auth = asyncio.run(go())
    assert bad.status_code == 400
    assert isinstance(bad.body, dict) and bad.body["issues"][0]["path"] == ["seed"]
    assert auth.status_code == 401
    # Without the version header the API refuses the request, naming the header.
    answer = httpx.get(
        f"{emu.base_url}/v1/tasks/{uuid.uuid4()}", headers={"Authorization": f"Bearer {KEY}"}
    )
    assert answer.status_code == 400 and "X-Runway-Version" in answer.json()["error"]
    assert emu.tasks == {}


# --- the backend --------------------------------------------------------------------------------


def plan_task(
    video: str, frame_images: list[Any] | None = None, **extra: Any
) -> VideoInferenceTask:
    inputs: dict[str, Any] = {"video": video}
    if frame_images:
        inputs["frameImages"] = frame_images
    return VideoInferenceTask.model_validate(
        {
            "taskType": "videoInference",
            "taskUUID": str(uuid.uuid4()),
            "model": "runway:aleph@2.0",
            "positivePrompt": "Turn the sky purple.",
            "inputs": inputs,
            **extra,
        }
    )


def backend(emu: RunwayEmulator, **kwargs: Any) -> RunwayBackend:
    settings = APISettings(poll_interval=0.05, poll_max_interval=0.1, deadline_seconds=30)
    return RunwayBackend(api_key=KEY, base_url=emu.base_url, settings=settings, **kwargs)


def test_backend_runs_a_shot_with_two_seeded_results_and_a_guide(
    emu: RunwayEmulator, media: dict[str, Path], tmp_path: Path
) -> None:
    async def go(client: RunwayBackend) -> tuple[VideoInferenceTask, list[Path], list[int]]:
        async with client:
            clip = await client.upload_media(media["clip"])
            again = await client.upload_media(media["clip"])
            assert again == clip  # the same bytes are not uploaded twice
            still = await client.upload_media(media["still"])
            task = plan_task(clip.ref, [{"image": still.ref, "timestamp": 1.0}], numberResults=2)
            await client.submit(task)
            outcome = (await client.wait([task.task_uuid], expected={task.task_uuid: 2}))[
                task.task_uuid
            ]
            assert outcome.ok and len(outcome.successes) == 2
            paths = []
            for index, result in enumerate(outcome.successes):
                assert result.video_url is not None
                paths.append(await client.download(result.video_url, tmp_path / f"r{index}.mp4"))
            return task, paths, [r.seed or 0 for r in outcome.successes]

    client = backend(emu, options=RunwayOptions(seed=1000))
    task, paths, seeds = asyncio.run(go(client))
    assert seeds == [1000, 1001]
    assert [client.remote_tasks[remote_key(task.task_uuid, i)][1] for i in (0, 1)] == seeds
    assert all(frames_of(p) == (FRAMES, *SIZE) for p in paths)
    bodies = [t.body for t in emu.tasks.values()]
    assert sorted(b["seed"] for b in bodies) == [1000, 1001]
    assert all(b["videoUri"].startswith("runway://") for b in bodies)
    assert all(b["keyframes"][0]["seconds"] == 1.0 for b in bodies)
    assert all(b["keyframes"][0]["uri"].startswith("runway://") for b in bodies)
    assert len(emu.creates) == 2


def test_a_create_whose_answer_is_lost_is_uncertain_and_never_sent_again_unasked(
    emu: RunwayEmulator, media: dict[str, Path]
) -> None:
    remote: dict[str, Any] = {}
    uploads: dict[str, tuple[str, str]] = {}

    async def submit(task: VideoInferenceTask | None, **kwargs: Any) -> VideoInferenceTask:
        async with backend(emu, remote_tasks=remote, upload_cache=uploads, **kwargs) as client:
            if task is None:
                clip = await client.upload_media(media["clip"])
                task = plan_task(clip.ref)
                emu.faults.drop_after_create = 1
            await client.submit(task, assume_sent=True)
            return task

    with pytest.raises(SubmissionUncertainError) as info:
        asyncio.run(submit(None))
    message = str(info.value)
    sent = next(iter(remote.values()))[2]
    assert sent in message and "--resubmit-uncertain" in message
    assert len(emu.creates) == len(emu.tasks) == 1  # made on the server, its answer lost
    task_uuid = info.value.task_uuid
    assert task_uuid is not None
    task = VideoInferenceTask.model_validate(
        {**plan_task(next(iter(uploads.values()))[0]).to_api(), "taskUUID": task_uuid}
    )
    # A later run, the same backend: still uncertain, nothing sent.
    with pytest.raises(SubmissionUncertainError):
        asyncio.run(submit(task))
    assert len(emu.creates) == 1
    # Only when the user says so (having checked Runway's task list) is it created again.
    asyncio.run(submit(task, resubmit_uncertain=True))
    assert len(emu.creates) == 2
    assert remote[remote_key(task_uuid, 0)][0] in emu.tasks


def test_a_rate_limited_create_is_retried_and_a_refused_one_is_not_uncertain(
    emu: RunwayEmulator, media: dict[str, Path]
) -> None:
    remote: dict[str, Any] = {}
    refused = plan_task(str(uuid.uuid4()))  # a reference no upload stands for

    async def go() -> None:
        async with backend(emu, remote_tasks=remote, sleep=lambda s: asyncio.sleep(0)) as client:
            clip = await client.upload_media(media["clip"])
            emu.faults.rate_limit = 1
            await client.submit(plan_task(clip.ref))
            with pytest.raises(InvalidParameterError, match="HTTP 400: Invalid videoUri"):
                await client.submit(refused)
            with pytest.raises(ConfigError, match="WEBM is a Runware format"):
                await client.submit(plan_task(clip.ref, outputFormat="WEBM"))

    asyncio.run(go())
    assert len(emu.tasks) == 1
    # The 429 was answered before anything was made; the 400 is a definite "no": neither is
    # left behind as uncertain, so the next run simply sends the shot.
    assert [r[0] for r in remote.values()] == [next(iter(emu.tasks))]
    assert remote_key(refused.task_uuid, 0) not in remote
    assert len(emu.creates) == 2


def test_a_wrong_key_is_an_authentication_error_without_the_key(
    emu: RunwayEmulator, media: dict[str, Path]
) -> None:
    async def go() -> None:
        async with RunwayBackend(api_key="sk-wrong-key-123456", base_url=emu.base_url) as client:
            await client.upload_media(media["clip"])

    with pytest.raises(AuthenticationError) as info:
        asyncio.run(go())
    assert "RUNWAYML_API_SECRET" in str(info.value) and "sk-wrong" not in str(info.value)


@pytest.mark.parametrize(
    ("settings", "option"),
    [
        (APISettings(ttl=3600), "--ttl"),
        (APISettings(webhook_url="https://example.test/hook"), "--webhook-url"),
        (APISettings(upload_endpoint="https://example.test/put"), "--upload-endpoint"),
        (APISettings(safety_mode="fast"), "--safety"),
    ],
)
def test_runware_only_options_are_refused_for_the_runway_backend(
    settings: APISettings, option: str
) -> None:
    with pytest.raises(ConfigError, match=f"{option} is a Runware option.*--backend runware"):
        refuse_runware_only(settings)


def test_plan_options_translate_to_runway_and_refusals_say_what_to_do() -> None:
    video = str(uuid.uuid4())
    stills = [str(uuid.uuid4()) for _ in range(3)]
    task = plan_task(
        video,
        [stills[0], {"image": stills[1], "frame": "last"}, {"image": stills[2], "timestamp": 2.5}],
    )
    args = create_arguments(
        task,
        uris={video: "runway://v", stills[0]: "runway://a"},
        options=RunwayOptions(output_format="prores", prores_profile="422 HQ"),
        seed=7,
    )
    assert args["video_uri"] == "runway://v" and args["seed"] == 7
    assert args["keyframes"] == [
        {"uri": "runway://a", "at": 0.0},
        {"uri": stills[1], "at": 1.0},
        {"uri": stills[2], "seconds": 2.5},
    ]
    assert (args["output_format"], args["prores_profile"]) == ("prores", "422 HQ")
    with pytest.raises(ConfigError, match="--prores-profile needs --output-format prores"):
        RunwayOptions(prores_profile="4444")
    with pytest.raises(ConfigError, match="Runway has no quality setting"):
        create_arguments(
            plan_task(video, outputQuality=80), uris={}, options=RunwayOptions(), seed=1
        )


# --- the ledger: one backend per work folder, and a SIGKILL around the create -------------------

_SUBMITTER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from aleph_otio.api.models import VideoInferenceTask
    from aleph_otio.api.runway import RunwayBackend
    from aleph_otio.errors import AlephOtioError
    from aleph_otio.ledger import Ledger

    work, base_url, clip, task_uuid, resubmit, key = sys.argv[1:7]

    async def main(ledger):
        ledger.bind_backend("runway")
        client = RunwayBackend(
            api_key=key, base_url=base_url, upload_cache=ledger.upload_cache(),
            remote_tasks=ledger.remote_tasks(), resubmit_uncertain=resubmit == "yes",
        )
        async with client:
            media = await client.upload_media(Path(clip))
            print("uploaded", flush=True)
            task = VideoInferenceTask.model_validate({
                "taskType": "videoInference", "taskUUID": task_uuid,
                "model": "runway:aleph@2.0", "positivePrompt": "Make it snow.",
                "inputs": {"video": media.ref},
            })
            await client.submit(task, assume_sent=True)
            print("created", flush=True)

    with Ledger(Path(work) / "ledger.sqlite") as ledger:
        try:
            asyncio.run(main(ledger))
        except AlephOtioError as exc:
            print(f"{type(exc).__name__}: {exc}", flush=True)
            sys.exit(exc.exit_code)
    """
)


def run_submitter(
    work: Path, emu: RunwayEmulator, clip: Path, task_uuid: str, resubmit: bool = False
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _SUBMITTER, str(work), emu.base_url, str(clip), task_uuid]
        + ["yes" if resubmit else "no", KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigkill_during_the_create_never_creates_the_shot_twice(
    emu: RunwayEmulator, media: dict[str, Path], tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    task_uuid = str(uuid.uuid4())
    emu.faults.hold_create = 30.0  # the task is made; its answer has not come back yet
    proc = run_submitter(work, emu, media["clip"], task_uuid)
    deadline = time.monotonic() + 60
    while not emu.tasks and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert len(emu.tasks) == 1, proc.communicate(timeout=5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    emu.faults.hold_create = 0.0
    # The next run finds the marker the killed one committed before sending: uncertain.
    again = run_submitter(work, emu, media["clip"], task_uuid)
    out, _ = again.communicate(timeout=60)
    assert again.returncode == SubmissionUncertainError.exit_code
    assert "SubmissionUncertainError" in out and "--resubmit-uncertain" in out
    assert len(emu.creates) == len(emu.tasks) == 1
    with Ledger(work / "ledger.sqlite") as ledger:
        ((_, (remote_id, _, sent_at)),) = ledger.remote_tasks().items()
        assert remote_id is None and sent_at in out
    # With the flag (the user found no such task), it is sent once more, and recorded.
    forced = run_submitter(work, emu, media["clip"], task_uuid, resubmit=True)
    out, err = forced.communicate(timeout=60)
    assert forced.returncode == 0, (out, err)
    assert len(emu.creates) == 2
    with Ledger(work / "ledger.sqlite") as ledger:
        ((_, (remote_id, _, _)),) = ledger.remote_tasks().items()
        assert remote_id in emu.tasks


def test_a_work_folder_holds_one_backends_tasks(tmp_path: Path) -> None:
    from tests.test_ledger import make_shot, walk_to_submitted

    with Ledger(tmp_path / "old.sqlite") as ledger:
        shot = make_shot()
        ledger.add_shots([shot], "/edit/cut.otio")
        task_uuid = walk_to_submitted(ledger, shot)  # a ledger from before backends: Runware
        assert ledger.task_backend(task_uuid) == "runware"
        with pytest.raises(LedgerError, match="went to the runware backend, not runway"):
            ledger.bind_backend("runway")
        ledger.bind_backend("runware")
    with Ledger(tmp_path / "new.sqlite") as ledger:
        ledger.bind_backend("runway")
        shot = make_shot()
        ledger.add_shots([shot], "/edit/cut.otio")
        task_uuid = walk_to_submitted(ledger, shot)
        ledger.remote_tasks()[remote_key(task_uuid, 0)] = ("t-1", 5, "2026-01-01T00:00:00+00:00")
        assert ledger.task_backend(task_uuid) == "runway"
        with pytest.raises(LedgerError, match="--backend runway to resume"):
            ledger.bind_backend("runware")


# --- the command line: --backend runway rehearses offline ---------------------------------------


def aleph_otio(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aleph_otio", *args], capture_output=True, text=True, timeout=300
    )


def test_run_emulator_backend_runway_rehearses_the_whole_edit_with_seeds(tmp_path: Path) -> None:
    import opentimelineio as otio

    from tests.test_crash_consistency import make_tiny_project, version_clips

    project = make_tiny_project(tmp_path / "proj", shots=2)
    out, work = tmp_path / "out.otio", tmp_path / "work"
    args = [str(project.timeline), "-o", str(out), "--work-dir", str(work), "--emulator"]
    done = aleph_otio(
        "run", *args, "--backend", "runway", "--seed", "31", "--emulator-latency", "0.3"
    )
    assert done.returncode == 0, done.stderr
    timeline = otio.adapters.read_from_file(str(out))
    assert len(version_clips(timeline)) == project.pieces  # one shot spans a cut: 2 pieces
    with Ledger(work / "ledger.sqlite") as ledger:
        entries = list(ledger.remote_tasks().values())
        assert len(entries) == 2 and all(e[0] and e[1] == 31 for e in entries)
        shots = ledger.shots()
        assert {ledger.task_backend(r.task_uuid or "") for r in shots} == {"runway"}
        results = [(r.shot, res) for r in shots for res in ledger.results(r.shot.id)]
        assert [res.seed for _, res in results] == [31, 31]
        # Billed in credits (28 per second of mp4), recorded in USD at 0.01 per credit.
        for shot, res in results:
            assert res.cost == pytest.approx(round(28 * shot.duration_seconds) * 0.01)
    # The same folder refuses the other backend, and says what to do.
    mixed = aleph_otio("run", *args)
    assert mixed.returncode == 1
    assert "went to the runway backend, not runware" in mixed.stderr
    assert "--backend runway to resume" in mixed.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--backend", "runway", "--ttl", "3600"], "--ttl is a Runware option"),
        (["--backend", "runway", "--safety", "fast"], "--safety is a Runware option"),
        (["--seed", "5"], "use --backend runway"),
        (["--prores-profile", "4444"], "--prores-profile is a Runway option"),
        (["--backend", "runway", "--prores-profile", "9999"], "use one of 422, 4444"),
        (["--backend", "runwayml"], "--backend 'runwayml': use runware or runway"),
    ],
)
def test_options_one_backend_lacks_are_refused_in_one_line(
    tmp_path: Path, options: list[str], message: str
) -> None:
    from tests.test_crash_consistency import make_tiny_project

    project = make_tiny_project(tmp_path / "proj", shots=2)
    done = aleph_otio(
        "run", str(project.timeline), "-o", str(tmp_path / "o.otio"), "--emulator", *options
    )
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], done.stderr
    assert "Traceback" not in done.stderr


def test_runway_prices_are_credits_per_second_by_output_format() -> None:
    from aleph_otio.config import resolve_api_settings, runway_price_per_second

    assert runway_price_per_second("mp4") == pytest.approx(0.28)
    assert runway_price_per_second("prores") == pytest.approx(0.33)
    assert runway_price_per_second("sdr_rec709_10bit") == pytest.approx(0.48)
    url = "http://127.0.0.1:9/"
    prores = resolve_api_settings(emulator_url=url, backend="runway", prores_profile="422 HQ")
    assert prores.price_per_second == pytest.approx(0.33)
    # An explicit --price wins.
    own = resolve_api_settings(emulator_url=url, backend="runway", price=0.5)
    assert own.price_per_second == 0.5


def test_an_expired_upload_is_media_not_found_and_uploading_again_recovers(
    emu: RunwayEmulator, media: dict[str, Path]
) -> None:
    """Ephemeral uploads live 24 h: a resumed run's task then names an upload Runway forgot;
    the code is the one on which the pipeline uploads again and resends."""
    remote: dict[str, Any] = {}

    async def go() -> str | None:
        async with backend(emu, remote_tasks=remote) as client:
            clip = await client.upload_media(media["clip"])
            emu.expire_uploads()
            task = plan_task(clip.ref)
            with pytest.raises(APIError) as info:
                await client.submit(task)
            assert info.value.code == "mediaNotFound"
            assert remote_key(task.task_uuid, 0) not in remote  # refused: nothing uncertain
            client.forget_upload(clip)
            fresh = await client.upload_media(media["clip"])
            assert fresh.media_url != clip.media_url
            await client.submit(
                plan_task(fresh.ref).model_copy(update={"task_uuid": task.task_uuid})
            )
            return client.remote(task.task_uuid, 0).remote_id  # type: ignore[union-attr]

    assert asyncio.run(go()) in emu.tasks
    assert len(emu.tasks) == 1
