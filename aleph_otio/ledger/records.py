"""What the ledger hands out: frozen records of shots, results and events, built from its rows."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from aleph_otio.shots import Shot


@dataclass(frozen=True)
class ShotRecord:
    """A shot as the ledger knows it."""

    shot: Shot
    state: str
    reason: str | None
    task_uuid: str
    task_state: str
    attempts: int
    timeline_path: str
    clip_path: str | None
    clip_sha256: str | None
    media_uuid: str | None
    media_url: str | None
    created: str
    updated: str

    @property
    def shot_id(self) -> str:
        return self.shot.id


@dataclass(frozen=True)
class ResultRecord:
    """One generated video (one of ``numberResults``) of a task."""

    task_uuid: str
    result_index: int
    status: str
    video_uuid: str | None
    video_url: str | None
    seed: int | None
    cost: float | None
    error: str | None
    path: str | None
    sha256: str | None
    frame_count: int | None
    rate: float | None
    width: int | None
    height: int | None
    verified: bool
    relinked: bool
    created: str
    delivered_path: str | None = None
    """Media made from the result to replace its plate (a file or an image sequence's path)."""
    delivered_as: str | None = None
    delivered_frames: int | None = None
    delivered_width: int | None = None
    delivered_height: int | None = None


@dataclass(frozen=True)
class Event:
    """One line of the ledger's history."""

    id: int
    at: str
    shot_id: str | None
    task_uuid: str | None
    kind: str
    detail: str | None


def shot_record(row: sqlite3.Row) -> ShotRecord:
    """A ``shots`` row joined with its current task's ``task_state`` and ``attempts``."""
    return ShotRecord(
        shot=Shot.model_validate_json(row["shot_json"]),
        state=row["state"],
        reason=row["reason"],
        task_uuid=row["task_uuid"],
        task_state=row["task_state"],
        attempts=row["attempts"] or 0,
        timeline_path=row["timeline_path"],
        clip_path=row["clip_path"],
        clip_sha256=row["clip_sha256"],
        media_uuid=row["media_uuid"],
        media_url=row["media_url"],
        created=row["created"],
        updated=row["updated"],
    )


def result_record(row: sqlite3.Row) -> ResultRecord:
    """A ``results`` row."""
    return ResultRecord(
        task_uuid=row["task_uuid"],
        result_index=row["result_index"],
        status=row["status"],
        video_uuid=row["video_uuid"],
        video_url=row["video_url"],
        seed=row["seed"],
        cost=row["cost"],
        error=row["error"],
        path=row["path"],
        sha256=row["sha256"],
        frame_count=row["frame_count"],
        rate=row["rate"],
        width=row["width"],
        height=row["height"],
        verified=bool(row["verified"]),
        relinked=bool(row["relinked"]),
        created=row["created"],
        delivered_path=row["delivered_path"],
        delivered_as=row["delivered_as"],
        delivered_frames=row["delivered_frames"],
        delivered_width=row["delivered_width"],
        delivered_height=row["delivered_height"],
    )


def event_record(row: sqlite3.Row) -> Event:
    """An ``events`` row."""
    return Event(**dict(row))
