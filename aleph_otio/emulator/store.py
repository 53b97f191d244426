"""The media store: uploads kept under new mediaUUIDs, URLs fetched once, files served by URL.

Every media reference a task may hold (a stored mediaUUID, one of our URLs, another URL, inline
data) becomes a local file here; results published by the engine are served from here too.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from aleph_otio.emulator import media
from aleph_otio.emulator.state import EmulatorState, StoredMedia
from aleph_otio.emulator.validate import TaskError, conflict, is_http_url, is_uuid4


class MediaStore(EmulatorState):
    """Stored uploads, fetched URLs and the files served at ``/v1/media/...``."""

    def _store(
        self, value: str, parameter: str, task_uuid: str, images_only: bool = False
    ) -> StoredMedia:
        """Save an upload (URL, data URI or raw base64) under a new media UUID."""
        if is_http_url(value):
            data = self._resolve(value, parameter, want="any").read_bytes()
            mime = None
        else:
            try:
                data, mime = media.decode_inline(value)
            except media.MediaDecodeError as exc:
                raise TaskError(
                    "invalidMedia",
                    f"'{parameter}' could not be decoded: {exc}.",
                    parameter=parameter,
                ) from None
        try:
            ext = media.extension_for(data, mime)
        except media.MediaDecodeError as exc:
            raise TaskError("invalidMedia", f"'{parameter}': {exc}.", parameter=parameter) from None
        if images_only and ext in media.VIDEO_EXTS:
            raise TaskError(
                "invalidImage",
                f"'{parameter}' is a video; imageUpload takes images only.",
                parameter=parameter,
            )
        media_uuid = str(uuid.uuid4())
        path = self.storage / "media" / f"{media_uuid}.{ext}"
        path.write_bytes(data)
        stored = StoredMedia(
            uuid=media_uuid, path=path, ext=ext, url=f"{self.base_url}/media/{media_uuid}.{ext}"
        )
        with self._lock:
            if task_uuid.lower() in self._used:
                path.unlink(missing_ok=True)
                raise conflict(task_uuid)
            self._used.add(task_uuid.lower())
            self._media[media_uuid] = stored
        return stored

    def _resolve(self, ref: str, parameter: str, *, want: str, where: str | None = None) -> Path:
        """A local file for a media reference: stored UUID, URL (ours or fetched), inline data."""
        where = where or parameter
        if is_uuid4(ref):
            with self._lock:
                stored = self._media.get(ref.lower())
            if stored is None or not stored.path.exists():
                raise TaskError(
                    "mediaNotFound",
                    f"{where}: no stored media with UUID {ref}; upload it with mediaStorage first.",
                    parameter=parameter,
                )
            return stored.path
        if is_http_url(ref):
            local = self._local_path(ref, parameter, where)
            if local is not None:
                return local
            return self._fetch(ref, parameter, where)
        if want != "image":
            raise TaskError("invalidMedia", f"{where} must be a UUID or URL.", parameter=parameter)
        try:
            data, mime = media.decode_inline(ref)
            ext = media.extension_for(data, mime)
        except media.MediaDecodeError as exc:
            raise TaskError(
                "invalidImage",
                f"{where}: not a UUID, URL, data URI or base64 image ({exc}).",
                parameter=parameter,
            ) from None
        path = self.storage / "fetched" / f"{hashlib.sha256(data).hexdigest()[:24]}.{ext}"
        path.write_bytes(data)
        return path

    def _local_path(self, url: str, parameter: str, where: str) -> Path | None:
        """Our own media/result URL as a local file (None when the URL is not ours)."""
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.root_url:
            return None
        file, code = self._served_file(unquote(parts.path))
        if file is None:
            raise TaskError(
                code, f"{where}: {url} is not (or no longer) stored here.", parameter=parameter
            )
        return file

    def _served_file(self, path: str) -> tuple[Path | None, str]:
        """The file served at a URL path, or None and why (mediaNotFound / mediaExpired)."""
        if path.startswith("/v1/media/results/"):
            name = path.removeprefix("/v1/media/results/")
            with self._lock:
                gen = self._results.get(name.split(".")[0].lower())
            if gen is None or gen.path is None or gen.path.name != name:
                return None, "mediaNotFound"
            if gen.expired():
                gen.path.unlink(missing_ok=True)
                return None, "mediaExpired"
            return gen.path, ""
        if path.startswith("/v1/media/"):
            name = path.removeprefix("/v1/media/")
            with self._lock:
                stored = self._media.get(name.split(".")[0].lower())
            if stored is not None and stored.path.name == name and stored.path.exists():
                return stored.path, ""
        return None, "mediaNotFound"

    def _fetch(self, url: str, parameter: str, where: str) -> Path:
        with self._lock:
            cached = self._fetched.get(url)
        if cached is not None and cached.exists():
            return cached
        try:
            with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (http(s) only)
                data = response.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TaskError(
                "downloadFailed", f"{where}: could not fetch {url} ({exc}).", parameter=parameter
            ) from None
        try:
            ext = media.extension_for(data)
        except media.MediaDecodeError as exc:
            raise TaskError(
                "invalidMedia", f"{where}: {url}: {exc}.", parameter=parameter
            ) from None
        path = self.storage / "fetched" / f"{hashlib.sha256(url.encode()).hexdigest()[:24]}.{ext}"
        path.write_bytes(data)
        with self._lock:
            self._fetched[url] = path
        return path
