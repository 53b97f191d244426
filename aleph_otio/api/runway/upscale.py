"""Runway's upscale of a result (``video_upscale.create``): created at most once, polled until
it ends; what size it should come back at.

The upscaler is the runwayml SDK's ``magnific_video_upscaler_creative`` with ``resolution``
``1k``, ``2k`` or ``4k`` (``--upscale``): the output's long side is
:func:`~aleph_otio.api.backend.upscale_long_side` of it, the aspect ratio kept, every frame at
the input's rate. The create follows :meth:`RunwayCreates.create_once`: a marker in
``upscale_tasks`` before it is sent, no retry, a lost answer uncertain.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, cast

import runwayml

from aleph_otio.api.models import VideoResult
from aleph_otio.api.outcomes import UploadedMedia, WaitTimeoutError
from aleph_otio.api.runway.creates import RemoteTask
from aleph_otio.api.runway.polling import RunwayPolling
from aleph_otio.config import RUNWAY_UPSCALE_MODEL
from aleph_otio.errors import APIError, TaskNotFoundError


def _send_upscale(
    video_uri: str, resolution: str
) -> Callable[[runwayml.AsyncRunwayML], Awaitable[Any]]:
    size = cast(Literal["720p", "1k", "2k", "4k"], resolution)

    def send(sdk: runwayml.AsyncRunwayML) -> Awaitable[Any]:
        return sdk.video_upscale.create(
            model="magnific_video_upscaler_creative", video_uri=video_uri, resolution=size
        )

    return send


class RunwayUpscales(RunwayPolling):
    """``upscale`` and ``wait_upscale``: one upscale task per result, keyed like its result."""

    async def upscale(
        self, key: str, video: UploadedMedia, resolution: str, *, task_uuid: str
    ) -> str:
        """Create the upscale task under ``key`` (once, ever); returns its Runway task id."""
        index = key.rsplit("#", 1)[-1]
        return await self.create_once(
            self.upscale_tasks,
            key,
            task_uuid=task_uuid,
            what=f"upscale of task {task_uuid} result #{index}",
            seed=0,
            send=_send_upscale(video.media_url, resolution),
            looks_like=f"a {RUNWAY_UPSCALE_MODEL} task created then",
        )

    async def wait_upscale(
        self, key: str, *, task_uuid: str, deadline: float | None = None
    ) -> VideoResult:
        """Poll the upscale task made under ``key`` until it succeeds or fails."""
        known = self.upscale_tasks.get(key)
        if known is None or known[0] is None:
            raise APIError(f"upscale {key}: no Runway task was created for it")
        entry = RemoteTask(*known)
        limit = self.settings.deadline_seconds if deadline is None else deadline
        end = self._clock() + limit
        interval = min(self.settings.poll_interval, self.settings.poll_max_interval)
        while True:
            result = await self._poll_one(task_uuid, int(key.rsplit("#", 1)[-1]), entry)
            if result is None:
                raise TaskNotFoundError(
                    f"upscale {key}: Runway no longer knows task {entry.remote_id}",
                    code="taskNotFound",
                    task_uuid=task_uuid,
                )
            if result.status != "processing":
                return result
            remaining = end - self._clock()
            if remaining <= 0:
                raise WaitTimeoutError(
                    f"upscale task {entry.remote_id} unfinished after {limit:g} s; run the "
                    "same command again to keep waiting (it is not paid again)",
                    outcomes={},
                )
            await self._sleep(min(interval, remaining))
            interval = min(interval * 1.5, self.settings.poll_max_interval)
