"""Waiting for the tasks: poll (or take webhooks), record each outcome, fetch what finished."""

from __future__ import annotations

import asyncio

from aleph_otio.api.client import TaskOutcome, WaitTimeoutError
from aleph_otio.errors import AlephOtioError
from aleph_otio.ledger import Ledger
from aleph_otio.pipeline.download import DownloadStages
from aleph_otio.shots import Shot


class CollectStages(DownloadStages):
    """Poll submitted tasks and download each result as its task finishes."""

    async def _collect(self, ledger: Ledger, shots: list[Shot], gate: asyncio.Semaphore) -> int:
        """Poll submitted tasks, download and verify every result; returns tasks still running."""
        by_task = {ledger.shot(s.id).task_uuid: s for s in shots}
        waiting = [
            u for u, s in by_task.items() if ledger.state(s.id) in ("submitting", "submitted")
        ]
        downloads: list[asyncio.Task[None]] = []

        def fetch(shot: Shot) -> None:
            async def job() -> None:
                async with gate:
                    await self._download_all(ledger, shot)

            downloads.append(asyncio.create_task(job()))

        for shot in shots:
            if ledger.state(shot.id) in ("succeeded", "downloaded"):
                fetch(shot)

        def on_update(outcome: TaskOutcome) -> None:
            shot = by_task[outcome.task_uuid]
            self._record_outcome(ledger, shot, outcome)
            if outcome.done and ledger.state(shot.id) == "succeeded":
                self._emit("generate", shot, "done")
                fetch(shot)
            elif outcome.done and ledger.state(shot.id) == "failed":
                self._emit("generate", shot, "failed")

        still = 0
        if waiting:
            for uuid in waiting:
                self._emit("generate", by_task[uuid], "start")
            try:
                await self.client.wait(
                    waiting,
                    expected={u: by_task[u].options.number_results for u in waiting},
                    on_update=on_update,
                )
            except WaitTimeoutError as exc:
                still = sum(1 for o in exc.outcomes.values() if not o.done)
            except AlephOtioError as exc:
                # The poll failed, not the tasks: they are still on the server. The shots stay
                # submitted so that the next run polls them again instead of paying again.
                for uuid in waiting:
                    shot = by_task[uuid]
                    state = ledger.state(shot.id)
                    if state in ("submitting", "submitted"):
                        ledger.set_state(
                            shot.id,
                            state,
                            reason=f"generate: could not poll; the task is kept on the "
                            f"server and not paid again: {exc}",
                        )
                        self._emit("generate", shot, "failed")
                        still += 1
        if downloads:
            await asyncio.gather(*downloads)
        return still

    def _record_outcome(self, ledger: Ledger, shot: Shot, outcome: TaskOutcome) -> None:
        if outcome.not_found:
            reason = outcome.failures[0].message if outcome.failures else "unknown task"
            ledger.mark_task_failed(outcome.task_uuid, f"taskNotFound: {reason}")
            return
        for index, result in enumerate(outcome.successes):
            ledger.record_result(
                outcome.task_uuid,
                index,
                status="success",
                video_uuid=result.video_uuid,
                video_url=result.video_url,
                seed=result.seed,
                cost=result.cost,
            )
        if outcome.done and outcome.failures and outcome.successes:
            # Some variations failed, others did not: the successes were paid for and are
            # relinked; the failures are reported. Nothing is resubmitted (that pays again).
            ledger.finish_partial(
                outcome.task_uuid, [f"{f.code}: {f.message}" for f in outcome.failures]
            )
        elif outcome.done and outcome.failures:
            # Every generation failed: the task failed; a retry submits the shot again under
            # a new taskUUID (failed generations are not billed).
            first = outcome.failures[0]
            ledger.record_result(
                outcome.task_uuid,
                len(outcome.successes),
                status="error",
                error=f"{first.code}: {first.message}",
            )
