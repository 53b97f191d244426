"""The job ledger: one SQLite file that lets a second run resume exactly where the first stopped."""

from __future__ import annotations

from aleph_otio.ledger.records import Event, ResultRecord, ShotRecord
from aleph_otio.ledger.schema import APPLICATION_ID, SCHEMA_VERSION
from aleph_otio.ledger.states import SHOT_FIELDS, STATES, TRANSITIONS
from aleph_otio.ledger.store import Ledger

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
