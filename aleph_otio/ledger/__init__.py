"""The job ledger: one SQLite file that lets a second run resume exactly where the first stopped."""

from __future__ import annotations

from aleph_otio.ledger.store import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    SHOT_FIELDS,
    STATES,
    TRANSITIONS,
    Event,
    Ledger,
    ResultRecord,
    ShotRecord,
)

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "SHOT_FIELDS",
    "STATES",
    "TRANSITIONS",
    "Event",
    "Ledger",
    "ResultRecord",
    "ShotRecord",
]
