"""Which backend a ledger's tasks went to, and the remote tasks a backend made for them.

One work folder, one backend: a Runware taskUUID means nothing to Runway and the other way round,
so a ledger bound to one refuses the other. Runway's tasks are recorded per result, a marker
(seed, time sent) committed durably before each create and the task id the moment it is known.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

from aleph_otio.errors import LedgerError
from aleph_otio.ledger.store import LedgerStore

#: ``(remote_id or None, seed, sent_at)``: a marker without an id is a create never answered.
RemoteEntry = tuple[str | None, int, str]


class BackendRecords(LedgerStore):
    """The ``meta`` backend binding, ``tasks.backend`` and the ``remote_tasks`` table."""

    def bind_backend(self, backend: str) -> None:
        """Tie the ledger to one backend; LedgerError if its tasks went to another."""
        with self._tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'backend'").fetchone()
            bound = row["value"] if row is not None else None
            if bound is None:
                other = db.execute(
                    "SELECT backend FROM tasks WHERE backend != ? LIMIT 1", (backend,)
                ).fetchone()
                bound = other["backend"] if other is not None else None
            if bound is not None and bound != backend:
                raise LedgerError(
                    f"{self.path}: this job ledger's tasks went to the {bound} backend, not "
                    f"{backend}; one work folder holds one backend's tasks: use another "
                    f"--work-dir for --backend {backend}, or --backend {bound} to resume"
                )
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('backend', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (backend,),
            )

    def task_backend(self, task_uuid: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT backend FROM tasks WHERE task_uuid = ?", (task_uuid,)
            ).fetchone()
        return None if row is None else str(row["backend"])

    def remote_tasks(self, backend: str = "runway") -> MutableMapping[str, RemoteEntry]:
        """``"<taskUUID>#<result index>" -> (remote_id, seed, sent_at)``, written through."""
        return RemoteTaskMarkers(self, backend)


class RemoteTaskMarkers(MutableMapping[str, RemoteEntry]):
    """The markers of one table (``remote_tasks``, or ``upscales``) as a mapping.

    A row without ``sent_at`` (an upscale planned, not sent) is not in the mapping.
    """

    def __init__(self, ledger: LedgerStore, backend: str, table: str = "remote_tasks") -> None:
        if table not in ("remote_tasks", "upscales"):
            raise LedgerError(f"no marker table {table!r}")
        self._ledger = ledger
        self._backend = backend
        self._table = table

    def __getitem__(self, key: str) -> RemoteEntry:
        with self._ledger._lock:
            row = self._ledger._db.execute(
                f"SELECT remote_id, seed, sent_at FROM {self._table} "
                "WHERE key = ? AND sent_at IS NOT NULL",
                (key,),
            ).fetchone()
        if row is None:
            raise KeyError(key)
        return (row["remote_id"], int(row["seed"]), str(row["sent_at"]))

    def __setitem__(self, key: str, value: RemoteEntry) -> None:
        remote_id, seed, sent_at = value
        task_uuid = key.split("#", 1)[0]
        # Durable: this marker is what stops a crashed run's create from being sent twice.
        with self._ledger._tx(durable=True) as db:
            if self._table == "upscales":
                # The row was planned (with its resolution) before anything is sent.
                updated = db.execute(
                    "UPDATE upscales SET remote_id = ?, seed = ?, sent_at = ?, "
                    "status = CASE WHEN ? IS NULL THEN 'sent' ELSE 'created' END WHERE key = ?",
                    (remote_id, seed, sent_at, remote_id, key),
                ).rowcount
                if not updated:
                    raise LedgerError(f"upscale {key}: not planned in the job ledger")
            else:
                db.execute(
                    "INSERT INTO remote_tasks (key, task_uuid, remote_id, seed, sent_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET remote_id = "
                    "excluded.remote_id, seed = excluded.seed, sent_at = excluded.sent_at",
                    (key, task_uuid, remote_id, seed, sent_at),
                )
            db.execute(
                "UPDATE tasks SET backend = ? WHERE task_uuid = ?", (self._backend, task_uuid)
            )

    def __delitem__(self, key: str) -> None:
        with self._ledger._tx() as db:
            if self._table == "upscales":
                # A definite refusal: nothing was made; the upscale stays planned.
                query = (
                    "UPDATE upscales SET remote_id = NULL, sent_at = NULL, status = 'planned' "
                    "WHERE key = ? AND sent_at IS NOT NULL"
                )
            else:
                query = "DELETE FROM remote_tasks WHERE key = ?"
            if db.execute(query, (key,)).rowcount == 0:
                raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        with self._ledger._lock:
            query = f"SELECT key FROM {self._table} WHERE sent_at IS NOT NULL ORDER BY rowid"
            rows = self._ledger._db.execute(query).fetchall()
        return iter([row[0] for row in rows])

    def __len__(self) -> int:
        with self._ledger._lock:
            query = f"SELECT count(*) FROM {self._table} WHERE sent_at IS NOT NULL"
            return int(self._ledger._db.execute(query).fetchone()[0])
