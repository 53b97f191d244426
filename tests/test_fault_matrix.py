"""The pipeline against every fault the emulator can inject (issue "Prove it", item 6).

Each test runs the real pipeline in-process against a real emulator on 127.0.0.1 and injects one
fault, at a chosen stage (the pipeline's own progress events switch the fault on). For each, the
run either recovers by itself, or ends with a clear per-shot reason and a ledger from which a
rerun, once the fault is gone, finishes: every shot relinked once, no shot paid twice.
docs/reliability.md has the table of what the user sees.
"""

from __future__ import annotations

import asyncio
import io
import socket
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import opentimelineio as otio
import pytest
from rich.console import Console
from test_crash_consistency import TinyProject, make_tiny_project, version_ranges

from aleph_otio.api.client import AlephClient
from aleph_otio.api.retry import RetryPolicy
from aleph_otio.cli.output import summary_table
from aleph_otio.config import APISettings, PlanSettings
from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.ledger import Ledger
from aleph_otio.pipeline import RunConfig, RunSummary, estimate_cost, plan_file, run_pipeline
from aleph_otio.shots import Shot

KEY = "test-key-not-secret-faults"
PRICE = 0.28
#: Fast retries keep the matrix quick; the policy itself is tested in test_client.py.
FAST = RetryPolicy(max_retries=3, base_delay=0.02, max_delay=0.1)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> TinyProject:
    # Two shots (the guided clip-marker shot and the shot across a cut) keep it fast.
    return make_tiny_project(tmp_path_factory.mktemp("faults") / "proj", shots=2)


@pytest.fixture()
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator(
        EmulatorConfig(
            latency=0.2,
            concurrency=2,
            storage_dir=tmp_path / "emu",
            api_key=KEY,
            price_per_second=PRICE,
        )
    ) as server:
        yield server


OnEvent = Callable[[str, Shot | None, str], Any]


def _run(
    project: TinyProject,
    tmp_path: Path,
    emu: Emulator,
    *,
    on_event: OnEvent | None = None,
    retry: RetryPolicy = FAST,
    timeout: float = 30.0,
    api: dict[str, Any] | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    **config: Any,
) -> RunSummary:
    settings = APISettings(
        base_url=emu.base_url,
        poll_interval=0.05,
        poll_max_interval=0.2,
        price_per_second=PRICE,
        deadline_seconds=60,
        **(api or {}),
    )
    cfg = RunConfig(
        timeline=project.timeline,
        output=tmp_path / "out.otio",
        work_dir=tmp_path / "work",
        api_settings=settings,
        concurrency=1,
        **config,
    )

    async def go() -> RunSummary:
        async with AlephClient(
            api_key=KEY, settings=settings, retry=retry, timeout=timeout, sleep=sleep
        ) as client:
            return await run_pipeline(cfg, client, on_event=on_event)

    return asyncio.run(go())


def _at(stage: str, action: Callable[[], None], *, status: str = "start", nth: int = 1) -> OnEvent:
    """A progress callback that fires ``action`` once: the ``nth`` time ``stage`` reports
    ``status`` (shots go one at a time, ``concurrency=1``, so the nth is the nth shot)."""
    seen = Counter[str]()

    def on_event(event_stage: str, shot: Shot | None, event_status: str) -> None:
        if event_stage == stage and event_status == status:
            seen[stage] += 1
            if seen[stage] == nth:
                action()

    return on_event


def _states(summary: RunSummary) -> list[tuple[str, str, str | None]]:
    return [(s.name, s.state, s.reason) for s in summary.shots]


def _expected_cost(project: TinyProject, number_results: int = 1) -> float:
    """What every shot paid once costs (the emulator's price x input seconds x results)."""
    settings = PlanSettings(number_results=number_results)
    _, plan = plan_file(project.timeline, settings)
    return sum(estimate_cost(shot, PRICE) for shot in plan.shots)


def _assert_finished_once(
    project: TinyProject, tmp_path: Path, emu: Emulator, summary: RunSummary, jobs: int
) -> None:
    """Every shot relinked, each range once; ``jobs`` jobs started; each shot paid once."""
    assert summary.exit_code == 0, _states(summary)
    ranges = version_ranges(tmp_path / "out.otio")
    assert sorted(ranges.values()) == [1] * project.pieces, ranges
    assert len(emu.jobs) == jobs
    prompts = Counter(str(job.task["positivePrompt"]) for job in emu.jobs.values())
    assert set(prompts) == set(project.prompts)
    assert emu.spent == pytest.approx(_expected_cost(project)), "a shot was paid twice"
    assert not list((tmp_path / "work").rglob("*.part"))


# --- capacity and server errors ------------------------------------------------------------------


def test_429_burst_with_retry_after_recovers_and_waits(
    project: TinyProject, tmp_path: Path, emu: Emulator
) -> None:
    """Three 429s with Retry-After: 0.3 during submit: the run waits them out and finishes."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    def burst() -> None:
        emu.faults.retry_after = 0.3
        emu.faults.status_burst = [429, 429, 429]

    summary = _run(project, tmp_path, emu, on_event=_at("submit", burst), sleep=sleep)
    _assert_finished_once(project, tmp_path, emu, summary, jobs=2)
    assert not emu.faults.status_burst, "the burst was not hit"
    # The client waited what Retry-After asked, not its own 20-100 ms backoff (poll intervals
    # here are 0.05-0.2 s, so a 0.3 s wait can only be Retry-After).
    assert waits.count(0.3) == 3, waits


def test_503_beyond_retries_during_submit_fails_the_shot_then_resends_the_same_uuid(
    project: TinyProject, tmp_path: Path, emu: Emulator
) -> None:
    """Retries run out while submitting: the shot fails with the reason; the rerun sends the
    same taskUUID again (never answered, so never accepted) and nothing is paid twice."""

    def burst() -> None:
        emu.faults.status_burst = [503] * (FAST.max_retries + 1)

    # The second shot (across the cut) has no guide still: its submit is one POST.
    first = _run(project, tmp_path, emu, on_event=_at("submit", burst, nth=2))
    assert first.exit_code == 4, _states(first)
    (failed,) = first.failed
    assert failed.reason and failed.reason.startswith("submit: submit task")
    assert "serviceUnavailable" in failed.reason and "HTTP 503" in failed.reason
    assert "run the same command" in failed.reason
    uuid = failed.task_uuid
    sent = [t["taskUUID"] for t in emu.received if t.get("taskType") == "videoInference"]
    assert sent.count(uuid) == FAST.max_retries + 1 and uuid.lower() not in emu.jobs

    second = _run(project, tmp_path, emu)
    _assert_finished_once(project, tmp_path, emu, second, jobs=2)
    assert uuid.lower() in emu.jobs, "the rerun did not reuse the shot's taskUUID"


def test_server_error_burst_on_upload_is_retried(
    project: TinyProject, tmp_path: Path, emu: Emulator
) -> None:
    """500/502/504 on the first uploads: retried with backoff, the run finishes."""
    emu.faults.status_burst = [500, 502, 504]
    summary = _run(project, tmp_path, emu)
    _assert_finished_once(project, tmp_path, emu, summary, jobs=2)
    assert not emu.faults.status_burst


# --- dropped connections -------------------------------------------------------------------------


def test_dropped_connections_are_retried(
    project: TinyProject, tmp_path: Path, emu: Emulator
) -> None:
    emu.faults.drop_connections = 2
    summary = _run(project, tmp_path, emu)
    _assert_finished_once(project, tmp_path, emu, summary, jobs=2)
    assert emu.faults.drop_connections == 0


def test_connection_dropped_after_the_server_accepted_is_not_paid_twice(
    project: TinyProject, tmp_path: Path, emu: Emulator
) -> None:
    """The server starts the job, then the answer is lost: the retry's conflictTaskUUID means
    "accepted"; one job per shot."""
    emu.faults.drop_after_accept = 2
    summary = _run(project, tmp_path, emu)
    _assert_finished_once(project, tmp_path, emu, summary, jobs=2)
    sent = Counter(t["taskUUID"] for t in emu.received if t.get("taskType") == "videoInference")
    assert sorted(sent.values()) == [2, 2], "each submit was expected to be re-sent once"


def test_server_down_while_polling_leaves_shots_submitted_and_the_rerun_polls(
    project: TinyProject, tmp_path: Path, emu: Emulator
) -> None:
    """Every poll dropped (server gone): the shots stay ``submitted`` with a reason, not failed;
    the rerun polls the same tasks and pays nothing again."""

    def down() -> None:
        emu.faults.drop_connections = 1000

    first = _run(project, tmp_path, emu, on_event=_at("generate", down))
    assert first.exit_code == 5 and first.still_processing == 2, _states(first)
    for shot in first.shots:
        assert shot.state == "submitted", _states(first)
        assert shot.reason and shot.reason.startswith("generate: could not poll")
        assert "lost the connection" in shot.reason and "run the same command" in shot.reason
    emu.faults.drop_connections = 0

    second = _run(project, tmp_path, emu)
    _assert_finished_once(project, tmp_path, emu, second, jobs=2)
    sent = [t for t in emu.received if t.get("taskType") == "videoInference"]
    assert len(sent) == 2, "a shot was submitted again after a failed poll"


# --- slow answers --------------------------------------------------------------------------------


def test_slow_responses_within_the_timeout_just_take_longer(
    project: TinyProject, tmp_path: Path, emu: Emulator
) -> None:
    emu.faults.slow_response = 0.1
    summary = _run(project, tmp_path, emu)
    _assert_finished_once(project, tmp_path, emu, summary, jobs=2)


def test_answers_slower_than_the_timeout_while_polling_resume_later(
    project: TinyProject, tmp_path: Path, emu: Emulator
) -> None:
    """Polls time out (server too slow): shots stay submitted; a rerun once it is fast again
    finishes without resubmitting."""

    def slow() -> None:
        emu.faults.slow_response = 1.0

    retry = RetryPolicy(max_retries=1, base_delay=0.01, max_delay=0.02)
    first = _run(project, tmp_path, emu, on_event=_at("generate", slow), retry=retry, timeout=0.4)
    assert first.exit_code == 5, _states(first)
    assert {s.state for s in first.shots} == {"submitted"}
    assert all(s.reason and "could not poll" in s.reason for s in first.shots)
    emu.faults.slow_response = 0.0

    second = _run(project, tmp_path, emu)
    _assert_finished_once(project, tmp_path, emu, second, jobs=2)


# --- downloads -----------------------------------------------------------------------------------


def test_truncated_downloads_are_retried(
    project: TinyProject, tmp_path: Path, emu: Emulator
) -> None:
    emu.faults.truncate_downloads = 2
    summary = _run(project, tmp_path, emu)
    _assert_finished_once(project, tmp_path, emu, summary, jobs=2)
    assert emu.faults.truncate_downloads == 0


def test_truncated_beyond_retries_fails_the_download_and_the_rerun_fetches_it(
    project: TinyProject, tmp_path: Path, emu: Emulator
) -> None:
    emu.faults.truncate_downloads = FAST.max_retries + 1
    first = _run(project, tmp_path, emu)
    assert first.exit_code == 4, _states(first)
    (failed,) = first.failed
    assert failed.reason and failed.reason.startswith("download:") and "truncated" in failed.reason
    assert not list((tmp_path / "work").rglob("*.part")), "a partial download was left behind"

    second = _run(project, tmp_path, emu)
    _assert_finished_once(project, tmp_path, emu, second, jobs=2)


def test_expired_result_fails_with_a_reason_and_is_resubmitted_only_when_asked(
    project: TinyProject, tmp_path: Path, emu: Emulator
) -> None:
    """Results expire (ttl) before the download: the shot fails as expired, is not retried at
    the dead URL forever nor paid again silently; ``resubmit_expired`` submits it anew."""
    first = _run(project, tmp_path, emu, submit_only=True)
    assert {s.state for s in first.shots} == {"submitted"}
    emu.wait_idle(timeout=30)
    assert emu.expire_results() == 2

    second = _run(project, tmp_path, emu)
    assert second.exit_code == 5, _states(second)
    for shot in second.shots:
        assert shot.state == "failed"
        assert shot.reason and shot.reason.startswith("download: result expired")
        assert "--resubmit-expired" in shot.reason
    old = {s.task_uuid for s in second.shots}

    third = _run(project, tmp_path, emu)  # without the flag: still expired, nothing paid
    assert third.exit_code == 5 and len(emu.jobs) == 2
    assert all(s.reason and "result expired" in s.reason for s in third.shots)

    fourth = _run(project, tmp_path, emu, resubmit_expired=True)
    assert fourth.exit_code == 0, _states(fourth)
    assert len(emu.jobs) == 4 and not old & {s.task_uuid for s in fourth.shots}
    # Paid twice, explicitly: the expired results were paid for too.
    assert emu.spent == pytest.approx(2 * _expected_cost(project))
    assert sum(version_ranges(tmp_path / "out.otio").values()) == project.pieces


def test_dead_result_url_is_replaced_by_a_fresh_one_from_getresponse(
    project: TinyProject, tmp_path: Path, emu: Emulator
) -> None:
    """A stored URL that now answers 404 (e.g. an expired signature) while the server still has
    the result: the pipeline re-polls, gets the live URL and downloads it; no resubmission."""
    first = _run(project, tmp_path, emu, submit_only=True)
    emu.wait_idle(timeout=30)
    with Ledger(tmp_path / "work" / "ledger.sqlite") as ledger:
        for shot in first.shots:
            polled = _poll_once(emu, shot.task_uuid)
            dead = polled["videoURL"].replace("/results/", "/results/expired-")
            ledger.record_result(
                shot.task_uuid,
                0,
                status="success",
                video_uuid=polled["videoUUID"],
                video_url=dead,
            )
            assert ledger.results(shot.shot_id)[0].video_url == dead
    second = _run(project, tmp_path, emu)
    _assert_finished_once(project, tmp_path, emu, second, jobs=2)


def _poll_once(emu: Emulator, task_uuid: str) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        settings = APISettings(base_url=emu.base_url)
        async with AlephClient(api_key=KEY, settings=settings) as client:
            (result,) = (await client.get_responses([task_uuid]))[task_uuid]
            return {"videoURL": result.video_url, "videoUUID": result.video_uuid}

    return asyncio.run(go())


# --- failed generations --------------------------------------------------------------------------


def test_failed_task_is_reported_and_the_rerun_submits_it_under_a_new_uuid(
    project: TinyProject, tmp_path: Path, emu: Emulator
) -> None:
    emu.faults.fail_tasks = 1
    first = _run(project, tmp_path, emu)
    assert first.exit_code == 4, _states(first)
    (failed,) = first.failed
    assert failed.reason and "timeoutProvider" in failed.reason
    assert len(first.done) == 1

    second = _run(project, tmp_path, emu)
    assert second.exit_code == 0, _states(second)
    assert len(emu.jobs) == 3  # the failed task's UUID is never started twice
    # Failed generations are free: every shot paid once.
    assert emu.spent == pytest.approx(_expected_cost(project))
    assert next(s for s in second.shots if s.shot_id == failed.shot_id).task_uuid != (
        failed.task_uuid
    )


def test_some_variations_failed_relinks_the_rest_and_reports_the_failures(
    project: TinyProject, tmp_path: Path, emu: Emulator
) -> None:
    """numberResults 2; the first task's second generation fails after its first succeeded.
    The success is relinked (it was paid for), the failure reported, nothing resubmitted."""
    emu.faults.partial_tasks = 1
    summary = _run(project, tmp_path, emu, plan_settings=PlanSettings(number_results=2))
    assert summary.exit_code == 0, _states(summary)
    partial = [s for s in summary.shots if s.reason]
    assert len(partial) == 1, _states(summary)
    assert partial[0].state == "relinked" and len(partial[0].results) == 1
    assert partial[0].reason.startswith("1 of 2 variation(s) failed: timeoutProvider")
    # ... and the end-of-run table of `aleph-otio run` shows it next to the relinked result
    console = Console(file=io.StringIO(), width=250, record=True)
    console.print(summary_table(summary))
    table = console.export_text()
    assert "relinked" in table and "1 of 2 variation(s) failed: timeoutProvider" in table
    written = otio.adapters.read_from_file(str(tmp_path / "out.otio"))
    tracks = {t.name: len(t.find_clips()) for t in written.video_tracks()}
    # variation a has every piece; variation b lacks the shot whose second generation failed
    assert tracks["ALEPH v001a"] == project.pieces
    assert 0 < tracks["ALEPH v001b"] < project.pieces

    again = _run(project, tmp_path, emu, plan_settings=PlanSettings(number_results=2))
    assert again.exit_code == 0 and len(emu.jobs) == 2, "a partial shot was paid again"
    # Paid: every result that succeeded, once; the failed generation is free.
    assert emu.spent == pytest.approx(summary.estimate - partial[0].estimate / 2)
    assert summary.cost == pytest.approx(emu.spent)


def test_partial_task_in_the_ledger_is_recorded_once_and_survives_a_repoll(
    project: TinyProject, tmp_path: Path
) -> None:
    """A run killed after the partial outcome was recorded polls the task again: the ledger
    adds no second failure, keeps the shot succeeded and never fails it."""
    _, plan = plan_file(project.timeline, PlanSettings(number_results=2))
    shot = plan.shots[0]
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        ledger.add_shots(plan.shots, str(project.timeline))
        for state in ("prepared", "uploaded"):
            ledger.set_state(shot.id, state)
        uuid = ledger.mark_submitting(shot.id)
        ledger.mark_submitted(shot.id)
        ledger.record_result(uuid, 0, status="success", video_uuid="v0", video_url="http://x/0")
        assert ledger.state(shot.id) == "submitted"  # 1 of 2: not done yet
        for _ in range(2):
            ledger.finish_partial(uuid, ["timeoutProvider: provider did not answer"])
        record = ledger.shot(shot.id)
        assert record.state == "succeeded" and record.task_state == "succeeded"
        assert (
            record.reason == "1 of 2 variation(s) failed: timeoutProvider: provider did not answer"
        )
        statuses = [(r.result_index, r.status) for r in ledger.results(shot.id)]
        assert statuses == [(0, "success"), (1, "error")]
        # its one success is all it waits for: downloaded once that file is on disk
        ledger.record_download(uuid, 0, str(tmp_path / "r0.mp4"), "0" * 64)
        assert ledger.state(shot.id) == "downloaded"


# --- webhooks ------------------------------------------------------------------------------------


@pytest.fixture()
def silent_receiver() -> Iterator[str]:
    """A webhook URL that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    done = threading.Event()

    def hold() -> None:
        server.settimeout(0.1)
        while not done.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)  # read nothing, answer nothing

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    done.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_webhook_that_never_answers_does_not_stall_the_run(
    project: TinyProject, tmp_path: Path, emu: Emulator, silent_receiver: str
) -> None:
    """The pipeline polls; a webhook URL is only passed on to the service. One that never
    answers changes nothing for the run."""
    started = time.monotonic()
    summary = _run(project, tmp_path, emu, api={"webhook_url": silent_receiver})
    elapsed = time.monotonic() - started
    _assert_finished_once(project, tmp_path, emu, summary, jobs=2)
    assert all(job.task.get("webhookURL") == silent_receiver for job in emu.jobs.values())
    # The deliveries are still hanging on the silent receiver while the run is already done.
    assert emu.webhooks and not any(d.ok for d in emu.webhooks)
    assert elapsed < 20
