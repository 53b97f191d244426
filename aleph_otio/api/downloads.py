"""Downloads: streaming a result file to disk, checked and renamed into place atomically.

Backend-neutral: a plain GET of the result URL, never with the API key.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from aleph_otio.api.retry import is_retryable_status, parse_retry_after
from aleph_otio.api.transport import HTTPSession, reraise_cancellation
from aleph_otio.errors import DownloadError

log = logging.getLogger("aleph_otio.api")

DOWNLOAD_CHUNK = 1 << 16


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


class Downloads(HTTPSession):
    """GET a result URL into ``dest.part``, verify its size, ``os.replace`` it to ``dest``."""

    #: GET requests for result files, retries included.
    download_request_count: int

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
                reraise_cancellation()
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
