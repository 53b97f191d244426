"""Writing and reading a manifest file: atomically, refusing what is not one (or is newer)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aleph_otio.batch.manifest import BATCH_FORMAT, BATCH_VERSION, Batch, batch_json
from aleph_otio.errors import TimelineReadError, TimelineWriteError


def write_batch(batch: Batch, path: Path | str) -> Path:
    """Write the manifest atomically (a temporary file in the same folder, then rename)."""
    path = Path(path)
    text = batch_json(batch)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise TimelineWriteError(
            f"{path}: cannot write the batch manifest ({exc.strerror or exc}); "
            "check the folder exists and is writable"
        ) from None
    return path


def load_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TimelineReadError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TimelineReadError(f"{path}: cannot read it ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TimelineReadError(
            f"{path}: not an aleph-otio batch manifest (invalid JSON at line {exc.lineno}, "
            f"column {exc.colno})"
        ) from None


def _check_batch_data(path: Path, data: Any) -> None:
    if not isinstance(data, dict) or data.get("format") != BATCH_FORMAT:
        raise TimelineReadError(
            f'{path}: not an aleph-otio batch manifest (no "format": "{BATCH_FORMAT}"); '
            "make one with: aleph-otio plan TIMELINE -o NAME.aleph.json"
        )
    version = data.get("version")
    if not isinstance(version, int) or version > BATCH_VERSION:
        raise TimelineReadError(
            f"{path}: batch manifest version {version!r} is newer than this aleph-otio "
            f"understands ({BATCH_VERSION}); upgrade aleph-otio"
        )


def read_batch(path: Path | str) -> Batch:
    """Read and validate a manifest; a clear TimelineReadError for anything else."""
    path = Path(path)
    return batch_from_data(path, load_json(path))


def batch_from_data(path: Path, data: Any) -> Batch:
    _check_batch_data(path, data)
    try:
        return Batch.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise TimelineReadError(
            f"{path}: invalid batch manifest at {where}: {first['msg']} "
            f"({exc.error_count()} problem(s)); re-plan the timeline to regenerate it"
        ) from None
