"""Writing timelines through OTIO adapters, atomically."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import opentimelineio as otio

from aleph_otio.errors import TimelineWriteError
from aleph_otio.timeline.reading import adapter_for


def write_timeline(
    timeline: otio.schema.Timeline,
    path: str | os.PathLike[str],
    *,
    adapter_name: str | None = None,
    **adapter_args: Any,
) -> Path:
    """Write ``timeline`` with the adapter for ``path``'s suffix, atomically.

    The file appears complete or not at all: it is written to a temporary file in the same
    folder and renamed over ``path``; nothing is left behind on error.
    """
    path = Path(path).expanduser().resolve()
    try:
        name = adapter_for(path, adapter_name, write=True)
    except ValueError as exc:
        raise TimelineWriteError(f"{path}: {exc}") from None
    if not path.parent.is_dir():
        raise TimelineWriteError(f"{path}: folder {path.parent} does not exist; create it first")
    try:
        fd, tmp_name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}"
        )
    except OSError as exc:
        raise TimelineWriteError(
            f"{path}: cannot write in {path.parent} ({exc.strerror})"
        ) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.unlink(tmp)  # some adapters refuse to overwrite; the unique name stays ours
        otio.adapters.write_to_file(timeline, str(tmp), adapter_name=name, **adapter_args)
        if not tmp.exists():
            raise RuntimeError("the adapter wrote nothing")
        _apply_umask(tmp)
        os.replace(tmp, path)
    except Exception as exc:  # noqa: BLE001 - any adapter failure becomes one line
        _remove(tmp)
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise TimelineWriteError(
            f"{path}: cannot write as {name}: {detail}; try another format (e.g. .otio)"
        ) from None
    return path


def _apply_umask(path: Path) -> None:
    # mkstemp files are 0600; give the result the permissions a normal write would have.
    if path.is_file():
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(path, 0o666 & ~mask)


def _remove(path: Path) -> None:
    if path.is_dir():
        import shutil

        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()
