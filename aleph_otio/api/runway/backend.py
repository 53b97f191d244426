"""The Runway backend: Runway's own API through the official ``runwayml`` async client.

It answers the same calls as :class:`~aleph_otio.api.AlephClient` (``upload_media``,
``submit``, ``wait``, ``download``, ``forget_upload``), so the pipeline drives either backend
unchanged. Differences that matter for money:

- Runway's create call has no idempotency key, and the SDK retries POSTs by default; here the
  create is sent with ``max_retries=0``. Only a 429 (refused before anything was made) is tried
  again. A create whose answer is lost (connection dropped, timeout, 5xx) is *uncertain*: the
  task may exist and be billed. It is recorded with the time it was sent and raised as
  :class:`SubmissionUncertainError`; it is sent again only when ``resubmit_uncertain`` is set.
- Before each create, a marker (``sent_at``, seed) is written to ``remote_tasks``; the task id
  replaces it the moment it is known. Pass a persistent mapping (the ledger's) so a crash
  between the two is found uncertain, never sent twice.
- ``numberResults`` N is N tasks, result i with seed ``seed + i``; every seed is recorded.

Polls (``tasks.retrieve``), uploads (``uploads.create_ephemeral``) and downloads retry freely.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import httpx
import runwayml
from pydantic import SecretStr

from aleph_otio.api.downloads import Downloads
from aleph_otio.api.models import VideoInferenceTask, VideoResult
from aleph_otio.api.outcomes import (
    ResultFailure,
    SleepFn,
    TaskOutcome,
    UpdateFn,
    UploadedMedia,
    WaitTimeoutError,
)
from aleph_otio.api.retry import RetryPolicy
from aleph_otio.api.runway.translate import MAX_SEED, RunwayOptions, create_arguments
from aleph_otio.api.transport import DEFAULT_TIMEOUT
from aleph_otio.config import (
    RUNWAY_CREDIT_USD,
    APISettings,
    resolve_runway_base_url,
    resolve_runway_key,
)
from aleph_otio.errors import (
    APIError,
    AuthenticationError,
    ConfigError,
    InsufficientCreditsError,
    InvalidParameterError,
    MediaError,
    RateLimitedError,
    ServerError,
    SubmissionUncertainError,
    TaskNotFoundError,
)

log = logging.getLogger("aleph_otio.api.runway")

_RUNNING = ("PENDING", "THROTTLED", "RUNNING")


class RemoteTask(NamedTuple):
    """One Runway task made (or perhaps made) for one result of a planned task.

    A tuple, so the ledger stores it as ``(remote_id, seed, sent_at)`` without knowing the API.
    """

    remote_id: str | None  # None: sent, answer never seen
    seed: int
    sent_at: str


def remote_key(task_uuid: str, index: int) -> str:
    return f"{task_uuid}#{index}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _map_status_error(exc: runwayml.APIStatusError, what: str) -> APIError:
    body = exc.body if isinstance(exc.body, dict) else {}
    message = str(body.get("error") or exc.message)
    issues = body.get("issues") if isinstance(body.get("issues"), list) else []
    parameter = None
    if issues and isinstance(issues[0], dict) and isinstance(issues[0].get("path"), list):
        parameter = ".".join(str(p) for p in issues[0]["path"])
    status = exc.status_code
    text = f"{what}: Runway answered HTTP {status}: {message}"
    if status in (401, 403):
        return AuthenticationError(
            f"{text}; check RUNWAYML_API_SECRET (or runway_api_key in the config file)",
            code="unauthorized",
            status_code=status,
        )
    if status == 402 or "credit" in message.lower():
        return InsufficientCreditsError(
            f"{text}; add credits to the Runway organisation", code="credits", status_code=status
        )
    if status == 429:
        return RateLimitedError(f"{text}; try again later", code="rateLimit", status_code=status)
    if status >= 500:
        return ServerError(text, code="serverError", status_code=status)
    if status == 400 and "expired" in message.lower():
        # An ephemeral upload lives 24 h: the pipeline uploads again on this code.
        return APIError(text, code="mediaNotFound", status_code=status, parameter=parameter)
    return InvalidParameterError(text, code="invalid", status_code=status, parameter=parameter)


class RunwayBackend(Downloads):
    """Runway's API for aleph2: same calls as AlephClient; see the module docstring."""

    name = "runway"

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        settings: APISettings | None = None,
        options: RunwayOptions | None = None,
        upload_cache: MutableMapping[str, tuple[str, str]] | None = None,
        remote_tasks: MutableMapping[str, tuple[str | None, int, str]] | None = None,
        resubmit_uncertain: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = 5,
        sleep: SleepFn = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    ) -> None:
        self.settings = settings or APISettings()
        self.options = options or RunwayOptions()
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        self._key = key or None
        self.base_url = base_url or resolve_runway_base_url()
        self.upload_cache: MutableMapping[str, tuple[str, str]] = (
            upload_cache if upload_cache is not None else {}
        )
        self.remote_tasks: MutableMapping[str, tuple[str | None, int, str]] = (
            remote_tasks if remote_tasks is not None else {}
        )
        self.resubmit_uncertain = resubmit_uncertain
        self._transport = transport
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.retry = RetryPolicy(max_retries=max_retries)
        self._max_retries = max_retries
        self._sleep = sleep
        self._clock = clock
        self._http: httpx.AsyncClient | None = None
        self._sdk: runwayml.AsyncRunwayML | None = None
        self.request_count = 0
        self.download_request_count = 0
        self.webhooks = None

    def __repr__(self) -> str:
        return f"RunwayBackend(base_url={self.base_url!r}, api_key=<hidden>)"

    async def aclose(self) -> None:
        if self._sdk is not None:
            await self._sdk.close()
            self._sdk = None
        await super().aclose()

    def _client_sdk(self) -> runwayml.AsyncRunwayML:
        if self._sdk is None:
            key = self._key or resolve_runway_key()
            if not key:
                raise ConfigError(
                    "no Runway API key: set RUNWAYML_API_SECRET, or put runway_api_key = "
                    '"..." in the config file (mode 0600); or use --emulator to rehearse offline'
                )
            self._sdk = runwayml.AsyncRunwayML(
                api_key=key if isinstance(key, str) else key.get_secret_value(),
                base_url=self.base_url,
                max_retries=self._max_retries,
                timeout=self._timeout,
                http_client=httpx.AsyncClient(transport=self._transport, timeout=self._timeout),
            )
        return self._sdk

    # --- uploads ----------------------------------------------------------------------------

    async def upload_media(self, path: str | Path) -> UploadedMedia:
        """Upload a local file with ``uploads.create_ephemeral`` (at most 200 MB, kept 24 h).

        The pipeline holds a UUID as the reference (what the plan's task model takes); the
        Runway URI it stands for is kept with it in ``upload_cache``.
        """
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise MediaError(f"{path}: cannot read the file to upload ({exc.strerror})") from None
        if len(data) > 200 * 1024 * 1024:
            raise MediaError(f"{path}: {len(data) >> 20} MB; Runway's uploads take at most 200 MB")
        digest = hashlib.sha256(data).hexdigest()
        cached = self.upload_cache.get(digest)
        if cached is not None:
            return UploadedMedia(cached[0], cached[1], digest)
        self.request_count += 2  # the upload request and the form POST
        try:
            uploaded = await self._client_sdk().uploads.create_ephemeral(file=(path.name, data))
        except runwayml.APIStatusError as exc:
            raise _map_status_error(exc, f"upload {path.name}") from None
        except runwayml.APIConnectionError as exc:
            raise APIError(f"upload {path.name}: could not reach Runway ({exc})") from None
        ref = str(uuid.uuid4())
        self.upload_cache[digest] = (ref, uploaded.uri)
        return UploadedMedia(ref, uploaded.uri, digest)

    def forget_upload(self, sha256_or_media: str | UploadedMedia) -> None:
        digest = (
            sha256_or_media.sha256
            if isinstance(sha256_or_media, UploadedMedia)
            else sha256_or_media
        )
        self.upload_cache.pop(digest, None)

    # --- submit -----------------------------------------------------------------------------

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
            entry = self.remote(task.task_uuid, index)
            if entry is not None and entry.remote_id is not None:
                continue
            if entry is not None and not self.resubmit_uncertain:
                raise self._uncertain(task.task_uuid, index, entry, "an earlier run")
            if entry is not None:
                seed = entry.seed
            elif base_seed is not None:
                seed = (base_seed + index) % (MAX_SEED + 1)
            else:
                seed = random.randrange(0, MAX_SEED + 1)
            args = create_arguments(task, uris=uris, options=self.options, seed=seed)
            await self._create(task.task_uuid, index, seed, args)

    async def _create(self, task_uuid: str, index: int, seed: int, args: dict[str, object]) -> None:
        key = remote_key(task_uuid, index)
        what = f"create task {task_uuid} result {index + 1}"
        sdk = self._client_sdk().with_options(max_retries=0)
        attempt = 0
        while True:
            attempt += 1
            entry = RemoteTask(None, seed, _now())
            self.remote_tasks[key] = entry  # committed before anything is sent
            self.request_count += 1
            try:
                created = await sdk.video_to_video.create(**args)  # type: ignore[call-overload]
            except runwayml.APIConnectionError as exc:
                raise self._uncertain(task_uuid, index, entry, type(exc).__name__) from None
            except runwayml.APIStatusError as exc:
                if exc.status_code >= 500:
                    raise self._uncertain(
                        task_uuid, index, entry, f"HTTP {exc.status_code}"
                    ) from None
                # A definite refusal: nothing was made, so nothing is uncertain.
                del self.remote_tasks[key]
                if exc.status_code == 429 and attempt <= self.retry.max_retries:
                    await self._sleep(self.retry.delay(attempt, None))
                    continue
                raise _map_status_error(exc, what) from None
            self.remote_tasks[key] = RemoteTask(created.id, seed, entry.sent_at)
            log.info("%s: Runway task %s (seed %d)", what, created.id, seed)
            return

    @staticmethod
    def _uncertain(
        task_uuid: str, index: int, entry: RemoteTask, reason: str
    ) -> SubmissionUncertainError:
        return SubmissionUncertainError(
            f"task {task_uuid} result {index + 1}: the create request sent at {entry.sent_at} "
            f"got no answer ({reason}), so Runway may have made (and billed) it; look in the "
            "Runway developer portal's task list for an aleph2 task created then (seed "
            f"{entry.seed}); if there is none, run again with --resubmit-uncertain",
            code="submissionUncertain",
            task_uuid=task_uuid,
        )

    # --- poll -------------------------------------------------------------------------------

    async def _poll_one(self, task_uuid: str, index: int, entry: RemoteTask) -> VideoResult | None:
        assert entry.remote_id is not None
        self.request_count += 1
        try:
            state = await self._client_sdk().tasks.retrieve(entry.remote_id)
        except runwayml.NotFoundError:
            return None
        except runwayml.APIStatusError as exc:
            raise _map_status_error(exc, f"task {entry.remote_id}") from None
        except runwayml.APIConnectionError as exc:
            raise APIError(f"task {entry.remote_id}: could not reach Runway ({exc})") from None
        item: dict[str, object] = {"taskUUID": task_uuid, "videoUUID": entry.remote_id}
        if state.status in _RUNNING:
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
                raise WaitTimeoutError(
                    f"{len(pending)} of {len(outcomes)} task(s) unfinished after {limit:g} s "
                    f"(first: {pending[0]}); run the same command again to keep waiting",
                    outcomes=outcomes,
                )
            await self._sleep(min(interval, remaining))
            interval = min(interval * 1.5, self.settings.poll_max_interval)
        return outcomes
