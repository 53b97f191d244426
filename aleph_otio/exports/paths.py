"""Media paths in an export: absolute for NLEs, rebased for ``.otio``, ``file://`` URLs."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path, PurePath
from urllib.parse import unquote, urlparse

import opentimelineio as otio

from aleph_otio.timeline import media_path


def external_references(
    timeline: otio.schema.Timeline,
) -> Iterable[tuple[otio.schema.Clip, otio.schema.ExternalReference]]:
    """Every (clip, external reference) pair, inactive references of multi-reference clips too."""
    for clip in timeline.find_clips():
        for ref in clip.media_references().values():
            if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
                yield clip, ref


def sequence_references(
    timeline: otio.schema.Timeline,
) -> Iterable[otio.schema.ImageSequenceReference]:
    """Every image sequence reference (plates, delivered EXR/DPX returns) of every clip."""
    for clip in timeline.find_clips():
        for ref in clip.media_references().values():
            if isinstance(ref, otio.schema.ImageSequenceReference) and ref.target_url_base:
                yield ref


def _folder(path: str) -> str:
    """``path`` as a sequence's ``target_url_base``: a folder, ending in ``/``."""
    return path if path.endswith("/") else path + "/"


def is_local(url: str) -> bool:
    scheme = urlparse(url).scheme
    return scheme == "file" or len(scheme) <= 1  # "" or a Windows drive letter


def absolutise(timeline: otio.schema.Timeline, base: Path) -> None:
    """Local target URLs become absolute OS paths (relative ones resolved against ``base``)."""
    for _clip, ref in external_references(timeline):
        if is_local(ref.target_url):
            ref.target_url = media_path(ref.target_url, base)
    for seq in sequence_references(timeline):
        if is_local(seq.target_url_base):
            seq.target_url_base = _folder(
                PurePath(media_path(seq.target_url_base, base)).as_posix()
            )


def rebase_relative(timeline: otio.schema.Timeline, base: Path, out_folder: Path) -> None:
    """Relative paths stay relative, but to the output's folder, so the output still finds them."""
    if base == out_folder:
        return
    for _clip, ref in external_references(timeline):
        url = ref.target_url
        if urlparse(url).scheme or os.path.isabs(url):
            continue
        ref.target_url = PurePath(os.path.relpath(media_path(url, base), out_folder)).as_posix()
    for seq in sequence_references(timeline):
        url = seq.target_url_base
        if urlparse(url).scheme or os.path.isabs(url):
            continue
        rebased = os.path.relpath(media_path(url, base), out_folder)
        seq.target_url_base = _folder(PurePath(rebased).as_posix())


def file_url(path: str, *, localhost: bool = False) -> str:
    """``file://`` URL of an absolute path, percent-encoded; ``file://localhost/...`` if asked."""
    uri = PurePath(path).as_uri()
    return "file://localhost" + uri[len("file://") :] if localhost else uri


def to_file_urls(timeline: otio.schema.Timeline, *, localhost: bool) -> None:
    for _clip, ref in external_references(timeline):
        if is_local(ref.target_url) and os.path.isabs(ref.target_url):
            ref.target_url = file_url(ref.target_url, localhost=localhost)


def local_file(url: str) -> str | None:
    if not is_local(url):
        return None
    parsed = urlparse(url)
    return unquote(parsed.path) if parsed.scheme == "file" else url
