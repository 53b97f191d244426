"""AlephClient: response parsing, error mapping and retries (scripted transport), then the whole
protocol over real sockets against the local emulator."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from aleph_otio.api import AlephClient, TaskOutcome, WaitTimeoutError, validate_task
from aleph_otio.api.models import VideoInferenceTask
from aleph_otio.api.retry import RetryPolicy, parse_retry_after
from aleph_otio.config import APISettings
from aleph_otio.errors import (
    AlephOtioError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConfigError,
    DownloadError,
    InsufficientCreditsError,
    InvalidParameterError,
    MediaError,
    RateLimitedError,
    ServerError,
    TaskConflictError,
    TaskFailedError,
    TaskNotFoundError,
)

KEY = "rw-test-key-5f1c9b7a0d3e4c2b"
VIDEO_UUID = "0b9e4c4e-2d7a-4f5e-8c1b-3a6d9f2e7b10"
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def new_uuid() -> str:
    return str(uuid.uuid4())


def make_task(
    task_uuid: str | None = None, video: str = VIDEO_UUID, **extra: Any
) -> VideoInferenceTask:
    return validate_task(
        {
            "taskType": "videoInference",
            "taskUUID": task_uuid or new_uuid(),
            "model": "runway:aleph@2.0",
            "positivePrompt": "Turn the sky purple; keep everything else as in the source.",
            "inputs": {"video": video},
            **extra,
        }
    )


class FakeTime:
    """Injected sleep + clock: records every wait and advances time without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """A transport that answers each request with the next scripted answer."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) for r in self.requests]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected request {request.content[:200]!r}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def scripted(script: Script, fake: FakeTime | None = None, **kwargs: Any) -> AlephClient:
    fake = fake or FakeTime()
    kwargs.setdefault("settings", APISettings(poll_interval=0.05, poll_max_interval=0.2))
    return AlephClient(
        api_key=KEY,
        base_url="http://api.test/v1",
        transport=httpx.MockTransport(script),
        sleep=fake.sleep,
        clock=fake.clock,
        **kwargs,
    )


# --- retry policy -------------------------------------------------------------------------------


def test_backoff_is_full_jitter_capped_and_retry_after_wins() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    assert [policy.delay(n, rng=lambda: 1.0) for n in (1, 2, 3, 4, 5, 9)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        4.0,
        4.0,
    ]
    assert policy.delay(3, rng=lambda: 0.0) == 0.0
    assert policy.delay(1, retry_after=7.0) == 7.0
    assert policy.delay(1, retry_after=10_000) == policy.max_retry_after
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


# --- submit -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ack",
    [
        {"data": [{"taskType": "videoInference", "taskUUID": "X"}]},
        {"data": []},
    ],
    ids=["documented ACK", "empty ACK"],
)
def test_submit_sends_one_task_array_with_bearer_key(ack: dict[str, Any]) -> None:
    task = make_task()
    script = Script(ok(json.loads(json.dumps(ack).replace("X", task.task_uuid))))
    client = scripted(script)
    run(client.submit(task))
    (request,) = script.requests
    assert request.method == "POST" and str(request.url) == "http://api.test/v1"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert script.bodies() == [[task.to_api()]]
    assert client.request_count == 1


def test_submit_retries_capacity_answers_with_the_same_uuid_and_honours_retry_after() -> None:
    task = make_task()
    fake = FakeTime()
    script = Script(
        ok(
            {"errors": [{"code": "rateLimitExceeded", "message": "busy"}]},
            429,
            {"Retry-After": "3"},
        ),
        ok({}, 503),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        ok({"data": [{"taskType": "videoInference", "taskUUID": task.task_uuid}]}),
    )
    client = scripted(script, fake)
    run(client.submit(task))
    assert [b[0]["taskUUID"] for b in script.bodies()] == [task.task_uuid] * 5
    assert fake.sleeps[0] == 3.0
    # Exponential ceilings 1.0, 2.0, 4.0 (base 0.5): full jitter stays below them.
    assert all(0 <= s <= c for s, c in zip(fake.sleeps[1:], [1.0, 2.0, 4.0], strict=True))
    assert client.request_count == 5


def test_conflict_on_a_retry_means_the_first_attempt_was_accepted() -> None:
    task = make_task()
    conflict = {
        "errors": [
            {
                "code": "conflictTaskUUID",
                "message": "taskUUID already used",
                "taskType": "videoInference",
                "taskUUID": task.task_uuid,
            }
        ]
    }
    script = Script(httpx.ReadTimeout("answer lost"), ok(conflict, 400))
    run(scripted(script).submit(task))
    assert len(script.requests) == 2


def test_conflict_on_the_first_attempt_raises_unless_assume_sent() -> None:
    task = make_task()
    conflict = {
        "errors": [
            {
                "code": "conflictTaskUUID",
                "message": "taskUUID already used",
                "taskUUID": task.task_uuid,
            }
        ]
    }
    with pytest.raises(TaskConflictError) as info:
        run(scripted(Script(ok(conflict, 400))).submit(task))
    assert info.value.task_uuid == task.task_uuid and task.task_uuid in str(info.value)
    run(scripted(Script(ok(conflict, 400))).submit(task, assume_sent=True))


ERROR_CASES: list[tuple[str, list[Answer], type[APIError], str | None]] = [
    (
        "401",
        [
            ok(
                {
                    "errors": [
                        {
                            "code": "invalidApiKey",
                            "message": "Invalid API key.",
                            "parameter": "apiKey",
                            "taskType": "authentication",
                        }
                    ]
                },
                401,
            )
        ],
        AuthenticationError,
        None,
    ),
    (
        "403",
        [ok({"errors": [{"code": "forbidden", "message": "no access"}]}, 403)],
        AuthenticationError,
        None,
    ),
    (
        "invalidApiKey on 200",
        [ok({"errors": [{"code": "invalidApiKey", "message": "bad"}]})],
        AuthenticationError,
        None,
    ),
    (
        "402",
        [ok({"errors": [{"code": "insufficientCredits", "message": "balance"}]}, 402)],
        InsufficientCreditsError,
        None,
    ),
    (
        "credits on 400",
        [ok({"errors": [{"code": "insufficientCredits", "message": "b"}]}, 400)],
        InsufficientCreditsError,
        None,
    ),
    (
        "400 parameter",
        [
            ok(
                {
                    "errors": [
                        {
                            "code": "invalidVideo",
                            "message": "too long",
                            "parameter": "inputs.video",
                            "allowedValues": [2, 30],
                        }
                    ]
                },
                400,
            )
        ],
        InvalidParameterError,
        "inputs.video",
    ),
    (
        "400 missing",
        [ok({"errors": [{"code": "missingParameter", "message": "no video"}]}, 400)],
        InvalidParameterError,
        None,
    ),
    ("429 exhausted", [ok({}, 429)] * 3, RateLimitedError, None),
    ("503 exhausted", [ok({}, 503)] * 3, RateLimitedError, None),
    ("504 exhausted", [ok({}, 504)] * 3, RateLimitedError, None),
    (
        "500 exhausted",
        [ok({"errors": [{"code": "internalServerError", "message": "x"}]}, 500)] * 3,
        ServerError,
        None,
    ),
    ("502 html", [httpx.Response(502, text="<html>bad gateway</html>")] * 3, ServerError, None),
    ("connection", [httpx.ConnectError("refused")] * 3, APIConnectionError, None),
    ("dropped", [httpx.RemoteProtocolError("peer closed")] * 3, APIConnectionError, None),
    ("read timeout", [httpx.ReadTimeout("slow")] * 3, APITimeoutError, None),
    ("not json", [httpx.Response(200, text="<html>login</html>")], APIError, None),
]


@pytest.mark.parametrize(
    ("answers", "error", "parameter"),
    [c[1:] for c in ERROR_CASES],
    ids=[c[0] for c in ERROR_CASES],
)
def test_error_mapping(answers: list[Answer], error: type[APIError], parameter: str | None) -> None:
    task = make_task()
    script = Script(*answers)
    client = scripted(script, max_retries=2)
    with pytest.raises(error) as info:
        run(client.submit(task))
    assert type(info.value) is error
    assert isinstance(info.value, AlephOtioError)
    message = str(info.value)
    assert "\n" not in message and KEY not in message
    assert task.task_uuid in message
    if parameter:
        assert info.value.parameter == parameter and parameter in message
    if len(answers) > 1:
        assert len(script.requests) == 3 and "after 3 attempts" in message
    assert info.value.__cause__ is None  # no httpx request (with its headers) attached


def test_missing_key_is_a_config_error_at_the_first_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("RUNWARE_API_KEY", raising=False)
    monkeypatch.setenv("ALEPH_OTIO_CONFIG", str(tmp_path / "none.toml"))
    script = Script()
    client = AlephClient(base_url="http://api.test/v1", transport=httpx.MockTransport(script))
    with pytest.raises(ConfigError, match="RUNWARE_API_KEY"):
        run(client.submit(make_task()))
    assert script.requests == []


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWARE_API_KEY", "env-key-123456")
    task = make_task()
    script = Script(ok({"data": []}))
    client = AlephClient(base_url="http://api.test/v1", transport=httpx.MockTransport(script))
    run(client.submit(task))
    assert script.requests[0].headers["authorization"] == "Bearer env-key-123456"
    assert "env-key-123456" not in repr(client)


def test_server_echoing_the_key_is_scrubbed() -> None:
    script = Script(
        ok({"errors": [{"code": "invalidApiKey", "message": f"key {KEY} unknown"}]}, 401)
    )
    with pytest.raises(AuthenticationError) as info:
        run(scripted(script).submit(make_task()))
    assert KEY not in str(info.value) and "***" in str(info.value)


# --- getResponse --------------------------------------------------------------------------------


def success(task_uuid: str, video_uuid: str | None = None, **extra: Any) -> dict[str, Any]:
    video_uuid = video_uuid or new_uuid()
    return {
        "taskType": "videoInference",
        "taskUUID": task_uuid,
        "status": "success",
        "videoUUID": video_uuid,
        "videoURL": f"http://cdn.test/{video_uuid}.mp4",
        **extra,
    }


def test_get_responses_is_one_batched_request_and_parses_every_shape() -> None:
    a, b, c, d, e, f = (new_uuid() for _ in range(6))
    repeated = new_uuid()
    body = {
        "data": [
            success(a, repeated, cost=2.8, seed=7),
            success(a, repeated, cost=2.8, seed=7),  # cumulative answers repeat items
            {"taskType": "videoInference", "taskUUID": a, "status": "processing"},
            {"taskType": "videoInference", "taskUUID": b},  # bare ACK item: still running
            {
                "taskUUID": c,
                "status": "error",
                "error": {"code": "timeoutProvider", "message": "t"},
            },
            {"taskUUID": d, "status": "error", "code": "inferenceError", "message": "boom"},
            success("someone-else"),
        ],
        "errors": [
            {
                "taskType": "videoInference",
                "taskUUID": e,
                "status": "error",
                "code": "timeoutProvider",
                "message": "late",
            },
            {
                "taskType": "videoInference",
                "taskUUID": e,
                "status": "error",
                "code": "timeoutProvider",
                "message": "late",
            },
        ],
    }
    # f is left out of the batch's answer, so it is asked for on its own.
    script = Script(ok(body), ok({"data": []}))
    client = scripted(script)
    results = run(client.get_responses([a, b, c, d, e, f]))
    assert client.request_count == 2
    assert script.bodies() == [
        [{"taskType": "getResponse", "taskUUID": u} for u in (a, b, c, d, e, f)],
        [{"taskType": "getResponse", "taskUUID": f}],
    ]
    assert set(results) == {a, b, c, d, e, f}
    assert [r.status for r in results[a]] == ["success", "processing"]
    assert (results[a][0].cost, results[a][0].seed) == (2.8, 7)
    assert [r.status for r in results[b]] == ["processing"]
    assert [(r.status, r.error_code) for r in results[c]] == [("error", "timeoutProvider")]
    assert [(r.status, r.error_code) for r in results[d]] == [("error", "inferenceError")]
    # Two failed generations with the same message are two failures, not one.
    assert [r.error_code for r in results[e]] == ["timeoutProvider", "timeoutProvider"]
    assert results[f] == []


@pytest.mark.parametrize(
    "body",
    [
        [
            {
                "taskType": "videoInference",
                "taskUUID": "U",
                "status": "success",
                "videoUUID": "v1",
                "videoURL": "http://cdn.test/v1.mp4",
            }
        ],
        {
            "data": {
                "taskUUID": "U",
                "status": "success",
                "videoUUID": "v1",
                "videoURL": "http://cdn.test/v1.mp4",
            }
        },
    ],
    ids=["bare list", "data object"],
)
def test_get_responses_tolerates_unwrapped_bodies(body: Any) -> None:
    task_uuid = new_uuid()
    script = Script(ok(json.loads(json.dumps(body).replace('"U"', f'"{task_uuid}"'))))
    results = run(scripted(script).get_responses([task_uuid]))
    assert [r.video_uuid for r in results[task_uuid]] == ["v1"]


def test_batch_answered_as_a_whole_with_an_error_is_polled_one_by_one() -> None:
    """No official client batches polls; a server refusing a batch must not stall the run."""
    a, b = new_uuid(), new_uuid()
    refused = {"errors": [{"code": "invalidTask", "message": "one getResponse per request"}]}
    script = Script(
        ok(refused, 400),
        ok({"data": [success(a, cost=1.5)]}),
        ok({"data": [{"taskUUID": b, "status": "error", "error": {"code": "x", "message": "y"}}]}),
    )
    client = scripted(script)
    results = run(client.get_responses([a, b]))
    assert [len(body) for body in script.bodies()] == [2, 1, 1]
    assert [r.cost for r in results[a]] == [1.5]
    assert [(r.status, r.error_code) for r in results[b]] == [("error", "x")]


def test_batch_failing_with_5xx_after_retries_is_polled_one_by_one() -> None:
    a, b = new_uuid(), new_uuid()
    failing = [ok({"errors": [{"code": "internalServerError", "message": "boom"}]}, 500)] * 2
    script = Script(*failing, ok({"data": [success(a)]}), ok({"data": [success(b)]}))
    client = scripted(script, max_retries=1)
    outcomes = run(client.wait([a, b]))
    assert [len(body) for body in script.bodies()] == [2, 2, 1, 1]
    assert outcomes[a].ok and outcomes[b].ok


def test_batch_refused_for_the_key_or_credits_raises_without_polling_singly() -> None:
    body = {"errors": [{"code": "insufficientCredits", "message": "top up"}]}
    script = Script(ok(body, 402))
    with pytest.raises(InsufficientCreditsError):
        run(scripted(script).get_responses([new_uuid(), new_uuid()]))
    assert len(script.requests) == 1


def test_get_responses_legacy_error_shape() -> None:
    task_uuid = new_uuid()
    body = {
        "error": {"code": "timeoutProvider", "message": "late"},
        "taskUUID": task_uuid,
        "taskType": "videoInference",
    }
    results = run(scripted(Script(ok(body))).get_responses([task_uuid]))
    assert results[task_uuid][0].error_code == "timeoutProvider"


def test_unknown_task_raises_task_not_found() -> None:
    known, unknown = new_uuid(), new_uuid()
    body = {
        "data": [success(known)],
        "errors": [{"code": "taskNotFound", "message": "unknown", "taskUUID": unknown}],
    }
    with pytest.raises(TaskNotFoundError) as info:
        run(scripted(Script(ok(body))).get_responses([known, unknown]))
    assert info.value.task_uuid == unknown and unknown in str(info.value)


def test_request_level_error_during_poll_raises() -> None:
    body = {"errors": [{"code": "invalidApiKey", "message": "Invalid API key."}]}
    with pytest.raises(AuthenticationError):
        run(scripted(Script(ok(body, 401))).get_responses([new_uuid()]))


# --- wait ---------------------------------------------------------------------------------------


def test_wait_batches_polls_and_backs_off() -> None:
    tasks = [new_uuid() for _ in range(120)]
    polls: list[list[str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked = [t["taskUUID"] for t in json.loads(request.content)]
        polls.append(asked)
        round_ = sum(1 for p in polls if p[0] == tasks[0])
        # Rounds 1-3: running; from round 4 every task has its result.
        if round_ < 4:
            return ok({"data": [{"taskUUID": u, "status": "processing"} for u in asked]})
        return ok({"data": [success(u, cost=1.0) for u in asked]})

    fake = FakeTime()
    client = scripted(
        Script(*[answer] * 12),
        fake,
        settings=APISettings(poll_interval=0.05, poll_max_interval=0.1),
    )
    updates: list[str] = []
    outcomes = run(client.wait(tasks, on_update=lambda o: updates.append(o.task_uuid)))
    assert [len(p) for p in polls] == [50, 50, 20] * 4
    assert client.request_count == 12
    assert fake.sleeps == pytest.approx([0.05, 0.075, 0.1])
    assert all(o.ok and o.cost == 1.0 for o in outcomes.values())
    assert sorted(updates) == sorted(tasks)


def test_wait_polls_again_soon_while_results_come_in_and_never_beyond_the_cap() -> None:
    """Tasks of one batch finish close together: once a poll brings a result the interval goes
    back to the first one, so the last result is not seen a grown interval late."""
    tasks = [new_uuid() for _ in range(3)]
    video = {u: new_uuid() for u in tasks}
    rounds: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        rounds.append(len(rounds) + 1)
        # Nothing for 5 polls; then one task finishes at polls 6, 8 and 9.
        finished = sum(1 for r in (6, 8, 9) if len(rounds) >= r)
        asked = [t["taskUUID"] for t in json.loads(request.content)]
        return ok(
            {
                "data": [
                    success(u, video[u])
                    if tasks.index(u) < finished
                    else {"taskUUID": u, "status": "processing"}
                    for u in asked
                ]
            }
        )

    fake = FakeTime()
    client = scripted(
        Script(*[answer] * 9), fake, settings=APISettings(poll_interval=1.0, poll_max_interval=3.0)
    )
    outcomes = run(client.wait(tasks))
    assert all(o.ok for o in outcomes.values())
    # Grows 1.5x up to the cap; back to 1 s after each poll that brought a result.
    assert fake.sleeps == pytest.approx([1.0, 1.5, 2.25, 3.0, 3.0, 1.0, 1.5, 1.0])


def test_wait_first_interval_is_capped_too() -> None:
    task = new_uuid()
    answers = [ok({"data": [{"taskUUID": task, "status": "processing"}]})] * 3
    fake = FakeTime()
    client = scripted(
        Script(*answers, ok({"data": [success(task)]})),
        fake,
        settings=APISettings(poll_interval=5.0, poll_max_interval=0.5),
    )
    run(client.wait([task]))
    assert fake.sleeps == pytest.approx([0.5, 0.5, 0.5])


def test_wait_counts_expected_results_and_reports_failures() -> None:
    three, failed = new_uuid(), new_uuid()
    v = [new_uuid() for _ in range(3)]
    answers = [
        ok(
            {
                "data": [
                    success(three, v[0]),
                    {"taskUUID": three, "status": "processing"},
                    {"taskUUID": failed, "status": "processing"},
                ]
            }
        ),
        ok(
            {
                "data": [
                    success(three, v[0]),
                    success(three, v[1]),
                    {"taskUUID": three, "status": "processing"},
                ],
                "errors": [
                    {
                        "taskUUID": failed,
                        "status": "error",
                        "code": "timeoutProvider",
                        "message": "late",
                    }
                ],
            }
        ),
        ok(
            {
                "data": [success(three, v[0]), success(three, v[1])],
                "errors": [
                    {
                        "taskUUID": three,
                        "status": "error",
                        "code": "nsfwContentDetected",
                        "message": "blocked",
                    }
                ],
            }
        ),
    ]
    script = Script(*answers)

    async def collect() -> dict[str, TaskOutcome]:
        return await scripted(script).wait([three, failed], expected={three: 3})

    outcomes = run(collect())
    assert len(script.requests) == 3
    assert [r.video_uuid for r in outcomes[three].successes] == v[:2]
    assert [f.code for f in outcomes[three].failures] == ["nsfwContentDetected"]
    outcomes[three].raise_for_failures()  # partial success is usable: no raise
    with pytest.raises(TaskFailedError, match="timeoutProvider"):
        outcomes[failed].raise_for_failures()


def test_wait_deadline_raises_with_partial_outcomes() -> None:
    done, slow = new_uuid(), new_uuid()

    def answer(request: httpx.Request) -> httpx.Response:
        return ok({"data": [success(done, "v-done"), {"taskUUID": slow, "status": "processing"}]})

    fake = FakeTime()
    client = scripted(
        Script(*[answer] * 50), fake, settings=APISettings(poll_interval=1.0, poll_max_interval=4.0)
    )
    with pytest.raises(WaitTimeoutError) as info:
        run(client.wait([done, slow], deadline=10.0))
    err = info.value
    assert isinstance(err, APITimeoutError) and "1 of 2" in str(err) and slow in str(err)
    assert err.outcomes[done].ok and not err.outcomes[slow].done
    assert sum(fake.sleeps) == pytest.approx(10.0)
    # After the first poll, done is no longer asked for.
    assert client.request_count == len(fake.sleeps) + 1


def test_wait_marks_unknown_tasks_not_found() -> None:
    gone = new_uuid()
    body = {"errors": [{"code": "taskExpired", "message": "expired", "taskUUID": gone}]}
    outcomes = run(scripted(Script(ok(body))).wait([gone]))
    assert outcomes[gone].done and outcomes[gone].not_found
    with pytest.raises(TaskNotFoundError, match=gone):
        outcomes[gone].raise_for_failures()


# --- uploads ------------------------------------------------------------------------------------


def media_answer(request: httpx.Request) -> httpx.Response:
    (task,) = json.loads(request.content)
    assert task["taskType"] == "mediaStorage" and task["operation"] == "upload"
    assert task["media"].startswith("data:")
    media_uuid = new_uuid()
    return ok(
        {
            "data": [
                {
                    "taskType": "mediaStorage",
                    "taskUUID": task["taskUUID"],
                    "operation": "upload",
                    "mediaUUID": media_uuid,
                    "mediaURL": f"http://im.test/{media_uuid}",
                }
            ]
        }
    )


def test_upload_cache_never_sends_the_same_bytes_twice(tmp_path: Path) -> None:
    first = tmp_path / "a.mp4"
    first.write_bytes(b"same bytes" * 100)
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(b"same bytes" * 100)
    other = tmp_path / "b.png"
    other.write_bytes(b"other bytes")
    cache: dict[str, tuple[str, str]] = {}
    script = Script(media_answer, media_answer)
    client = scripted(script, upload_cache=cache)

    async def go() -> list[Any]:
        return list(
            await asyncio.gather(
                client.upload_media(first),
                client.upload_media(copy),
                client.upload_media(other),
                client.upload_media(first),
            )
        )

    a, a_copy, b, a_again = run(go())
    assert len(script.requests) == 2
    assert a == a_copy == a_again and a.media_uuid and a.ref == a.media_uuid
    assert b.media_uuid != a.media_uuid
    assert cache[a.sha256] == (a.media_uuid, a.media_url)
    media = sorted(t[0]["media"][:20] for t in script.bodies())
    assert media == ["data:image/png;base6", "data:video/mp4;base6"]
    # A new client with the persisted cache uploads nothing.
    again = scripted(Script(), upload_cache=cache)
    assert run(again.upload_media(copy)) == a and again.request_count == 0


def test_forgotten_upload_is_sent_again(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x" * 10)
    script = Script(media_answer, media_answer)
    client = scripted(script)
    first = run(client.upload_media(clip))
    client.forget_upload(first)
    second = run(client.upload_media(clip))
    assert len(script.requests) == 2 and second.media_uuid != first.media_uuid


def test_download_to_unwritable_place_is_a_download_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    client = scripted(Script(httpx.Response(200, content=b"abc")))
    with pytest.raises(DownloadError, match="cannot write"):
        run(client.download("http://cdn.test/r.mp4", blocker / "r.mp4"))


def test_hosted_media_is_not_uploaded(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x" * 10)
    client = scripted(Script(), media_urls={clip: "https://cdn.example.test/clip.mp4"})
    media = run(client.upload_media(clip))
    assert media.ref == "https://cdn.example.test/clip.mp4" and media.media_uuid is None
    assert client.request_count == 0


def test_upload_that_finishes_asynchronously_is_polled(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x" * 10)
    media_uuid = new_uuid()

    def placeholder(request: httpx.Request) -> httpx.Response:
        (task,) = json.loads(request.content)
        return ok(
            {"data": [{"taskType": "mediaStorage", "taskUUID": task["taskUUID"], "mediaUUID": "1"}]}
        )

    def finished(request: httpx.Request) -> httpx.Response:
        (task,) = json.loads(request.content)
        assert task["taskType"] == "getResponse"
        return ok(
            {
                "data": [
                    {
                        "taskType": "mediaStorage",
                        "taskUUID": task["taskUUID"],
                        "mediaUUID": media_uuid,
                        "mediaURL": "http://im.test/m",
                    }
                ]
            }
        )

    script = Script(placeholder, ok({"data": []}), finished)
    assert run(scripted(script).upload_media(clip)).media_uuid == media_uuid


def test_upload_whose_answer_was_lost_is_uploaded_again_under_a_new_uuid(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x" * 10)

    def conflict(request: httpx.Request) -> httpx.Response:
        (task,) = json.loads(request.content)
        return ok(
            {
                "errors": [
                    {"code": "conflictTaskUUID", "message": "used", "taskUUID": task["taskUUID"]}
                ]
            },
            400,
        )

    script = Script(httpx.ReadTimeout("lost"), conflict, media_answer)
    media = run(scripted(script).upload_media(clip))
    uuids = [b[0]["taskUUID"] for b in script.bodies()]
    assert uuids[0] == uuids[1] != uuids[2] and media.media_uuid


def test_upload_rejected_by_the_server_names_the_file(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x" * 10)
    body = {"errors": [{"code": "invalidMedia", "message": "not a video", "parameter": "media"}]}
    with pytest.raises(InvalidParameterError, match="clip.mp4") as info:
        run(scripted(Script(ok(body, 400))).upload_media(clip))
    assert info.value.parameter == "media"


def test_request_level_errors_in_a_poll_are_raised_not_counted_as_failures() -> None:
    task_uuid = new_uuid()
    body = {
        "errors": [{"code": "insufficientCredits", "message": "balance", "taskUUID": task_uuid}]
    }
    with pytest.raises(InsufficientCreditsError):
        run(scripted(Script(ok(body, 402))).wait([task_uuid]))


def test_upload_of_missing_file_is_a_media_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="nope.mp4"):
        run(scripted(Script()).upload_media(tmp_path / "nope.mp4"))


# --- downloads (scripted) -----------------------------------------------------------------------


def test_download_short_body_is_retried_then_reported(tmp_path: Path) -> None:
    def short(request: httpx.Request) -> httpx.Response:
        assert "authorization" not in request.headers  # the key never goes to result hosts
        return httpx.Response(200, headers={"content-length": "100"}, content=b"x" * 50)

    dest = tmp_path / "out" / "result.mp4"
    client = scripted(Script(short, short, short), max_retries=2)
    with pytest.raises(DownloadError, match="truncated: got 50 of 100 bytes"):
        run(client.download("http://cdn.test/r.mp4", dest))
    assert not dest.exists() and not dest.with_suffix(".mp4.part").exists()
    assert client.download_request_count == 3


def test_download_expired_url(tmp_path: Path) -> None:
    client = scripted(Script(httpx.Response(404)))
    with pytest.raises(DownloadError, match="expired"):
        run(client.download("http://cdn.test/r.mp4", tmp_path / "r.mp4"))
    assert list(tmp_path.iterdir()) == []


def test_download_recovers_and_checks_expected_size(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 1000
    script = Script(
        httpx.Response(503), httpx.ConnectError("x"), httpx.Response(200, content=payload)
    )
    dest = tmp_path / "r.mp4"
    client = scripted(script)
    assert run(client.download("http://cdn.test/r.mp4", dest, expected_size=len(payload))) == dest
    assert dest.read_bytes() == payload
    with pytest.raises(DownloadError, match="expected 10"):
        run(
            scripted(Script(httpx.Response(200, content=payload))).download(
                "http://cdn.test/r.mp4", tmp_path / "s.mp4", expected_size=10
            )
        )
    assert not (tmp_path / "s.mp4").exists() and not (tmp_path / "s.mp4.part").exists()


def test_repr_and_logs_never_show_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    script = Script(ok({}, 503), ok({"data": []}))
    client = scripted(script)
    run(client.submit(make_task()))
    assert KEY not in repr(client) and "hidden" in repr(client)
    assert caplog.records and KEY not in caplog.text


# === over real sockets, against the local emulator ==============================================

from aleph_otio.emulator import Emulator, EmulatorConfig  # noqa: E402
from aleph_otio.synth import make_still, make_video  # noqa: E402

FRAMES = 48  # 2 s at 24 fps: the shortest clip Aleph takes
SIZE = (160, 90)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("media")
    return {
        "clip": make_video(root / "clip.mp4", frames=FRAMES, size=SIZE),
        "short": make_video(root / "short.mp4", frames=24, size=SIZE),
        "still": make_still(root / "guide.png", size=SIZE),
    }


@pytest.fixture(params=["errors", "data"], ids=["failures-as-errors", "failures-as-data"])
def emu(request: pytest.FixtureRequest) -> Any:
    """The emulator, answering failed generations in each of the two shapes Runware uses."""
    config = EmulatorConfig(latency=0.15, concurrency=4, api_key=KEY, failure_shape=request.param)
    with Emulator(config) as server:
        yield server


class RecordingTransport(httpx.AsyncBaseTransport):
    """The real socket transport, remembering each API request's task list."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.posts: list[list[dict[str, Any]]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.posts.append(json.loads(request.content))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class QuickSleep:
    """Records requested waits, but waits at most 50 ms (the emulator's jobs still progress)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(min(seconds, 0.05))


def live(
    emu: Any, *, key: str = KEY, sleep: QuickSleep | None = None, **kwargs: Any
) -> AlephClient:
    settings = APISettings(
        base_url=emu.base_url, poll_interval=0.05, poll_max_interval=0.2, deadline_seconds=30
    )
    return AlephClient(api_key=key, settings=settings, sleep=sleep or QuickSleep(), **kwargs)


def once(client: AlephClient, call: Callable[[AlephClient], Coroutine[Any, Any, T]]) -> T:
    """Run one call on a fresh client, closing it afterwards."""

    async def go() -> T:
        async with client:
            return await call(client)

    return run(go())


def video_tasks(emu: Any, received: list[dict[str, Any]] | None = None) -> list[str]:
    return [
        t["taskUUID"] for t in (received or emu.received) if t.get("taskType") == "videoInference"
    ]


async def upload_and_task(
    client: AlephClient, media: dict[str, Path], **extra: Any
) -> VideoInferenceTask:
    clip = await client.upload_media(media["clip"])
    return make_task(video=clip.ref, **extra)


async def raw_poll(emu: Any, task_uuid: str) -> Any:
    """The emulator's getResponse answer as sent, read without the client's parsing."""
    async with httpx.AsyncClient() as http:
        task = {"taskType": "getResponse", "taskUUID": task_uuid}
        answer = await http.post(
            emu.base_url, json=[task], headers={"Authorization": f"Bearer {KEY}"}
        )
        return answer.json()


def probe(path: Path) -> tuple[int, int, int]:
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return frames, stream.codec_context.width, stream.codec_context.height


def test_live_one_task_end_to_end(emu: Any, media: dict[str, Path], tmp_path: Path) -> None:
    async def go() -> tuple[TaskOutcome, list[Path], int]:
        async with live(emu) as client:
            clip = await client.upload_media(media["clip"])
            still = await client.upload_media(media["still"])
            task = make_task(
                video=clip.ref,
                inputs={"video": clip.ref, "frameImages": [{"image": still.ref, "frame": "first"}]},
                numberResults=2,
                includeCost=True,
            )
            await client.submit(task)
            outcomes = await client.wait([task.task_uuid], expected={task.task_uuid: 2})
            outcome = outcomes[task.task_uuid]
            paths = [
                await client.download(r.video_url or "", tmp_path / f"result{i}.mp4")
                for i, r in enumerate(outcome.successes)
            ]
            return outcome, paths, client.request_count

    outcome, paths, requests = run(go())
    assert outcome.ok and len(outcome.successes) == 2
    assert len({r.video_uuid for r in outcome.successes}) == 2
    assert outcome.cost == pytest.approx(2 * 0.28 * FRAMES / 24, rel=0.01)
    for path in paths:
        assert probe(path) == (FRAMES, *SIZE)
        assert not path.with_suffix(".mp4.part").exists()
    assert len(video_tasks(emu)) == 1 and len(emu.jobs) == 1
    # 2 uploads + 1 submit + the polls; every request the emulator saw is counted.
    assert requests == len(emu.received)


def test_live_many_tasks_are_polled_in_batches(emu: Any, media: dict[str, Path]) -> None:
    transport = RecordingTransport()

    async def go() -> dict[str, TaskOutcome]:
        async with live(emu, transport=transport, poll_batch_size=5) as client:
            base = await upload_and_task(client, media)
            tasks = [make_task(video=base.inputs.video) for _ in range(12)]
            await asyncio.gather(*(client.submit(t) for t in tasks))
            return await client.wait([t.task_uuid for t in tasks])

    outcomes = run(go())
    assert len(outcomes) == 12 and all(o.ok for o in outcomes.values())
    polls = [p for p in transport.posts if p[0]["taskType"] == "getResponse"]
    assert all(len(p) <= 5 for p in polls)
    # First round: 12 tasks in 3 requests (5+5+2), never one request per task.
    assert [len(p) for p in polls[:3]] == [5, 5, 2]
    assert sum(len(p) for p in polls) > len(polls)
    assert len(emu.jobs) == 12


def test_live_dropped_answer_after_accept_does_not_submit_twice(
    emu: Any, media: dict[str, Path]
) -> None:
    emu.faults.drop_after_accept = 1

    async def go() -> TaskOutcome:
        async with live(emu) as client:
            task = await upload_and_task(client, media)
            await client.submit(task)  # re-sent after the drop, answered conflictTaskUUID
            return (await client.wait([task.task_uuid]))[task.task_uuid]

    outcome = run(go())
    sent = video_tasks(emu)
    assert len(sent) == 2 and sent[0] == sent[1]  # the retry re-sent the SAME taskUUID...
    assert list(emu.jobs) == [sent[0]]  # ...and the emulator started exactly one job
    assert outcome.ok and len(outcome.successes) == 1


def test_live_capacity_bursts_are_retried_with_retry_after(
    emu: Any, media: dict[str, Path]
) -> None:
    sleep = QuickSleep()

    async def go() -> VideoInferenceTask:
        async with live(emu, sleep=sleep) as client:
            task = await upload_and_task(client, media)
            emu.faults.retry_after = 2
            emu.faults.status_burst = [429, 503, 504]
            await client.submit(task)
            emu.faults.retry_after = None
            emu.faults.drop_connections = 2
            await client.wait([task.task_uuid])
            return task

    task = run(go())
    assert sleep.waits[:3] == [2.0, 2.0, 2.0]
    assert video_tasks(emu) == [task.task_uuid] * 4
    assert list(emu.jobs) == [task.task_uuid]


LIVE_ERRORS: list[tuple[str, dict[str, Any], type[APIError]]] = [
    ("429", {"status_burst": [429] * 3}, RateLimitedError),
    ("503", {"status_burst": [503] * 3}, RateLimitedError),
    ("500", {"status_burst": [500] * 3}, ServerError),
    ("dropped", {"drop_connections": 3}, APIConnectionError),
]


@pytest.mark.parametrize(
    ("faults", "error"), [c[1:] for c in LIVE_ERRORS], ids=[c[0] for c in LIVE_ERRORS]
)
def test_live_exhausted_retries_are_reported(
    emu: Any, media: dict[str, Path], faults: dict[str, Any], error: type[APIError]
) -> None:
    async def go() -> None:
        async with live(emu, max_retries=2) as client:
            task = await upload_and_task(client, media)
            for name, value in faults.items():
                # A copy: status_burst is consumed in place, and the case runs once per shape.
                setattr(emu.faults, name, copy.copy(value))
            await client.submit(task)

    with pytest.raises(error) as info:
        run(go())
    assert type(info.value) is error and "after 3 attempts" in str(info.value)
    assert emu.jobs == {}


def test_live_slow_server_within_and_beyond_the_timeout(emu: Any, media: dict[str, Path]) -> None:
    async def go(slow: float) -> None:
        async with live(emu, max_retries=1, timeout=0.4) as client:
            task = await upload_and_task(client, media)
            emu.faults.slow_response = slow
            try:
                await client.submit(task)
            finally:
                emu.faults.slow_response = 0.0

    run(go(0.1))  # slow but in time: accepted
    with pytest.raises(APITimeoutError, match="no answer"):
        run(go(0.8))
    # The timed-out task may still have been accepted: that is what the same-UUID retry covers.
    assert len(set(video_tasks(emu))) == 2


def test_live_wait_deadline(media: dict[str, Path]) -> None:
    with Emulator(EmulatorConfig(latency=5.0, api_key=KEY)) as server:

        async def go() -> None:
            async with live(server) as client:
                task = await upload_and_task(client, media)
                await client.submit(task)
                await client.wait([task.task_uuid], deadline=0.3)

        with pytest.raises(WaitTimeoutError, match="1 of 1 task") as info:
            run(go())
        (outcome,) = info.value.outcomes.values()
        assert not outcome.done and outcome.processing == 1


def test_live_wrong_key(emu: Any, media: dict[str, Path]) -> None:
    wrong = "rw-wrong-key-0123456789"
    with pytest.raises(AuthenticationError) as info:
        once(live(emu, key=wrong), lambda c: c.upload_media(media["still"]))
    assert info.value.code == "invalidApiKey" and wrong not in str(info.value)


def test_live_insufficient_credits(media: dict[str, Path]) -> None:
    with Emulator(EmulatorConfig(latency=0.1, api_key=KEY, budget=0.10)) as server:

        async def go() -> None:
            async with live(server) as client:
                await client.submit(await upload_and_task(client, media))

        with pytest.raises(InsufficientCreditsError, match="top up"):
            run(go())
        assert server.jobs == {}


def test_live_server_side_parameter_error(emu: Any, media: dict[str, Path]) -> None:
    async def go() -> None:
        async with live(emu) as client:
            short = await client.upload_media(media["short"])  # 1 s: below Aleph's 2 s minimum
            await client.submit(make_task(video=short.ref))

    with pytest.raises(InvalidParameterError) as info:
        run(go())
    assert info.value.parameter == "inputs.video" and "inputs.video" in str(info.value)
    assert info.value.code == "unsupportedDuration"


def test_live_conflict_and_unknown_task(emu: Any, media: dict[str, Path]) -> None:
    async def go() -> VideoInferenceTask:
        async with live(emu) as client:
            task = await upload_and_task(client, media)
            await client.submit(task)
            return task

    task = run(go())
    # A later run that does not know it sent this UUID is told; one that does, is not.
    with pytest.raises(TaskConflictError):
        once(live(emu), lambda c: c.submit(task))
    once(live(emu), lambda c: c.submit(task, assume_sent=True))
    unknown = new_uuid()
    with pytest.raises(TaskNotFoundError, match=unknown):
        once(live(emu), lambda c: c.get_responses([unknown]))
    assert list(emu.jobs) == [task.task_uuid]


@pytest.mark.parametrize(
    ("fault", "code"),
    [("fail_tasks", "timeoutProvider"), ("safety_rejects", "contentPolicyViolation")],
)
def test_live_failed_task(emu: Any, media: dict[str, Path], fault: str, code: str) -> None:
    setattr(emu.faults, fault, 1)

    async def go() -> TaskOutcome:
        async with live(emu) as client:
            task = await upload_and_task(client, media, numberResults=2)
            await client.submit(task)
            outcome = (await client.wait([task.task_uuid], expected={task.task_uuid: 2}))[
                task.task_uuid
            ]
            wire.update(await raw_poll(emu, task.task_uuid))
            return outcome

    wire: dict[str, Any] = {}
    outcome = run(go())
    # The failures really came in the shape this emulator was set to answer with.
    if emu.config.failure_shape == "data":
        assert "errors" not in wire
        assert [i["error"]["code"] for i in wire["data"]] == [code] * 2
    else:
        assert wire.get("data", []) == []
        assert [e["code"] for e in wire["errors"]] == [code] * 2
    assert outcome.done and not outcome.successes
    assert [f.code for f in outcome.failures] == [code] * 2
    with pytest.raises(TaskFailedError, match=code):
        outcome.raise_for_failures()


def test_live_downloads_truncated_expired_and_recovered(
    emu: Any, media: dict[str, Path], tmp_path: Path
) -> None:
    async def go() -> str:
        async with live(emu) as client:
            task = await upload_and_task(client, media)
            await client.submit(task)
            outcome = (await client.wait([task.task_uuid]))[task.task_uuid]
            return outcome.successes[0].video_url or ""

    url = run(go())
    # One truncated answer: retried, and the file is complete.
    emu.faults.truncate_downloads = 1
    good = once(live(emu), lambda c: c.download(url, tmp_path / "good.mp4"))
    assert probe(good) == (FRAMES, *SIZE)
    # Truncated every time: a clear error, and no partial file left behind.
    emu.faults.truncate_downloads = 10
    bad = tmp_path / "bad.mp4"
    with pytest.raises(DownloadError, match="truncated") as info:
        once(live(emu, max_retries=2), lambda c: c.download(url, bad))
    assert "bad.mp4" in str(info.value)
    assert not bad.exists() and not bad.with_suffix(".mp4.part").exists()
    emu.faults.truncate_downloads = 0
    # Past its ttl the URL is gone: the message says what to do.
    emu.expire_results()
    with pytest.raises(DownloadError, match="expired.*re-poll"):
        once(live(emu), lambda c: c.download(url, tmp_path / "late.mp4"))
    assert not (tmp_path / "late.mp4.part").exists()


def test_live_key_never_in_logs_errors_or_repr(
    emu: Any, media: dict[str, Path], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []

    async def go() -> AlephClient:
        client = live(emu, max_retries=2)
        task = await upload_and_task(client, media)
        emu.faults.status_burst = [503]
        emu.faults.drop_after_accept = 1
        await client.submit(task)
        outcome = (await client.wait([task.task_uuid]))[task.task_uuid]
        await client.download(outcome.successes[0].video_url or "", tmp_path / "r.mp4")
        for faults in ({"status_burst": [500] * 3}, {"drop_connections": 3}):
            for name, value in faults.items():
                setattr(emu.faults, name, value)
            try:
                await client.get_responses([task.task_uuid])
            except AlephOtioError as exc:
                messages.append(str(exc))
        await client.aclose()
        return client

    client = run(go())
    assert len(messages) == 2
    assert caplog.records  # the client did log, at DEBUG and WARNING
    assert KEY not in caplog.text
    assert all(KEY not in m for m in messages)
    assert KEY not in repr(client)
    assert KEY not in json.dumps(emu.received)


def test_live_requests_do_not_search_for_optional_packages(
    emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpcore tries ``import sniffio`` several times per request; when it is not installed,
    each try must not search sys.path again (it cost ~1.5 ms per request during a batch)."""
    import importlib.machinery

    searched: list[str] = []
    real_find_spec = importlib.machinery.PathFinder.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        searched.append(name)
        return real_find_spec(name, *args, **kwargs)

    async def go() -> None:
        async with live(emu) as client:
            for _ in range(3):
                with pytest.raises(TaskNotFoundError):
                    await client.get_responses([new_uuid()])

    run(go())  # connect and import what the first request needs
    monkeypatch.setattr(importlib.machinery.PathFinder, "find_spec", find_spec)
    run(go())
    assert searched == []
