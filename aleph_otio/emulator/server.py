"""The emulator: a real HTTP server speaking the Runware task protocol for Aleph 2.0.

``POST /v1`` takes JSON arrays of tasks; ``GET /v1/media/<uuid>.<ext>`` serves uploads and
``GET /v1/media/results/<videoUUID>.<ext>`` serves results. Jobs run on a pool of worker threads;
webhooks and uploadEndpoint PUTs go out on their own threads. See docs/emulator.md.

This module holds the :class:`Emulator` itself: its state, its lifecycle and what tests look
at. Its parts: the HTTP front (``front``), the task types (``tasks``), the task engine
(``engine``), the media store (``store``), fault injection (``faults``) and the task checks
against the Aleph 2.0 reference (``validate``).
"""

from __future__ import annotations

import copy
import logging
import queue
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from aleph_otio.emulator.engine import TaskEngine
from aleph_otio.emulator.front import HTTPFront, _Handler, _Server
from aleph_otio.emulator.state import (
    Delivery,
    EmulatorConfig,
    Faults,
    Generation,
    Job,
    StoredMedia,
)

log = logging.getLogger("aleph_otio.emulator")


class Emulator(HTTPFront, TaskEngine):
    """A local Runware-compatible server for ``runway:aleph@2.0``; use as a context manager.

    ``base_url`` is the task endpoint; ``received``, ``jobs``, ``webhooks`` and ``uploads``
    record what happened, for tests; ``faults`` can be changed while it runs.

    Composed of mixins over one :class:`~aleph_otio.emulator.state.EmulatorState`, not of
    collaborators: HTTP threads, workers and deliveries share one lock and the same tables
    (jobs, media, results), which this constructor sets up in one place; each part adds
    methods only.
    """

    def __init__(
        self, config: EmulatorConfig | None = None, *, faults: Faults | None = None
    ) -> None:
        self.config = config or EmulatorConfig()
        # A copy: fault counters count down, and one config may serve several emulators.
        self.faults: Faults = faults if faults is not None else copy.deepcopy(self.config.faults)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._active = 0  # queued + running jobs + pending deliveries
        self._stop = threading.Event()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._received: list[dict[str, Any]] = []
        self._jobs: dict[str, Job] = {}
        self._used: set[str] = set()
        self._details: dict[str, dict[str, Any]] = {}
        self._media: dict[str, StoredMedia] = {}
        self._fetched: dict[str, Path] = {}
        self._results: dict[str, Generation] = {}
        #: taskUUID -> (time it is ready, final item) of uploads answered asynchronously.
        self._pending_uploads: dict[str, tuple[float, dict[str, Any]]] = {}
        self._deliveries: list[Delivery] = []
        self._committed = 0.0
        self.spent = 0.0
        #: Seconds the latest renders took: how early a render must start to be on time.
        self._render_seconds: deque[float] = deque(maxlen=8)
        self._workers: list[threading.Thread] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.storage = Path()
        self.base_url = ""
        self.root_url = ""

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Bind the socket, start the workers and serve in a background thread."""
        cfg = self.config
        if cfg.storage_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="aleph-emulator-")
            self.storage = Path(self._tmp.name)
        else:
            self.storage = Path(cfg.storage_dir)
        for sub in ("media", "results", "fetched"):
            (self.storage / sub).mkdir(parents=True, exist_ok=True)
        try:
            self._server = _Server((cfg.host, cfg.port), _Handler)
        except OSError:
            self.stop()  # removes the temporary storage made above
            raise
        self._server.emulator = self
        port = self._server.server_address[1]
        host = "127.0.0.1" if cfg.host in ("", "0.0.0.0", "::") else cfg.host
        host = f"[{host}]" if ":" in host else host
        self.root_url = f"http://{host}:{port}"
        self.base_url = f"{self.root_url}/v1"
        for i in range(max(1, cfg.concurrency)):
            worker = threading.Thread(target=self._work, name=f"emulator-worker-{i}", daemon=True)
            worker.start()
            self._workers.append(worker)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        log.info("emulator listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving, stop the workers and remove temporary storage."""
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout=10)
        self._workers.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what tests look at -----------------------------------------------------------------

    @property
    def received(self) -> list[dict[str, Any]]:
        """Every task object received, in order (API keys removed)."""
        with self._lock:
            return copy.deepcopy(self._received)

    @property
    def jobs(self) -> dict[str, Job]:
        """Jobs started, by lower-case taskUUID (one per accepted videoInference)."""
        with self._lock:
            return dict(self._jobs)

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    @property
    def webhooks(self) -> list[Delivery]:
        """Webhook POSTs made (one per finished result, duplicates included)."""
        return [d for d in self.deliveries if d.kind == "webhook"]

    @property
    def uploads(self) -> list[Delivery]:
        """uploadEndpoint PUTs made (one per successful result)."""
        return [d for d in self.deliveries if d.kind == "upload"]

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Block until no job is queued or running and every delivery is done.

        Raises TimeoutError when that does not happen within ``timeout`` seconds.
        """
        with self._idle:
            if not self._idle.wait_for(lambda: self._active == 0, timeout=timeout):
                raise TimeoutError(f"emulator still busy after {timeout:g} s ({self._active} open)")

    def expire_results(self, task_uuid: str | None = None) -> int:
        """Expire finished results now (of one task, or all): their URLs answer 404 afterwards.

        Returns how many results were expired.
        """
        now = time.time()
        count = 0
        with self._lock:
            jobs = [self._jobs[task_uuid.lower()]] if task_uuid else list(self._jobs.values())
            for job in jobs:
                for gen in job.generations:
                    if gen.status == "success" and not gen.expired(now):
                        gen.expires_at = now
                        count += 1
        return count
