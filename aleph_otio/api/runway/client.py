"""What every part of the Runway backend shares: its settings, the SDK's async client (one, made
on first use, with the key from the settings or the environment), and Runway's errors in the
package's terms."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime

import httpx
import runwayml
from pydantic import SecretStr

from aleph_otio.api.downloads import Downloads
from aleph_otio.api.outcomes import SleepFn
from aleph_otio.api.retry import RetryPolicy
from aleph_otio.api.runway.translate import RunwayOptions
from aleph_otio.api.transport import DEFAULT_TIMEOUT
from aleph_otio.config import APISettings, resolve_runway_base_url, resolve_runway_key
from aleph_otio.errors import (
    APIError,
    AuthenticationError,
    ConfigError,
    InsufficientCreditsError,
    InvalidParameterError,
    RateLimitedError,
    ServerError,
)

#: ``(remote_id or None, seed, sent_at)`` per key: a marker without an id was never answered.
Markers = MutableMapping[str, tuple[str | None, int, str]]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def map_status_error(exc: runwayml.APIStatusError, what: str) -> APIError:
    """Runway's error answer as the package's error, saying what to do."""
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


class RunwayClient(Downloads):
    """Settings, markers, counters and the SDK client of one Runway backend."""

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        settings: APISettings | None = None,
        options: RunwayOptions | None = None,
        upload_cache: MutableMapping[str, tuple[str, str]] | None = None,
        remote_tasks: Markers | None = None,
        upscale_tasks: Markers | None = None,
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
        #: The aleph2 task per result; ``upscale_tasks``: the upscale task per result.
        self.remote_tasks: Markers = remote_tasks if remote_tasks is not None else {}
        self.upscale_tasks: Markers = upscale_tasks if upscale_tasks is not None else {}
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
