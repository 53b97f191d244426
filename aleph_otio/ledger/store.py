"""The ledger's connection: the file, its transactions, and the row-level moves every part uses.

One row per shot, task, upload and result, plus an append-only ``events`` log. Every state change
happens in one ``BEGIN IMMEDIATE`` transaction in a WAL journal, so a process killed at any point
leaves the file readable and consistent, and several processes may share it (writers wait up to
``busy_timeout`` for each other). Commits survive a killed process as soon as they return; the
one commit that must also survive a power cut or OS crash, :meth:`Ledger.mark_submitting` (the
taskUUID about to be sent), is flushed to disk (``synchronous=FULL``), which also flushes every
commit before it. The others (``synchronous=NORMAL``) could at worst be redone after a power cut:
an upload sent again, a poll or download repeated, never a task paid twice.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aleph_otio.errors import LedgerError
from aleph_otio.ledger.schema import migrate
from aleph_otio.ledger.states import (
    check_fields,
    check_move,
    check_retry_after_server_failure,
    check_state,
)


def timestamp() -> str:
    """The timestamp written into every row: UTC, ISO 8601, milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class LedgerStore:
    """One SQLite connection, its lock and its transactions: the base of every ledger part."""

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

    def __enter__(self) -> Self:
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
            (timestamp(), shot_id, task_uuid, kind, detail),
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
            (task_uuid, shot_id, timestamp()),
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
            (state, reason, timestamp(), *fields.values(), shot_id),
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

    def _result_row(self, db: sqlite3.Connection, task_uuid: str, result_index: int) -> sqlite3.Row:
        row = db.execute(
            "SELECT * FROM results WHERE task_uuid = ? AND result_index = ?",
            (task_uuid, result_index),
        ).fetchone()
        if row is None:
            raise LedgerError(f"task {task_uuid}: no result #{result_index} in the job ledger")
        return row

    def _fail_task(self, db: sqlite3.Connection, task: sqlite3.Row, error: str) -> None:
        db.execute(
            "UPDATE tasks SET state = 'failed', error = ? WHERE task_uuid = ?",
            (error, task["task_uuid"]),
        )
        shot = self._shot_row(db, task["shot_id"])
        if shot["task_uuid"] == task["task_uuid"] and shot["state"] not in ("failed", "relinked"):
            self._transition(db, task["shot_id"], "failed", reason=f"task failed: {error}")
