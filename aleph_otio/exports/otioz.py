"""``.otioz``: the timeline with every clip's media bundled into the zip."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import opentimelineio as otio

from aleph_otio.errors import TimelineWriteError
from aleph_otio.exports.paths import local_file
from aleph_otio.timeline import write_timeline

#: The bundle's media folder (OTIO's ``file_bundle_utils.BUNDLE_DIR_NAME``).
_MEDIA = "media"


def write_otioz(timeline: otio.schema.Timeline, path: Path) -> Path:
    from opentimelineio.adapters.file_bundle_utils import MediaReferencePolicy

    by_name: dict[str, str] = {}
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if not isinstance(ref, otio.schema.ExternalReference) or not ref.target_url:
            continue
        local = local_file(ref.target_url)
        if local is None:
            raise TimelineWriteError(
                f"{path}: clip {clip.name!r} links remote media {ref.target_url}; an .otioz "
                "bundles local files only, download it or write .otio"
            )
        if not os.path.isfile(local):
            raise TimelineWriteError(
                f"{path}: clip {clip.name!r}: media {local} does not exist, so it cannot be "
                "bundled; relink it or write .otio"
            )
        other = by_name.setdefault(os.path.basename(local), local)
        if other != local:
            raise TimelineWriteError(
                f"{path}: clip {clip.name!r}: {local} and {other} have the same file name, "
                "which an .otioz bundle cannot hold; rename one or write .otio"
            )
    sequences = _bundled_sequences(timeline, path)
    if not sequences:
        return write_timeline(timeline, path, media_policy=MediaReferencePolicy.ErrorIfNotFile)
    # OTIO's bundler takes files only: image sequences (plates, EXR/DPX deliveries) are pointed
    # at their folder inside the bundle and their files added to the written zip, which is
    # renamed into place only when whole.
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".otioz")
    os.close(fd)
    tmp = Path(name)
    try:
        write_timeline(timeline, tmp, media_policy=MediaReferencePolicy.ErrorIfNotFile)
        with zipfile.ZipFile(tmp, "a") as bundle:
            for inside, files in sequences.items():
                for file in files:
                    # Stored, not deflated: EXR/DPX compress themselves or not at all.
                    bundle.write(file, f"{inside}/{file.name}", compress_type=zipfile.ZIP_STORED)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _bundled_sequences(timeline: otio.schema.Timeline, path: Path) -> dict[str, list[Path]]:
    """{folder in the bundle: its files} of every active image-sequence reference, repointed.

    Each sequence's files are the ones its available range covers, every one of which must
    exist; its folder keeps its name under ``media/`` (two sequences in folders of the same
    name are refused, as OTIO refuses two files of the same name).
    """
    found: dict[str, list[Path]] = {}
    origin: dict[str, str] = {}
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if not isinstance(ref, otio.schema.ImageSequenceReference):
            continue
        local = local_file(ref.target_url_base)
        if local is None:
            raise TimelineWriteError(
                f"{path}: clip {clip.name!r} links a remote image sequence "
                f"{ref.target_url_base}; an .otioz bundles local files only, write .otio"
            )
        folder = Path(local)
        files = [
            Path(local_file(ref.target_url_for_image_number(n)) or "")
            for n in range(ref.number_of_images_in_sequence())
        ]
        missing = [f for f in files if not f.is_file()]
        if missing:
            raise TimelineWriteError(
                f"{path}: clip {clip.name!r}: {len(missing)} file(s) of its image sequence are "
                f"missing, first {missing[0]}, so it cannot be bundled; relink it or write .otio"
            )
        inside = f"{_MEDIA}/{folder.name}"
        other = origin.setdefault(inside, str(folder))
        if other != str(folder):
            raise TimelineWriteError(
                f"{path}: clip {clip.name!r}: image sequences in {folder} and {other} have the "
                "same folder name, which an .otioz bundle cannot hold; rename one or write .otio"
            )
        found.setdefault(inside, [])
        known = set(found[inside])
        found[inside].extend(f for f in files if f not in known)
        ref.target_url_base = inside + "/"
    return found
