"""Media paths in an export: absolute for NLEs, rebased for ``.otio``, ``file://`` URLs."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
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


def _media_urls(timeline: otio.schema.Timeline) -> Iterable[tuple[str, Callable[[str], None]]]:
    """Each media path of the timeline with what sets it again: every external reference's file,
    and every image sequence's folder (plates, delivered EXR/DPX returns; kept ending in ``/``)."""
    for _clip, ref in external_references(timeline):
        yield ref.target_url, functools.partial(setattr, ref, "target_url")
    for clip in timeline.find_clips():
        for seq in clip.media_references().values():
            if isinstance(seq, otio.schema.ImageSequenceReference) and seq.target_url_base:
                yield seq.target_url_base, functools.partial(_set_folder, seq)


def _set_folder(seq: otio.schema.ImageSequenceReference, path: str) -> None:
    folder = PurePath(path).as_posix()
    seq.target_url_base = folder if folder.endswith("/") else folder + "/"


def is_local(url: str) -> bool:
    scheme = urlparse(url).scheme
    return scheme == "file" or len(scheme) <= 1  # "" or a Windows drive letter


def absolutise(timeline: otio.schema.Timeline, base: Path) -> None:
    """Local target URLs become absolute OS paths (relative ones resolved against ``base``)."""
    for url, put in _media_urls(timeline):
        if is_local(url):
            put(media_path(url, base))


def rebase_relative(timeline: otio.schema.Timeline, base: Path, out_folder: Path) -> None:
    """Relative paths stay relative, but to the output's folder, so the output still finds them."""
    if base == out_folder:
        return
    for url, put in _media_urls(timeline):
        if urlparse(url).scheme or os.path.isabs(url):
            continue
        put(PurePath(os.path.relpath(media_path(url, base), out_folder)).as_posix())


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
