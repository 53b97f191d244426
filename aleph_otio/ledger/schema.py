"""The ledger's SQLite schema, its migrations and the check that a file is one of our ledgers.

The schema version lives in ``PRAGMA user_version`` and our mark in ``PRAGMA application_id``;
each migration runs in the caller's transaction together with the version it reaches, so a
killed migration leaves the file at the version before it.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Final

from aleph_otio.errors import LedgerError

#: Bump with a new entry in ``MIGRATIONS``; a ledger from a newer version is refused.
SCHEMA_VERSION: Final = 5
#: ``PRAGMA application_id``: tells our ledgers apart from any other SQLite file ("ALPH").
APPLICATION_ID: Final = 0x414C5048

MIGRATIONS: Final[dict[int, str]] = {
    1: """
    CREATE TABLE shots (
        shot_id TEXT PRIMARY KEY,
        timeline_path TEXT NOT NULL,
        name TEXT NOT NULL,
        shot_json TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        task_uuid TEXT,
        clip_path TEXT,
        clip_sha256 TEXT,
        media_uuid TEXT,
        media_url TEXT,
        created TEXT NOT NULL,
        updated TEXT NOT NULL
    );
    CREATE TABLE tasks (
        task_uuid TEXT PRIMARY KEY,
        shot_id TEXT NOT NULL REFERENCES shots(shot_id),
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        submitted_at TEXT,
        cost REAL,
        error TEXT,
        created TEXT NOT NULL
    );
    CREATE INDEX tasks_shot ON tasks(shot_id);
    CREATE TABLE uploads (
        sha256 TEXT PRIMARY KEY,
        media_uuid TEXT NOT NULL,
        media_url TEXT NOT NULL,
        path TEXT,
        created TEXT NOT NULL
    );
    CREATE TABLE results (
        task_uuid TEXT NOT NULL REFERENCES tasks(task_uuid),
        result_index INTEGER NOT NULL,
        video_uuid TEXT UNIQUE,
        video_url TEXT,
        seed INTEGER,
        cost REAL,
        status TEXT NOT NULL,
        error TEXT,
        path TEXT,
        sha256 TEXT,
        frame_count INTEGER,
        rate REAL,
        width INTEGER,
        height INTEGER,
        verified INTEGER NOT NULL DEFAULT 0,
        relinked INTEGER NOT NULL DEFAULT 0,
        created TEXT NOT NULL,
        PRIMARY KEY (task_uuid, result_index)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        shot_id TEXT,
        task_uuid TEXT,
        kind TEXT NOT NULL,
        detail TEXT
    );
    CREATE INDEX events_shot ON events(shot_id);
    """,
    2: """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # The backend each task went to (ledgers from before had only Runware), and the tasks a
    # backend without idempotency keys made, or may have made, per result (Runway).
    3: """
    ALTER TABLE tasks ADD COLUMN backend TEXT NOT NULL DEFAULT 'runware';
    CREATE TABLE remote_tasks (
        key TEXT PRIMARY KEY,
        task_uuid TEXT NOT NULL,
        remote_id TEXT,
        seed INTEGER NOT NULL,
        sent_at TEXT NOT NULL
    );
    CREATE INDEX remote_tasks_task ON remote_tasks(task_uuid);
    """,
    # The media each result was delivered as (VFX returns: rate restored, plate size, ProRes,
    # DNxHR, EXR/DPX sequences) and what it was made as ("exr/source"): made again when asked
    # for as something else. Nothing here is paid.
    4: """
    ALTER TABLE results ADD COLUMN delivered_path TEXT;
    ALTER TABLE results ADD COLUMN delivered_as TEXT;
    ALTER TABLE results ADD COLUMN delivered_frames INTEGER;
    ALTER TABLE results ADD COLUMN delivered_width INTEGER;
    ALTER TABLE results ADD COLUMN delivered_height INTEGER;
    """,
    # Runway's upscale of a result: a step of its own, paid on its own. Planned (resolution),
    # then a durable marker (sent_at) before the create, the task id the moment it is known,
    # then its outcome, file and probe. ``seed`` is unused (the upscaler takes none): the
    # column keeps the marker the same shape as ``remote_tasks``'.
    5: """
    CREATE TABLE upscales (
        key TEXT PRIMARY KEY,
        task_uuid TEXT NOT NULL REFERENCES tasks(task_uuid),
        result_index INTEGER NOT NULL,
        resolution TEXT NOT NULL,
        status TEXT NOT NULL,
        remote_id TEXT,
        seed INTEGER NOT NULL DEFAULT 0,
        sent_at TEXT,
        output_url TEXT,
        cost REAL,
        error TEXT,
        note TEXT,
        path TEXT,
        sha256 TEXT,
        frame_count INTEGER,
        rate REAL,
        width INTEGER,
        height INTEGER,
        verified INTEGER NOT NULL DEFAULT 0,
        created TEXT NOT NULL
    );
    CREATE INDEX upscales_task ON upscales(task_uuid);
    """,
}


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the ledger in ``db`` (inside an open transaction) up to :data:`SCHEMA_VERSION`.

    Raises:
        LedgerError: the file is another application's SQLite file, or a newer ledger.
    """
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if app_id not in (0, APPLICATION_ID):
        raise LedgerError(
            f"{path}: this SQLite file is not an aleph-otio job ledger; choose another work folder"
        )
    if version > SCHEMA_VERSION:
        raise LedgerError(
            f"{path}: job ledger written by a newer aleph-otio (schema v{version}, "
            f"this version reads up to v{SCHEMA_VERSION}); upgrade aleph-otio"
        )
    if version == 0:
        tables = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        if tables:
            raise LedgerError(
                f"{path}: this SQLite file is not an aleph-otio job ledger; "
                "choose another work folder"
            )
    for target in range(version + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[target].split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {target}")
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
