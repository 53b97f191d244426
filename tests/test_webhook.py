"""Webhooks: a local receiver over real sockets, the client polling a task as its webhook arrives,
the fallback to polling when none does, and ``aleph-otio run --webhook-listen`` end to end."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from aleph_otio.api import AlephClient, validate_task
from aleph_otio.api.webhook import (
    MAX_BODY,
    WEBHOOK_PATH,
    WebhookReceiver,
    parse_listen,
    task_uuids_in,
)
from aleph_otio.config import APISettings
from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.errors import ConfigError
from aleph_otio.sample import make_sample_project
from aleph_otio.synth import make_video

KEY = "rw-test-key-webhooks-0c5d"


def new_uuid() -> str:
    return str(uuid.uuid4())


async def post(url: str, content: bytes, **headers: str) -> int:
    async with httpx.AsyncClient() as http:
        response = await http.post(url, content=content, headers=headers)
        return response.status_code


def test_task_uuids_are_read_from_every_body_shape() -> None:
    a, b = new_uuid(), new_uuid()
    assert task_uuids_in({"data": [{"taskUUID": a}], "errors": [{"taskUUID": b}]}) == [a, b]
    assert task_uuids_in({"errors": [{"taskUUID": a, "code": "timeoutProvider"}]}) == [a]
    assert task_uuids_in({"data": {"taskUUID": a}}) == [a]
    assert task_uuids_in({"taskUUID": a.upper(), "status": "success"}) == [a]
    assert task_uuids_in([{"taskUUID": a}, {"taskUUID": "not-a-uuid"}, "x", None]) == [a]
    assert task_uuids_in("nonsense") == [] and task_uuids_in({"data": None}) == []


def test_listen_address_is_read_or_refused_in_one_line() -> None:
    assert parse_listen("8787") == ("127.0.0.1", 8787)
    assert parse_listen("0.0.0.0:0") == ("0.0.0.0", 0)
    assert parse_listen("[::1]:9000") == ("::1", 9000)
    for bad in ("", "host:", "host:http", "70000", "-1"):
        with pytest.raises(ConfigError, match="--webhook-listen"):
            parse_listen(bad)


def test_receiver_takes_what_runware_posts_and_refuses_the_rest() -> None:
    first, second, third = new_uuid(), new_uuid(), new_uuid()

    async def go() -> tuple[list[int], set[str], set[str], WebhookReceiver]:
        async with WebhookReceiver() as hook:
            url = hook.url
            envelope = {"data": [{"taskType": "videoInference", "taskUUID": first}]}
            statuses = [
                await post(url, json.dumps(envelope).encode()),
                # a bare result item (what some webhook senders post)
                await post(url, json.dumps({"taskUUID": second, "status": "success"}).encode()),
                # a list naming the same task twice (Runware may deliver more than once)
                await post(url, json.dumps([{"taskUUID": third}] * 2).encode()),
                await post(url.replace(WEBHOOK_PATH, "/elsewhere"), b"{}"),
                await post(url, b"not json"),
                await post(url, b"x" * (MAX_BODY + 1)),
            ]
            async with httpx.AsyncClient() as http:
                statuses.append((await http.get(url)).status_code)

                async def chunks() -> Any:
                    yield b'{"data": [{"taskUUID": '
                    yield json.dumps(first).encode() + b"}]}"

                statuses.append((await http.post(url, content=chunks())).status_code)
            taken = hook.take([first, second, third, new_uuid()])
            again = hook.take([first, second, third])
            return statuses, taken, again, hook

    statuses, taken, again, hook = asyncio.run(go())
    assert statuses == [200, 200, 200, 404, 400, 413, 405, 200]
    assert taken == {first, second, third}
    assert again == set(), "a webhook is taken once"
    assert (hook.delivered, hook.refused) == (4, 4)


def test_wait_for_wakes_on_a_pending_task_only() -> None:
    mine, other = new_uuid(), new_uuid()

    async def go() -> tuple[bool, float, bool, float]:
        async with WebhookReceiver() as hook:
            loop = asyncio.get_running_loop()
            body = json.dumps({"data": [{"taskUUID": other}]}).encode()
            began = loop.time()
            # A webhook for a task nobody waits for (or a forged one) wakes nothing.
            asyncio.get_running_loop().call_later(
                0.05, lambda: asyncio.ensure_future(post(hook.url, body))
            )
            woke_other = await hook.wait_for([mine], 0.5)
            slept = loop.time() - began
            body = json.dumps({"data": [{"taskUUID": mine.upper()}]}).encode()
            began = loop.time()
            asyncio.get_running_loop().call_later(
                0.05, lambda: asyncio.ensure_future(post(hook.url, body))
            )
            woke_mine = await hook.wait_for([mine], 10.0)
            return woke_other, slept, woke_mine, loop.time() - began

    woke_other, slept, woke_mine, waited = asyncio.run(go())
    assert not woke_other and slept >= 0.45
    assert woke_mine and waited < 5.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("media") / "clip.mp4", frames=48, size=(160, 90))


def _task(video: str, webhook_url: str) -> Any:
    return validate_task(
        {
            "taskType": "videoInference",
            "taskUUID": new_uuid(),
            "model": "runway:aleph@2.0",
            "positivePrompt": "Turn the sky purple; keep everything else as in the source.",
            "inputs": {"video": video},
            "webhookURL": webhook_url,
        }
    )


@pytest.mark.parametrize("arrives", [True, False])
def test_a_result_is_polled_when_its_webhook_arrives(clip: Path, arrives: bool) -> None:
    """Polls 20 s apart: with the webhook the result is in within seconds; without one (sent to
    a port nobody listens on) the regular polls still get it, as they always would."""
    interval = 20.0 if arrives else 0.3
    config = EmulatorConfig(latency=0.4, concurrency=2, api_key=KEY, delivery_retries=0)
    with Emulator(config) as emu:
        settings = APISettings(
            base_url=emu.base_url, poll_interval=interval, poll_max_interval=interval
        )

        async def go() -> tuple[bool, float, int]:
            async with WebhookReceiver() as hook, AlephClient(api_key=KEY, settings=settings) as c:
                c.webhooks = hook
                media = await c.upload_media(clip)
                target = hook.url if arrives else "http://127.0.0.1:9/aleph-otio/webhook"
                task = _task(media.ref, target)
                await c.submit(task)
                began = time.monotonic()
                outcomes = await c.wait([task.task_uuid])
                return outcomes[task.task_uuid].ok, time.monotonic() - began, c.request_count

        ok, waited, requests = asyncio.run(go())
        emu.wait_idle()  # its delivery thread may still be at work
        assert ok
        assert len(emu.webhooks) == 1
    if arrives:
        # upload + submit + a poll at once + the poll the webhook brought forward
        assert waited < 10.0 and requests <= 5
    else:
        assert emu.webhooks[0].attempts and not emu.webhooks[0].ok


def test_run_with_webhook_listen_finishes_long_before_the_next_poll(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path / "project")
    env = {k: v for k, v in os.environ.items() if k != "RUNWARE_API_KEY"}
    cmd = [
        sys.executable, "-m", "aleph_otio", "run", str(project.timeline),
        "-o", str(tmp_path / "out.otio"), "--emulator", "--emulator-latency", "0.5",
        "--poll-interval", "60", "--webhook-listen", "127.0.0.1:0",
    ]  # fmt: skip
    began = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    took = time.monotonic() - began
    assert done.returncode == 0, done.stderr[-2000:]
    assert "webhooks: listening on http://127.0.0.1:" in done.stderr
    assert "webhooks: 3 received" in done.stderr and "no webhook arrived" not in done.stderr
    assert "3/3 shot(s) relinked" in done.stdout
    assert took < 45, f"the run waited for a poll ({took:.0f} s): webhooks did not wake it"


def test_bad_listen_address_is_a_one_line_error(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path / "project")
    cmd = [
        sys.executable, "-m", "aleph_otio", "run", str(project.timeline),
        "-o", str(tmp_path / "out.otio"), "--emulator", "--webhook-listen", "nowhere:port",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "--webhook-listen 'nowhere:port'" in done.stderr
    assert not (tmp_path / "out.otio").exists()


def test_webhook_listen_for_the_real_service_needs_its_public_url(tmp_path: Path) -> None:
    project = make_sample_project(tmp_path / "project")
    env = {**os.environ, "RUNWARE_API_KEY": "rw-not-used-0000"}
    cmd = [
        sys.executable, "-m", "aleph_otio", "run", str(project.timeline),
        "-o", str(tmp_path / "out.otio"), "--webhook-listen", "0.0.0.0:8787",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "also give --webhook-url" in done.stderr
    assert "rw-not-used-0000" not in done.stderr + done.stdout
    assert not (tmp_path / "out.otio").exists() and not (tmp_path / "out.aleph-work").exists()


def test_garbage_and_hang_ups_leave_the_receiver_serving() -> None:
    task = new_uuid()

    async def raw(port: int, data: bytes, *, read: bool) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(data)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 5) if read else b""
        writer.close()
        return answer

    async def go() -> tuple[list[bytes], int, set[str]]:
        async with WebhookReceiver() as hook:
            answers = [
                await raw(hook.port, b"\x00\xff garbage\r\n\r\n", read=True),
                await raw(
                    hook.port, b"POST /aleph-otio/webhook HTTP/1.1\r\nContent-Le", read=False
                ),
                await raw(
                    hook.port,
                    b"POST /aleph-otio/webhook HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + b"f" * 100_000,
                    read=True,
                ),
            ]
            await asyncio.sleep(0.1)
            body = json.dumps({"data": [{"taskUUID": task}]}).encode()
            status = await post(hook.url, body)
            return answers, status, hook.take([task])

    answers, status, taken = asyncio.run(go())
    assert answers[0].startswith(b"HTTP/1.1 404")
    assert answers[2] == b"" or answers[2].startswith(b"HTTP/1.1 4")
    assert status == 200 and taken == {task}


def test_a_run_whose_webhooks_never_arrive_says_so(tmp_path: Path) -> None:
    """Tasks name a URL that does not reach the receiver: polling finishes the run, and the
    user is told the webhook setup does not work."""
    project = make_sample_project(tmp_path / "project")
    env = {k: v for k, v in os.environ.items() if k != "RUNWARE_API_KEY"}
    cmd = [
        sys.executable, "-m", "aleph_otio", "run", str(project.timeline),
        "-o", str(tmp_path / "out.otio"), "--emulator", "--emulator-latency", "0.3",
        "--webhook-listen", "127.0.0.1:0",
        "--webhook-url", "http://127.0.0.1:9/aleph-otio/webhook?token=abc",
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "webhooks: 0 received" in done.stderr
    assert "warning: no webhook arrived at http://127.0.0.1:" in done.stderr
    assert "token=abc" not in done.stderr + done.stdout
