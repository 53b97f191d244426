"""The upscale of a result: a paid step of its own, recorded like a create.

One row per result (``"<taskUUID>#<result index>"``): ``planned`` with its resolution, then
``sent`` (the durable marker, written before the create by the backend through
:meth:`UpscaleRecords.upscale_tasks`), ``created`` the moment the task id is known, then
``succeeded`` or ``failed`` as Runway reports it; a result already at the target size is
``skipped`` (nothing is sent or paid). The file downloaded, its hash and what its probe saw
follow, as for results.
"""

from __future__ import annotations

import sqlite3
from collections.abc import MutableMapping
from dataclasses import dataclass

from aleph_otio.errors import LedgerError
from aleph_otio.ledger.backends import RemoteEntry, RemoteTaskMarkers
from aleph_otio.ledger.store import LedgerStore, timestamp

UPSCALE_STATUSES = ("planned", "sent", "created", "succeeded", "failed", "skipped")


def upscale_key(task_uuid: str, result_index: int) -> str:
    return f"{task_uuid}#{result_index}"


@dataclass(frozen=True)
class UpscaleRecord:
    """The upscale of one result, as the ledger knows it."""

    key: str
    task_uuid: str
    result_index: int
    resolution: str
    status: str
    remote_id: str | None
    sent_at: str | None
    output_url: str | None
    cost: float | None
    error: str | None
    note: str | None
    path: str | None
    sha256: str | None
    frame_count: int | None
    rate: float | None
    width: int | None
    height: int | None
    verified: bool


def _record(row: sqlite3.Row) -> UpscaleRecord:
    data = {name: row[name] for name in UpscaleRecord.__dataclass_fields__}
    data["verified"] = bool(row["verified"])
    return UpscaleRecord(**data)


class UpscaleRecords(LedgerStore):
    """The ``upscales`` table: plan, skip, outcome, download and verification of each upscale."""

    def upscale_tasks(self, backend: str = "runway") -> MutableMapping[str, RemoteEntry]:
        """The markers the backend writes before each upscale create (planned rows only)."""
        return RemoteTaskMarkers(self, backend, table="upscales")

    def upscale(self, task_uuid: str, result_index: int) -> UpscaleRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM upscales WHERE key = ?", (upscale_key(task_uuid, result_index),)
            ).fetchone()
        return None if row is None else _record(row)

    def upscales(self, task_uuid: str) -> list[UpscaleRecord]:
        """Every upscale of a task's results, by result index."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM upscales WHERE task_uuid = ? ORDER BY result_index", (task_uuid,)
            ).fetchall()
        return [_record(row) for row in rows]

    def plan_upscale(
        self, task_uuid: str, result_index: int, resolution: str, *, skip: str | None = None
    ) -> UpscaleRecord:
        """Record the upscale to be made (or, with ``skip``, why none is); idempotent.

        An upscale already recorded keeps its resolution: it may have been sent (and paid).
        """
        key = upscale_key(task_uuid, result_index)
        with self._tx() as db:
            task = self._task_row(db, task_uuid)
            inserted = db.execute(
                "INSERT INTO upscales (key, task_uuid, result_index, resolution, status, note, "
                "created) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING",
                (
                    key,
                    task_uuid,
                    result_index,
                    resolution,
                    "skipped" if skip else "planned",
                    skip,
                    timestamp(),
                ),
            ).rowcount
            if inserted:
                self._event(
                    db,
                    "upscale-skipped" if skip else "upscale-planned",
                    shot_id=task["shot_id"],
                    task_uuid=task_uuid,
                    detail=f"#{result_index} {resolution}" + (f": {skip}" if skip else ""),
                )
        record = self.upscale(task_uuid, result_index)
        assert record is not None
        return record

    def _upscale_update(self, key: str, kind: str, detail: str, **columns: object) -> None:
        with self._tx() as db:
            row = db.execute("SELECT task_uuid FROM upscales WHERE key = ?", (key,)).fetchone()
            if row is None:
                raise LedgerError(f"upscale {key}: not in the job ledger")
            assignments = ", ".join(f"{name} = ?" for name in columns)
            db.execute(f"UPDATE upscales SET {assignments} WHERE key = ?", (*columns.values(), key))
            task = self._task_row(db, row["task_uuid"])
            self._event(
                db, kind, shot_id=task["shot_id"], task_uuid=row["task_uuid"], detail=detail
            )

    def record_upscale_outcome(
        self,
        key: str,
        *,
        status: str,
        output_url: str | None = None,
        cost: float | None = None,
        error: str | None = None,
    ) -> None:
        """What Runway reported for the upscale task: ``succeeded`` (URL, cost) or ``failed``."""
        if status not in ("succeeded", "failed"):
            raise LedgerError(f"upscale {key}: unknown outcome {status!r}")
        self._upscale_update(
            key,
            f"upscale-{status}",
            f"{key}" + (f": {error}" if error else ""),
            status=status,
            output_url=output_url,
            cost=cost,
            error=error,
        )

    def replan_upscale(self, key: str) -> None:
        """A failed upscale (Runway bills none) is to be made again under a new task."""
        self._upscale_update(
            key,
            "upscale-replanned",
            key,
            status="planned",
            remote_id=None,
            sent_at=None,
            output_url=None,
            cost=None,
        )

    def record_upscale_download(self, key: str, path: str, sha256: str) -> None:
        self._upscale_update(key, "upscale-downloaded", path, path=path, sha256=sha256, verified=0)

    def mark_upscale_verified(
        self, key: str, *, frame_count: int, rate: float, width: int, height: int
    ) -> None:
        self._upscale_update(
            key,
            "upscale-verified",
            f"{width}x{height}, {frame_count} frames at {rate:g} fps",
            frame_count=frame_count,
            rate=rate,
            width=width,
            height=height,
            verified=1,
        )
