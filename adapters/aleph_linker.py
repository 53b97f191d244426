"""OTIO media linker: point clips at their downloaded Aleph results, found in a job ledger.

Use: ``otio.adapters.read_from_file(path, media_linker_name="aleph_linker",
media_linker_argument_map={"ledger": "work/aleph-ledger.sqlite"})`` (or ``otioconvert -m
aleph_linker -M ledger=...``). Optional arguments: ``variant`` (0-based, default 0) and
``url_style`` (``path`` or ``uri``). Clips without a result keep their reference.

A thin shim (OTIO loads this file without a package: absolute imports only); the matching lives
in :func:`aleph_otio.relink.reference_for_clip`.
"""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import opentimelineio as otio

from aleph_otio.errors import LedgerError
from aleph_otio.ledger import Ledger
from aleph_otio.relink import RelinkResult, reference_for_clip

# The linker runs once per clip: read the ledger once per read, not once per clip.
_CACHE: dict[tuple[str, int, int], list[RelinkResult]] = {}


def _results(path: Path) -> list[RelinkResult]:
    wal = Path(f"{path}-wal")
    key = (
        str(path.resolve()),
        path.stat().st_mtime_ns,
        wal.stat().st_mtime_ns if wal.exists() else 0,
    )
    if key not in _CACHE:
        _CACHE.clear()
        with Ledger(path) as ledger:
            _CACHE[key] = ledger.relink_results(
                states=("downloaded", "verified", "relinked"), verified_only=False
            )
    return _CACHE[key]


def link_media_reference(
    in_clip: otio.schema.Clip, media_linker_argument_map: Mapping[str, Any] | None
) -> otio.schema.ExternalReference | None:
    """The result reference for ``in_clip``, or None to keep its current one."""
    args = dict(media_linker_argument_map or {})
    ledger_path = args.get("ledger") or os.environ.get("ALEPH_OTIO_LEDGER")
    if not ledger_path:
        raise LedgerError(
            "aleph_linker: no job ledger given; pass media_linker_argument_map={'ledger': PATH} "
            "(otioconvert: -M ledger=PATH) or set ALEPH_OTIO_LEDGER"
        )
    path = Path(str(ledger_path)).expanduser()
    if not path.is_file():
        raise LedgerError(f"aleph_linker: {path}: no such job ledger; check the path")
    return reference_for_clip(
        in_clip,
        _results(path),
        variant=int(args.get("variant", 0)),
        url_style="uri" if args.get("url_style") == "uri" else "path",
    )
