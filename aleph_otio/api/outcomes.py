"""What a backend hands back, whichever API it speaks: uploaded media, task outcomes, failures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aleph_otio.api.models import VideoResult
from aleph_otio.errors import APITimeoutError, TaskFailedError, TaskNotFoundError

SleepFn = Callable[[float], Awaitable[Any]]
UpdateFn = Callable[["TaskOutcome"], Any]


@dataclass(frozen=True)
class UploadedMedia:
    """Media the API can read: a mediaStorage upload, or a URL the user already hosts."""

    media_uuid: str | None
    media_url: str
    sha256: str

    @property
    def ref(self) -> str:
        """What to put in ``inputs.video`` / ``frameImages``: the UUID, else the URL."""
        return self.media_uuid or self.media_url


@dataclass(frozen=True)
class ResultFailure:
    """One generation that ended in error."""

    code: str
    message: str
    video_uuid: str | None = None


@dataclass
class TaskOutcome:
    """What getResponse has told us about one task so far."""

    task_uuid: str
    expected: int = 1
    successes: list[VideoResult] = field(default_factory=list)
    failures: list[ResultFailure] = field(default_factory=list)
    processing: int = 0
    not_found: bool = False

    @property
    def done(self) -> bool:
        """Every expected generation is terminal (or the server does not know the task)."""
        return self.not_found or len(self.successes) + len(self.failures) >= self.expected

    @property
    def ok(self) -> bool:
        return self.done and not self.failures and not self.not_found

    @property
    def cost(self) -> float | None:
        costs = [r.cost for r in self.successes if r.cost is not None]
        return sum(costs) if costs else None

    def raise_for_failures(self) -> None:
        """Raise TaskNotFoundError/TaskFailedError when nothing usable came back."""
        if self.not_found:
            reason = self.failures[0].message if self.failures else "unknown task"
            raise TaskNotFoundError(
                f"task {self.task_uuid}: the API does not know this task ({reason}); "
                "its results may have expired: submit the shot again under a new taskUUID",
                code=self.failures[0].code if self.failures else "taskNotFound",
                task_uuid=self.task_uuid,
            )
        if self.done and self.failures and not self.successes:
            first = self.failures[0]
            raise TaskFailedError(
                f"task {self.task_uuid}: all {len(self.failures)} generation(s) failed "
                f"({first.code}: {first.message}); change the prompt or inputs, or resubmit",
                code=first.code,
                task_uuid=self.task_uuid,
            )


class WaitTimeoutError(APITimeoutError):
    """:meth:`AlephClient.wait` reached its deadline; ``outcomes`` holds what is known."""

    def __init__(self, message: str, *, outcomes: dict[str, TaskOutcome]) -> None:
        super().__init__(message, code="deadline")
        self.outcomes = outcomes

    @classmethod
    def unfinished(
        cls, pending: list[str], outcomes: dict[str, TaskOutcome], limit: float
    ) -> WaitTimeoutError:
        """The deadline passed with ``pending`` tasks not done (either backend's poller)."""
        return cls(
            f"{len(pending)} of {len(outcomes)} task(s) unfinished after {limit:g} s "
            f"(first: {pending[0]}); run the same command again to keep waiting",
            outcomes=outcomes,
        )
