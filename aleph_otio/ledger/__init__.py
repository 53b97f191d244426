"""The job ledger: one SQLite file that lets a second run resume exactly where the first stopped.

The rooms of this package:

- :mod:`~aleph_otio.ledger.schema`: the tables, their migrations, the check that a file is ours;
- :mod:`~aleph_otio.ledger.states`: the shot state machine (pure checks);
- :mod:`~aleph_otio.ledger.store`: the connection, transactions and durability (WAL, one
  ``synchronous=FULL`` commit before each submission), and the row-level moves below;
- :mod:`~aleph_otio.ledger.steps`, :mod:`~aleph_otio.ledger.uploads`,
  :mod:`~aleph_otio.ledger.results`: the writes, by what they record;
- :mod:`~aleph_otio.ledger.queries`: the reads;
- :mod:`~aleph_otio.ledger.backends`: the backend a ledger is bound to, and Runway's tasks;
- :mod:`~aleph_otio.ledger.upscales`: Runway's upscale of each result, a paid step of its own;
- :mod:`~aleph_otio.ledger.lock`: the work-folder lock a run holds;
- :mod:`~aleph_otio.ledger.records`: the frozen records the reads return.

The API key is never written here: no method takes it.
"""

from __future__ import annotations

from aleph_otio.ledger.backends import BackendRecords
from aleph_otio.ledger.queries import LedgerQueries
from aleph_otio.ledger.records import Event, ResultRecord, ShotRecord
from aleph_otio.ledger.results import ResultSteps
from aleph_otio.ledger.schema import APPLICATION_ID, SCHEMA_VERSION
from aleph_otio.ledger.states import SHOT_FIELDS, STATES, TRANSITIONS
from aleph_otio.ledger.steps import ShotSteps
from aleph_otio.ledger.uploads import UploadRecords
from aleph_otio.ledger.upscales import UpscaleRecord, UpscaleRecords, upscale_key


class Ledger(ShotSteps, UploadRecords, ResultSteps, LedgerQueries, BackendRecords, UpscaleRecords):
    """The job ledger in one SQLite file; use as a context manager or call :meth:`close`.

    One public facade composed of mixins over one :class:`~aleph_otio.ledger.store.LedgerStore`
    rather than of collaborators: every part must share the same connection, lock and
    transaction (a result recorded can move the shot in the same ``BEGIN IMMEDIATE``), and
    collaborators would need a delegating method repeating each of some thirty signatures.
    Each mixin adds methods only; the state lives in the store alone.
    """


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
    "UpscaleRecord",
    "upscale_key",
]
