"""The connection to the API and the one request it takes, retried: a JSON task array POSTed.

:class:`HTTPSession` is what any backend needs (a pooled httpx client, the retry policy, an
injectable sleep); :class:`RunwareTransport` adds the Runware side: the bearer key, kept out of
every message, and :meth:`RunwareTransport._post`, which retries transient failures and returns
the first answer worth reading. The API key travels only in the ``Authorization`` header of API
requests (never to result URLs).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from aleph_otio.api.envelope import error_from_api, parse_errors, split_envelope
from aleph_otio.api.models import APIErrorObject
from aleph_otio.api.outcomes import SleepFn
from aleph_otio.api.retry import RetryPolicy, is_retryable_status, parse_retry_after
from aleph_otio.config import APISettings, resolve_api_key
from aleph_otio.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    RateLimitedError,
    ServerError,
)

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


@dataclass
class Reply:
    """One API answer worth reading: its status, data and error items, attempts it took."""

    status_code: int
    data: list[dict[str, Any]]
    errors: list[APIErrorObject]
    attempts: int


def reraise_cancellation() -> None:
    """Raise CancelledError when the current task is being cancelled (Ctrl-C).

    httpx (through anyio) can turn a cancellation that lands while a connection is being made
    into ``httpx.ConnectError`` (encode/httpx#2381). Retrying that, or reporting it as a network
    failure, would swallow the user's Ctrl-C and carry on spending; call this first in every
    handler of an httpx transport error.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class HTTPSession:
    """A pooled httpx client with a retry policy and an injectable sleep; any backend's base.

    The attributes are set by the client's constructor (:class:`aleph_otio.api.AlephClient`).
    """

    _transport: httpx.AsyncBaseTransport | None
    _timeout: httpx.Timeout
    _http: httpx.AsyncClient | None
    _sleep: SleepFn
    retry: RetryPolicy

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            # No auth header on the client itself: result URLs may live on another host.
            self._http = httpx.AsyncClient(
                transport=self._transport, timeout=self._timeout, follow_redirects=True
            )
        return self._http


class RunwareTransport(HTTPSession):
    """The Runware task endpoint: one URL, a bearer key, JSON arrays of tasks in and out."""

    settings: APISettings
    base_url: str
    _explicit_key: SecretStr | None
    _key: SecretStr | None
    #: API POSTs sent, retries included (benchmarks report requests per task).
    request_count: int

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

    async def _post(self, tasks: list[dict[str, Any]], *, what: str) -> Reply:
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
                reraise_cancellation()
                reason = type(exc).__name__
                failure: APIError = APITimeoutError(
                    f"{what}: no answer from {self._host} in time ({type(exc).__name__}); "
                    "check the network, then run the same command to resume"
                )
            except httpx.TransportError as exc:
                reraise_cancellation()
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
                    return Reply(response.status_code, data, parsed, attempt)
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

    def _raise_first(self, reply: Reply, errors: Sequence[APIErrorObject], *, what: str) -> None:
        if errors:
            raise error_from_api(
                reply.status_code, errors[0], context=what, attempts=1, scrub=self._scrub
            )
        if reply.status_code >= 400:
            raise error_from_api(reply.status_code, None, context=what, scrub=self._scrub)
