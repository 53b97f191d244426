"""Uploads: making a local clip or still readable by the API (a hosted URL, else mediaStorage).

The same bytes are uploaded once: answers are cached by content sha256, in memory or in the
ledger's ``uploads`` table (the ``upload_cache`` the client is given).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import mimetypes
import uuid
from collections.abc import MutableMapping
from pathlib import Path

from aleph_otio.api.models import GetResponseTask, MediaStorageResult, MediaStorageUpload
from aleph_otio.api.outcomes import UploadedMedia
from aleph_otio.api.transport import RunwareTransport
from aleph_otio.errors import APIError, APITimeoutError, MediaError
from aleph_otio.files import sha256_file

log = logging.getLogger("aleph_otio.api")

#: How many getResponse polls to wait for an upload the server finishes asynchronously.
UPLOAD_POLLS = 60


def _data_uri(path: Path) -> str:
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


class Uploads(RunwareTransport):
    """``mediaStorage`` uploads, once per content hash."""

    upload_cache: MutableMapping[str, tuple[str, str]]
    _media_urls: dict[str, str]
    _upload_locks: dict[str, asyncio.Lock]

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
