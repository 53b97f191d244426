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
import time
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path

import httpx
from pydantic import SecretStr

from aleph_otio.api.downloads import Downloads
from aleph_otio.api.envelope import error_from_api
from aleph_otio.api.outcomes import (
    ResultFailure,
    SleepFn,
    TaskOutcome,
    UploadedMedia,
    WaitTimeoutError,
)
from aleph_otio.api.retry import RetryPolicy
from aleph_otio.api.tasks import POLL_BATCH_SIZE, Tasks
from aleph_otio.api.transport import DEFAULT_TIMEOUT
from aleph_otio.api.uploads import Uploads
from aleph_otio.config import APISettings, resolve_base_url

__all__ = [
    "AlephClient",
    "ResultFailure",
    "TaskOutcome",
    "UploadedMedia",
    "WaitTimeoutError",
    "error_from_api",
]


class AlephClient(Uploads, Tasks, Downloads):
    """Async client for Runway Aleph 2.0 over the Runware task API.

    The key comes from ``api_key``, else ``settings.api_key``, else ``RUNWARE_API_KEY``, else the
    config file; a missing key raises :class:`ConfigError` at the first request, not here.
    ``upload_cache`` maps content sha256 -> (mediaUUID, mediaURL); pass a persistent mapping to
    keep uploads across runs. ``media_urls`` maps local paths to URLs already hosted (no upload).
    ``sleep`` and ``clock`` are injectable so tests do not wait for real.

    Composed of one part per kind of request, all over one connection: the POST and its retries
    (:mod:`~aleph_otio.api.transport`), :mod:`~aleph_otio.api.uploads`,
    :mod:`~aleph_otio.api.tasks` and :mod:`~aleph_otio.api.downloads`. Mixins rather than
    collaborators, because the parts share one connection pool, key, retry policy, sleep and
    request counters, which this constructor sets in one place; the mixins add methods only.
    A second backend would reuse :class:`~aleph_otio.api.transport.HTTPSession`,
    :class:`~aleph_otio.api.downloads.Downloads` and :mod:`~aleph_otio.api.outcomes`, and bring
    its own transport, uploads and tasks (the Runware ones would then move, with ``models`` and
    ``envelope``, into ``aleph_otio/api/runware/``).
    """

    #: The backend's name, as the ledger records it per task.
    name = "runware"

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
        self.request_count = 0
        self.download_request_count = 0
        self.webhooks = None

    def __repr__(self) -> str:
        key = "set" if (self._key or self._explicit_key) else "from environment"
        return f"AlephClient(base_url={self.base_url!r}, api_key=<{key}, hidden>)"
