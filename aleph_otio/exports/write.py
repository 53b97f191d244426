"""The format chosen by the output's suffix, and what is done to the timeline before it."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio

from aleph_otio.exports.aaf import write_aaf
from aleph_otio.exports.conform import split_partial_results
from aleph_otio.exports.edl import write_edls
from aleph_otio.exports.fcp7 import write_fcp7
from aleph_otio.exports.fcpxml import write_fcpxml
from aleph_otio.exports.otioz import write_otioz
from aleph_otio.exports.paths import absolutise, rebase_relative
from aleph_otio.timeline import write_timeline

#: Formats that hold one media file per clip (results are split and rebased for them).
_NLE_SUFFIXES = (".xml", ".edl", ".fcpxml", ".aaf")


def write_output(
    timeline: otio.schema.Timeline, path: Path, *, media_base: Path | None = None
) -> Path:
    """Write a relinked timeline to ``path``, the format chosen by its suffix, atomically.

    ``media_base`` is the folder the timeline's relative media paths are relative to (the input
    timeline's folder). Pass it: NLE formats then get absolute paths/URLs and ``.otio`` paths
    relative to the output; without it relative paths are written unchanged. Returns ``path``;
    with several version tracks an EDL export also writes ``<stem>_<version>.edl`` files (see
    :func:`write_outputs`).
    """
    return write_outputs(timeline, path, media_base=media_base)[0]


def write_outputs(
    timeline: otio.schema.Timeline, path: Path, *, media_base: Path | None = None
) -> list[Path]:
    """Like :func:`write_output`, returning every file written (``path`` first)."""
    path = Path(path).expanduser().resolve()
    base = Path(media_base).expanduser().resolve() if media_base is not None else None
    suffix = path.suffix.lower()
    work: otio.schema.Timeline = timeline.deepcopy()
    if suffix == ".otio":
        if base is not None:
            rebase_relative(work, base, path.parent)
        return [write_timeline(work, path)]
    if suffix == ".otioz":
        # A bundle must find every file now; without a base, paths are the output's relatives.
        absolutise(work, base or path.parent)
        return [write_otioz(work, path)]
    if suffix in _NLE_SUFFIXES:
        split_partial_results(work)
    if base is not None:
        # NLEs resolve relative paths against nothing useful: give them absolute ones. Without
        # a base the relative paths are left as they are (the caller's convention).
        absolutise(work, base)
    if suffix == ".xml":
        return [write_fcp7(work, path)]
    if suffix == ".edl":
        return write_edls(work, path)
    if suffix == ".fcpxml":
        return [write_fcpxml(work, path)]
    if suffix == ".aaf":
        return [write_aaf(work, path)]
    return [write_timeline(work, path)]
