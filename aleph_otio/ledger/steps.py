"""Recording a shot's steps up to its submission: planned, prepared, uploaded, submitted.

taskUUIDs: each shot gets one task row, minted (uuid4) when the shot is added, i.e. at plan time.
:meth:`ShotSteps.mark_submitting` commits it before the POST, so a crash between the commit and
the answer is resumed with the *same* taskUUID and the server never runs (nor bills) the task
twice. A retry after a local failure (cut, upload, network, download, verification) keeps that
taskUUID. Only when the server itself reported the task as failed (a result with
``status="error"``, or :meth:`ShotSteps.mark_task_failed`) does a retry to
planned/prepared/uploaded mint a *new* task row, because the server would refuse the old UUID
(``conflictTaskUUID``) and the old task produced nothing; the failed task row is kept for the
record.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aleph_otio.errors import LedgerError
from aleph_otio.ledger.store import LedgerStore, timestamp
from aleph_otio.shots import Shot


class ShotSteps(LedgerStore):
    """The writes that move a shot from its plan to an acknowledged task."""

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

    def record_cut(self, shot_ids: Sequence[str], key: Sequence[str] | None = None) -> None:
        """Remember the shots of a cut planned or run against this ledger: the next revision's
        omitted/reinstated.

        ``key`` names the cut (its own content ids, before matching): the cuts are kept in the
        order they came, a cut seen again replacing its earlier entry, so that planning a cut
        twice never hides what the cut before it left out.
        """
        ids = sorted(set(shot_ids))
        name = sorted(set(key)) if key is not None else ids
        with self._tx() as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('last_cut', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (json.dumps(ids),),
            )
            row = db.execute("SELECT value FROM meta WHERE key = 'cuts'").fetchone()
            cuts = [c for c in (json.loads(row["value"]) if row else []) if c["key"] != name]
            cuts.append({"key": name, "shots": ids})
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('cuts', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (json.dumps(cuts),),
            )

    # --- shots ------------------------------------------------------------------------------

    def add_shots(self, shots: Sequence[Shot], timeline_path: str) -> None:
        """Record planned shots; shots already known keep their state (and their taskUUID).

        Their stored description is refreshed (a moved clip has new indices); a changed prompt
        or range has a new shot id, hence becomes a new shot.
        """
        now = timestamp()
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

    def record_prepared(self, shot_id: str, clip_path: str, sha256: str) -> None:
        """The input clip was cut: remember where and its content hash."""
        self.set_state(shot_id, "prepared", clip_path=clip_path, clip_sha256=sha256)

    def record_uploaded(self, shot_id: str, media_uuid: str, media_url: str = "") -> None:
        """The input clip is on the server as ``media_uuid``."""
        self.set_state(shot_id, "uploaded", media_uuid=media_uuid, media_url=media_url)

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
                (timestamp(), shot_id),
            )

    def mark_task_failed(self, task_uuid: str, error: str) -> None:
        """The server reported the task as failed: the shot fails, a retry mints a new UUID."""
        with self._tx() as db:
            self._fail_task(db, self._task_row(db, task_uuid), error)
