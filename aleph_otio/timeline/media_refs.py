"""Where a clip's media lives: reference URLs as local paths, stills and image sequences."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import opentimelineio as otio

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".dpx")


def media_path(url: str, folder: Path) -> str:
    """A reference's ``target_url`` as an absolute local path (URLs other than file:// kept)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        local = unquote(parsed.path)
        if parsed.netloc and parsed.netloc != "localhost":
            local = f"//{parsed.netloc}{local}"
        return str(Path(local))
    if parsed.scheme and len(parsed.scheme) > 1:  # http(s)://...; "C:" is a drive, not a scheme
        return url
    candidate = Path(url).expanduser()
    if not candidate.is_absolute():
        candidate = folder / candidate
    return os.path.normpath(candidate)


def clip_media_path(clip: otio.schema.Clip, folder: Path) -> str | None:
    """The clip's source file as an absolute path, or None when it has no file media."""
    ref = clip.media_reference
    if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
        return media_path(ref.target_url, folder)
    return None


def is_still(clip: otio.schema.Clip) -> bool:
    """True for a clip whose media is a still image (or an image sequence)."""
    ref = clip.media_reference
    if isinstance(ref, otio.schema.ImageSequenceReference):
        return True
    if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
        return (
            Path(urlparse(ref.target_url).path or ref.target_url).suffix.lower() in IMAGE_SUFFIXES
        )
    return False


def still_image_path(clip: otio.schema.Clip, folder: Path) -> str | None:
    """The image file a still clip shows (first frame of an image sequence)."""
    ref = clip.media_reference
    if isinstance(ref, otio.schema.ImageSequenceReference):
        return media_path(ref.target_url_for_image_number(0), folder)
    return clip_media_path(clip, folder)
