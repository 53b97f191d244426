"""The job ledger: one SQLite file that lets a second run resume exactly where the first stopped.

One row per shot, task, upload and result, plus an append-only ``events`` log. Every state change
happens in one ``BEGIN IMMEDIATE`` transaction in a WAL journal, so a process killed at any point
leaves the file readable and consistent, and several processes may share it (writers wait up to
``busy_timeout`` for each other). Commits survive a killed process as soon as they return; the
one commit that must also survive a power cut or OS crash, :meth:`Ledger.mark_submitting` (the
taskUUID about to be sent), is flushed to disk (``synchronous=FULL``), which also flushes every
commit before it. The others (``synchronous=NORMAL``) could at worst be redone after a power cut:
an upload sent again, a poll or download repeated, never a task paid twice.

Shot states and the transitions allowed between them::

    planned -> prepared -> uploaded -> submitting -> submitted -> succeeded -> downloaded
            -> verified -> relinked
    any state before relinked -> failed
    failed -> planned | prepared | uploaded   (retry from an earlier step)
    failed -> submitted | succeeded            (resume polling / re-download the same task)

Re-recording the state a shot is already in is allowed (resumed runs repeat steps).

taskUUIDs: each shot gets one task row, minted (uuid4) when the shot is added, i.e. at plan time.
``mark_submitting`` commits it before the POST, so a crash between the commit and the answer is
resumed with the *same* taskUUID and the server never runs (nor bills) the task twice. A retry
after a local failure (cut, upload, network, download, verification) keeps that taskUUID. Only
when the server itself reported the task as failed (a result with ``status="error"``, or
:meth:`Ledger.mark_task_failed`) does a retry to planned/prepared/uploaded mint a *new* task row,
because the server would refuse the old UUID (``conflictTaskUUID``) and the old task produced
nothing; the failed task row is kept for the record.
A task whose variations partly failed is not failed: :meth:`Ledger.finish_partial` records the
failures and moves the shot on with the successes it paid for (nothing is resubmitted).

The API key is never written here: no method takes it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from aleph_otio.config import MODEL_ID
from aleph_otio.errors import LedgerError
from aleph_otio.ledger.records import (
    Event,
    ResultRecord,
    ShotRecord,
    event_record,
    result_record,
    shot_record,
)
from aleph_otio.ledger.schema import migrate
from aleph_otio.ledger.states import (
    STATES,
    check_fields,
    check_move,
    check_retry_after_server_failure,
    check_state,
    check_states,
)
from aleph_otio.relink import RelinkResult
from aleph_otio.shots import Shot


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Ledger:
    """The job ledger in one SQLite file; use as a context manager or call :meth:`close`."""

    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE so that a
            # read-modify-write never races another process.
            self._db = sqlite3.connect(
                str(self.path), timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(f"{self.path}: cannot open the job ledger ({exc})") from None
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            # NORMAL: in WAL mode every commit survives a killed process; only mark_submitting
            # also flushes to disk (see _tx), because an fsync per state change kept the event
            # loop blocked for about 1 ms each, ~15 per shot.
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise LedgerError(
                f"{self.path}: not a readable aleph-otio job ledger ({exc}); "
                "move it away or choose another work folder"
            ) from None
        except LedgerError:
            self._db.close()
            raise

    # --- plumbing ---------------------------------------------------------------------------

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connection (idempotent)."""
        with self._lock:
            try:
                self._db.close()
            except sqlite3.Error:
                pass

    @contextmanager
    def _tx(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """One BEGIN IMMEDIATE transaction; ``durable`` flushes it (and all before it) to disk."""
        with self._lock:
            if durable:
                self._db.execute("PRAGMA synchronous = FULL")
            try:
                try:
                    self._db.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    raise LedgerError(
                        f"{self.path}: the job ledger is busy or locked ({exc}); "
                        "is another aleph-otio run using the same work folder?"
                    ) from None
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                else:
                    self._db.execute("COMMIT")
            finally:
                if durable:
                    self._db.execute("PRAGMA synchronous = NORMAL")

    def _migrate(self) -> None:
        with self._tx() as db:
            migrate(db, self.path)

    def _event(
        self,
        db: sqlite3.Connection,
        kind: str,
        *,
        shot_id: str | None = None,
        task_uuid: str | None = None,
        detail: str | None = None,
    ) -> None:
        db.execute(
            "INSERT INTO events (at, shot_id, task_uuid, kind, detail) VALUES (?, ?, ?, ?, ?)",
            (_now(), shot_id, task_uuid, kind, detail),
        )

    def _shot_row(self, db: sqlite3.Connection, shot_id: str) -> sqlite3.Row:
        row = db.execute("SELECT * FROM shots WHERE shot_id = ?", (shot_id,)).fetchone()
        if row is None:
            raise LedgerError(f"{self.path}: no shot {shot_id!r} in the job ledger; plan it first")
        return row

    def _task_row(self, db: sqlite3.Connection, task_uuid: str) -> sqlite3.Row:
        row = db.execute("SELECT * FROM tasks WHERE task_uuid = ?", (task_uuid,)).fetchone()
        if row is None:
            raise LedgerError(f"{self.path}: no task {task_uuid} in the job ledger")
        return row

    def _mint_task(self, db: sqlite3.Connection, shot_id: str) -> str:
        task_uuid = str(uuid.uuid4())
        db.execute(
            "INSERT INTO tasks (task_uuid, shot_id, state, created) VALUES (?, ?, 'minted', ?)",
            (task_uuid, shot_id, _now()),
        )
        db.execute("UPDATE shots SET task_uuid = ? WHERE shot_id = ?", (task_uuid, shot_id))
        self._event(db, "task-minted", shot_id=shot_id, task_uuid=task_uuid)
        return task_uuid

    def _transition(
        self,
        db: sqlite3.Connection,
        shot_id: str,
        state: str,
        *,
        reason: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> sqlite3.Row:
        """Move a shot to ``state`` inside an open transaction; returns the old row."""
        check_state(state)
        row = self._shot_row(db, shot_id)
        current = row["state"]
        check_move(shot_id, row["name"], current, state)
        fields = dict(fields or {})
        check_fields(fields)
        if current == "failed" and state != "failed":
            task_state = self._task_row(db, row["task_uuid"])["state"]
            if task_state == "failed":
                check_retry_after_server_failure(shot_id, row["name"], row["task_uuid"], state)
                # The server refuses a taskUUID it has seen: the retry needs a new one.
                self._mint_task(db, shot_id)
        assignments = ", ".join(f"{name} = ?" for name in fields)
        db.execute(
            f"UPDATE shots SET state = ?, reason = ?, updated = ?"
            f"{', ' + assignments if assignments else ''} WHERE shot_id = ?",
            (state, reason, _now(), *fields.values(), shot_id),
        )
        if state != current or reason:
            self._event(
                db,
                "state",
                shot_id=shot_id,
                task_uuid=row["task_uuid"],
                detail=f"{current} -> {state}" + (f": {reason}" if reason else ""),
            )
        return row

    # --- the endpoint this ledger's uploads and tasks live on -------------------------------

    def bind_endpoint(self, endpoint: str) -> None:
        """Tie the ledger to one API endpoint; LedgerError if it already belongs to another.

        Uploads (mediaUUIDs) and taskUUIDs mean nothing to another server: a real run resuming
        a rehearsal's ledger would skip shots the real service never saw, or send mediaUUIDs it
        does not know. The endpoint is a label, never a key.
        """
        with self._tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'endpoint'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta (key, value) VALUES ('endpoint', ?)", (endpoint,))
                return
            if row["value"] != endpoint:
                raise LedgerError(
                    f"{self.path}: this job ledger belongs to {row['value']}, not {endpoint}; "
                    "use another --work-dir for this run (or delete that folder to start over)"
                )

    # --- shots ------------------------------------------------------------------------------

    def add_shots(self, shots: Sequence[Shot], timeline_path: str) -> None:
        """Record planned shots; shots already known keep their state (and their taskUUID).

        Their stored description is refreshed (a moved clip has new indices); a changed prompt
        or range has a new shot id, hence becomes a new shot.
        """
        now = _now()
        with self._tx() as db:
            for shot in shots:
                payload = shot.model_dump_json()
                existing = db.execute(
                    "SELECT shot_id FROM shots WHERE shot_id = ?", (shot.id,)
                ).fetchone()
                if existing is not None:
                    db.execute(
                        "UPDATE shots SET shot_json = ?, name = ?, timeline_path = ? "
                        "WHERE shot_id = ?",
                        (payload, shot.name, timeline_path, shot.id),
                    )
                    continue
                db.execute(
                    "INSERT INTO shots (shot_id, timeline_path, name, shot_json, state, created,"
                    " updated) VALUES (?, ?, ?, ?, 'planned', ?, ?)",
                    (shot.id, timeline_path, shot.name, payload, now, now),
                )
                self._event(db, "planned", shot_id=shot.id, detail=shot.name)
                self._mint_task(db, shot.id)

    def task_uuid_for(self, shot_id: str) -> str:
        """The shot's current taskUUID: minted once, then the same on every call and run."""
        with self._tx() as db:
            row = self._shot_row(db, shot_id)
            return row["task_uuid"] or self._mint_task(db, shot_id)

    def set_state(
        self, shot_id: str, state: str, *, reason: str | None = None, **fields: Any
    ) -> None:
        """Move a shot to ``state``; LedgerError if the transition is not allowed.

        ``fields`` may set ``clip_path``, ``clip_sha256``, ``media_uuid``, ``media_url``.
        """
        with self._tx() as db:
            self._transition(db, shot_id, state, reason=reason, fields=fields)

    def fail(self, shot_id: str, reason: str) -> None:
        """Mark a shot failed for a local reason (its task keeps its UUID for the retry)."""
        self.set_state(shot_id, "failed", reason=reason)

    def state(self, shot_id: str) -> str:
        """The shot's current state."""
        with self._lock:
            return self._shot_row(self._db, shot_id)["state"]

    def shot(self, shot_id: str) -> ShotRecord:
        """One shot's record."""
        records = self._shot_records("WHERE s.shot_id = ?", (shot_id,))
        if not records:
            raise LedgerError(f"{self.path}: no shot {shot_id!r} in the job ledger; plan it first")
        return records[0]

    def shots(
        self, states: Iterable[str] | None = None, *, timeline_path: str | None = None
    ) -> list[ShotRecord]:
        """Shots, in the order they were added, optionally only those in ``states``."""
        clauses: list[str] = []
        params: list[Any] = []
        if states is not None:
            wanted = list(states)
            check_states(wanted)
            clauses.append(f"s.state IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        if timeline_path is not None:
            clauses.append("s.timeline_path = ?")
            params.append(timeline_path)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return self._shot_records(where, tuple(params))

    def _shot_records(self, where: str, params: tuple[Any, ...]) -> list[ShotRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT s.*, t.state AS task_state, t.attempts AS attempts FROM shots s "
                f"LEFT JOIN tasks t ON t.task_uuid = s.task_uuid {where} ORDER BY s.rowid",
                params,
            ).fetchall()
        return [shot_record(row) for row in rows]

    def record_prepared(self, shot_id: str, clip_path: str, sha256: str) -> None:
        """The input clip was cut: remember where and its content hash."""
        self.set_state(shot_id, "prepared", clip_path=clip_path, clip_sha256=sha256)

    def record_uploaded(self, shot_id: str, media_uuid: str, media_url: str = "") -> None:
        """The input clip is on the server as ``media_uuid``."""
        self.set_state(shot_id, "uploaded", media_uuid=media_uuid, media_url=media_url)

    # --- uploads ----------------------------------------------------------------------------

    def lookup_upload(self, sha256: str) -> tuple[str, str] | None:
        """``(media_uuid, media_url)`` of content uploaded before, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT media_uuid, media_url FROM uploads WHERE sha256 = ?", (sha256,)
            ).fetchone()
        return None if row is None else (row["media_uuid"], row["media_url"])

    def record_upload(self, sha256: str, media_uuid: str, media_url: str, path: str = "") -> None:
        """Remember an upload by content hash (a later identical file is not sent again)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO uploads (sha256, media_uuid, media_url, path, created) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(sha256) DO UPDATE SET "
                "media_uuid = excluded.media_uuid, media_url = excluded.media_url, "
                "path = excluded.path",
                (sha256, media_uuid, media_url, path, _now()),
            )

    def forget_upload(self, sha256: str) -> None:
        """Drop a cached upload (e.g. the server no longer knows its mediaUUID)."""
        with self._tx() as db:
            db.execute("DELETE FROM uploads WHERE sha256 = ?", (sha256,))

    def upload_cache(self) -> MutableMapping[str, tuple[str, str]]:
        """The uploads table as a mapping ``sha256 -> (media_uuid, media_url)``."""
        return _UploadCache(self)

    # --- tasks ------------------------------------------------------------------------------

    def mark_submitting(self, shot_id: str) -> str:
        """Commit the taskUUID as being submitted, BEFORE the POST; returns it.

        Calling it again for a shot already ``submitting`` (a crash between commit and answer)
        returns the same taskUUID. Flushed to disk before it returns, power cuts included.
        """
        with self._tx(durable=True) as db:
            self._transition(db, shot_id, "submitting")
            task_uuid: str = self._shot_row(db, shot_id)["task_uuid"]
            db.execute(
                "UPDATE tasks SET state = 'submitting', attempts = attempts + 1 "
                "WHERE task_uuid = ?",
                (task_uuid,),
            )
            return task_uuid

    def mark_submitted(self, shot_id: str) -> None:
        """The server acknowledged the task."""
        with self._tx() as db:
            self._transition(db, shot_id, "submitted")
            db.execute(
                "UPDATE tasks SET state = 'submitted', submitted_at = coalesce(submitted_at, ?) "
                "WHERE task_uuid = (SELECT task_uuid FROM shots WHERE shot_id = ?)",
                (_now(), shot_id),
            )

    def mark_task_failed(self, task_uuid: str, error: str) -> None:
        """The server reported the task as failed: the shot fails, a retry mints a new UUID."""
        with self._tx() as db:
            self._fail_task(db, self._task_row(db, task_uuid), error)

    def _fail_task(self, db: sqlite3.Connection, task: sqlite3.Row, error: str) -> None:
        db.execute(
            "UPDATE tasks SET state = 'failed', error = ? WHERE task_uuid = ?",
            (error, task["task_uuid"]),
        )
        shot = self._shot_row(db, task["shot_id"])
        if shot["task_uuid"] == task["task_uuid"] and shot["state"] not in ("failed", "relinked"):
            self._transition(db, task["shot_id"], "failed", reason=f"task failed: {error}")

    def task_for(self, task_uuid: str) -> str:
        """The shot id a taskUUID belongs to."""
        with self._lock:
            return self._task_row(self._db, task_uuid)["shot_id"]

    # --- results ----------------------------------------------------------------------------

    def record_result(
        self,
        task_uuid: str,
        result_index: int,
        *,
        status: str,
        video_uuid: str | None = None,
        video_url: str | None = None,
        seed: int | None = None,
        cost: float | None = None,
        error: str | None = None,
    ) -> int:
        """Record one result of a task; idempotent. Returns the result index actually used.

        The same ``(task_uuid, result_index)`` or the same ``video_uuid`` seen again updates the
        row already there (a result polled twice is one result, not two). When all
        ``numberResults`` successes are in, the shot becomes ``succeeded``; an ``error`` result
        marks the task failed (the server reported it) and the shot ``failed``.
        """
        if status not in ("success", "error", "processing"):
            raise LedgerError(f"task {task_uuid}: unknown result status {status!r}")
        with self._tx() as db:
            task = self._task_row(db, task_uuid)
            same = None
            if video_uuid is not None:
                same = db.execute(
                    "SELECT result_index FROM results WHERE video_uuid = ? AND task_uuid = ?",
                    (video_uuid, task_uuid),
                ).fetchone()
            if same is not None:
                result_index = same["result_index"]
            else:
                there = db.execute(
                    "SELECT video_uuid FROM results WHERE task_uuid = ? AND result_index = ?",
                    (task_uuid, result_index),
                ).fetchone()
                if there is not None and there["video_uuid"] not in (None, video_uuid):
                    # Another video already holds this index (results arrived in another
                    # order): never overwrite it, its file may be downloaded already.
                    result_index = db.execute(
                        "SELECT max(result_index) + 1 FROM results WHERE task_uuid = ?",
                        (task_uuid,),
                    ).fetchone()[0]
            db.execute(
                "INSERT INTO results (task_uuid, result_index, video_uuid, video_url, seed, cost,"
                " status, error, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(task_uuid, result_index) DO UPDATE SET "
                "video_uuid = coalesce(excluded.video_uuid, video_uuid), "
                "video_url = coalesce(excluded.video_url, video_url), "
                "seed = coalesce(excluded.seed, seed), cost = coalesce(excluded.cost, cost), "
                "status = excluded.status, error = excluded.error",
                (task_uuid, result_index, video_uuid, video_url, seed, cost, status, error, _now()),
            )
            total = db.execute(
                "SELECT sum(cost) FROM results WHERE task_uuid = ?", (task_uuid,)
            ).fetchone()[0]
            db.execute("UPDATE tasks SET cost = ? WHERE task_uuid = ?", (total, task_uuid))
            self._event(
                db,
                f"result-{status}",
                shot_id=task["shot_id"],
                task_uuid=task_uuid,
                detail=f"#{result_index}" + (f": {error}" if error else ""),
            )
            if status == "error":
                self._fail_task(db, task, error or "the server reported an error")
            elif status == "success":
                self._maybe_succeeded(db, task)
            return result_index

    def _maybe_succeeded(self, db: sqlite3.Connection, task: sqlite3.Row) -> None:
        shot = self._shot_row(db, task["shot_id"])
        if shot["task_uuid"] != task["task_uuid"]:
            return
        wanted = Shot.model_validate_json(shot["shot_json"]).options.number_results
        done = db.execute(
            "SELECT count(*) FROM results WHERE task_uuid = ? AND status = 'success'",
            (task["task_uuid"],),
        ).fetchone()[0]
        if done >= wanted:
            db.execute(
                "UPDATE tasks SET state = 'succeeded' WHERE task_uuid = ?", (task["task_uuid"],)
            )
            if shot["state"] in ("submitting", "submitted"):
                self._transition(db, shot["shot_id"], "succeeded")

    def finish_partial(self, task_uuid: str, errors: Sequence[str]) -> None:
        """The task ended with some variations failed and at least one success: keep those.

        Each failure is recorded as an ``error`` result after the successes (idempotent: a
        task polled again adds none twice); the task is ``succeeded`` and the shot moves on to
        ``succeeded`` with fewer results than asked, its reason naming the failures. Nothing is
        resubmitted: that would pay again for the variations that did succeed.
        """
        with self._tx() as db:
            task = self._task_row(db, task_uuid)
            successes, known_errors, last = db.execute(
                "SELECT sum(status = 'success'), sum(status = 'error'), max(result_index) "
                "FROM results WHERE task_uuid = ?",
                (task_uuid,),
            ).fetchone()
            if not successes:
                raise LedgerError(f"task {task_uuid}: no successful result to keep")
            index = (last if last is not None else -1) + 1
            for error in list(errors)[known_errors or 0 :]:
                db.execute(
                    "INSERT INTO results (task_uuid, result_index, status, error, created) "
                    "VALUES (?, ?, 'error', ?, ?)",
                    (task_uuid, index, error, _now()),
                )
                self._event(
                    db,
                    "result-error",
                    shot_id=task["shot_id"],
                    task_uuid=task_uuid,
                    detail=f"#{index}: {error}",
                )
                index += 1
            db.execute("UPDATE tasks SET state = 'succeeded' WHERE task_uuid = ?", (task_uuid,))
            shot = self._shot_row(db, task["shot_id"])
            if shot["task_uuid"] == task_uuid and shot["state"] in ("submitting", "submitted"):
                failed = len(errors)
                self._transition(
                    db,
                    shot["shot_id"],
                    "succeeded",
                    reason=f"{failed} of {failed + successes} variation(s) failed: {errors[0]}"
                    if errors
                    else None,
                )

    def _result_row(self, db: sqlite3.Connection, task_uuid: str, result_index: int) -> sqlite3.Row:
        row = db.execute(
            "SELECT * FROM results WHERE task_uuid = ? AND result_index = ?",
            (task_uuid, result_index),
        ).fetchone()
        if row is None:
            raise LedgerError(f"task {task_uuid}: no result #{result_index} in the job ledger")
        return row

    def _catch_up(self, db: sqlite3.Connection, task_uuid: str) -> None:
        """Advance the shot through downloaded and verified as far as its results allow.

        Only ever forward: re-downloading a verified shot's file does not move it back, and a
        shot resumed at ``succeeded`` whose files are all there moves on without a new download.
        """
        task = self._task_row(db, task_uuid)
        shot = self._shot_row(db, task["shot_id"])
        if shot["task_uuid"] != task_uuid:
            return
        total, downloaded, verified = db.execute(
            "SELECT count(*), count(path), sum(verified) FROM results "
            "WHERE task_uuid = ? AND status = 'success'",
            (task_uuid,),
        ).fetchone()
        state = shot["state"]
        if total and state == "succeeded" and downloaded == total:
            self._transition(db, shot["shot_id"], "downloaded")
            state = "downloaded"
        if total and state == "downloaded" and verified == total:
            self._transition(db, shot["shot_id"], "verified")

    def record_download(self, task_uuid: str, result_index: int, path: str, sha256: str) -> None:
        """A result file is on disk; the shot is ``downloaded`` once all its results are."""
        with self._tx() as db:
            self._result_row(db, task_uuid, result_index)
            # A file with other content must be verified again.
            db.execute(
                "UPDATE results SET path = ?, verified = verified * (sha256 IS ?), sha256 = ? "
                "WHERE task_uuid = ? AND result_index = ?",
                (path, sha256, sha256, task_uuid, result_index),
            )
            self._catch_up(db, task_uuid)

    def mark_verified(
        self,
        task_uuid: str,
        result_index: int,
        *,
        frame_count: int | None = None,
        rate: float | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> None:
        """A downloaded result was probed and matches its shot; records what the probe saw."""
        with self._tx() as db:
            row = self._result_row(db, task_uuid, result_index)
            if row["path"] is None:
                raise LedgerError(
                    f"task {task_uuid}: result #{result_index} cannot be verified before it is "
                    "downloaded"
                )
            db.execute(
                "UPDATE results SET verified = 1, frame_count = coalesce(?, frame_count), "
                "rate = coalesce(?, rate), width = coalesce(?, width), "
                "height = coalesce(?, height) WHERE task_uuid = ? AND result_index = ?",
                (frame_count, rate, width, height, task_uuid, result_index),
            )
            self._catch_up(db, task_uuid)

    def mark_relinked(self, shot_id: str) -> None:
        """The shot's results are in an output timeline."""
        with self._tx() as db:
            self._transition(db, shot_id, "relinked")
            db.execute(
                "UPDATE results SET relinked = 1 WHERE task_uuid = "
                "(SELECT task_uuid FROM shots WHERE shot_id = ?) AND status = 'success'",
                (shot_id,),
            )

    def results(self, shot_id: str, *, all_tasks: bool = False) -> list[ResultRecord]:
        """Results of the shot's current task (or of every task it ever had), by index."""
        with self._lock:
            shot = self._shot_row(self._db, shot_id)
            if all_tasks:
                rows = self._db.execute(
                    "SELECT r.* FROM results r JOIN tasks t ON t.task_uuid = r.task_uuid "
                    "WHERE t.shot_id = ? ORDER BY t.rowid, r.result_index",
                    (shot_id,),
                ).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT * FROM results WHERE task_uuid = ? ORDER BY result_index",
                    (shot["task_uuid"],),
                ).fetchall()
        return [result_record(row) for row in rows]

    def relink_results(
        self,
        states: Iterable[str] = ("verified", "relinked"),
        *,
        model: str = MODEL_ID,
        timeline_path: str | None = None,
        verified_only: bool = True,
    ) -> list[RelinkResult]:
        """What :func:`aleph_otio.relink.relink_timeline` needs for every shot in ``states``.

        Only downloaded successful results are returned, and (``verified_only``) only those
        verified since their last download; frame facts missing from the ledger (a result
        verified without a probe) default to the shot's own.
        """
        out: list[RelinkResult] = []
        for record in self.shots(states, timeline_path=timeline_path):
            shot = record.shot
            for r in self.results(shot.id):
                if r.status != "success" or r.path is None or (verified_only and not r.verified):
                    continue
                out.append(
                    RelinkResult(
                        shot=shot,
                        variant=r.result_index,
                        path=r.path,
                        frame_count=r.frame_count or shot.frame_count,
                        rate=r.rate or shot.media_rate,
                        width=r.width or 0,
                        height=r.height or 0,
                        task_uuid=r.task_uuid,
                        model=model,
                        prompt=shot.prompt,
                        seed=r.seed,
                        cost=r.cost,
                        created=r.created,
                        video_uuid=r.video_uuid,
                    )
                )
        return out

    # --- reporting --------------------------------------------------------------------------

    def events(self, shot_id: str | None = None) -> list[Event]:
        """The history, oldest first (of one shot, or of everything)."""
        with self._lock:
            if shot_id is None:
                rows = self._db.execute("SELECT * FROM events ORDER BY id").fetchall()
            else:
                rows = self._db.execute(
                    "SELECT * FROM events WHERE shot_id = ? ORDER BY id", (shot_id,)
                ).fetchall()
        return [event_record(row) for row in rows]

    def summary(self) -> dict[str, Any]:
        """Counts per shot state, tasks, uploads, results and the total cost reported (USD)."""
        with self._lock:
            db = self._db
            states = {state: 0 for state in STATES}
            for row in db.execute("SELECT state, count(*) AS n FROM shots GROUP BY state"):
                states[row["state"]] = row["n"]
            cost = db.execute("SELECT coalesce(sum(cost), 0) FROM results").fetchone()[0]
            counts = {
                table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("shots", "tasks", "uploads", "results")
            }
            succeeded = db.execute(
                "SELECT count(*) FROM results WHERE status = 'success'"
            ).fetchone()[0]
        return {
            "states": states,
            "shots": counts["shots"],
            "tasks": counts["tasks"],
            "uploads": counts["uploads"],
            "results": counts["results"],
            "results_succeeded": succeeded,
            "cost": float(cost),
        }

    def dump(self) -> str:
        """A JSON snapshot of the summary (for reports)."""
        return json.dumps(self.summary(), indent=2)


class _UploadCache(MutableMapping[str, tuple[str, str]]):
    """``sha256 -> (media_uuid, media_url)`` backed by the ledger's uploads table."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def __getitem__(self, sha256: str) -> tuple[str, str]:
        found = self._ledger.lookup_upload(sha256)
        if found is None:
            raise KeyError(sha256)
        return found

    def __setitem__(self, sha256: str, value: tuple[str, str]) -> None:
        media_uuid, media_url = value
        self._ledger.record_upload(sha256, media_uuid, media_url)

    def __delitem__(self, sha256: str) -> None:
        if self._ledger.lookup_upload(sha256) is None:
            raise KeyError(sha256)
        self._ledger.forget_upload(sha256)

    def __iter__(self) -> Iterator[str]:
        with self._ledger._lock:
            rows = self._ledger._db.execute("SELECT sha256 FROM uploads ORDER BY rowid").fetchall()
        return iter([row[0] for row in rows])

    def __len__(self) -> int:
        with self._ledger._lock:
            return int(self._ledger._db.execute("SELECT count(*) FROM uploads").fetchone()[0])
