"""The uploads the server already holds, by content hash, so identical clips are sent once."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

from aleph_otio.ledger.store import LedgerStore, timestamp


class UploadRecords(LedgerStore):
    """``sha256 -> (media_uuid, media_url)`` in the ledger's ``uploads`` table."""

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
                (sha256, media_uuid, media_url, path, timestamp()),
            )

    def forget_upload(self, sha256: str) -> None:
        """Drop a cached upload (e.g. the server no longer knows its mediaUUID)."""
        with self._tx() as db:
            db.execute("DELETE FROM uploads WHERE sha256 = ?", (sha256,))

    def upload_cache(self) -> MutableMapping[str, tuple[str, str]]:
        """The uploads table as a mapping ``sha256 -> (media_uuid, media_url)``."""
        return _UploadCache(self)


class _UploadCache(MutableMapping[str, tuple[str, str]]):
    """``sha256 -> (media_uuid, media_url)`` backed by the ledger's uploads table."""

    def __init__(self, ledger: UploadRecords) -> None:
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
