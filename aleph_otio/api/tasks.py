"""Tasks: submitting a videoInference task and polling for its results with getResponse.

Retries never change a taskUUID: a re-sent task that the server already holds is answered with
``conflictTaskUUID``, which on a retry means "accepted the first time", so nothing is paid twice.
Polls are batched (up to ``poll_batch_size`` taskUUIDs in one request); a batch the server
answers as a whole with an error, or answers without some of its tasks, is polled one by one.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aleph_otio.api.envelope import REQUEST_LEVEL, error_class, error_from_api
from aleph_otio.api.models import APIErrorObject, GetResponseTask, VideoInferenceTask, VideoResult
from aleph_otio.api.outcomes import ResultFailure, TaskOutcome, UpdateFn, WaitTimeoutError
from aleph_otio.api.transport import Reply, RunwareTransport
from aleph_otio.errors import (
    AuthenticationError,
    InsufficientCreditsError,
    RateLimitedError,
    ServerError,
    TaskNotFoundError,
)

if TYPE_CHECKING:
    from aleph_otio.api.webhook import WebhookReceiver

log = logging.getLogger("aleph_otio.api")

POLL_BATCH_SIZE = 50

#: Whole-request errors that polling one by one would only repeat.
_NOT_ABOUT_BATCHING = (AuthenticationError, InsufficientCreditsError, RateLimitedError)


@dataclass
class _Batch:
    results: dict[str, list[VideoResult]]
    not_found: dict[str, APIErrorObject]


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _dedupe(results: list[VideoResult]) -> list[VideoResult]:
    """Drop repeats of the same generation (getResponse answers are cumulative)."""
    seen: set[str] = set()
    unique = []
    for result in results:
        if result.video_uuid:
            if result.video_uuid in seen:
                continue
            seen.add(result.video_uuid)
        unique.append(result)
    return unique


class Tasks(RunwareTransport):
    """Submit, poll in batches, wait until done."""

    poll_batch_size: int
    _clock: Callable[[], float]
    #: A running :class:`~aleph_otio.api.webhook.WebhookReceiver`: :meth:`wait` then polls a
    #: task as soon as a webhook names it, not only at the next interval.
    webhooks: WebhookReceiver | None

    async def submit(self, task: VideoInferenceTask, *, assume_sent: bool = False) -> None:
        """Send one videoInference task; returns once the API has accepted it.

        Transient failures are retried with the same taskUUID. ``conflictTaskUUID`` on a retry
        means the first attempt got through; on the first attempt it raises TaskConflictError,
        unless ``assume_sent`` says this taskUUID was sent before (e.g. by an earlier run).
        """
        what = f"submit task {task.task_uuid}"
        reply = await self._post([task.to_api()], what=what)
        mine = [e for e in reply.errors if e.task_uuid in (None, task.task_uuid)]
        if any(e.code == "conflictTaskUUID" for e in mine):
            if reply.attempts > 1 or assume_sent:
                log.info("%s: already accepted (conflictTaskUUID on a re-send)", what)
                return
        self._raise_first(reply, mine or reply.errors, what=what)
        log.debug("%s: accepted", what)

    async def _poll_batch(self, task_uuids: Sequence[str]) -> _Batch:
        """One getResponse request for these tasks; a failed or incomplete batch goes singly.

        No official client batches polls (runware-sdk asks for one taskUUID per request), so a
        server may answer a batch as a whole with an error, or leave tasks out of its answer:
        those tasks are then polled one by one. A bad key, no credits or a rate limit are not
        about batching, and raise as before.
        """
        wanted = list(dict.fromkeys(task_uuids))
        what = f"getResponse for {len(wanted)} task(s)"
        tasks = [GetResponseTask.model_validate({"taskUUID": u}).to_api() for u in wanted]
        if len(wanted) == 1:
            batch, _ = self._read_poll(await self._post(tasks, what=what), wanted, what=what)
            return batch
        try:
            reply = await self._post(tasks, what=what)
        except ServerError as exc:
            log.warning("%s failed as a whole (%s); polling one by one", what, exc)
            return await self._poll_singly(wanted, _Batch({}, {}))
        whole = [e for e in reply.errors if e.task_uuid not in wanted]
        if any(error_class(reply.status_code, e) in _NOT_ABOUT_BATCHING for e in whole):
            self._raise_first(reply, whole, what=what)
        if whole or (not reply.data and not reply.errors and reply.status_code >= 400):
            log.warning(
                "%s answered as a whole with HTTP %d %s; polling one by one",
                what,
                reply.status_code,
                whole[0].code if whole else "",
            )
            return await self._poll_singly(wanted, _Batch({}, {}))
        batch, answered = self._read_poll(reply, wanted, what=what)
        left_out = [u for u in wanted if u not in answered]
        if left_out:
            log.info(
                "%s: %d task(s) left out of the answer; polling them singly", what, len(left_out)
            )
            return await self._poll_singly(left_out, batch)
        return batch

    async def _poll_singly(self, task_uuids: Sequence[str], batch: _Batch) -> _Batch:
        for task_uuid in task_uuids:
            single = await self._poll_batch([task_uuid])
            batch.results[task_uuid] = single.results[task_uuid]
            if task_uuid in single.not_found:
                batch.not_found[task_uuid] = single.not_found[task_uuid]
        return batch

    def _read_poll(
        self, reply: Reply, wanted: Sequence[str], *, what: str
    ) -> tuple[_Batch, set[str]]:
        """The generations per task in one getResponse answer, and the tasks it named."""
        results: dict[str, list[VideoResult]] = {u: [] for u in wanted}
        not_found: dict[str, APIErrorObject] = {}
        answered: set[str] = set()
        for item in reply.data:
            task_uuid = item.get("taskUUID") or (wanted[0] if len(wanted) == 1 else None)
            if task_uuid not in results:
                continue
            answered.add(task_uuid)
            results[task_uuid].append(VideoResult.model_validate({**item, "taskUUID": task_uuid}))
        for error in reply.errors:
            task_uuid = error.task_uuid or (wanted[0] if len(wanted) == 1 else None)
            kind = error_class(reply.status_code, error)
            if task_uuid in results and kind is TaskNotFoundError:
                answered.add(task_uuid)
                not_found[task_uuid] = error
            elif task_uuid in results and kind not in REQUEST_LEVEL:
                answered.add(task_uuid)
                results[task_uuid].append(
                    VideoResult.model_validate(
                        {
                            "taskUUID": task_uuid,
                            "status": "error",
                            "code": error.code or "error",
                            "message": self._scrub(error.message or ""),
                        }
                    )
                )
            else:
                # Not about one generation (bad key, no credits, ...): the whole poll failed.
                self._raise_first(reply, [error], what=what)
        if not reply.data and not reply.errors and reply.status_code >= 400:
            self._raise_first(reply, [], what=what)
        return _Batch({u: _dedupe(r) for u, r in results.items()}, not_found), answered

    async def get_responses(self, task_uuids: Sequence[str]) -> dict[str, list[VideoResult]]:
        """One batched getResponse for many tasks: every generation reported so far, per task.

        Raises TaskNotFoundError when the API does not know one of the tasks.
        """
        if not task_uuids:
            return {}
        batch = await self._poll_batch(task_uuids)
        if batch.not_found:
            task_uuid, error = next(iter(batch.not_found.items()))
            others = f" (and {len(batch.not_found) - 1} more)" if len(batch.not_found) > 1 else ""
            raise error_from_api(
                None, error, context=f"getResponse task {task_uuid}{others}", scrub=self._scrub
            )
        return batch.results

    async def wait(
        self,
        task_uuids: Sequence[str],
        *,
        expected: Mapping[str, int] | None = None,
        deadline: float | None = None,
        on_update: UpdateFn | None = None,
    ) -> dict[str, TaskOutcome]:
        """Poll until every task has its expected number of terminal generations.

        ``expected`` maps taskUUID -> numberResults (default 1). ``deadline`` is in seconds from
        now (default ``settings.deadline_seconds``); reaching it raises WaitTimeoutError, whose
        ``outcomes`` holds the partial state. ``on_update(outcome)`` (sync or async) is called
        whenever a task gains a result. Failed generations are reported, not raised: see
        :meth:`TaskOutcome.raise_for_failures`. Polls are ``settings.poll_interval`` apart at
        first and 1.5x further apart each time, never more than ``poll_max_interval``; a poll
        that brings a result resets the interval to the first one. With :attr:`webhooks` set, a
        webhook naming a pending task brings the next poll forward to its arrival.
        """
        expected = expected or {}
        outcomes = {
            u: TaskOutcome(task_uuid=u, expected=max(1, int(expected.get(u, 1))))
            for u in dict.fromkeys(task_uuids)
        }
        limit = self.settings.deadline_seconds if deadline is None else deadline
        end = self._clock() + limit
        first = min(self.settings.poll_interval, self.settings.poll_max_interval)
        interval = first
        pending = [u for u, o in outcomes.items() if not o.done]
        while pending:
            progress = False
            for chunk in _chunks(pending, self.poll_batch_size):
                batch = await self._poll_batch(chunk)
                for task_uuid in chunk:
                    changed = self._merge(
                        outcomes[task_uuid],
                        batch.results[task_uuid],
                        batch.not_found.get(task_uuid),
                    )
                    progress = progress or changed
                    if changed and on_update is not None:
                        maybe = on_update(outcomes[task_uuid])
                        if inspect.isawaitable(maybe):
                            await maybe
            pending = [u for u in pending if not outcomes[u].done]
            if not pending:
                break
            remaining = end - self._clock()
            if remaining <= 0:
                raise WaitTimeoutError.unfinished(pending, outcomes, limit)
            if progress:
                # Results are coming in: tasks of one batch finish close together, so the rest
                # are polled again at the first interval instead of after a grown one.
                interval = first
            if self.webhooks is not None:
                await self.webhooks.wait_for(pending, min(interval, remaining))
            else:
                await self._sleep(min(interval, remaining))
            interval = min(interval * 1.5, self.settings.poll_max_interval)
        return outcomes

    @staticmethod
    def _merge(
        outcome: TaskOutcome, results: list[VideoResult], not_found: APIErrorObject | None
    ) -> bool:
        before = (len(outcome.successes), len(outcome.failures), outcome.not_found)
        if not_found is not None:
            outcome.not_found = True
            outcome.failures = [
                ResultFailure(not_found.code or "taskNotFound", not_found.message or "")
            ]
            return True
        known = {r.video_uuid for r in outcome.successes}
        for result in results:
            if result.status == "success" and result.video_uuid not in known:
                outcome.successes.append(result)
                known.add(result.video_uuid)
        failures = [
            ResultFailure(r.error_code or "error", r.error_message or "", r.video_uuid)
            for r in results
            if r.status == "error"
        ]
        # Answers are cumulative: the latest list of failures replaces the earlier one, unless a
        # server only reports new items (then keep the longer history).
        if len(failures) >= len(outcome.failures):
            outcome.failures = failures
        outcome.processing = sum(1 for r in results if r.status == "processing")
        return (len(outcome.successes), len(outcome.failures), outcome.not_found) != before
