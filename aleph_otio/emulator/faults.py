"""Fault injection: what goes wrong on purpose, and when (the switches are in :class:`Faults`).

Each switch is a counter that counts down as it fires (``emu.faults`` may be changed while the
emulator runs); the parts of the emulator ask here whether a fault fires now.
"""

from __future__ import annotations

import logging
from typing import Any

from aleph_otio.emulator.state import EmulatorState
from aleph_otio.emulator.validate import TaskError

log = logging.getLogger("aleph_otio.emulator")

STATUS_CODES = {
    401: "invalidApiKey",
    402: "insufficientCredits",
    408: "requestTimeout",
    429: "rateLimitExceeded",
    500: "internalServerError",
    502: "serviceUnavailable",
    503: "serviceUnavailable",
    504: "serverTimeout",
}


def take_fault(lock: Any, faults: Any, name: str) -> bool:
    """Consume one unit of the fault counter ``faults.<name>`` under ``lock``; True when it fired.

    Shared by the Runware and the Runway emulators, whose switches are counters alike.
    """
    with lock:
        value = getattr(faults, name)
        if value > 0:
            setattr(faults, name, value - 1)
            return True
        return False


def failure_message(code: str) -> str:
    """The error message of a generation failed on purpose with ``code``."""
    if code == "contentPolicyViolation":
        return "The content check refused this generation (injected safety rejection)."
    if code == "timeoutProvider":
        return "Provider did not answer in time; the generation was stopped (injected fault)."
    return f"The generation failed ({code}, injected fault)."


class FaultInjection(EmulatorState):
    """The fault switches, consumed one unit at a time."""

    def _take(self, name: str) -> bool:
        """Consume one unit of a fault counter; True when it fired."""
        return take_fault(self._lock, self.faults, name)

    def _slow(self) -> None:
        """Hold every answer back by ``slow_response`` seconds (task endpoint and downloads)."""
        if self.faults.slow_response > 0:
            self._stop.wait(self.faults.slow_response)

    def _status_burst(self, tasks: object) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        """The next ``status_burst`` answer (status, body, headers) to a request, if one is due."""
        with self._lock:
            burst = self.faults.status_burst.pop(0) if self.faults.status_burst else None
        if burst is None:
            return None
        headers = {}
        if self.faults.retry_after is not None:
            headers["Retry-After"] = f"{self.faults.retry_after:g}"
        burst_errors = [
            TaskError(
                STATUS_CODES.get(burst, "serverError"),
                f"Injected fault: HTTP {burst}; retry later with the same taskUUID.",
                status=burst,
                task_type=t.get("taskType") if isinstance(t.get("taskType"), str) else None,
                task_uuid=t.get("taskUUID") if isinstance(t.get("taskUUID"), str) else None,
            )
            for t in (tasks if isinstance(tasks, list) else [])
            if isinstance(t, dict) and t.get("taskType") != "authentication"
        ] or [TaskError(STATUS_CODES.get(burst, "serverError"), f"Injected fault: HTTP {burst}.")]
        log.info("fault: answered HTTP %d", burst)
        return burst, {"errors": [e.to_dict() for e in burst_errors]}, headers

    def _injected_failure(self, number_results: int) -> tuple[str | None, int]:
        """``(fail_code, fail_from)`` for a task being accepted: which generations will fail."""
        if self._take("fail_tasks"):
            return self.faults.fail_code, 0
        if self._take("safety_rejects"):
            return "contentPolicyViolation", 0
        if number_results >= 2 and self._take("partial_tasks"):
            return self.faults.fail_code, 1
        return None, 0
