"""Configuration, fault switches and the records the emulator keeps (jobs, results, deliveries)."""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aleph_otio.config import DEFAULT_PRICE_PER_SECOND
from aleph_otio.emulator.media import VideoFacts
from aleph_otio.emulator.validate import VideoRequest


@dataclass
class Faults:
    """Faults to inject; counters count down as they fire. Mutable at runtime (``emu.faults``).

    Every counter applies to the task endpoint (``POST /v1``) unless noted.
    """

    #: Answer the next requests with these HTTP statuses (popped one per request).
    status_burst: list[int] = field(default_factory=list)
    #: ``Retry-After`` header (seconds) on the ``status_burst`` answers; None: no header.
    retry_after: float | None = None
    #: Close the socket without answering the next N requests (nothing is processed).
    drop_connections: int = 0
    #: Accept and start the next N videoInference tasks, then close the socket unanswered.
    drop_after_accept: int = 0
    #: Serve only the first half of the next N result downloads (full Content-Length announced).
    truncate_downloads: int = 0
    #: The next N accepted videoInference tasks end with every generation failed (``fail_code``).
    fail_tasks: int = 0
    fail_code: str = "timeoutProvider"
    #: The next N accepted videoInference tasks with numberResults >= 2: the first generation
    #: succeeds (and is billed), the others fail with ``fail_code``.
    partial_tasks: int = 0
    #: The next N accepted videoInference tasks are refused by the content check after processing.
    safety_rejects: int = 0
    #: Seconds to wait before every HTTP answer (task endpoint and media downloads).
    slow_response: float = 0.0
    #: Deliver the next N webhooks twice (receivers must be idempotent).
    duplicate_webhooks: int = 0
    #: Answer the next N mediaStorage uploads with ``mediaUUID: "1"``; the real item comes from
    #: getResponse (the upload's taskUUID) after ``async_upload_delay`` seconds.
    async_uploads: int = 0
    async_upload_delay: float = 0.5


@dataclass
class EmulatorConfig:
    """How the emulator listens, how fast it works and what it enforces."""

    host: str = "127.0.0.1"
    port: int = 0
    #: The only key accepted; None accepts any non-empty key.
    api_key: str | None = None
    #: Seconds from a job's start to its last result, rendering included (results spread evenly).
    latency: float = 1.0
    #: Jobs processed at the same time; further jobs wait (and report ``processing``).
    concurrency: int = 2
    #: Where uploads and results are written; None: a temporary folder removed on stop.
    storage_dir: Path | str | None = None
    #: USD per second of input video, per result (reported as ``cost`` with includeCost).
    price_per_second: float = DEFAULT_PRICE_PER_SECOND
    #: Largest accepted short side of ``inputs.video`` in pixels (1080p).
    max_height: int = 1080
    #: Largest accepted frame rate of ``inputs.video``; None: not checked.
    max_fps: float | None = None
    min_seconds: float = 2.0
    max_seconds: float = 30.0
    #: Budget mode: refuse tasks (402 insufficientCredits) once accepted cost would exceed it.
    budget: float | None = None
    #: Lifetime of result URLs for tasks without ``ttl``; None: until the emulator stops.
    default_ttl: float | None = None
    #: Webhook body: the bare result item instead of the ``{"data": [item]}`` envelope.
    webhook_bare: bool = False
    #: Extra attempts for a webhook or uploadEndpoint delivery answered non-2xx or unreachable.
    delivery_retries: int = 3
    delivery_backoff: float = 0.25
    #: HTTP status of a response holding only ``taskNotFound`` errors (protocol open question 6).
    not_found_status: int = 200
    #: How a failed generation is answered: "errors" (a top-level ``errors`` item with
    #: ``status: error``) or "data" (a ``data`` item ``{"status": "error", "error": {...}}``).
    failure_shape: Literal["errors", "data"] = "errors"
    #: Encode MOV results as ProRes 422 HQ instead of H.264.
    mov_prores: bool = False
    max_body_bytes: int = 1 << 30
    faults: Faults = field(default_factory=Faults)


@dataclass
class Generation:
    """One result of a job (``numberResults`` of them per job)."""

    index: int
    seed: int
    status: str = "processing"  # processing | success | error
    video_uuid: str | None = None
    path: Path | None = None
    url: str | None = None
    cost: float | None = None
    error_code: str | None = None
    error_message: str | None = None
    finished_at: float | None = None
    expires_at: float | None = None

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (now or time.time()) >= self.expires_at


@dataclass
class Job:
    """An accepted videoInference task and its generations."""

    task_uuid: str
    task: dict[str, object]
    request: VideoRequest
    input_path: Path
    facts: VideoFacts
    #: (output frame index, image file) for each frameImages entry.
    guides: list[tuple[int, Path]]
    generations: list[Generation]
    fail_code: str | None = None
    #: Generations from this index on fail with ``fail_code`` (0: all of them).
    fail_from: int = 0
    accepted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def state(self) -> str:
        """``queued``, ``processing`` or ``done``."""
        if self.finished_at is not None:
            return "done"
        return "processing" if self.started_at is not None else "queued"


@dataclass
class Delivery:
    """One webhook POST or uploadEndpoint PUT, with every attempt's outcome."""

    kind: str  # webhook | upload
    method: str
    url: str
    task_uuid: str
    video_uuid: str | None
    content_type: str
    #: What was sent: the JSON of a webhook; empty for an upload (the result file, not kept).
    body: bytes
    size: int
    #: HTTP status per attempt, or a short error text when the receiver was unreachable.
    attempts: list[int | str] = field(default_factory=list)
    ok: bool = False


@dataclass
class StoredMedia:
    """An uploaded file (mediaStorage / imageUpload)."""

    uuid: str
    path: Path
    ext: str
    url: str


class EmulatorState:
    """What one running emulator holds; the base of its parts, which add methods only.

    Set by :class:`aleph_otio.emulator.Emulator`'s constructor; every part reads and changes
    it under ``_lock`` (HTTP threads, workers and deliveries share it).
    """

    config: EmulatorConfig
    faults: Faults
    _lock: threading.Lock
    _idle: threading.Condition
    _active: int
    _stop: threading.Event
    _queue: queue.Queue[Job | None]
    _received: list[dict[str, Any]]
    _jobs: dict[str, Job]
    _used: set[str]
    _details: dict[str, dict[str, Any]]
    _media: dict[str, StoredMedia]
    _fetched: dict[str, Path]
    _results: dict[str, Generation]
    _pending_uploads: dict[str, tuple[float, dict[str, Any]]]
    _deliveries: list[Delivery]
    _committed: float
    spent: float
    _render_seconds: deque[float]
    storage: Path
    base_url: str
    root_url: str
