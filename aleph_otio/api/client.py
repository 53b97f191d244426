"""An async client for the Runware task API, as far as Runway Aleph 2.0 needs it.

One endpoint takes JSON arrays of tasks: ``mediaStorage`` uploads the input clip and stills,
``videoInference`` submits an edit (async: the answer is only an acknowledgement) and batched
``getResponse`` polls collect the results, which :meth:`AlephClient.download` then streams to disk.

Retries never change a taskUUID: a re-sent task that the server already holds is answered with
``conflictTaskUUID``, which on a retry means "accepted the first time", so nothing is paid twice.
The API key travels only in the ``Authorization`` header of API requests (never to result URLs),
and no message, log line, exception or ``repr`` contains it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib.util
import inspect
import json
import logging
import mimetypes
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from aleph_otio.api.envelope import (
    REQUEST_LEVEL,
    error_class,
    error_from_api,
    parse_errors,
    split_envelope,
)
from aleph_otio.api.models import (
    APIErrorObject,
    GetResponseTask,
    MediaStorageResult,
    MediaStorageUpload,
    VideoInferenceTask,
    VideoResult,
)
from aleph_otio.api.outcomes import (
    ResultFailure,
    SleepFn,
    TaskOutcome,
    UpdateFn,
    UploadedMedia,
    WaitTimeoutError,
)
from aleph_otio.api.retry import (
    RetryPolicy,
    is_retryable_status,
    parse_retry_after,
)
from aleph_otio.config import APISettings, resolve_api_key, resolve_base_url
from aleph_otio.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    DownloadError,
    MediaError,
    RateLimitedError,
    ServerError,
    TaskNotFoundError,
)
from aleph_otio.files import sha256_file

if TYPE_CHECKING:
    from aleph_otio.api.webhook import WebhookReceiver

__all__ = [
    "AlephClient",
    "ResultFailure",
    "TaskOutcome",
    "UploadedMedia",
    "WaitTimeoutError",
    "error_from_api",
]

log = logging.getLogger("aleph_otio.api")


def _record_missing_sniffio() -> None:
    """Make ``import sniffio`` fail at once when sniffio is not installed.

    httpcore 1.0 tries ``import sniffio`` (an optional package) each time it sets up a lock, i.e.
    several times per request; without it, every attempt searches sys.path again. Under a batch
    of cuts that costs the event loop about 1.5 ms per request (measured with py-spy, see
    docs/benchmarks.md). A ``None`` in sys.modules is how Python records a module as absent;
    where sniffio is installed nothing changes.
    """
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


_record_missing_sniffio()

DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=15.0)
POLL_BATCH_SIZE = 50
DOWNLOAD_CHUNK = 1 << 16
#: How many getResponse polls to wait for an upload the server finishes asynchronously.
UPLOAD_POLLS = 60


@dataclass
class _Reply:
    status_code: int
    data: list[dict[str, Any]]
    errors: list[APIErrorObject]
    attempts: int


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


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _reraise_cancellation() -> None:
    """Raise CancelledError when the current task is being cancelled (Ctrl-C).

    httpx (through anyio) can turn a cancellation that lands while a connection is being made
    into ``httpx.ConnectError`` (encode/httpx#2381). Retrying that, or reporting it as a network
    failure, would swallow the user's Ctrl-C and carry on spending; call this first in every
    handler of an httpx transport error.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class AlephClient:
    """Async client for Runway Aleph 2.0 over the Runware task API.

    The key comes from ``api_key``, else ``settings.api_key``, else ``RUNWARE_API_KEY``, else the
    config file; a missing key raises :class:`ConfigError` at the first request, not here.
    ``upload_cache`` maps content sha256 -> (mediaUUID, mediaURL); pass a persistent mapping to
    keep uploads across runs. ``media_urls`` maps local paths to URLs already hosted (no upload).
    ``sleep`` and ``clock`` are injectable so tests do not wait for real.
    """

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        settings: APISettings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = 5,
        upload_cache: MutableMapping[str, tuple[str, str]] | None = None,
        media_urls: Mapping[str | Path, str] | None = None,
        sleep: SleepFn = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        poll_batch_size: int = POLL_BATCH_SIZE,
    ) -> None:
        self.settings = settings or APISettings()
        if isinstance(api_key, str):
            api_key = SecretStr(api_key) if api_key else None
        self._explicit_key: SecretStr | None = api_key or self.settings.api_key
        self._key: SecretStr | None = None
        if base_url:
            self.base_url = base_url
        elif settings is not None:
            self.base_url = settings.base_url
        else:
            self.base_url = resolve_base_url()
        self._transport = transport
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.retry = retry or RetryPolicy(max_retries=max_retries)
        self.upload_cache: MutableMapping[str, tuple[str, str]] = (
            upload_cache if upload_cache is not None else {}
        )
        self._media_urls = {
            str(Path(p).expanduser().resolve()): u for p, u in (media_urls or {}).items()
        }
        self._sleep = sleep
        self._clock = clock
        self.poll_batch_size = max(1, poll_batch_size)
        self._http: httpx.AsyncClient | None = None
        self._upload_locks: dict[str, asyncio.Lock] = {}
        #: API POSTs sent, retries included (benchmarks report requests per task).
        self.request_count = 0
        #: GET requests for result files, retries included.
        self.download_request_count = 0
        #: A running :class:`~aleph_otio.api.webhook.WebhookReceiver`: :meth:`wait` then polls a
        #: task as soon as a webhook names it, not only at the next interval.
        self.webhooks: WebhookReceiver | None = None

    def __repr__(self) -> str:
        key = "set" if (self._key or self._explicit_key) else "from environment"
        return f"AlephClient(base_url={self.base_url!r}, api_key=<{key}, hidden>)"

    async def __aenter__(self) -> AlephClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # --- plumbing ---------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            # No auth header on the client itself: result URLs may live on another host.
            self._http = httpx.AsyncClient(
                transport=self._transport, timeout=self._timeout, follow_redirects=True
            )
        return self._http

    def _api_key(self) -> SecretStr:
        if self._key is None:
            key = self._explicit_key or resolve_api_key()
            self._key = APISettings(api_key=key).require_key()
        return self._key

    def _scrub(self, text: str) -> str:
        for key in (self._key, self._explicit_key):
            secret = key.get_secret_value() if key else ""
            if len(secret) >= 4:
                text = text.replace(secret, "***")
        return text

    @property
    def _host(self) -> str:
        return urlsplit(self.base_url).netloc or self.base_url

    async def _post(self, tasks: list[dict[str, Any]], *, what: str) -> _Reply:
        """POST one task array with retries; returns the first non-retryable answer."""
        headers = {
            "Authorization": f"Bearer {self._api_key().get_secret_value()}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        body = json.dumps(tasks).encode()
        attempt = 0
        while True:
            attempt += 1
            self.request_count += 1
            log.debug("POST %s: %s (attempt %d)", self.base_url, what, attempt)
            retry_after: float | None = None
            try:
                response = await self._client().post(self.base_url, content=body, headers=headers)
            except httpx.TimeoutException as exc:
                _reraise_cancellation()
                reason = type(exc).__name__
                failure: APIError = APITimeoutError(
                    f"{what}: no answer from {self._host} in time ({type(exc).__name__}); "
                    "check the network, then run the same command to resume"
                )
            except httpx.TransportError as exc:
                _reraise_cancellation()
                reason = type(exc).__name__
                # Raised without the httpx exception attached: it carries the request headers.
                failure = APIConnectionError(
                    f"{what}: lost the connection to {self._host} "
                    f"({type(exc).__name__}: {self._scrub(str(exc)) or 'no detail'}); "
                    "check the network or --base-url, then run the same command to resume"
                )
            else:
                try:
                    payload = response.json() if response.content else None
                except ValueError:
                    if response.status_code < 300:
                        raise APIError(
                            f"{what}: {self._host} answered HTTP {response.status_code} with a "
                            "body that is not JSON; is --base-url a Runware API endpoint?",
                            status_code=response.status_code,
                        ) from None
                    payload = None
                data, errors = split_envelope(payload)
                parsed = parse_errors(errors)
                log.debug(
                    "%s: HTTP %d, %d data item(s), %d error(s)",
                    what,
                    response.status_code,
                    len(data),
                    len(parsed),
                )
                if not is_retryable_status(response.status_code):
                    return _Reply(response.status_code, data, parsed, attempt)
                retry_after = parse_retry_after(response.headers)
                reason = f"HTTP {response.status_code}"
                if parsed and parsed[0].code:
                    reason += f" {parsed[0].code}"
                failure = error_from_api(
                    response.status_code,
                    parsed[0] if parsed else None,
                    context=what,
                    attempts=attempt,
                    scrub=self._scrub,
                )
            if attempt > self.retry.max_retries:
                if attempt > 1 and not isinstance(failure, RateLimitedError | ServerError):
                    failure = type(failure)(
                        f"{failure} (after {attempt} attempts)",
                        code=failure.code,
                        status_code=failure.status_code,
                    )
                raise failure from None
            delay = self.retry.delay(attempt, retry_after)
            log.warning(
                "%s: %s; retry %d/%d in %.2fs", what, reason, attempt, self.retry.max_retries, delay
            )
            await self._sleep(delay)

    def _raise_first(self, reply: _Reply, errors: Sequence[APIErrorObject], *, what: str) -> None:
        if errors:
            raise error_from_api(
                reply.status_code, errors[0], context=what, attempts=1, scrub=self._scrub
            )
        if reply.status_code >= 400:
            raise error_from_api(reply.status_code, None, context=what, scrub=self._scrub)

    # --- uploads ----------------------------------------------------------------------------

    async def upload_media(self, path: Path | str) -> UploadedMedia:
        """Make a local file readable by the API: a hosted URL if mapped, else mediaStorage.

        The same bytes are uploaded once: the answer is cached by content sha256.
        """
        path = Path(path).expanduser()
        hosted = self._media_urls.get(str(path.resolve()))
        if hosted is not None:
            digest = await asyncio.to_thread(sha256_file, path) if path.is_file() else ""
            return UploadedMedia(media_uuid=None, media_url=hosted, sha256=digest)
        if not path.is_file():
            raise MediaError(f"{path}: no such file to upload; was the shot prepared?")
        digest = await asyncio.to_thread(sha256_file, path)
        lock = self._upload_locks.setdefault(digest, asyncio.Lock())
        async with lock:
            cached = self.upload_cache.get(digest)
            if cached is not None:
                log.debug("upload %s: cached as %s", path.name, cached[0])
                return UploadedMedia(media_uuid=cached[0], media_url=cached[1], sha256=digest)
            media = await asyncio.to_thread(_data_uri, path)
            result = await self._upload(media, what=f"upload {path}")
            media_uuid = result.media_uuid or ""
            self.upload_cache[digest] = (media_uuid, result.media_url or "")
            return UploadedMedia(
                media_uuid=media_uuid, media_url=result.media_url or "", sha256=digest
            )

    async def _upload(self, media: str, *, what: str) -> MediaStorageResult:
        # A lost answer to a retried upload comes back as conflictTaskUUID without the mediaUUID;
        # uploads are free, so a second upload under a fresh taskUUID is the simple way out.
        for round_ in range(2):
            task_uuid = str(uuid.uuid4())
            task = MediaStorageUpload.model_validate(
                {"taskUUID": task_uuid, "media": media}
            ).to_api()
            reply = await self._post([task], what=what)
            conflict = [e for e in reply.errors if e.code == "conflictTaskUUID"]
            if conflict and reply.attempts > 1 and round_ == 0:
                continue
            self._raise_first(reply, reply.errors, what=what)
            items = [i for i in reply.data if i.get("taskUUID") in (task_uuid, None)]
            if not items:
                raise APIError(f"{what}: the API answered without a mediaUUID", task_uuid=task_uuid)
            result = MediaStorageResult.model_validate({"taskUUID": task_uuid, **items[0]})
            if not result.media_uuid or result.media_uuid == "1":
                # Official ComfyUI nodes meet large uploads that finish asynchronously.
                result = await self._await_upload(task_uuid, what=what)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def _await_upload(self, task_uuid: str, *, what: str) -> MediaStorageResult:
        interval = self.settings.poll_interval
        for _ in range(UPLOAD_POLLS):
            await self._sleep(interval)
            reply = await self._post(
                [GetResponseTask.model_validate({"taskUUID": task_uuid}).to_api()], what=what
            )
            self._raise_first(reply, reply.errors, what=what)
            for item in reply.data:
                if item.get("mediaUUID") and item.get("mediaUUID") != "1":
                    return MediaStorageResult.model_validate({"taskUUID": task_uuid, **item})
            interval = min(interval * 1.5, self.settings.poll_max_interval)
        raise APITimeoutError(f"{what}: the upload never reported a mediaUUID", task_uuid=task_uuid)

    def forget_upload(self, media: UploadedMedia | str) -> None:
        """Drop a cached upload (by UploadedMedia or sha256), e.g. after ``mediaNotFound``."""
        digest = media.sha256 if isinstance(media, UploadedMedia) else media
        self.upload_cache.pop(digest, None)

    # --- tasks ------------------------------------------------------------------------------

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
        wanted = list(dict.fromkeys(task_uuids))
        what = f"getResponse for {len(wanted)} task(s)"
        tasks = [GetResponseTask.model_validate({"taskUUID": u}).to_api() for u in wanted]
        reply = await self._post(tasks, what=what)
        results: dict[str, list[VideoResult]] = {u: [] for u in wanted}
        not_found: dict[str, APIErrorObject] = {}
        for item in reply.data:
            task_uuid = item.get("taskUUID") or (wanted[0] if len(wanted) == 1 else None)
            if task_uuid not in results:
                continue
            results[task_uuid].append(VideoResult.model_validate({**item, "taskUUID": task_uuid}))
        for error in reply.errors:
            task_uuid = error.task_uuid or (wanted[0] if len(wanted) == 1 else None)
            kind = error_class(reply.status_code, error)
            if task_uuid in results and kind is TaskNotFoundError:
                not_found[task_uuid] = error
            elif task_uuid in results and kind not in REQUEST_LEVEL:
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
        return _Batch({u: _dedupe(r) for u, r in results.items()}, not_found)

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
                raise WaitTimeoutError(
                    f"{len(pending)} of {len(outcomes)} task(s) unfinished after {limit:g} s "
                    f"(first: {pending[0]}); run the same command again to keep waiting",
                    outcomes=outcomes,
                )
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

    # --- downloads --------------------------------------------------------------------------

    async def download(self, url: str, dest: Path, *, expected_size: int | None = None) -> Path:
        """Stream a result to ``dest`` via ``dest.part``, verify its size, then rename atomically.

        Retries dropped connections, truncated bodies and 5xx. 404/410 means the URL expired.
        """
        dest = Path(dest)
        part = dest.with_suffix(dest.suffix + ".part")
        name = urlsplit(url).path.rsplit("/", 1)[-1] or url
        attempt = 0
        while True:
            attempt += 1
            self.download_request_count += 1
            retry_after: float | None = None
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                problem = await self._download_once(url, part, expected_size, name)
                if problem is None:
                    os.replace(part, dest)
                    log.debug("downloaded %s -> %s", name, dest)
                    return dest
            except httpx.TransportError as exc:
                _reraise_cancellation()
                problem = f"connection lost ({type(exc).__name__})"
            except OSError as exc:
                _discard(part)
                raise DownloadError(
                    f"cannot write {dest}: {exc.strerror or exc}; check the output folder"
                ) from None
            except BaseException:
                _discard(part)
                raise
            _discard(part)
            if isinstance(problem, tuple):
                problem, retry_after = problem
            if attempt > self.retry.max_retries:
                raise DownloadError(
                    f"download of {name} to {dest} failed after {attempt} attempts: {problem}; "
                    "run the same command again to retry"
                )
            delay = self.retry.delay(attempt, retry_after)
            log.warning("download %s: %s; retry in %.2fs", name, problem, delay)
            await self._sleep(delay)

    async def _download_once(
        self, url: str, part: Path, expected_size: int | None, name: str
    ) -> str | tuple[str, float | None] | None:
        """None on success, else a retryable problem; DownloadError when retrying is futile."""
        headers = {"Accept-Encoding": "identity"}
        async with self._client().stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status in (404, 410):
                raise DownloadError(
                    f"result {name} is gone (HTTP {status}): its URL expired (ttl); re-poll the "
                    "task for a fresh URL, or resubmit the shot",
                    status_code=status,
                )
            if is_retryable_status(status):
                return f"HTTP {status}", parse_retry_after(response.headers)
            if status >= 400:
                raise DownloadError(
                    f"result {name}: HTTP {status} from its URL", status_code=status
                )
            length_header = response.headers.get("content-length")
            length = int(length_header) if length_header and length_header.isdigit() else None
            if expected_size is not None and length is not None and length != expected_size:
                raise DownloadError(
                    f"result {name}: server offers {length} bytes, expected {expected_size}; "
                    "re-poll the task or resubmit the shot"
                )
            written = 0
            with part.open("wb") as fh:
                async for chunk in response.aiter_bytes(DOWNLOAD_CHUNK):
                    fh.write(chunk)
                    written += len(chunk)
            # Content-Length counts bytes on the wire (before any content decoding).
            received = response.num_bytes_downloaded or written
        if length is not None and received != length:
            return f"truncated: got {received} of {length} bytes"
        if expected_size is not None and written != expected_size:
            return f"truncated: got {written} of {expected_size} bytes"
        return None
