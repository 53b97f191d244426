"""Reading the ledger: shots, results, what relinking needs, the history and a summary."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
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
from aleph_otio.ledger.states import STATES, check_states
from aleph_otio.ledger.store import LedgerStore
from aleph_otio.relink import RelinkResult
from aleph_otio.revisions import shown_versions


class LedgerQueries(LedgerStore):
    """The reads; none of them writes or opens a write transaction."""

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

    def version(self, shot_id: str) -> int:
        """The shot's version: 1 + the requests of the same name sent before it (v001 first).

        A changed prompt, guides or options on a named shot is a new id under the same name;
        counted in the order their first tasks were made, so an earlier version never shifts.
        Names compare without case, as result files do on macOS and Windows.
        """
        with self._lock:
            name = self._shot_row(self._db, shot_id)["name"]
            rows = self._db.execute(
                "SELECT s.shot_id, s.name, min(t.rowid) AS first_task FROM shots s "
                "LEFT JOIN tasks t ON t.shot_id = s.shot_id GROUP BY s.shot_id"
            ).fetchall()
        key = name.casefold()
        sent = sorted(
            (r["first_task"], r["shot_id"])
            for r in rows
            if r["name"].casefold() == key and r["first_task"] is not None
        )
        order = [sid for _, sid in sent]
        return order.index(shot_id) + 1 if shot_id in order else len(order) + 1

    def last_cut(self, key: Iterable[str] | None = None) -> set[str] | None:
        """Shot ids of the cut last planned or run against this ledger (None: never recorded).

        With ``key`` (a cut's own content ids), the last cut *other than* that one: the cut
        before it, however often it was planned since.
        """
        with self._lock:
            cuts = self._db.execute("SELECT value FROM meta WHERE key = 'cuts'").fetchone()
            row = self._db.execute("SELECT value FROM meta WHERE key = 'last_cut'").fetchone()
        if cuts is not None:
            name = sorted(set(key)) if key is not None else None
            for cut in reversed(json.loads(cuts["value"])):
                if cut["key"] != name:
                    return set(cut["shots"])
            return None
        return set(json.loads(row["value"])) if row is not None else None

    def _shot_records(self, where: str, params: tuple[Any, ...]) -> list[ShotRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT s.*, t.state AS task_state, t.attempts AS attempts FROM shots s "
                f"LEFT JOIN tasks t ON t.task_uuid = s.task_uuid {where} ORDER BY s.rowid",
                params,
            ).fetchall()
        return [shot_record(row) for row in rows]

    def task_for(self, task_uuid: str) -> str:
        """The shot id a taskUUID belongs to."""
        with self._lock:
            return self._task_row(self._db, task_uuid)["shot_id"]

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
            version = self.version(shot.id)
            for r in self.results(shot.id):
                if r.status != "success" or r.path is None or (verified_only and not r.verified):
                    continue
                # Delivered media (the source's rate, the plate's size and kind) replaces the
                # plate where there is some; a half-rate result without it is not relinkable.
                delivered = r.delivered_path is not None
                if shot.send_step > 1 and not delivered:
                    continue  # half the source's frames: only its delivery can replace it
                extra = {"deliver": r.delivered_as, "returned_path": r.path} if delivered else {}
                out.append(
                    RelinkResult(
                        shot=shot,
                        variant=r.result_index,
                        path=r.delivered_path if r.delivered_path is not None else r.path,
                        frame_count=(r.delivered_frames if delivered else r.frame_count)
                        or shot.frame_count,
                        rate=shot.media_rate if delivered else (r.rate or shot.media_rate),
                        width=(r.delivered_width if delivered else r.width) or 0,
                        height=(r.delivered_height if delivered else r.height) or 0,
                        extra=extra,
                        task_uuid=r.task_uuid,
                        model=model,
                        prompt=shot.prompt,
                        seed=r.seed,
                        cost=r.cost,
                        created=r.created,
                        video_uuid=r.video_uuid,
                        version=version,
                        image_sequence=Path(r.path).is_dir(),
                    )
                )
        return out

    def with_earlier_versions(self, current: Sequence[RelinkResult]) -> list[RelinkResult]:
        """``current`` and, beside each shot's results, the earlier versions the ledger holds.

        An earlier version is another request under the same shot name whose results came; it
        is shown at the current shot's place when its received frames cover the shot's (see
        :func:`aleph_otio.revisions.shown_versions`). Nothing is paid.
        """
        return shown_versions(current, self.relink_results())

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
