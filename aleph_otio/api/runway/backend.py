"""The Runway backend: Runway's own API through the official ``runwayml`` async client.

It answers the same calls as :class:`~aleph_otio.api.AlephClient` (``upload_media``,
``submit``, ``wait``, ``download``, ``forget_upload``), so the pipeline drives either backend
unchanged, plus ``upscale`` and ``wait_upscale`` (Runway's upscaler, ``--upscale``). Its parts,
one module each:

- :mod:`~aleph_otio.api.runway.client`: settings, the SDK client, Runway's errors mapped;
- :mod:`~aleph_otio.api.runway.creates`: ``submit`` and the create that is never sent twice
  (a durable marker before it, ``max_retries=0``, a lost answer "submission uncertain");
  ``numberResults`` N is N tasks, result i with seed ``seed + i``; every seed is recorded;
- :mod:`~aleph_otio.api.runway.polling`: ``wait`` and ``get_responses`` (``tasks.retrieve``);
- :mod:`~aleph_otio.api.runway.upscale`: the upscale of a result, created the same way;
- here: uploads (``uploads.create_ephemeral``, at most 200 MB, kept 24 h) and the class.

Pass persistent mappings (the ledger's) as ``remote_tasks`` and ``upscale_tasks`` so a crash
between a create and its answer is found uncertain, never sent twice. Polls, uploads and
downloads retry freely.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import runwayml

from aleph_otio.api.outcomes import UploadedMedia
from aleph_otio.api.runway.client import map_status_error
from aleph_otio.api.runway.creates import RemoteTask, remote_key
from aleph_otio.api.runway.upscale import RunwayUpscales
from aleph_otio.errors import APIError, MediaError

__all__ = ["RemoteTask", "RunwayBackend", "remote_key"]


class RunwayBackend(RunwayUpscales):
    """Runway's API for aleph2: same calls as AlephClient; see the module docstring."""

    name = "runway"

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
            raise map_status_error(exc, f"upload {path.name}") from None
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
