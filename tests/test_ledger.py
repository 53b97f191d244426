"""The job ledger: states, idempotence, persistence across processes and crashes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from aleph_otio.errors import AlephOtioError, LedgerError
from aleph_otio.ledger import SCHEMA_VERSION, Ledger
from aleph_otio.shots import Shot, SourceSegment, TaskOptions, shot_id


def make_shot(prompt: str = "make it snow", start: int = 10, count: int = 48, n: int = 1) -> Shot:
    seg = SourceSegment(
        clip_name="A001",
        track_name="V1",
        track_index=0,
        clip_index=0,
        media_path="/media/a001.mp4",
        media_rate=24,
        available_start=86400,
        media_start_frame=start,
        media_frame_count=count,
        record_start=0,
        record_duration=count,
        record_rate=24,
        clip_source_start=86400 + start,
        clip_source_duration=count,
        clip_source_rate=24,
        source_tc_in="01:00:00:10",
        source_tc_out="01:00:02:10",
        record_tc_in="00:00:00:00",
    )
    options = TaskOptions(number_results=n)
    return Shot(
        id=shot_id(prompt, [seg], [], 0, 0, options),
        name=f"sh {prompt}",
        prompt=prompt,
        segments=[seg],
        options=options,
    )


def walk_to_submitted(ledger: Ledger, shot: Shot) -> str:
    ledger.record_prepared(shot.id, "/work/clip.mp4", "ab" * 32)
    ledger.record_uploaded(shot.id, "media-1", "https://x/media-1.mp4")
    task = ledger.mark_submitting(shot.id)
    ledger.mark_submitted(shot.id)
    return task


def test_full_happy_path_and_summary(tmp_path: Path) -> None:
    shot = make_shot(n=2)
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        ledger.add_shots([shot], "/edit/cut.otio")
        assert ledger.state(shot.id) == "planned"
        task = walk_to_submitted(ledger, shot)
        assert ledger.state(shot.id) == "submitted"
        ledger.record_result(task, 0, status="success", video_uuid="v0", video_url="u0", cost=0.56)
        # One of two variations in: not yet succeeded.
        assert ledger.state(shot.id) == "submitted"
        ledger.record_result(task, 1, status="success", video_uuid="v1", video_url="u1", cost=0.56)
        assert ledger.state(shot.id) == "succeeded"
        ledger.record_download(task, 0, "/out/r0.mp4", "00" * 32)
        assert ledger.state(shot.id) == "succeeded"
        ledger.record_download(task, 1, "/out/r1.mp4", "11" * 32)
        assert ledger.state(shot.id) == "downloaded"
        ledger.mark_verified(task, 0, frame_count=48, rate=24.0, width=320, height=180)
        ledger.mark_verified(task, 1, frame_count=48, rate=24.0, width=320, height=180)
        assert ledger.state(shot.id) == "verified"
        relinks = ledger.relink_results()
        assert [(r.variant, r.path, r.frame_count, r.cost) for r in relinks] == [
            (0, "/out/r0.mp4", 48, 0.56),
            (1, "/out/r1.mp4", 48, 0.56),
        ]
        ledger.mark_relinked(shot.id)
        assert ledger.state(shot.id) == "relinked"
        assert all(r.relinked and r.verified for r in ledger.results(shot.id))
        summary = ledger.summary()
        assert summary["states"]["relinked"] == 1
        assert summary["shots"] == 1 and summary["results"] == 2
        assert summary["cost"] == pytest.approx(1.12)
        kinds = [e.detail for e in ledger.events(shot.id) if e.kind == "state"]
        assert kinds[0] == "planned -> prepared" and kinds[-1] == "verified -> relinked"


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ([], "submitted"),
        ([], "relinked"),
        (["prepared"], "submitting"),
        (["prepared", "uploaded"], "succeeded"),
        (["prepared", "uploaded", "submitting", "submitted"], "planned"),
        (["prepared", "uploaded", "submitting", "submitted", "succeeded"], "verified"),
    ],
)
def test_illegal_transitions_raise(tmp_path: Path, path: list[str], bad: str) -> None:
    shot = make_shot()
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.add_shots([shot], "t.otio")
        for state in path:
            ledger.set_state(shot.id, state)
        before = ledger.state(shot.id)
        with pytest.raises(LedgerError, match=f"cannot go from {before} to {bad}"):
            ledger.set_state(shot.id, bad)
        assert ledger.state(shot.id) == before  # the failed change left nothing behind


def test_unknown_state_and_field_and_shot(tmp_path: Path) -> None:
    shot = make_shot()
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.add_shots([shot], "t.otio")
        with pytest.raises(LedgerError, match="unknown shot state"):
            ledger.set_state(shot.id, "done")
        with pytest.raises(LedgerError, match="unknown shot field"):
            ledger.set_state(shot.id, "prepared", api_key="secret")
        with pytest.raises(LedgerError, match="no shot 'nope'"):
            ledger.state("nope")
        assert isinstance(LedgerError("x"), AlephOtioError)


def test_add_is_idempotent_and_changed_prompt_is_new_shot(tmp_path: Path) -> None:
    shot = make_shot()
    path = tmp_path / "l.sqlite"
    with Ledger(path) as ledger:
        ledger.add_shots([shot], "t.otio")
        ledger.record_prepared(shot.id, "/c.mp4", "aa")
        task = ledger.task_uuid_for(shot.id)
        ledger.add_shots([shot], "t.otio")
        assert ledger.state(shot.id) == "prepared"
        assert ledger.task_uuid_for(shot.id) == task
        changed = make_shot(prompt="make it rain")
        moved = make_shot(start=20)
        ledger.add_shots([shot, changed, moved], "t.otio")
        records = ledger.shots()
        assert [r.shot.id for r in records] == [shot.id, changed.id, moved.id]
        assert len({r.task_uuid for r in records}) == 3
        assert [r.state for r in records] == ["prepared", "planned", "planned"]
        assert ledger.shots(["planned"])[0].shot == changed
        assert records[0].clip_path == "/c.mp4" and records[0].clip_sha256 == "aa"


def test_task_uuid_is_stable_across_reopen(tmp_path: Path) -> None:
    shot = make_shot()
    path = tmp_path / "l.sqlite"
    with Ledger(path) as ledger:
        ledger.add_shots([shot], "t.otio")
        first = ledger.task_uuid_for(shot.id)
        assert uuid.UUID(first).version == 4
    with Ledger(path) as ledger:
        assert ledger.task_uuid_for(shot.id) == first
        ledger.set_state(shot.id, "prepared")
        ledger.set_state(shot.id, "uploaded")
        assert ledger.mark_submitting(shot.id) == first
    # A crash after the commit and before the answer: the resumed run POSTs the same UUID.
    with Ledger(path) as ledger:
        assert ledger.state(shot.id) == "submitting"
        assert ledger.mark_submitting(shot.id) == first
        assert ledger.shots()[0].attempts == 2


def test_local_failure_retry_keeps_task_uuid(tmp_path: Path) -> None:
    shot = make_shot()
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.add_shots([shot], "t.otio")
        task = walk_to_submitted(ledger, shot)
        ledger.fail(shot.id, "network down while polling")
        assert ledger.shots()[0].reason == "network down while polling"
        ledger.set_state(shot.id, "uploaded")
        assert ledger.task_uuid_for(shot.id) == task
        # failed -> submitted (resume polling) is allowed for a task the server did not fail.
        ledger.fail(shot.id, "deadline")
        ledger.set_state(shot.id, "submitted")
        assert ledger.task_uuid_for(shot.id) == task


def test_server_failed_task_gets_new_uuid_on_retry(tmp_path: Path) -> None:
    shot = make_shot()
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.add_shots([shot], "t.otio")
        task = walk_to_submitted(ledger, shot)
        ledger.record_result(task, 0, status="error", error="timeoutProvider")
        record = ledger.shots()[0]
        assert record.state == "failed" and "timeoutProvider" in (record.reason or "")
        assert record.task_state == "failed"
        with pytest.raises(LedgerError, match="reported task .* as failed"):
            ledger.set_state(shot.id, "submitted")
        ledger.set_state(shot.id, "uploaded")
        fresh = ledger.task_uuid_for(shot.id)
        assert fresh != task
        assert ledger.mark_submitting(shot.id) == fresh
        # The old task and its error are kept for the record.
        assert [r.task_uuid for r in ledger.results(shot.id, all_tasks=True)] == [task]
        assert ledger.results(shot.id) == []
        assert ledger.task_for(task) == shot.id


def test_record_result_is_idempotent(tmp_path: Path) -> None:
    shot = make_shot()
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.add_shots([shot], "t.otio")
        task = walk_to_submitted(ledger, shot)
        assert ledger.record_result(task, 0, status="success", video_uuid="vid", cost=0.5) == 0
        # The same video polled again, even under another index, is the same result.
        assert ledger.record_result(task, 3, status="success", video_uuid="vid", cost=0.5) == 0
        ledger.record_result(task, 0, status="success", video_uuid="vid", video_url="u", seed=7)
        results = ledger.results(shot.id)
        assert len(results) == 1
        assert (results[0].video_url, results[0].seed, results[0].cost) == ("u", 7, 0.5)
        assert ledger.summary()["cost"] == pytest.approx(0.5)
        assert ledger.state(shot.id) == "succeeded"


def test_verify_before_download_is_refused(tmp_path: Path) -> None:
    shot = make_shot()
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.add_shots([shot], "t.otio")
        task = walk_to_submitted(ledger, shot)
        ledger.record_result(task, 0, status="success", video_uuid="v")
        with pytest.raises(LedgerError, match="before it is downloaded"):
            ledger.mark_verified(task, 0)
        with pytest.raises(LedgerError, match="no result #5"):
            ledger.record_download(task, 5, "/x", "y")


def test_upload_cache_persists(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    with Ledger(path) as ledger:
        cache = ledger.upload_cache()
        assert "abc" not in cache and len(cache) == 0
        cache["abc"] = ("m-1", "https://x/m-1")
        ledger.record_upload("def", "m-2", "https://x/m-2", "/work/def.png")
    with Ledger(path) as ledger:
        assert ledger.lookup_upload("abc") == ("m-1", "https://x/m-1")
        cache = ledger.upload_cache()
        assert dict(cache) == {"abc": ("m-1", "https://x/m-1"), "def": ("m-2", "https://x/m-2")}
        del cache["abc"]
        with pytest.raises(KeyError):
            cache["abc"]
        assert ledger.lookup_upload("abc") is None
        assert ledger.summary()["uploads"] == 1


def test_newer_schema_and_foreign_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    Ledger(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(LedgerError, match="newer aleph-otio"):
        Ledger(path)
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(LedgerError, match="not an aleph-otio job ledger"):
        Ledger(other)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(LedgerError, match="junk.sqlite"):
        Ledger(junk)


def test_wal_mode_and_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWARE_API_KEY", "sk-very-secret-key")
    path = tmp_path / "l.sqlite"
    shot = make_shot()
    with Ledger(path) as ledger:
        ledger.add_shots([shot], "t.otio")
        walk_to_submitted(ledger, shot)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    for file in tmp_path.iterdir():
        assert b"sk-very-secret-key" not in file.read_bytes()


def test_the_commit_before_a_submission_is_flushed_to_disk_and_no_other(tmp_path: Path) -> None:
    """Power-cut safety where money is at stake, without an fsync per state change.

    mark_submitting commits the taskUUID about to be sent with synchronous=FULL (which flushes
    the WAL, every earlier commit included); every other commit runs with NORMAL, which WAL mode
    keeps across a killed process. The SQL the connection runs shows which mode each commit had.
    """
    shot = make_shot()
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.add_shots([shot], "t.otio")
        statements: list[str] = []
        ledger._db.set_trace_callback(statements.append)

        def commits_in_full_mode() -> list[bool]:
            mode, flags = "NORMAL", []
            for sql in statements:
                if sql.startswith("PRAGMA synchronous"):
                    mode = sql.split("=")[1].strip()
                elif sql == "COMMIT":
                    flags.append(mode == "FULL")
            return flags

        walk_to_submitted(ledger, shot)
        # prepared, uploaded, submitting, submitted: only the third is flushed.
        assert commits_in_full_mode() == [False, False, True, False]
        assert ledger._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL again
        ledger._db.set_trace_callback(None)


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from aleph_otio.ledger import Ledger
    from aleph_otio.shots import Shot
    shot = Shot.model_validate_json(sys.argv[2])
    ledger = Ledger(Path(sys.argv[1]))
    ledger.add_shots([shot], "t.otio")
    print("ready", flush=True)
    i = 0
    while True:
        # Hammer the ledger with transactions until killed.
        ledger.record_upload(f"sha{i}", f"m{i}", f"u{i}", "/p")
        ledger.set_state(shot.id, "prepared" if i % 2 == 0 else "uploaded")
        i += 1
    """
)


def test_sigkill_mid_write_leaves_a_readable_ledger(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    shot = make_shot()
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), shot.model_dump_json()],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    # Readable, consistent, and writable by the next run.
    with Ledger(path) as ledger:
        assert ledger.state(shot.id) in ("prepared", "uploaded")
        uploads = ledger.summary()["uploads"]
        assert uploads > 0
        cache = ledger.upload_cache()
        assert all(cache[f"sha{i}"] == (f"m{i}", f"u{i}") for i in range(uploads))
        events = [e for e in ledger.events(shot.id) if e.kind == "state"]
        # Every committed state change has its event (same transaction): states alternate.
        assert len(events) >= uploads - 1
        ledger.set_state(shot.id, "failed", reason="interrupted")
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


def test_two_processes_share_one_ledger(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    shot = make_shot()
    with Ledger(path) as ledger:
        ledger.add_shots([shot], "t.otio")
        first = ledger.task_uuid_for(shot.id)
    code = (
        "import sys; from pathlib import Path; from aleph_otio.ledger import Ledger\n"
        "l = Ledger(Path(sys.argv[1])); print(l.task_uuid_for(sys.argv[2]))\n"
        "l.record_upload('from-child', 'm', 'u')"
    )
    with Ledger(path) as ledger:
        out = subprocess.run(
            [sys.executable, "-c", code, str(path), shot.id],
            capture_output=True,
            check=True,
            text=True,
            timeout=60,
        )
        assert out.stdout.strip() == first
        assert ledger.lookup_upload("from-child") == ("m", "u")


def test_results_in_another_order_never_overwrite(tmp_path: Path) -> None:
    shot = make_shot(n=2)
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.add_shots([shot], "t.otio")
        task = walk_to_submitted(ledger, shot)
        ledger.record_result(task, 0, status="success", video_uuid="X", video_url="ux")
        ledger.record_download(task, 0, "/out/x.mp4", "xx")
        # The next poll lists Y first: Y must not take X's row (and X's downloaded file).
        assert ledger.record_result(task, 0, status="success", video_uuid="Y", video_url="uy") == 1
        assert ledger.record_result(task, 1, status="success", video_uuid="X", video_url="ux") == 0
        rows = {
            r.video_uuid: (r.result_index, r.video_url, r.path) for r in ledger.results(shot.id)
        }
        assert rows == {"X": (0, "ux", "/out/x.mp4"), "Y": (1, "uy", None)}
        assert ledger.state(shot.id) == "succeeded"


def test_downloads_and_verification_only_move_forward(tmp_path: Path) -> None:
    shot = make_shot()
    path = tmp_path / "l.sqlite"
    with Ledger(path) as ledger:
        ledger.add_shots([shot], "t.otio")
        task = walk_to_submitted(ledger, shot)
        ledger.record_result(task, 0, status="success", video_uuid="v")
        ledger.record_download(task, 0, "/out/v.mp4", "aa")
        # Verification crashed locally; the resumed run goes back to succeeded, finds the file
        # and verifies it without downloading again.
        ledger.fail(shot.id, "verify: probe crashed")
        ledger.set_state(shot.id, "succeeded")
        ledger.mark_verified(task, 0, frame_count=48, rate=24.0)
        assert ledger.state(shot.id) == "verified"
        # Re-downloading the same content keeps the shot verified; other content needs a new
        # verification but the shot never moves backwards on its own.
        ledger.record_download(task, 0, "/out/v.mp4", "aa")
        assert ledger.results(shot.id)[0].verified
        ledger.record_download(task, 0, "/out/v2.mp4", "bb")
        assert not ledger.results(shot.id)[0].verified
        assert ledger.state(shot.id) == "verified"
        assert ledger.relink_results() == []
        ledger.mark_verified(task, 0)
        assert [r.path for r in ledger.relink_results()] == ["/out/v2.mp4"]
