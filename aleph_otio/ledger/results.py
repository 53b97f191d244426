"""Recording a task's results: polled, downloaded, verified and relinked.

A task whose variations partly failed is not failed: :meth:`ResultSteps.finish_partial` records
the failures and moves the shot on with the successes it paid for (nothing is resubmitted).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from aleph_otio.errors import LedgerError
from aleph_otio.ledger.store import LedgerStore, timestamp
from aleph_otio.shots import Shot


class ResultSteps(LedgerStore):
    """The writes from a task's first result to its place in an output timeline."""

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
                (
                    task_uuid,
                    result_index,
                    video_uuid,
                    video_url,
                    seed,
                    cost,
                    status,
                    error,
                    timestamp(),
                ),
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
                    (task_uuid, index, error, timestamp()),
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

    def catch_up(self, shot_id: str) -> None:
        """Move a shot resumed at ``succeeded`` on through downloaded and verified when the
        files of its current task are all there (and verified): a retried delivery or relink
        has nothing to download again, and must not wait at ``succeeded`` for ever."""
        with self._tx() as db:
            task_uuid = self._shot_row(db, shot_id)["task_uuid"]
            if task_uuid:
                self._catch_up(db, task_uuid)

    def record_download(self, task_uuid: str, result_index: int, path: str, sha256: str) -> None:
        """A result file is on disk; the shot is ``downloaded`` once all its results are."""
        with self._tx() as db:
            self._result_row(db, task_uuid, result_index)
            # A file with other content must be verified again.
            db.execute(
                "UPDATE results SET path = ?, verified = verified * (sha256 IS ?), "
                "delivered_path = CASE WHEN sha256 IS ? THEN delivered_path END, sha256 = ? "
                "WHERE task_uuid = ? AND result_index = ?",
                (path, sha256, sha256, sha256, task_uuid, result_index),
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

    def record_delivery(
        self,
        task_uuid: str,
        result_index: int,
        *,
        path: str,
        made_as: str,
        frame_count: int,
        width: int,
        height: int,
    ) -> None:
        """Verified media made from a result to replace its plate (``made_as``: "exr/source")."""
        with self._tx() as db:
            self._result_row(db, task_uuid, result_index)
            db.execute(
                "UPDATE results SET delivered_path = ?, delivered_as = ?, delivered_frames = ?, "
                "delivered_width = ?, delivered_height = ? "
                "WHERE task_uuid = ? AND result_index = ?",
                (path, made_as, frame_count, width, height, task_uuid, result_index),
            )

    def mark_relinked(self, shot_id: str) -> None:
        """The shot's results are in an output timeline."""
        with self._tx() as db:
            self._transition(db, shot_id, "relinked")
            db.execute(
                "UPDATE results SET relinked = 1 WHERE task_uuid = "
                "(SELECT task_uuid FROM shots WHERE shot_id = ?) AND status = 'success'",
                (shot_id,),
            )
