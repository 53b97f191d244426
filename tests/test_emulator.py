"""The emulator over real sockets: raw httpx requests, real media made and read with PyAV."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aleph_otio import synth
from aleph_otio.emulator import Emulator, EmulatorConfig, Faults
from aleph_otio.emulator.media import load_image
from aleph_otio.emulator.state import Job
from aleph_otio.emulator.validate import is_uuid4

KEY = "test-key-123"
AUTH = {"Authorization": f"Bearer {KEY}"}
W, H = 160, 90
FRAMES = 60  # 2.5 s at 24 fps
MODEL = "runway:aleph@2.0"
# One client for the whole module: building a client (its TLS context) costs more than a request.
CLIENT = httpx.Client(timeout=30)


# --- media and helpers ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("emulator-media")
    synth.make_video(root / "clip.mp4", frames=FRAMES, size=(W, H))
    synth.make_video(root / "short.mp4", frames=24, size=(W, H))  # 1 s
    synth.make_video(root / "long.mp4", frames=62, rate=2, size=(W, H))  # 31 s at 2 fps
    synth.make_still(root / "guide.png", size=(320, 180), index=777, hue=5)
    synth.make_still(root / "guide2.png", size=(320, 180), index=555, hue=1)
    return root


def data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode()


def post(emu: Emulator, tasks: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return CLIENT.post(
        emu.base_url, json=tasks, headers=AUTH if headers is None else headers, timeout=30
    )


def upload(emu: Emulator, path: Path, mime: str = "video/mp4") -> str:
    response = post(
        emu,
        [
            {
                "taskType": "mediaStorage",
                "taskUUID": str(uuid.uuid4()),
                "operation": "upload",
                "media": data_uri(path, mime),
            }
        ],
    )
    assert response.status_code == 200, response.text
    return str(response.json()["data"][0]["mediaUUID"])


def video_task(video: str, **extra: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "taskType": "videoInference",
        "taskUUID": str(uuid.uuid4()),
        "model": MODEL,
        "positivePrompt": "Relight the scene to blue hour; keep everything else unchanged.",
        "inputs": {"video": video},
    }
    task.update(extra)
    return task


def poll(emu: Emulator, task_uuid: str, timeout: float = 30) -> dict[str, Any]:
    """getResponse until no generation is processing; returns the last envelope."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = post(emu, [{"taskType": "getResponse", "taskUUID": task_uuid}]).json()
        if all(item["status"] != "processing" for item in body.get("data", [])):
            return dict(body)
        time.sleep(0.05)
    raise AssertionError(f"task {task_uuid} still processing after {timeout} s")


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def video_facts(path: Path) -> tuple[int, Fraction, int, int, str, str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(video=0))
        return (
            count,
            Fraction(stream.average_rate),
            stream.width,
            stream.height,
            container.format.name,
            stream.codec_context.name,
        )


STRIP = synth.code_strip_height(H)


def picture_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference below the code strip."""
    return float(np.abs(a[STRIP:].astype(int) - b[STRIP:].astype(int)).mean())


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorConfig(latency=0.2, concurrency=2)) as server:
        yield server


@pytest.fixture(scope="module")
def shared(media_dir: Path) -> Iterator[tuple[Emulator, str]]:
    """One emulator with the clip uploaded, for the many validation cases."""
    with Emulator(EmulatorConfig(latency=0.1)) as server:
        yield server, upload(server, media_dir / "clip.mp4")


class Receiver:
    """A tiny local HTTP server that records requests and answers from a script of statuses."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses = list(statuses or [])
        self.files: dict[str, bytes] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                    }
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_PUT = _record  # noqa: N815

            def do_GET(self) -> None:  # noqa: N802
                data = receiver.files.get(self.path)
                self.send_response(200 if data is not None else 404)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.close()


# --- auth and envelope ----------------------------------------------------------------------


def test_missing_or_wrong_key_is_401_invalid_api_key(media_dir: Path) -> None:
    with Emulator(EmulatorConfig(api_key="the-right-key", latency=0.1)) as emu:
        ping = [{"taskType": "ping", "ping": True}]
        for headers in ({}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "Basic abc"}):
            response = post(emu, ping, headers=headers)
            assert response.status_code == 401
            error = response.json()["errors"][0]
            assert (error["code"], error["parameter"], error["taskType"]) == (
                "invalidApiKey",
                "apiKey",
                "authentication",
            )
            assert "wrong-key" not in response.text
        assert post(emu, ping, headers={"Authorization": "Bearer the-right-key"}).json() == {
            "data": [{"taskType": "ping", "pong": True}]
        }
        # Leading authentication task instead of the header; the key is never recorded.
        response = post(
            emu, [{"taskType": "authentication", "apiKey": "the-right-key"}, *ping], headers={}
        )
        assert response.status_code == 200
        assert response.json()["data"] == [{"taskType": "ping", "pong": True}]
        assert "the-right-key" not in json.dumps(emu.received)
        bad_auth = [{"taskType": "authentication", "apiKey": "nope"}, *ping]
        assert post(emu, bad_auth, headers={}).status_code == 401


def test_any_key_accepted_by_default_and_body_must_be_an_array(emu: Emulator) -> None:
    assert (
        post(emu, [{"taskType": "ping"}], headers={"Authorization": "Bearer x"}).status_code == 200
    )
    response = post(emu, {"taskType": "ping"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalidRequestBody"
    response = CLIENT.post(emu.base_url, content=b"not json", headers=AUTH)
    assert response.status_code == 400
    response = post(emu, [{"taskType": "imageInference", "taskUUID": str(uuid.uuid4())}])
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "unsupportedTaskType" and "videoInference" in error["allowedValues"]


def test_mixed_array_returns_data_and_errors(shared: tuple[Emulator, str]) -> None:
    emu, video = shared
    bad = video_task(video, seed=42)
    good = video_task(video)
    response = post(emu, [{"taskType": "ping", "ping": True}, bad, good])
    assert response.status_code == 200
    body = response.json()
    assert {"taskType": "ping", "pong": True} in body["data"]
    assert {"taskType": "videoInference", "taskUUID": good["taskUUID"]} in body["data"]
    assert [(e["code"], e["taskUUID"]) for e in body["errors"]] == [
        ("unsupportedParameter", bad["taskUUID"])
    ]
    assert bad["taskUUID"] not in emu.jobs and good["taskUUID"] in emu.jobs


# --- validation -----------------------------------------------------------------------------


def _drop(task: dict[str, Any], key: str) -> None:
    task.pop(key)


VALIDATION_CASES: list[tuple[str, Any, str, str]] = [
    ("wrong model", lambda t: t.update(model="runway:2@1"), "invalidModel", "model"),
    ("no model", lambda t: _drop(t, "model"), "missingParameter", "model"),
    ("no prompt", lambda t: _drop(t, "positivePrompt"), "missingParameter", "positivePrompt"),
    (
        "empty prompt",
        lambda t: t.update(positivePrompt=""),
        "invalidPositivePrompt",
        "positivePrompt",
    ),
    (
        "prompt 1001",
        lambda t: t.update(positivePrompt="x" * 1001),
        "invalidPositivePrompt",
        "positivePrompt",
    ),
    ("no inputs", lambda t: _drop(t, "inputs"), "missingParameter", "inputs.video"),
    ("no video", lambda t: t.update(inputs={}), "missingParameter", "inputs.video"),
    (
        "inline video",
        lambda t: t["inputs"].update(video="data:video/mp4;base64,AAAA"),
        "invalidVideo",
        "inputs.video",
    ),
    (
        "unknown media",
        lambda t: t["inputs"].update(video=str(uuid.uuid4())),
        "mediaNotFound",
        "inputs.video",
    ),
    ("seed", lambda t: t.update(seed=7), "unsupportedParameter", "seed"),
    ("width", lambda t: t.update(width=1280), "unsupportedParameter", "width"),
    (
        "referenceImages",
        lambda t: t["inputs"].update(referenceImages=["x"]),
        "unsupportedParameter",
        "inputs.referenceImages",
    ),
    (
        "safety extra",
        lambda t: t.update(safety={"level": 1}),
        "unsupportedParameter",
        "safety.level",
    ),
    (
        "no frame images",
        lambda t: t["inputs"].update(frameImages=[]),
        "invalidFrameImages",
        "inputs.frameImages",
    ),
    (
        "six frame images",
        lambda t: t["inputs"].update(frameImages=["a"] * 6),
        "invalidFrameImages",
        "inputs.frameImages",
    ),
    (
        "object without image",
        lambda t: t["inputs"].update(frameImages=[{"frame": "first"}]),
        "missingParameter",
        "inputs.frameImages.image",
    ),
    (
        "frame middle",
        lambda t: t["inputs"].update(frameImages=[{"image": "a", "frame": "mid"}]),
        "invalidFrame",
        "inputs.frameImages.frame",
    ),
    (
        "frame 3",
        lambda t: t["inputs"].update(frameImages=[{"image": "a", "frame": 3}]),
        "invalidFrame",
        "inputs.frameImages.frame",
    ),
    (
        "frame and timestamp",
        lambda t: t["inputs"].update(
            frameImages=[{"image": "a", "frame": "first", "timestamp": 1}]
        ),
        "conflictingParameters",
        "inputs.frameImages.frame",
    ),
    (
        "timestamp 31",
        lambda t: t["inputs"].update(frameImages=[{"image": "a", "timestamp": 31}]),
        "invalidTimestamp",
        "inputs.frameImages.timestamp",
    ),
    (
        "timestamp step",
        lambda t: t["inputs"].update(frameImages=[{"image": "a", "timestamp": 1.005}]),
        "invalidTimestamp",
        "inputs.frameImages.timestamp",
    ),
    (
        "timestamp negative",
        lambda t: t["inputs"].update(frameImages=[{"image": "a", "timestamp": -0.5}]),
        "invalidTimestamp",
        "inputs.frameImages.timestamp",
    ),
    (
        "unknown guide",
        lambda t: t["inputs"].update(frameImages=[str(uuid.uuid4())]),
        "mediaNotFound",
        "inputs.frameImages.image",
    ),
    (
        "guide beyond clip",
        lambda t: t["inputs"].update(frameImages=[{"image": "guide", "timestamp": 2.6}]),
        "invalidTimestamp",
        "inputs.frameImages.timestamp",
    ),
    ("quality 19", lambda t: t.update(outputQuality=19), "invalidOutputQuality", "outputQuality"),
    ("quality 100", lambda t: t.update(outputQuality=100), "invalidOutputQuality", "outputQuality"),
    ("format GIF", lambda t: t.update(outputFormat="GIF"), "invalidOutputFormat", "outputFormat"),
    ("results 0", lambda t: t.update(numberResults=0), "invalidNumberResults", "numberResults"),
    ("results 5", lambda t: t.update(numberResults=5), "invalidNumberResults", "numberResults"),
    ("ttl 59", lambda t: t.update(ttl=59), "invalidTtl", "ttl"),
    (
        "safety mode",
        lambda t: t.update(safety={"mode": "strict"}),
        "invalidSafetyMode",
        "safety.mode",
    ),
    (
        "sync delivery",
        lambda t: t.update(deliveryMethod="sync"),
        "invalidDeliveryMethod",
        "deliveryMethod",
    ),
    (
        "base64 output",
        lambda t: t.update(outputType="base64Data"),
        "invalidOutputType",
        "outputType",
    ),
    (
        "webhook not a URI",
        lambda t: t.update(webhookURL="hooks/x"),
        "invalidWebhookURL",
        "webhookURL",
    ),
    ("no taskUUID", lambda t: _drop(t, "taskUUID"), "missingParameter", "taskUUID"),
    ("taskUUID v1", lambda t: t.update(taskUUID=str(uuid.uuid1())), "invalidTaskUUID", "taskUUID"),
]


@pytest.mark.parametrize(
    ("mutate", "code", "parameter"),
    [c[1:] for c in VALIDATION_CASES],
    ids=[c[0] for c in VALIDATION_CASES],
)
def test_validation_errors(
    shared: tuple[Emulator, str], media_dir: Path, mutate: Any, code: str, parameter: str
) -> None:
    emu, video = shared
    task = video_task(video)
    mutate(task)
    for item in task.get("inputs", {}).get("frameImages", []):
        if isinstance(item, dict) and item.get("image") == "guide":
            item["image"] = data_uri(media_dir / "guide.png", "image/png")
    jobs_before = len(emu.jobs)
    response = post(emu, [task])
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert "data" not in response.json()
    assert len(errors) == 1
    error = errors[0]
    assert (error["code"], error["parameter"]) == (code, parameter)
    assert error["taskType"] == "videoInference"
    assert error.get("taskUUID") == task.get("taskUUID")
    assert error["message"] and error["documentation"].startswith("https://runware.ai/docs/")
    assert len(emu.jobs) == jobs_before


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)
FIELDS = st.sampled_from(
    [
        "model",
        "positivePrompt",
        "inputs",
        "outputFormat",
        "outputQuality",
        "safety",
        "ttl",
        "numberResults",
        "frameImages",
        "seed",
    ]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=FIELDS, value=JSON_VALUES)
def test_any_value_gets_a_protocol_answer(
    shared: tuple[Emulator, str], field: str, value: Any
) -> None:
    emu, video = shared
    task = video_task(video, numberResults=1)
    if field == "frameImages":
        task["inputs"]["frameImages"] = value
    else:
        task[field] = value
    response = post(emu, [task])
    assert response.status_code in (200, 400)
    body = response.json()
    for error in body.get("errors", []):
        assert error["code"] and error["message"] and error["taskUUID"] == task["taskUUID"]
    if response.status_code == 200:
        assert body["data"] == [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]


def test_error_objects_carry_type_and_allowed_values(shared: tuple[Emulator, str]) -> None:
    emu, video = shared
    error = post(emu, [video_task(video, outputFormat="AVI")]).json()["errors"][0]
    assert error["allowedValues"] == ["MP4", "WEBM", "MOV"] and error["type"] == "string"
    error = post(emu, [video_task(video, seed=1)]).json()["errors"][0]
    assert {"positivePrompt", "inputs", "numberResults", "ttl"} <= set(error["allowedValues"])
    error = post(
        emu,
        [
            video_task(
                video, inputs={"video": video, "frameImages": [{"image": "x", "frame": "middle"}]}
            )
        ],
    ).json()["errors"][0]
    assert error["allowedValues"] == ["first", "last", 0, -1]


@pytest.mark.parametrize("name", ["short.mp4", "long.mp4"])
def test_input_video_duration_is_probed(
    shared: tuple[Emulator, str], media_dir: Path, name: str
) -> None:
    emu, _ = shared
    video = upload(emu, media_dir / name)
    response = post(emu, [video_task(video)])
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["code"], error["parameter"]) == ("unsupportedDuration", "inputs.video")
    assert error["allowedValues"] == [2.0, 30.0]


def test_resolution_limit_is_configurable(media_dir: Path) -> None:
    with Emulator(EmulatorConfig(latency=0.1, max_height=72)) as emu:
        video = upload(emu, media_dir / "clip.mp4")
        error = post(emu, [video_task(video)]).json()["errors"][0]
        assert (error["code"], error["parameter"]) == ("unsupportedResolution", "inputs.video")
        assert "160x90" in error["message"]


def test_frame_accepts_named_and_index_positions(
    shared: tuple[Emulator, str], media_dir: Path
) -> None:
    emu, video = shared
    image = data_uri(media_dir / "guide.png", "image/png")
    frames = [{"image": image, "frame": f} for f in ("first", "last", 0, -1)]
    frames.append({"image": image, "timestamp": 1.25})
    response = post(emu, [video_task(video, inputs={"video": video, "frameImages": frames})])
    assert response.status_code == 200, response.text


def test_reused_task_uuid_conflicts_and_starts_one_job(shared: tuple[Emulator, str]) -> None:
    emu, video = shared
    task = video_task(video)
    assert post(emu, [task]).status_code == 200
    response = post(emu, [task])
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["code"], error["taskUUID"]) == ("conflictTaskUUID", task["taskUUID"])
    assert sum(1 for k in emu.jobs if k == task["taskUUID"]) == 1
    # The original is still pollable.
    assert poll(emu, task["taskUUID"])["data"][0]["status"] == "success"


def test_unknown_task_uuid_on_get_response(emu: Emulator) -> None:
    unknown = str(uuid.uuid4())
    response = post(emu, [{"taskType": "getResponse", "taskUUID": unknown}])
    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert (error["code"], error["taskUUID"]) == ("taskNotFound", unknown)


# --- the happy path -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "container_name", "codec"),
    [("MP4", "mp4", "h264"), ("WEBM", "webm", "vp9"), ("MOV", "mov", "h264")],
)
def test_upload_submit_poll_download(
    emu: Emulator, media_dir: Path, tmp_path: Path, fmt: str, container_name: str, codec: str
) -> None:
    clip = media_dir / "clip.mp4"
    video = upload(emu, clip)
    task = video_task(
        video, numberResults=2, outputFormat=fmt, includeCost=True, safety={"checkContent": True}
    )
    response = post(emu, [task])
    assert response.status_code == 200
    assert response.json() == {
        "data": [{"taskType": "videoInference", "taskUUID": task["taskUUID"]}]
    }
    body = poll(emu, task["taskUUID"])
    items = body["data"]
    assert len(items) == 2 and "errors" not in body
    assert len({i["videoUUID"] for i in items}) == 2 and len({i["seed"] for i in items}) == 2
    source = frames_of(clip)
    outputs = []
    for item in items:
        assert item["status"] == "success" and item["taskUUID"] == task["taskUUID"]
        assert item["videoUUID"] != task["taskUUID"]
        assert item["cost"] == pytest.approx(0.28 * FRAMES / 24)
        assert item["NSFWContent"] is False
        assert item["videoURL"].endswith(f"{item['videoUUID']}.{fmt.lower()}")
        download = CLIENT.get(item["videoURL"])
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("video/")
        path = tmp_path / item["videoURL"].rsplit("/", 1)[1]
        path.write_bytes(download.content)
        count, rate, width, height, format_name, codec_name = video_facts(path)
        assert (count, rate, width, height) == (FRAMES, Fraction(24), W, H)
        assert container_name in format_name and codec_name == codec
        assert synth.decode_indices(path) == list(range(FRAMES))
        frames = frames_of(path)
        assert picture_diff(frames[30], source[30]) > 10  # visibly edited
        outputs.append(frames)
    assert picture_diff(outputs[0][30], outputs[1][30]) > 10  # variations differ


def test_ntsc_rate_and_odd_size_kept_in_prores_mov(media_dir: Path, tmp_path: Path) -> None:
    rate = Fraction(24000, 1001)
    clip = tmp_path / "ntsc.mov"
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 161, 91, "yuv444p"
        for i in range(50):
            frame = av.VideoFrame.from_ndarray(synth.draw_frame(i + 100, 161, 91), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    with Emulator(EmulatorConfig(latency=0.1, mov_prores=True)) as emu:
        video = upload(emu, clip, "video/quicktime")
        task = video_task(video, outputFormat="MOV")
        assert post(emu, [task]).status_code == 200
        item = poll(emu, task["taskUUID"])["data"][0]
        out = tmp_path / "out.mov"
        out.write_bytes(CLIENT.get(item["videoURL"]).content)
    count, out_rate, width, height, _, codec = video_facts(out)
    assert (count, out_rate, width, height, codec) == (50, rate, 161, 91, "prores")
    assert synth.decode_indices(out) == list(range(100, 150))


def test_results_finish_one_by_one_and_polls_batch(media_dir: Path) -> None:
    with Emulator(EmulatorConfig(latency=1.2, concurrency=1)) as emu:
        video = upload(emu, media_dir / "clip.mp4")
        first, second = video_task(video, numberResults=2), video_task(video)
        assert post(emu, [first, second]).status_code == 200
        batch = [{"taskType": "getResponse", "taskUUID": t["taskUUID"]} for t in (first, second)]
        body = post(emu, batch).json()
        assert [(i["taskUUID"], i["status"]) for i in body["data"]] == [
            (first["taskUUID"], "processing"),
            (first["taskUUID"], "processing"),
            (second["taskUUID"], "processing"),
        ]
        assert emu.jobs[second["taskUUID"]].state == "queued"  # concurrency 1
        deadline = time.monotonic() + 10
        statuses: list[str] = []
        while time.monotonic() < deadline:
            statuses = [i["status"] for i in post(emu, batch[:1]).json()["data"]]
            if "success" in statuses:
                break
            time.sleep(0.05)
        assert statuses == ["success", "processing"]  # partial result, cumulative state
        emu.wait_idle(15)
        body = post(emu, batch).json()
        assert [i["status"] for i in body["data"]] == ["success"] * 3


def test_answers_come_without_a_delayed_ack_wait(emu: Emulator) -> None:
    """Each answer on a kept-alive connection takes milliseconds, not the ~40 ms that Nagle's
    algorithm plus the client's delayed ACK add to a response written in two parts."""
    ping = [{"taskType": "ping", "ping": True}]
    with httpx.Client(timeout=30) as client:
        client.post(emu.base_url, json=ping, headers=AUTH)  # connect once
        times = []
        for _ in range(15):
            began = time.perf_counter()
            assert client.post(emu.base_url, json=ping, headers=AUTH).status_code == 200
            times.append(time.perf_counter() - began)
    assert sorted(times)[len(times) // 2] < 0.02, times


def test_a_burst_of_new_connections_is_accepted(emu: Emulator) -> None:
    """Many clients connecting at once are all answered (no resets from a tiny backlog)."""
    ping = [{"taskType": "ping", "ping": True}]
    failures: list[str] = []
    start = threading.Barrier(60)

    def one() -> None:
        start.wait()
        try:
            # A new connection each, no retries: a reset is a failure.
            with httpx.Client(timeout=30) as client:
                client.post(emu.base_url, json=ping, headers=AUTH).raise_for_status()
        except httpx.HTTPError as exc:
            failures.append(repr(exc))

    threads = [threading.Thread(target=one) for _ in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures


def _publish_delay(job: Job) -> float:
    """Seconds from a job's start to its first result's publication."""
    finished = job.generations[0].finished_at
    assert job.started_at is not None and finished is not None
    return finished - job.started_at


def test_latency_is_the_whole_task_time_rendering_included(
    media_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A render as slow as a larger clip's: it happens during the latency, not after it.
    from aleph_otio.emulator import media as emulator_media

    real_render = emulator_media.render
    renders: list[float] = []
    began: list[float] = []

    def slow_render(*args: Any, **kwargs: Any) -> None:
        began.append(time.time())
        time.sleep(0.6)
        real_render(*args, **kwargs)
        renders.append(time.time() - began[-1])

    monkeypatch.setattr(emulator_media, "render", slow_render)
    with Emulator(EmulatorConfig(latency=1.0, concurrency=2)) as emu:
        video = upload(emu, media_dir / "clip.mp4")
        task, late, deferred = video_task(video), video_task(video), video_task(video)
        assert post(emu, [task]).status_code == 200
        emu.wait_idle(15)
        job = emu.jobs[task["taskUUID"]]
        took = _publish_delay(job)
        # Published at the latency (old behaviour: latency + render time, >= 1.6 s).
        assert 1.0 <= took < 1.35
        # A render slower than the latency is published as soon as it is done.
        emu.config.latency = 0.2
        assert post(emu, [late]).status_code == 200
        emu.wait_idle(15)
        job = emu.jobs[late["taskUUID"]]
        took = _publish_delay(job)
        assert renders[-1] <= took < renders[-1] + 0.15  # old behaviour: 0.2 s + the render
        # With time to spare, the render starts as late as it safely can (twice the longest
        # recent render before it is due), leaving the CPU to the client meanwhile.
        emu.config.latency = 2.0
        assert post(emu, [deferred]).status_code == 200
        emu.wait_idle(15)
        job = emu.jobs[deferred["taskUUID"]]
        assert job.started_at is not None
        assert began[-1] - job.started_at >= 2.0 - 2 * max(renders[:2]) - 0.05
        took = _publish_delay(job)
        assert 2.0 <= took < 2.15


def test_guide_frames_are_honoured(emu: Emulator, media_dir: Path, tmp_path: Path) -> None:
    guide = load_image(media_dir / "guide.png", (W, H))
    guide2 = load_image(media_dir / "guide2.png", (W, H))
    upload_task = {
        "taskType": "imageUpload",
        "taskUUID": str(uuid.uuid4()),
        "image": data_uri(media_dir / "guide2.png", "image/png"),
    }
    image_uuid = post(emu, [upload_task]).json()["data"][0]["imageUUID"]
    video = upload(emu, media_dir / "clip.mp4")
    explicit = video_task(
        video,
        inputs={
            "video": video,
            "frameImages": [
                {"image": data_uri(media_dir / "guide.png", "image/png"), "frame": "first"},
                {"image": image_uuid, "timestamp": 1.0},
            ],
        },
    )
    distributed = video_task(
        video,
        inputs={
            "video": video,
            "frameImages": [
                base64.b64encode((media_dir / "guide.png").read_bytes()).decode(),
                image_uuid,
            ],
        },
    )
    assert post(emu, [explicit, distributed]).status_code == 200
    for task, expected in (
        (explicit, {0: guide, 24: guide2}),
        (distributed, {0: guide, FRAMES - 1: guide2}),
    ):
        item = poll(emu, task["taskUUID"])["data"][0]
        path = tmp_path / "out.mp4"
        path.write_bytes(CLIENT.get(item["videoURL"]).content)
        frames = frames_of(path)
        for index, image in expected.items():
            assert picture_diff(frames[index], image) < 6, index
        assert picture_diff(frames[12], guide) > 20 and picture_diff(frames[12], guide2) > 20
        assert synth.decode_indices(path) == list(range(FRAMES))  # strip kept from the input


# --- ttl, webhooks, uploadEndpoint ----------------------------------------------------------


def test_results_expire_after_ttl(media_dir: Path) -> None:
    with Emulator(EmulatorConfig(latency=0.1, default_ttl=0.6)) as emu:
        video = upload(emu, media_dir / "clip.mp4")
        short, long = video_task(video), video_task(video, ttl=3600)
        post(emu, [short, long])
        short_url = poll(emu, short["taskUUID"])["data"][0]["videoURL"]
        long_url = poll(emu, long["taskUUID"])["data"][0]["videoURL"]
        assert CLIENT.get(short_url).status_code == 200
        time.sleep(0.7)
        expired = CLIENT.get(short_url)
        assert expired.status_code == 404
        assert expired.json()["errors"][0]["code"] == "mediaExpired"
        assert CLIENT.get(long_url).status_code == 200
        assert emu.expire_results(long["taskUUID"]) == 1
        assert CLIENT.get(long_url).status_code == 404


def test_webhook_and_upload_endpoint(emu: Emulator, media_dir: Path, receiver: Receiver) -> None:
    receiver.statuses = [500]  # the first delivery fails and must be retried
    video = upload(emu, media_dir / "clip.mp4")
    task = video_task(
        video,
        numberResults=2,
        outputFormat="WEBM",
        includeCost=True,
        webhookURL=f"{receiver.url}/hook?token=abc&shot=sh010",
        uploadEndpoint=f"{receiver.url}/bucket/out.webm?X-Amz-Signature=s",
    )
    post(emu, [task])
    emu.wait_idle(20)
    puts = [r for r in receiver.requests if r["method"] == "PUT"]
    hooks = [r for r in receiver.requests if r["method"] == "POST"]
    assert len(puts) >= 2 and len(hooks) == 2
    assert {r["path"] for r in hooks} == {"/hook?token=abc&shot=sh010"}
    assert {r["path"] for r in puts} == {"/bucket/out.webm?X-Amz-Signature=s"}
    assert {r["headers"]["Content-Type"] for r in puts} == {"video/webm"}
    items = [json.loads(r["body"])["data"][0] for r in hooks]
    final = {i["videoUUID"]: i for i in poll(emu, task["taskUUID"])["data"]}
    assert {i["videoUUID"] for i in items} == set(final)
    assert all(i == final[i["videoUUID"]] for i in items)
    downloads = {CLIENT.get(i["videoURL"]).content for i in final.values()}
    assert {r["body"] for r in puts if r["body"]} == downloads
    assert {d.size for d in emu.uploads} == {len(b) for b in downloads}
    assert all(d.ok for d in emu.deliveries)
    assert sorted(len(d.attempts) for d in emu.deliveries) == [1, 1, 1, 2]
    assert [d.attempts for d in emu.deliveries if len(d.attempts) == 2] == [[500, 200]]


def test_webhook_failure_recorded_and_errors_delivered(media_dir: Path, receiver: Receiver) -> None:
    config = EmulatorConfig(
        latency=0.1, delivery_retries=1, delivery_backoff=0.01, faults=Faults(fail_tasks=1)
    )
    with Emulator(config) as emu:
        receiver.statuses = [503, 503]
        video = upload(emu, media_dir / "clip.mp4")
        post(emu, [video_task(video, webhookURL=f"{receiver.url}/hook")])
        emu.wait_idle(10)
        (delivery,) = emu.webhooks
        assert delivery.attempts == [503, 503] and not delivery.ok
        body = json.loads(receiver.requests[0]["body"])
        assert body["errors"][0]["code"] == "timeoutProvider"
        assert body["errors"][0]["status"] == "error"


# --- media storage and other tasks ----------------------------------------------------------


def test_media_storage_upload_forms_and_delete(
    emu: Emulator, media_dir: Path, receiver: Receiver
) -> None:
    clip = (media_dir / "clip.mp4").read_bytes()
    receiver.files["/clip.mp4"] = clip
    forms = [
        base64.b64encode(clip).decode(),
        data_uri(media_dir / "clip.mp4", "video/mp4"),
        f"{receiver.url}/clip.mp4",
    ]
    uuids = []
    for media in forms:
        task_uuid = str(uuid.uuid4())
        item = post(
            emu,
            [
                {
                    "taskType": "mediaStorage",
                    "taskUUID": task_uuid,
                    "operation": "upload",
                    "media": media,
                }
            ],
        ).json()["data"][0]
        assert item["taskUUID"] == task_uuid and item["operation"] == "upload"
        assert CLIENT.get(item["mediaURL"]).content == clip
        uuids.append(item["mediaUUID"])
    assert len(set(uuids)) == 3
    # A URL input (here: our own mediaURL) works as well as the UUID.
    url_task = video_task(f"{emu.base_url}/media/{uuids[0]}.mp4")
    assert post(emu, [url_task]).status_code == 200
    delete = {
        "taskType": "mediaStorage",
        "taskUUID": str(uuid.uuid4()),
        "operation": "delete",
        "media": uuids[1],
    }
    assert post(emu, [delete]).json()["data"][0] == {
        "taskType": "mediaStorage",
        "taskUUID": delete["taskUUID"],
        "operation": "delete",
        "mediaUUID": uuids[1],
    }
    assert CLIENT.get(f"{emu.base_url}/media/{uuids[1]}.mp4").status_code == 404
    error = post(emu, [video_task(uuids[1])]).json()["errors"][0]
    assert error["code"] == "mediaNotFound"
    bad = post(
        emu,
        [
            {
                "taskType": "mediaStorage",
                "taskUUID": str(uuid.uuid4()),
                "operation": "upload",
                "media": "%%%not base64",
            }
        ],
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "invalidMedia"


def test_async_upload_answers_through_get_response(emu: Emulator, media_dir: Path) -> None:
    emu.faults.async_uploads = 1
    emu.faults.async_upload_delay = 0.3
    task = {
        "taskType": "mediaStorage",
        "taskUUID": str(uuid.uuid4()),
        "operation": "upload",
        "media": data_uri(media_dir / "clip.mp4", "video/mp4"),
    }
    first = post(emu, [task]).json()["data"][0]
    assert first["mediaUUID"] == "1" and "mediaURL" not in first
    poll_task = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
    assert post(emu, poll_task).json()["data"][0]["status"] == "processing"
    time.sleep(0.35)
    item = post(emu, poll_task).json()["data"][0]
    assert item["status"] == "success" and is_uuid4(item["mediaUUID"])
    assert CLIENT.get(item["mediaURL"]).content == (media_dir / "clip.mp4").read_bytes()
    assert post(emu, [video_task(item["mediaUUID"])]).status_code == 200


def test_get_task_details_returns_request_and_response(emu: Emulator, media_dir: Path) -> None:
    video = upload(emu, media_dir / "clip.mp4")
    task = video_task(video)
    post(emu, [{"taskType": "authentication", "apiKey": KEY}, task], headers={})
    poll(emu, task["taskUUID"])
    item = post(emu, [{"taskType": "getTaskDetails", "taskUUID": task["taskUUID"]}]).json()["data"][
        0
    ]
    assert item["request"] == [{"taskType": "authentication"}, task]
    assert item["response"]["data"][0]["status"] == "success"
    assert KEY not in json.dumps(item)


# --- faults ---------------------------------------------------------------------------------


def test_status_burst_with_retry_after(emu: Emulator) -> None:
    emu.faults.status_burst = [429, 503]
    emu.faults.retry_after = 2
    ping = [{"taskType": "ping", "taskUUID": str(uuid.uuid4())}]
    first, second, third = post(emu, ping), post(emu, ping), post(emu, ping)
    assert (first.status_code, second.status_code, third.status_code) == (429, 503, 200)
    assert first.headers["retry-after"] == "2"
    assert first.json()["errors"][0]["code"] == "rateLimitExceeded"
    assert first.json()["errors"][0]["taskUUID"] == ping[0]["taskUUID"]
    assert second.json()["errors"][0]["code"] == "serviceUnavailable"


def test_dropped_connection_processes_nothing(emu: Emulator, media_dir: Path) -> None:
    video = upload(emu, media_dir / "clip.mp4")
    emu.faults.drop_connections = 1
    task = video_task(video)
    with pytest.raises(httpx.RemoteProtocolError):
        post(emu, [task])
    assert emu.jobs == {}
    assert post(emu, [task]).status_code == 200  # the retry with the same UUID is accepted
    assert list(emu.jobs) == [task["taskUUID"]]


def test_drop_after_accept_then_retry_conflicts(emu: Emulator, media_dir: Path) -> None:
    video = upload(emu, media_dir / "clip.mp4")
    emu.faults.drop_after_accept = 1
    task = video_task(video)
    with pytest.raises(httpx.RemoteProtocolError):
        post(emu, [task])
    assert list(emu.jobs) == [task["taskUUID"]]
    retry = post(emu, [task])
    assert retry.status_code == 400
    assert retry.json()["errors"][0]["code"] == "conflictTaskUUID"
    assert len(emu.jobs) == 1
    assert poll(emu, task["taskUUID"])["data"][0]["status"] == "success"
    assert [t["taskUUID"] for t in emu.received if t.get("taskType") == "videoInference"] == [
        task["taskUUID"]
    ] * 2


def test_truncated_download(emu: Emulator, media_dir: Path) -> None:
    video = upload(emu, media_dir / "clip.mp4")
    task = video_task(video)
    post(emu, [task])
    url = poll(emu, task["taskUUID"])["data"][0]["videoURL"]
    emu.faults.truncate_downloads = 1
    with pytest.raises(httpx.RemoteProtocolError):
        CLIENT.get(url)
    full = CLIENT.get(url)
    assert full.status_code == 200 and len(full.content) == int(full.headers["content-length"])
    # A client can resume a broken download from where it stopped.
    tail = CLIENT.get(url, headers={"Range": "bytes=100-"})
    assert tail.status_code == 206 and tail.content == full.content[100:]
    assert tail.headers["content-range"] == f"bytes 100-{len(full.content) - 1}/{len(full.content)}"
    assert CLIENT.get(url, headers={"Range": "bytes=-10"}).content == full.content[-10:]
    assert CLIENT.get(url, headers={"Range": f"bytes={len(full.content)}-"}).status_code == 416


def test_failed_tasks_report_errors(emu: Emulator, media_dir: Path) -> None:
    video = upload(emu, media_dir / "clip.mp4")
    emu.faults.fail_tasks = 1
    failing, fine = video_task(video, numberResults=2), video_task(video)
    post(emu, [failing, fine])
    emu.wait_idle(10)
    batch = [{"taskType": "getResponse", "taskUUID": t["taskUUID"]} for t in (failing, fine)]
    response = post(emu, batch)
    assert response.status_code == 200
    body = response.json()
    assert [(i["taskUUID"], i["status"]) for i in body["data"]] == [(fine["taskUUID"], "success")]
    assert [(e["taskUUID"], e["code"], e["status"]) for e in body["errors"]] == [
        (failing["taskUUID"], "timeoutProvider", "error")
    ] * 2
    alone = post(emu, batch[:1])
    assert alone.status_code == 200 and "data" not in alone.json()


def test_partial_tasks_fail_all_but_the_first_result(emu: Emulator, media_dir: Path) -> None:
    video = upload(emu, media_dir / "clip.mp4")
    emu.faults.partial_tasks = 1
    # A one-result task cannot fail partly: it does not use up the fault.
    single, partial = video_task(video), video_task(video, numberResults=3)
    post(emu, [single, partial])
    emu.wait_idle(10)
    batch = [{"taskType": "getResponse", "taskUUID": t["taskUUID"]} for t in (single, partial)]
    body = post(emu, batch).json()
    assert sorted((i["taskUUID"], i["status"]) for i in body["data"]) == sorted(
        [(single["taskUUID"], "success"), (partial["taskUUID"], "success")]
    )
    assert [(e["taskUUID"], e["code"]) for e in body["errors"]] == [
        (partial["taskUUID"], "timeoutProvider")
    ] * 2
    assert emu.faults.partial_tasks == 0


def test_safety_rejection(emu: Emulator, media_dir: Path) -> None:
    video = upload(emu, media_dir / "clip.mp4")
    emu.faults.safety_rejects = 1
    task = video_task(video, safety={"mode": "full"})
    post(emu, [task])
    body = poll(emu, task["taskUUID"])
    assert body["errors"][0]["code"] == "contentPolicyViolation"


def test_slow_response(emu: Emulator) -> None:
    emu.faults.slow_response = 0.4
    started = time.monotonic()
    assert post(emu, [{"taskType": "ping"}]).status_code == 200
    assert time.monotonic() - started >= 0.4


def test_duplicate_webhooks_and_bare_items(media_dir: Path, receiver: Receiver) -> None:
    config = EmulatorConfig(latency=0.1, webhook_bare=True, faults=Faults(duplicate_webhooks=1))
    with Emulator(config) as emu:
        video = upload(emu, media_dir / "clip.mp4")
        task = video_task(video, webhookURL=f"{receiver.url}/hook")
        post(emu, [task])
        emu.wait_idle(10)
        bodies = [json.loads(r["body"]) for r in receiver.requests]
        assert len(bodies) == 2 and bodies[0] == bodies[1]
        assert bodies[0]["taskUUID"] == task["taskUUID"] and bodies[0]["status"] == "success"


def test_budget_mode_refuses_with_402(media_dir: Path) -> None:
    with Emulator(EmulatorConfig(latency=0.1, budget=1.0)) as emu:
        video = upload(emu, media_dir / "clip.mp4")
        assert post(emu, [video_task(video)]).status_code == 200  # $0.70
        response = post(emu, [video_task(video)])
        assert response.status_code == 402
        assert response.json()["errors"][0]["code"] == "insufficientCredits"


# --- command line ---------------------------------------------------------------------------


# The command alone on an app, so this test does not depend on the other commands importing.
CLI = """
import sys, typer
from aleph_otio.cli import emulator
app = typer.Typer()
app.callback()(lambda: None)
emulator.register(app)
app(sys.argv[1:])
"""


def test_cli_serves_until_stopped(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CLI,
            "emulator",
            "--port",
            "0",
            "--latency",
            "0.1",
            "--api-key",
            "cli-key",
            "--storage",
            str(tmp_path / "store"),
            "--status-burst",
            "503",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("RUNWARE_BASE_URL=http://127.0.0.1:")
        base_url = line.split("=", 1)[1]
        ping = [{"taskType": "ping"}]
        assert (
            CLIENT.post(
                base_url, json=ping, headers={"Authorization": "Bearer cli-key"}
            ).status_code
            == 503
        )  # --status-burst
        assert (
            CLIENT.post(
                base_url, json=ping, headers={"Authorization": "Bearer cli-key"}
            ).status_code
            == 200
        )
        assert (
            CLIENT.post(base_url, json=ping, headers={"Authorization": "Bearer other"}).status_code
            == 401
        )
        assert (tmp_path / "store" / "results").is_dir()
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "cli-key" not in err


@pytest.mark.parametrize("api", ["runware", "runway"])
def test_a_client_hanging_up_is_one_debug_line_not_a_traceback(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    api: str,
) -> None:
    """A killed or cancelled run hangs up mid-answer; the emulator's terminal stays readable,
    and so does the output of a run in the same process (the Runway emulator's traceback once
    landed in another test's captured stderr)."""
    import logging

    from aleph_otio.emulator.http_server import EmulatorHTTPServer
    from aleph_otio.emulator.runway import RunwayEmulator

    caplog.set_level(logging.DEBUG, logger="aleph_otio")
    emulator = (
        Emulator(EmulatorConfig(storage_dir=tmp_path / "emu", api_key="k"))
        if api == "runware"
        else RunwayEmulator(tmp_path / "emu", api_key="k")
    )
    with emulator as emu:
        server = emu._server
        assert isinstance(server, EmulatorHTTPServer)
        for hang_up in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset")):
            try:
                raise hang_up
            except OSError:
                server.handle_error(None, ("127.0.0.1", 5555))
        try:
            raise ValueError("a real bug")
        except ValueError:
            server.handle_error(None, ("127.0.0.1", 5555))
    assert capsys.readouterr().err == ""
    hung = [r for r in caplog.records if "hung up" in r.getMessage()]
    assert [r.levelno for r in hung] == [logging.DEBUG, logging.DEBUG]
    bugs = [r for r in caplog.records if r.exc_info and r.exc_info[0] is ValueError]
    assert len(bugs) == 1 and bugs[0].levelno == logging.ERROR
