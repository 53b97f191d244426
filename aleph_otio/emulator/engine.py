"""The task engine: worker threads that render accepted jobs and publish their results.

Each result is published at its share of the job's latency, then delivered (webhook POST,
uploadEndpoint PUT) on a thread of its own, with retries.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aleph_otio.emulator import media
from aleph_otio.emulator.faults import FaultInjection, failure_message
from aleph_otio.emulator.state import Delivery, Generation, Job
from aleph_otio.emulator.validate import TaskError

log = logging.getLogger("aleph_otio.emulator")


def wire_item(
    job: Job, gen: Generation, echo_uuid: str, *, failure_shape: str = "errors"
) -> dict[str, Any] | TaskError:
    """One generation as sent: a data item, or an error object with ``status: error``.

    ``failure_shape`` "data" sends a failed generation as a data item with an ``error`` object
    (``{"status": "error", "error": {"code", "message"}}``, as runware-sdk reads it) instead of a
    top-level ``errors`` entry.
    """
    if gen.status == "error" and failure_shape == "data":
        return {
            "taskType": "videoInference",
            "taskUUID": echo_uuid,
            "status": "error",
            "error": {
                "code": gen.error_code or "processingFailed",
                "message": gen.error_message or "The generation failed.",
            },
        }
    if gen.status == "error":
        return TaskError(
            gen.error_code or "processingFailed",
            gen.error_message or "The generation failed.",
            status=200,
            task_type="videoInference",
            task_uuid=echo_uuid,
            extra={"status": "error"},
        )
    item: dict[str, Any] = {
        "taskType": "videoInference",
        "taskUUID": echo_uuid,
        "status": gen.status,
    }
    if gen.status == "success":
        item.update(videoUUID=gen.video_uuid, videoURL=gen.url, seed=gen.seed)
        if job.request.include_cost:
            item["cost"] = gen.cost
        if job.request.safety_mode != "none":
            item["NSFWContent"] = False
    return item


class TaskEngine(FaultInjection):
    """Workers rendering queued jobs, and the deliveries of their results."""

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                self._run(job)
            except Exception:  # a broken job must not take its worker down
                log.exception("job %s failed", job.task_uuid)
            finally:
                with self._idle:
                    self._active -= 1
                    self._idle.notify_all()

    def _run(self, job: Job) -> None:
        started = time.time()
        with self._lock:
            job.started_at = started
        count = len(job.generations)
        guides: dict[int, media.Image] | None = None
        for gen in job.generations:
            # ``latency`` is the task's whole time on the server, as with a real service: each
            # result is published at its share of the latency (results finish one after another,
            # so partial results show), or as soon as it is rendered if that is later. Rendering
            # starts only as early as it must (twice the longest recent render), so that a
            # client on the same machine is not slowed down by renders that could wait.
            due = started + self.config.latency * (gen.index + 1) / count
            with self._lock:
                lead = 2 * max(self._render_seconds, default=self.config.latency)
            wait = due - lead - time.time()
            if wait > 0 and self._stop.wait(wait):
                return
            if self._stop.is_set():
                return
            error: tuple[str, str] | None = None
            video_uuid = str(uuid.uuid4())
            ext = media.FORMATS[job.request.output_format][0]
            out = self.storage / "results" / f"{video_uuid}.{ext}"
            if job.fail_code and gen.index >= job.fail_from:
                error = (job.fail_code, failure_message(job.fail_code))
            else:
                began = time.time()
                try:
                    if guides is None:
                        size = (job.facts.width, job.facts.height)
                        guides = {pos: media.load_image(path, size) for pos, path in job.guides}
                    media.render(
                        job.input_path,
                        out,
                        facts=job.facts,
                        output_format=job.request.output_format,
                        quality=job.request.output_quality,
                        seed=gen.seed,
                        guides=guides,
                        mov_prores=self.config.mov_prores,
                    )
                except Exception as exc:  # any failure must end the generation, never hang it
                    log.exception("task %s result %d failed", job.task_uuid, gen.index)
                    error = ("processingFailed", f"Processing failed: {exc}")
                else:
                    with self._lock:
                        self._render_seconds.append(time.time() - began)
            wait = due - time.time()
            if wait > 0 and self._stop.wait(wait):
                return
            if self._stop.is_set():
                return
            if error is not None:
                self._finish(job, gen, error=error)
            else:
                self._finish(job, gen, video_uuid=video_uuid, path=out)
        with self._lock:
            job.finished_at = time.time()

    def _finish(
        self,
        job: Job,
        gen: Generation,
        *,
        video_uuid: str | None = None,
        path: Path | None = None,
        error: tuple[str, str] | None = None,
    ) -> None:
        now = time.time()
        ttl = job.request.ttl if job.request.ttl is not None else self.config.default_ttl
        with self._lock:
            gen.finished_at = now
            if error is not None:
                gen.status, (gen.error_code, gen.error_message) = "error", error
            else:
                assert video_uuid is not None and path is not None
                gen.status, gen.video_uuid, gen.path = "success", video_uuid, path
                gen.url = f"{self.base_url}/media/results/{path.name}"
                gen.cost = round(self.config.price_per_second * job.facts.duration, 6)
                gen.expires_at = now + ttl if ttl is not None else None
                self._results[video_uuid] = gen
                self.spent += gen.cost
            wire = wire_item(job, gen, job.task_uuid, failure_shape=self.config.failure_shape)
            needs_delivery = bool(
                job.request.webhook_url or (job.request.upload_endpoint and error is None)
            )
            if needs_delivery:
                self._active += 1
        log.info("task %s result %d: %s", job.task_uuid, gen.index, gen.status)
        if needs_delivery:
            item = wire.to_dict() if isinstance(wire, TaskError) else wire
            threading.Thread(target=self._deliver, args=(job, gen, item), daemon=True).start()

    # --- deliveries -------------------------------------------------------------------------

    def _deliver(self, job: Job, gen: Generation, item: dict[str, Any]) -> None:
        try:
            req = job.request
            if req.upload_endpoint and gen.status == "success" and gen.path is not None:
                data = gen.path.read_bytes()
                delivery = Delivery(
                    "upload",
                    "PUT",
                    req.upload_endpoint,
                    job.task_uuid,
                    gen.video_uuid,
                    media.FORMATS[req.output_format][3],
                    b"",
                    len(data),
                )
                self._attempt(delivery, data)
            if req.webhook_url:
                if self.config.webhook_bare:
                    body = item
                else:
                    body = {"data" if gen.status == "success" else "errors": [item]}
                payload = json.dumps(body).encode()
                times = 2 if self._take("duplicate_webhooks") else 1
                for _ in range(times):
                    delivery = Delivery(
                        "webhook",
                        "POST",
                        req.webhook_url,
                        job.task_uuid,
                        gen.video_uuid,
                        "application/json",
                        payload,
                        len(payload),
                    )
                    self._attempt(delivery, payload)
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def _attempt(self, delivery: Delivery, payload: bytes) -> None:
        with self._lock:
            self._deliveries.append(delivery)
        for attempt in range(1 + max(0, self.config.delivery_retries)):
            request = urllib.request.Request(
                delivery.url,
                data=payload,
                method=delivery.method,
                headers={
                    "Content-Type": delivery.content_type,
                    "User-Agent": "aleph-otio-emulator",
                },
            )
            outcome: int | str
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    outcome = response.status
            except urllib.error.HTTPError as exc:
                outcome = exc.code
            except (urllib.error.URLError, OSError) as exc:
                outcome = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            with self._lock:
                delivery.attempts.append(outcome)
                delivery.ok = isinstance(outcome, int) and 200 <= outcome < 300
            if delivery.ok:
                return
            log.info("%s to %s failed (%s)", delivery.kind, urlsplit(delivery.url).netloc, outcome)
            if self._stop.wait(self.config.delivery_backoff * 2**attempt):
                return
