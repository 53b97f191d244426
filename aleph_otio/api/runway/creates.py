"""Creating Runway tasks without ever paying twice: the marker before each create, the task id
the moment it is known, and the create whose answer was lost ("submission uncertain").

Runway's create calls have no idempotency key, and the SDK retries POSTs by default; here every
create is sent with ``max_retries=0``. Only a 429 (refused before anything was made) is tried
again. A create whose answer is lost (connection dropped, timeout, 5xx) is *uncertain*: the task
may exist and be billed. It is recorded with the time it was sent and raised as
:class:`SubmissionUncertainError`; it is sent again only when ``resubmit_uncertain`` is set.
The same holds for the aleph2 create of each result (``remote_tasks``) and for the upscale of
each result (``upscale_tasks``).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import runwayml

from aleph_otio.api.models import VideoInferenceTask
from aleph_otio.api.runway.client import Markers, RunwayClient, map_status_error, now
from aleph_otio.api.runway.translate import MAX_SEED, create_arguments
from aleph_otio.errors import SubmissionUncertainError

log = logging.getLogger("aleph_otio.api.runway")


class RemoteTask(NamedTuple):
    """One Runway task made (or perhaps made) for one result of a planned task.

    A tuple, so the ledger stores it as ``(remote_id, seed, sent_at)`` without knowing the API.
    """

    remote_id: str | None  # None: sent, answer never seen
    seed: int
    sent_at: str


def remote_key(task_uuid: str, index: int) -> str:
    return f"{task_uuid}#{index}"


def _video_to_video(args: dict[str, Any]) -> Callable[[runwayml.AsyncRunwayML], Awaitable[Any]]:
    def send(sdk: runwayml.AsyncRunwayML) -> Awaitable[Any]:
        return sdk.video_to_video.create(**args)

    return send


class RunwayCreates(RunwayClient):
    """``submit``: one aleph2 task per result, each created at most once."""

    def remote(self, task_uuid: str, index: int) -> RemoteTask | None:
        """The Runway task made (or perhaps made) for one result, if any."""
        entry = self.remote_tasks.get(remote_key(task_uuid, index))
        return None if entry is None else RemoteTask(*entry)

    def uncertain(self, task_uuid: str) -> list[RemoteTask]:
        """Creates of this task that were sent and never answered."""
        entries = [self.remote(task_uuid, index) for index in range(4)]
        return [e for e in entries if e is not None and e.remote_id is None]

    async def submit(self, task: VideoInferenceTask, *, assume_sent: bool = False) -> None:
        """Create one Runway task per result; results already created are not created again.

        ``assume_sent`` is accepted for the pipeline's sake and changes nothing: what was sent
        is known from ``remote_tasks``, written before each create.
        """
        uris = {ref: uri for ref, uri in self.upload_cache.values()}
        base_seed = self.options.seed
        for index in range(task.number_results):
            key = remote_key(task.task_uuid, index)
            entry = self.remote(task.task_uuid, index)
            if entry is not None and entry.remote_id is not None:
                continue
            if entry is not None:
                seed = entry.seed
            elif base_seed is not None:
                seed = (base_seed + index) % (MAX_SEED + 1)
            else:
                seed = random.randrange(0, MAX_SEED + 1)
            args = create_arguments(task, uris=uris, options=self.options, seed=seed)
            what = f"task {task.task_uuid} result {index + 1}"
            await self.create_once(
                self.remote_tasks,
                key,
                task_uuid=task.task_uuid,
                what=what,
                seed=seed,
                send=_video_to_video(args),
                looks_like=f"an aleph2 task created then (seed {seed})",
            )

    async def create_once(
        self,
        markers: Markers,
        key: str,
        *,
        task_uuid: str,
        what: str,
        seed: int,
        send: Callable[[runwayml.AsyncRunwayML], Awaitable[Any]],
        looks_like: str,
    ) -> str:
        """Send one create under ``key`` unless one was sent before; returns the task id.

        A marker is committed to ``markers`` before anything is sent and replaced by the task
        id the moment it is known. A marker without an id (a create never answered, here or
        in a run that was killed) raises SubmissionUncertainError unless ``resubmit_uncertain``.
        """
        known = markers.get(key)
        if known is not None and known[0] is not None:
            return known[0]
        if known is not None and not self.resubmit_uncertain:
            raise self._uncertain(task_uuid, what, RemoteTask(*known), "an earlier run", looks_like)
        sdk = self._client_sdk().with_options(max_retries=0)
        attempt = 0
        while True:
            attempt += 1
            entry = RemoteTask(None, seed, now())
            markers[key] = entry  # committed before anything is sent
            self.request_count += 1
            try:
                created = await send(sdk)
            except runwayml.APIConnectionError as exc:
                reason = type(exc).__name__
                raise self._uncertain(task_uuid, what, entry, reason, looks_like) from None
            except runwayml.APIStatusError as exc:
                if exc.status_code >= 500:
                    reason = f"HTTP {exc.status_code}"
                    raise self._uncertain(task_uuid, what, entry, reason, looks_like) from None
                # A definite refusal: nothing was made, so nothing is uncertain.
                del markers[key]
                if exc.status_code == 429 and attempt <= self.retry.max_retries:
                    await self._sleep(self.retry.delay(attempt, None))
                    continue
                raise map_status_error(exc, f"create {what}") from None
            markers[key] = RemoteTask(created.id, seed, entry.sent_at)
            log.info("%s: Runway task %s (seed %d)", what, created.id, seed)
            return str(created.id)

    @staticmethod
    def _uncertain(
        task_uuid: str, what: str, entry: RemoteTask, reason: str, looks_like: str
    ) -> SubmissionUncertainError:
        return SubmissionUncertainError(
            f"{what}: the create request sent at {entry.sent_at} got no answer ({reason}), so "
            "Runway may have made (and billed) it; look in the Runway developer portal's task "
            f"list for {looks_like}; if there is none, run again with --resubmit-uncertain",
            code="submissionUncertain",
            task_uuid=task_uuid,
        )
