"""Reading timeline files through OTIO adapters; each file's dialect is normalised on the way in."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio

from aleph_otio.errors import TimelineReadError
from aleph_otio.timeline.access import display_name
from aleph_otio.timeline.dialects import Dialect, Reading, dialect_for, preferred_adapter
from aleph_otio.timeline.sanity import check_times, json_times_plausible


@dataclass
class LoadedTimeline:
    """A timeline as read from ``path`` with ``adapter_name``.

    ``dialect`` is the family of files it came from (by adapter unless given); its
    :attr:`reading` (plan-wide warnings, per-marker facts) is worked out on first use.
    """

    timeline: otio.schema.Timeline
    path: Path
    adapter_name: str
    dialect: Dialect = field(default=None, repr=False)  # type: ignore[assignment]
    _reading: Reading | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.dialect is None:
            self.dialect = dialect_for(self.adapter_name)

    @property
    def folder(self) -> Path:
        """The folder relative media paths resolve against."""
        return self.path.parent

    @property
    def reading(self) -> Reading:
        """What the dialect found in the file (computed once; the timeline must not change)."""
        if self._reading is None:
            self._reading = self.dialect.normalise(self)
        return self._reading


def known_suffixes(*, write: bool = False) -> list[str]:
    """File suffixes that have an OTIO adapter in this environment."""
    if write:
        found = otio.adapters.suffixes_with_defined_adapters(write=True)
    else:
        found = otio.adapters.suffixes_with_defined_adapters(read=True)
    return sorted(found)


def adapter_for(path: Path, adapter_name: str | None, *, write: bool) -> str:
    if adapter_name:
        if adapter_name not in otio.adapters.available_adapter_names():
            names = ", ".join(sorted(otio.adapters.available_adapter_names()))
            raise ValueError(f"unknown adapter {adapter_name!r}; known adapters: {names}")
        return adapter_name
    suffix = path.suffix[1:].lower()
    preferred = None if write else preferred_adapter(suffix)
    if preferred in otio.adapters.available_adapter_names():
        return str(preferred)
    try:
        return str(otio.adapters.from_filepath(str(path)).name)
    except Exception:  # noqa: BLE001 - OTIO raises several types for "no adapter"
        listed = ", ".join("." + s for s in known_suffixes(write=write))
        what = f"suffix .{suffix}" if suffix else "no suffix"
        raise ValueError(
            f"{what} has no timeline adapter; use one of {listed} (or pass an adapter name)"
        ) from None


def read_timeline(
    path: str | os.PathLike[str],
    *,
    adapter_name: str | None = None,
    rate: float | str | Fraction | None = None,
    sequence: str | None = None,
) -> LoadedTimeline:
    """Read a timeline file with the OTIO adapter for its suffix (or ``adapter_name``).

    EDLs are read at ``rate`` (default 24; ``"24000/1001"`` and Fractions accepted). A file
    holding several sequences (an FCPXML event or library, a Premiere XML of several
    sequences) needs ``sequence``, the name of the one to use (case ignored when no name
    matches exactly); without it the error lists them. The file is never modified.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise TimelineReadError(f"{path}: no such file; check the path")
    try:
        name = adapter_for(path, adapter_name, write=False)
    except ValueError as exc:
        raise TimelineReadError(f"{path}: {exc}") from None
    dialect = dialect_for(name)
    try:
        result = dialect.read(path.resolve(), name, rate=rate)
    except TimelineReadError:
        raise
    except Exception as exc:  # noqa: BLE001 - adapters raise anything; the user needs one line
        raise TimelineReadError(
            f"{path}: {dialect.read_error(path, name, exc, rate=rate)}"
        ) from None
    timeline = _pick_timeline(path, _timelines(result), sequence)
    if not (name == "otio_json" and json_times_plausible(path)):
        check_times(timeline, path)
    return LoadedTimeline(
        timeline=timeline, path=path.resolve(), adapter_name=name, dialect=dialect
    )


def _timelines(obj: Any) -> list[otio.schema.Timeline]:
    """Every timeline in what an adapter read, in file order."""
    if isinstance(obj, otio.schema.Timeline):
        return [obj]
    if isinstance(obj, otio.schema.SerializableCollection):
        return [found for child in obj for found in _timelines(child)]
    return []


def _pick_timeline(
    path: Path, timelines: list[otio.schema.Timeline], sequence: str | None
) -> otio.schema.Timeline:
    if not timelines:
        raise TimelineReadError(f"{path}: holds no timeline; export a sequence/project")
    names = [t.name or f"(unnamed {i + 1})" for i, t in enumerate(timelines)]
    listed = ", ".join(repr(display_name(n)) for n in names[:12])
    if sequence is None:
        if len(timelines) == 1:
            return timelines[0]
        raise TimelineReadError(
            f"{path}: holds {len(timelines)} sequences ({listed}); choose one with --sequence NAME"
        )
    for match in (lambda n: n == sequence, lambda n: n.casefold() == sequence.casefold()):
        chosen = [t for t, n in zip(timelines, names, strict=True) if match(n)]
        if len(chosen) > 1:
            raise TimelineReadError(
                f"{path}: {len(chosen)} sequences are named {sequence!r}; rename one in the "
                "editing application and export again"
            )
        if chosen:
            return chosen[0]
    raise TimelineReadError(f"{path}: no sequence named {sequence!r}; it holds {listed}")
