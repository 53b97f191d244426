"""Polling Runway's tasks (``tasks.retrieve``, retried freely): each result's state as the
pipeline's :class:`~aleph_otio.api.models.VideoResult`, costs in USD as billed."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import runwayml

from aleph_otio.api.models import VideoResult
from aleph_otio.api.outcomes import ResultFailure, TaskOutcome, UpdateFn, WaitTimeoutError
from aleph_otio.api.runway.client import map_status_error
from aleph_otio.api.runway.creates import RemoteTask, RunwayCreates
from aleph_otio.config import RUNWAY_CREDIT_USD
from aleph_otio.errors import APIError, TaskNotFoundError

RUNNING = ("PENDING", "THROTTLED", "RUNNING")


class RunwayPolling(RunwayCreates):
    """``wait`` and ``get_responses`` over the tasks ``submit`` made."""

    async def _poll_one(self, task_uuid: str, index: int, entry: RemoteTask) -> VideoResult | None:
        assert entry.remote_id is not None
        self.request_count += 1
        try:
            state = await self._client_sdk().tasks.retrieve(entry.remote_id)
        except runwayml.NotFoundError:
            return None
        except runwayml.APIStatusError as exc:
            raise map_status_error(exc, f"task {entry.remote_id}") from None
        except runwayml.APIConnectionError as exc:
            raise APIError(f"task {entry.remote_id}: could not reach Runway ({exc})") from None
        item: dict[str, object] = {"taskUUID": task_uuid, "videoUUID": entry.remote_id}
        if state.status in RUNNING:
            item["status"] = "processing"
        elif state.status == "SUCCEEDED":
            # Credits as billed, in USD like every cost the ledger holds.
            cost = round(state.cost.credits * RUNWAY_CREDIT_USD, 4)
            item.update(status="success", videoURL=state.output[0], seed=entry.seed, cost=cost)
        elif state.status == "FAILED":
            item.update(status="error", code=state.failure_code or "FAILED", message=state.failure)
        else:
            item.update(status="error", code=state.status, message="the task was cancelled")
        return VideoResult.model_validate(item)

    async def get_responses(self, task_uuids: Sequence[str]) -> dict[str, list[VideoResult]]:
        """Every result of these tasks as Runway reports it now (fresh output URLs included)."""
        out: dict[str, list[VideoResult]] = {}
        for task_uuid in dict.fromkeys(task_uuids):
            results = []
            for index in range(4):
                entry = self.remote(task_uuid, index)
                if entry is None or entry.remote_id is None:
                    continue
                result = await self._poll_one(task_uuid, index, entry)
                if result is None:
                    raise TaskNotFoundError(
                        f"task {task_uuid}: Runway no longer knows task {entry.remote_id}",
                        code="taskNotFound",
                        task_uuid=task_uuid,
                    )
                results.append(result)
            out[task_uuid] = results
        return out

    async def wait(
        self,
        task_uuids: Sequence[str],
        *,
        expected: Mapping[str, int] | None = None,
        deadline: float | None = None,
        on_update: UpdateFn | None = None,
    ) -> dict[str, TaskOutcome]:
        """Poll every Runway task of these planned tasks until each is terminal."""
        expected = expected or {}
        outcomes: dict[str, TaskOutcome] = {}
        remote: dict[str, list[tuple[int, RemoteTask]]] = {}
        for task_uuid in dict.fromkeys(task_uuids):
            count = max(1, int(expected.get(task_uuid, 1)))
            known = [
                (i, e) for i in range(count) if (e := self.remote(task_uuid, i)) and e.remote_id
            ]
            remote[task_uuid] = known
            outcomes[task_uuid] = TaskOutcome(task_uuid=task_uuid, expected=max(1, len(known)))
            if not known:
                outcomes[task_uuid].not_found = True
        limit = self.settings.deadline_seconds if deadline is None else deadline
        end = self._clock() + limit
        interval = min(self.settings.poll_interval, self.settings.poll_max_interval)
        pending = [u for u, o in outcomes.items() if not o.done]
        while pending:
            for task_uuid in pending:
                results = [await self._poll_one(task_uuid, i, e) for i, e in remote[task_uuid]]
                outcome = outcomes[task_uuid]
                before = (len(outcome.successes), len(outcome.failures))
                if any(r is None for r in results):
                    outcome.not_found = True
                    outcome.failures = [ResultFailure("taskNotFound", "Runway has no such task")]
                else:
                    done = [r for r in results if r is not None]
                    outcome.successes = [r for r in done if r.status == "success"]
                    outcome.failures = [
                        ResultFailure(r.error_code or "error", r.error_message or "", r.video_uuid)
                        for r in done
                        if r.status == "error"
                    ]
                    outcome.processing = sum(1 for r in done if r.status == "processing")
                changed = (len(outcome.successes), len(outcome.failures)) != before
                if (changed or outcome.not_found) and on_update is not None:
                    maybe = on_update(outcome)
                    if asyncio.iscoroutine(maybe):
                        await maybe
            pending = [u for u in pending if not outcomes[u].done]
            if not pending:
                break
            remaining = end - self._clock()
            if remaining <= 0:
                raise WaitTimeoutError.unfinished(pending, outcomes, limit)
            await self._sleep(min(interval, remaining))
            interval = min(interval * 1.5, self.settings.poll_max_interval)
        return outcomes
