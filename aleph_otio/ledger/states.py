"""The shot state machine: the states a shot goes through and the moves allowed between them.

::

    planned -> prepared -> uploaded -> submitting -> submitted -> succeeded -> downloaded
            -> verified -> relinked
    any state before relinked -> failed
    relinked -> failed                          (a later step asked of it failed: a delivery
                                                 in another kind, a re-download)
    failed -> planned | prepared | uploaded   (retry from an earlier step)
    failed -> submitted | succeeded            (resume polling / re-download the same task)

Re-recording the state a shot is already in is allowed (resumed runs repeat steps). The checks
here are pure; :meth:`aleph_otio.ledger.store.LedgerStore._transition` applies them in a
transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from aleph_otio.errors import LedgerError

STATES: Final = (
    "planned",
    "prepared",
    "uploaded",
    "submitting",
    "submitted",
    "succeeded",
    "failed",
    "downloaded",
    "verified",
    "relinked",
)

RETRY_TARGETS: Final = frozenset({"planned", "prepared", "uploaded"})
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    "planned": frozenset({"prepared", "failed"}),
    "prepared": frozenset({"uploaded", "failed"}),
    "uploaded": frozenset({"prepared", "submitting", "failed"}),
    "submitting": frozenset({"submitted", "succeeded", "failed"}),
    "submitted": frozenset({"succeeded", "failed"}),
    "succeeded": frozenset({"downloaded", "failed"}),
    "downloaded": frozenset({"verified", "failed"}),
    "verified": frozenset({"relinked", "failed"}),
    "relinked": frozenset({"failed"}),
    "failed": frozenset({"planned", "prepared", "uploaded", "submitted", "succeeded"}),
}

#: Shot columns that ``set_state(..., **fields)`` may update.
SHOT_FIELDS: Final = frozenset({"clip_path", "clip_sha256", "media_uuid", "media_url"})


def check_state(state: str) -> None:
    """LedgerError unless ``state`` is one of :data:`STATES`."""
    if state not in TRANSITIONS:
        raise LedgerError(f"unknown shot state {state!r}; expected one of {', '.join(STATES)}")


def check_states(states: Iterable[str]) -> None:
    """LedgerError naming every entry of ``states`` that is not a shot state."""
    unknown = set(states) - set(STATES)
    if unknown:
        raise LedgerError(f"unknown shot state(s): {', '.join(sorted(unknown))}")


def check_move(shot_id: str, name: str, current: str, state: str) -> None:
    """LedgerError unless a shot in ``current`` may go to ``state`` (staying put is allowed)."""
    if state != current and state not in TRANSITIONS[current]:
        raise LedgerError(f"shot {shot_id} ({name}): cannot go from {current} to {state}")


def check_fields(fields: Iterable[str]) -> None:
    """LedgerError naming the fields a state change may not set (see :data:`SHOT_FIELDS`)."""
    unknown = set(fields) - SHOT_FIELDS
    if unknown:
        raise LedgerError(f"unknown shot field(s): {', '.join(sorted(unknown))}")


def check_retry_after_server_failure(shot_id: str, name: str, task_uuid: str, state: str) -> None:
    """A task the server failed can only be retried from an early step (with a new taskUUID)."""
    if state not in RETRY_TARGETS:
        raise LedgerError(
            f"shot {shot_id} ({name}): the server reported task "
            f"{task_uuid} as failed; retry from prepared or uploaded"
        )
