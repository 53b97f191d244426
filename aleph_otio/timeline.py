"""Timelines in and out through OTIO adapters, and edit-request markers as normalised ranges.

This is the only module (besides media and pipeline) that touches timeline files. Reading picks
the adapter by suffix like OTIO does; writing is atomic. :func:`find_marked_ranges` turns every
edit-request marker into a :class:`MarkedRange` whose pieces are expressed in each clip's own
source space, whatever the adapter put into ``marked_range``:

- ``cmx_3600`` (EDL): ``* LOC:`` markers sit on clips but carry *record* timecode.
- ``fcp_xml`` (FCP 7 XML): clip markers count from the file's first frame, without its timecode.
- AAF, FCPXML, OTIO: markers are already in their owner's space.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

import opentimelineio as otio

from aleph_otio.config import PlanSettings
from aleph_otio.errors import ConfigError, TimelineReadError, TimelineWriteError
from aleph_otio.locate import MediaLocator, media_locator

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange

#: Marker colours OTIO knows (``otio.schema.MarkerColor``).
KNOWN_COLORS = (
    "PINK", "RED", "ORANGE", "YELLOW", "GREEN", "CYAN", "BLUE", "PURPLE", "MAGENTA",
    "BLACK", "WHITE",
)  # fmt: skip
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".dpx")
_NTSC_RATES = (24000 / 1001, 30000 / 1001, 48000 / 1001, 60000 / 1001, 120000 / 1001)


@dataclass
class LoadedTimeline:
    """A timeline as read from ``path`` with ``adapter_name``."""

    timeline: otio.schema.Timeline
    path: Path
    adapter_name: str

    @property
    def folder(self) -> Path:
        """The folder relative media paths resolve against."""
        return self.path.parent


# --- rates and timecode -------------------------------------------------------------------------


def parse_rate(rate: float | int | str | Fraction) -> float:
    """A frame rate as OTIO wants it: ``"24000/1001"``, ``Fraction``, ``23.976`` -> 23.976023976...

    Near-NTSC literals (23.976, 29.97, 59.94) become the exact x000/1001 value, which OTIO's
    timecode functions accept (the literals are rejected by OTIO 0.18.1).
    """
    try:
        value = float(Fraction(str(rate).strip())) if isinstance(rate, str) else float(rate)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"not a frame rate: {rate!r} (use e.g. 24, 25 or 24000/1001)") from None
    if not value > 0:
        raise ValueError(f"not a frame rate: {rate!r} (must be positive)")
    return normalise_rate(value)


# Pure functions of a rate, called several times per marker with a handful of distinct rates.
@functools.lru_cache(maxsize=256)
def normalise_rate(rate: float) -> float:
    """Snap rates within 0.01 of an NTSC x000/1001 rate or an integer onto it."""
    for ntsc in _NTSC_RATES:
        if abs(rate - ntsc) < 0.01:
            return ntsc
    if abs(rate - round(rate)) < 1e-6:
        return float(round(rate))
    return rate


@functools.lru_cache(maxsize=256)
def smpte_rate(rate: float) -> float | None:
    """The timecode rate for ``rate``, or None when SMPTE timecode cannot express it."""
    rate = normalise_rate(rate)
    if RT.is_valid_timecode_rate(rate):
        return rate
    nearest = RT.nearest_smpte_timecode_rate(rate)
    return nearest if abs(nearest - rate) < 0.01 else None


def same_rate(a: float, b: float) -> bool:
    """True when two rates count the same timecode frames (24 and 24000/1001 do)."""
    return abs(a - b) < 0.05


def frames_at(time: otio.opentime.RationalTime, rate: float) -> float:
    """``time`` as a frame count at ``rate``.

    Rates that count the same timecode frames (24 vs 23.976) are relabelled, not rescaled: NLEs
    number frames by nominal rate, so rescaling would drift by 0.1 % per hour of timecode.
    """
    if same_rate(time.rate, rate):
        return float(time.value)
    return float(time.value_rescaled_to(rate))


def timecode(time: otio.opentime.RationalTime, rate: float | None = None) -> str:
    """SMPTE timecode (non-drop-frame) of ``time`` at ``rate``; seconds when no TC rate fits."""
    rate = rate if rate is not None else time.rate
    return timecode_of(frames_at(time, rate), rate)


def timecode_of(frames_value: float, rate: float) -> str:
    """``timecode(RationalTime(frames_value, rate))`` without making the RationalTime."""
    tc_rate = smpte_rate(rate)
    frames = round(frames_value)
    if frames < 0:
        # A marker or clip before the timeline/media start: say so rather than crash (OTIO
        # refuses negative timecode).
        return "-" + timecode(RT(-frames, rate), rate)
    if tc_rate is None:
        return f"{frames / rate:.3f}s"
    # Non-drop-frame: frame numbers from media/EDL start TCs are counted that way.
    if frames < 82800 * int(tc_rate):
        # Below 23 hours, OTIO's non-drop-frame timecode is plain counting at the nominal rate
        # (checked against OTIO frame by frame over 24 hours at every SMPTE rate); formatting
        # it here is several times cheaper than the C++ call and its RationalTime.
        nominal = round(tc_rate)
        seconds, frame = divmod(frames, nominal)
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}:{frame:02d}"
    # OTIO wraps at 24 hours in its own way for NTSC rates: let it.
    return str(otio.opentime.to_timecode(RT(frames, tc_rate), tc_rate, drop_frame=False))


# --- reading and writing ------------------------------------------------------------------------


def known_suffixes(*, write: bool = False) -> list[str]:
    """File suffixes that have an OTIO adapter in this environment."""
    if write:
        found = otio.adapters.suffixes_with_defined_adapters(write=True)
    else:
        found = otio.adapters.suffixes_with_defined_adapters(read=True)
    return sorted(found)


def _adapter_for(path: Path, adapter_name: str | None, *, write: bool) -> str:
    if adapter_name:
        if adapter_name not in otio.adapters.available_adapter_names():
            names = ", ".join(sorted(otio.adapters.available_adapter_names()))
            raise ValueError(f"unknown adapter {adapter_name!r}; known adapters: {names}")
        return adapter_name
    suffix = path.suffix[1:].lower()
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
        name = _adapter_for(path, adapter_name, write=False)
    except ValueError as exc:
        raise TimelineReadError(f"{path}: {exc}") from None
    kwargs: dict[str, Any] = {}
    if name == "cmx_3600":
        try:
            kwargs["rate"] = parse_rate(rate if rate is not None else 24)
        except ValueError as exc:
            raise TimelineReadError(f"{path}: {exc}") from None
    try:
        result = otio.adapters.read_from_file(str(path.resolve()), adapter_name=name, **kwargs)
    except Exception as exc:  # noqa: BLE001 - adapters raise anything; the user needs one line
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        hint = " (is the EDL rate right? pass --rate)" if name == "cmx_3600" else ""
        raise TimelineReadError(
            f"{path}: cannot read as {name}: {detail}{hint}; check the file is a complete export"
        ) from None
    timeline = _pick_timeline(path, _timelines(result), sequence)
    if not (name == "otio_json" and _json_times_plausible(path)):
        _check_times(timeline, path)
    return LoadedTimeline(timeline=timeline, path=path.resolve(), adapter_name=name)


def items_of(vector: Any) -> list[Any]:
    """The elements of an OTIO vector (markers, effects, ...) as a list.

    Iterating an OTIO vector to its end raises StopIteration from C++, which costs ~20 us: more
    than the rest of checking a clip. ``len`` and ``next`` do not, so this stops before the end.
    """
    count = len(vector)
    if not count:
        return []
    it = iter(vector)
    return [next(it) for _ in range(count)]


def _bad_time(time: otio.opentime.RationalTime | None) -> bool:
    # Chained comparisons are False for NaN, so this is "not (finite value, finite rate > 0)"
    # at a fraction of math.isfinite's cost (it runs for every time of every item).
    return time is not None and not (-math.inf < time.value < math.inf and 0 < time.rate < math.inf)


def _item_label(item: Any) -> str:
    return f"{type(item).__name__.lower()} {display_name(item.name or '?')}"


def _first_bad_time(item: Any) -> tuple[Any, Any] | None:
    """(label thunk, time) of the first impossible time of one item, or None."""
    source = getattr(item, "source_range", None)
    if source is not None:
        for time in (source.start_time, source.duration):
            if _bad_time(time):
                return (lambda: _item_label(item)), time
    markers = getattr(item, "markers", None)
    if markers is not None and len(markers):
        for marker in items_of(markers):
            marked = marker.marked_range
            for time in (marked.start_time, marked.duration):
                if _bad_time(time):

                    def where(marker: Any = marker) -> str:
                        return (
                            f"marker {display_name(marker.name or '?', 40)} on {_item_label(item)}"
                        )

                    return where, time
    if isinstance(item, otio.schema.Clip):
        for ref in item.media_references().values():
            avail = ref.available_range if ref is not None else None
            if avail is None:
                continue
            for time in (avail.start_time, avail.duration):
                if _bad_time(time):
                    return (lambda: f"media of {_item_label(item)}"), time
    return None


# Every RationalTime rate in OTIO JSON that is not plainly a positive number like 24.0 or
# 23.976023976023978 (those are most of them; the rest are parsed). Possessive quantifiers: a
# backtracking ``\s*`` would let the look-ahead test the space before the number instead.
_JSON_ODD_RATE = re.compile(
    rb'"rate"\s*+:\s*+(?![1-9][0-9]{0,5}+(?:\.[0-9]++)?+[\s,}\]])([^,}\]\s]*)'
)


def _json_times_plausible(path: Path) -> bool:
    """True when a native .otio file's text cannot hold an impossible time (fast path).

    Walking every item from Python costs about 25 us per clip (each OTIO attribute is a C++
    call), most of the read itself; searching the JSON text is several times cheaper. OTIO's
    parser refuses numbers that overflow a double, so a non-finite value or speed can only be
    spelled NaN, Inf or Infinity. Any doubt (such a word anywhere, even in a name; a \\u escape
    that could spell a key; a rate that is not a positive number; an unreadable file) returns
    False and the full walk runs, so errors and their messages are unchanged.
    """
    try:
        data = path.read_bytes()
    except OSError:
        return False
    # A one-byte search runs at memory speed, a three-byte one several times slower: look for
    # the rare byte first (OTIO's own keys hold no capital N and no backslash).
    if (b"N" in data and b"NaN" in data) or b"Inf" in data or (b"\\" in data and b"\\u" in data):
        return False
    for token in set(_JSON_ODD_RATE.findall(data)):
        if len(token) > 15 and token.lstrip(b"-").isdigit():
            return False  # OTIO reads integers in [2**63, 2**64) as 0: let the walk see it
        try:
            rate = float(token)
        except ValueError:
            return False
        if not 0 < rate < math.inf:
            return False
    return True


def _check_times(timeline: otio.schema.Timeline, path: Path) -> None:
    """Refuse times no NLE writes (rate 0 or negative, NaN, infinite): nothing can be planned
    from them, and every later step would fail on them in its own way."""
    # Labels are built only for a failure: building one per item cost more than the OTIO read.
    bad: tuple[Any, Any] | None = None  # (label thunk, time) of the first impossible time
    if _bad_time(timeline.global_start_time):
        bad = (lambda: "timeline start", timeline.global_start_time)
    items: list[Any] = [timeline.tracks, *timeline.tracks.find_children()]
    for item in items:
        if bad is None:
            bad = _first_bad_time(item)
        effects = getattr(item, "effects", None)
        if effects is not None and len(effects):
            for effect in items_of(effects):
                scalar = getattr(effect, "time_scalar", 1.0)
                if isinstance(effect, otio.schema.LinearTimeWarp) and not math.isfinite(scalar):
                    raise TimelineReadError(
                        f"{path}: {_item_label(item)} has an impossible speed ({scalar}); "
                        "re-export the timeline from the editing application"
                    )
    if bad is not None:
        where, time = bad[0](), bad[1]
        raise TimelineReadError(
            f"{path}: {where} has an impossible time ({time.value:g} at rate {time.rate:g}); "
            "re-export the timeline from the editing application"
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
        name = _adapter_for(path, adapter_name, write=True)
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


# --- media paths --------------------------------------------------------------------------------


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


# --- marked ranges ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """The part of one clip a marked range covers."""

    track_index: int
    clip_index: int
    clip: otio.schema.Clip
    source_range: otio.opentime.TimeRange  # in the clip's source space (clip.source_range's)
    record_range: otio.opentime.TimeRange  # in the track's time
    stack_range: otio.opentime.TimeRange  # in the timeline stack's time

    @property
    def track(self) -> otio.schema.Track:
        parent = self.clip.parent()
        assert isinstance(parent, otio.schema.Track)
        return parent


@dataclass(frozen=True)
class GuideSpec:
    """A guide still requested for a marked range, before the plan positions it.

    Exactly one of ``stack_time`` (a still on the guide track: the frame under its start),
    ``frame`` or ``timestamp`` (seconds from the marked range's first frame) is set.
    """

    image: str
    origin: str
    stack_time: otio.opentime.RationalTime | None = None
    frame: Literal["first", "last"] | None = None
    timestamp: float | None = None


@dataclass
class MarkedRange:
    """One edit request: a prompt and the clip ranges it covers (several across a cut)."""

    prompt: str
    options: dict[str, Any]
    marker_name: str
    marker_color: str
    location: str
    scope: Literal["clip", "track", "stack"]
    pieces: list[Piece]
    anchor: otio.opentime.RationalTime  # marker start in the first piece's clip source space
    guides: list[GuideSpec] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def stack_start(self) -> otio.opentime.RationalTime:
        return self.pieces[0].stack_range.start_time


class _Refused(Exception):
    """One marker cannot be used; the message is the reason and what to do."""


#: What building a marked range gives: its pieces, warnings, and the marker's anchor time.
_Built = tuple[list[Piece], list[str], otio.opentime.RationalTime]


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _keys(mapping: Mapping[str, Any]) -> list[str]:
    """The keys of a mapping, in order, without iterating to the end.

    OTIO's AnyDictionary reports a missing key and the end of iteration as C++ exceptions that
    cost ~20-30 us each, more than the rest of planning a marker; ``len`` and ``next`` do not.
    """
    if isinstance(mapping, dict):
        return list(mapping)
    it = iter(mapping)
    return [next(it) for _ in range(len(mapping))]


def _get(mapping: Mapping[str, Any], key: str) -> Any:
    """``mapping.get(key)``; see :func:`_keys` for why not ``get`` itself."""
    if isinstance(mapping, dict):
        return mapping.get(key)
    return mapping[key] if len(mapping) and key in _keys(mapping) else None


def _nested(metadata: Mapping[str, Any], *keys: str) -> Any:
    value: Any = metadata
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = _get(value, key)
    return value


#: Where adapters put a marker's note: (metadata key, key inside it), best first.
_COMMENT_KEYS = (("fcp_xml", "comment"), ("Resolve_OTIO", "Note"), ("AAF", "Comment"))


def _metadata_keys(marker: otio.schema.Marker) -> tuple[Any, list[str]]:
    """(metadata, its keys): read once per marker, most markers have none."""
    meta = marker.metadata
    return meta, (_keys(meta) if isinstance(meta, Mapping) and len(meta) else [])


def _comments(marker: otio.schema.Marker, known: tuple[Any, list[str]] | None = None) -> list[str]:
    """Every free-text note an adapter may have put on a marker, best first.

    ``known`` is :func:`_metadata_keys` of the marker when the caller has it already.
    """
    meta, keys = known or _metadata_keys(marker)
    texts = [_text(getattr(marker, "comment", ""))]
    for outer, inner in _COMMENT_KEYS:
        if outer in keys:
            texts.append(_text(_nested(meta[outer], inner)))
    return [t for t in texts if t]


def _marker_colors(
    marker: otio.schema.Marker, known: tuple[Any, list[str]] | None = None
) -> set[str]:
    meta, keys = known or _metadata_keys(marker)
    colors = {str(marker.color).upper()}
    raw = _nested(meta["cmx_3600"], "color") if "cmx_3600" in keys else None
    if isinstance(raw, str):
        colors.add(raw.upper())
    resolve = _nested(meta["Resolve_OTIO"], "Color") if "Resolve_OTIO" in keys else None
    if isinstance(resolve, str):
        colors.add(resolve.upper())
    return colors


@dataclass
class _Request:
    prompt: str
    options: dict[str, Any]
    guides: list[Any]


def _edit_request(marker: otio.schema.Marker, settings: PlanSettings) -> _Request | None:
    """The prompt and options of ``marker`` if it is an edit request, else None."""
    prefix = settings.prefix.lower()
    known = _metadata_keys(marker)
    metadata, keys = known
    meta_obj = metadata["aleph"] if "aleph" in keys else None
    prefixed: str | None = None
    comments = _comments(marker, known)
    for text in [_text(marker.name), *comments]:
        if prefix and text.lower().startswith(prefix):
            prefixed = text[len(prefix) :].strip()
            break
    by_color = bool(
        settings.marker_color and settings.marker_color.upper() in _marker_colors(marker, known)
    )
    if meta_obj is None and prefixed is None and not by_color:
        return None
    if meta_obj is not None and not isinstance(meta_obj, Mapping):
        raise _Refused('metadata "aleph" must be an object like {"prompt": "..."}')
    meta: Mapping[str, Any] = meta_obj or {}
    meta_keys = _keys(meta)
    prompt = meta["prompt"] if "prompt" in meta_keys else None
    if prompt is not None and not isinstance(prompt, str):
        raise _Refused('metadata "aleph.prompt" must be text')
    if not prompt:
        if prefixed is not None:
            prompt = prefixed
        else:
            prompt = comments[0] if comments else _text(marker.name)
    options = {k: meta[k] for k in meta_keys if k not in ("prompt", "guides")}
    guides = (meta["guides"] if "guides" in meta_keys else None) or []
    # OTIO metadata lists are AnyVector, not list.
    if not isinstance(guides, Sequence) or isinstance(guides, str):
        raise _Refused(
            'metadata "aleph.guides" must be a list of {"image": ..., "frame"|"timestamp"}'
        )
    return _Request(prompt=str(prompt).strip(), options=dict(options), guides=list(guides))


def _is_point(r: otio.opentime.TimeRange) -> bool:
    # NLEs store "point" markers as 0 or 1 frame long (AAF, FCPXML); one frame is no edit range.
    return r.duration.value <= 0 or r.duration.to_seconds() <= 1.0 / r.start_time.rate + 1e-9


def intersect(
    a: otio.opentime.TimeRange, b: otio.opentime.TimeRange
) -> otio.opentime.TimeRange | None:
    """The overlap of two ranges (``TimeRange.clamped`` is not an intersection)."""
    start = max(a.start_time, b.start_time)
    end = min(a.end_time_exclusive(), b.end_time_exclusive())
    if end <= start:
        return None
    return TR.range_from_start_end_time(start, end)


def marker_clip_range(
    loaded: LoadedTimeline, clip: otio.schema.Clip, marker: otio.schema.Marker
) -> otio.opentime.TimeRange:
    """A clip marker's range in the clip's source space, undoing adapter quirks.

    NLE exports follow the format's convention (EDL LOC = record TC; FCP 7 clip markers count
    from the file's first frame), but OTIO's own writers put clip-space numbers in both. So the
    convention is tried first and the raw value is kept when only it lands on the clip.
    """
    r = marker.marked_range
    conventional: otio.opentime.RationalTime | None = None
    if loaded.adapter_name == "cmx_3600":
        conventional = _transformed_time(loaded.timeline.tracks, r.start_time, clip)
    elif loaded.adapter_name == "fcp_xml":
        avail = clip.media_reference.available_range if clip.media_reference else None
        if avail is not None:
            conventional = r.start_time + avail.start_time.rescaled_to(r.start_time.rate)
    if conventional is None:
        return r
    bounds = clip.trimmed_range()
    if not _on(bounds, conventional) and _on(bounds, r.start_time):
        return r
    return TR(conventional, r.duration)


def _on(bounds: otio.opentime.TimeRange, time: otio.opentime.RationalTime) -> bool:
    return bool(bounds.start_time <= time < bounds.end_time_exclusive())


def _stack_time(loaded: LoadedTimeline, time: otio.opentime.RationalTime) -> str:
    """Absolute record timecode of a stack time."""
    gst = start_at(loaded.timeline, time.rate)
    return timecode(time + gst if gst is not None else time)


def start_at(timeline: otio.schema.Timeline, rate: float) -> otio.opentime.RationalTime | None:
    """The timeline's global start time rescaled to ``rate`` (None without one).

    Asked once per marker with one or two rates: cached while a planning cache is active.
    """

    def compute() -> otio.opentime.RationalTime | None:
        gst = timeline.global_start_time
        return gst.rescaled_to(rate) if gst is not None else None

    start: otio.opentime.RationalTime | None = _cached(timeline, f"start at {rate!r}", compute)
    return start


def track_label(timeline: otio.schema.Timeline, track: otio.schema.Track) -> str:
    """The track's name, or V1/A2-style (as NLEs number them) when it has none."""
    if track.name:
        return str(track.name)
    prefix = "A" if track.kind == otio.schema.TrackKind.Audio else "V"
    same_kind = [t for t in timeline.tracks if getattr(t, "kind", None) == track.kind]
    for number, candidate in enumerate(same_kind, start=1):
        if candidate is track:
            return f"{prefix}{number}"
    return prefix


def display_name(text: str, limit: int = 60) -> str:
    """``text`` safe for a one-line message: control/bidi characters escaped, long names cut.

    Clip and track names come from whoever made the timeline; a newline, NUL or right-to-left
    override in one must not break or disguise the error line that names it.
    """
    safe = (
        text
        if text.isprintable()
        else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    )
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


def _location(
    loaded: LoadedTimeline,
    track: otio.schema.Track | None,
    clip: otio.schema.Clip | None,
    stack_time: otio.opentime.RationalTime,
    marker: otio.schema.Marker,
) -> str:
    parts = [_cached(loaded.path, "file label", lambda: display_name(loaded.path.name, 120))]
    if track is not None:
        parts.append(
            _cached(
                track,
                "track label",
                lambda: f"track {display_name(track_label(loaded.timeline, track))}",
            )
        )
    else:
        parts.append("timeline marker")
    if clip is not None:
        parts.append(f"clip {display_name(clip.name or '?')}")
    parts.append(_stack_time(loaded, stack_time))
    if marker.name:
        parts.append(f"marker {marker.name[:40]!r}")
    return ", ".join(parts)


def _video_tracks(
    loaded: LoadedTimeline, settings: PlanSettings
) -> list[tuple[int, otio.schema.Track, bool]]:
    """(index in timeline.tracks, track, is_guide_track) for every video track."""
    # Asked once per marker: cached for the find_marked_ranges call.
    return _cached(
        loaded.timeline.tracks,
        f"video tracks, guides on {settings.guide_track!r}",
        lambda: list(_each_video_track(loaded, settings)),
    )


def _each_video_track(
    loaded: LoadedTimeline, settings: PlanSettings
) -> Iterator[tuple[int, otio.schema.Track, bool]]:
    guide = settings.guide_track.strip().lower()
    for index, track in enumerate(loaded.timeline.tracks):
        if isinstance(track, otio.schema.Track) and track.kind == otio.schema.TrackKind.Video:
            yield index, track, bool(guide) and (track.name or "").strip().lower() == guide


#: Track/stack geometry cached for one find_marked_ranges call. OTIO's ``range_of_child``,
#: ``range_of_child_at_index``, a track's ``trimmed_range`` and so ``transformed_time`` walk a
#: track from its first child: called per marker, planning was O(clips x markers) (minutes at
#: 50k clips). Keyed by id() with the object kept alive and checked, so ids are never reused.
_CACHE: ContextVar[dict[tuple[int, str], tuple[Any, Any]] | None] = ContextVar(
    "_CACHE", default=None
)


def _cached(obj: Any, what: str, compute: Any) -> Any:
    """``compute()`` once per (obj, what) while a cache is active."""
    cache = _CACHE.get()
    if cache is None:
        return compute()
    hit = cache.get((id(obj), what))
    if hit is None or hit[0] is not obj:
        hit = (obj, compute())
        cache[(id(obj), what)] = hit
    return hit[1]


def _track_ranges(
    track: otio.schema.Track,
) -> tuple[dict[Any, otio.opentime.TimeRange], list[otio.opentime.TimeRange]]:
    """(child -> range, ranges by index) of ``track``'s children."""

    def compute() -> tuple[dict[Any, otio.opentime.TimeRange], list[otio.opentime.TimeRange]]:
        # Wrap every child by iterating first: a child first wrapped as a key of
        # range_of_all_children's dict is freed with the timeline (use after free in OTIO 0.18).
        children = list(track)
        by_child = track.range_of_all_children()
        return by_child, [by_child[child] for child in children]

    return _cached(track, "children", compute)


def _child_span(track: otio.schema.Track, index: int) -> otio.opentime.TimeRange:
    """``track.range_of_child_at_index(index)``, from the cache when one is active."""
    if _CACHE.get() is None:
        return track.range_of_child_at_index(index)
    return _track_ranges(track)[1][index]


def _range_in_parent(parent: Any, item: Any) -> otio.opentime.TimeRange:
    if isinstance(parent, otio.schema.Track):
        by_child = _track_ranges(parent)[0]
        if item in by_child:
            return by_child[item]
    if isinstance(item, otio.schema.Clip):
        return parent.range_of_child(item)
    # A track/stack in a stack: few of them, but each range costs a walk over its children.
    return _cached(item, "range in parent", lambda: parent.range_of_child(item))


def _trim_start(item: Any) -> otio.opentime.RationalTime:
    if isinstance(item, otio.schema.Clip):
        return item.trimmed_range().start_time
    # A composition's trimmed range sums its children: compute it once.
    return _cached(item, "trim start", lambda: item.trimmed_range().start_time)


def _highest(item: Any) -> Any:
    while item.parent() is not None:
        item = item.parent()
    return item


def _transformed_time(
    item: Any, time: otio.opentime.RationalTime, to_item: Any
) -> otio.opentime.RationalTime:
    """``item.transformed_time(time, to_item)``: the same steps as OTIO, with cached ranges."""
    if _CACHE.get() is None:
        return item.transformed_time(time, to_item)
    root = _highest(item)
    result = time
    while item is not root and item is not to_item:
        parent = item.parent()
        result -= _trim_start(item)
        result += _range_in_parent(parent, item).start_time
        item = parent
    ancestor = item
    item = to_item
    while item is not root and item is not ancestor:
        parent = item.parent()
        result += _trim_start(item)
        result -= _range_in_parent(parent, item).start_time
        item = parent
    return result


def _transformed_range(
    item: Any, r: otio.opentime.TimeRange, to_item: Any
) -> otio.opentime.TimeRange:
    """``item.transformed_time_range(r, to_item)`` (the duration is kept, as OTIO does)."""
    return TR(_transformed_time(item, r.start_time, to_item), r.duration)


@dataclass(frozen=True)
class _TrackPlace:
    """Where a top-level track's children sit, computed once per find_marked_ranges call.

    ``to_track`` and ``to_stack`` are the steps of OTIO's ``transformed_time`` from a clip of
    the track to the track and on to the timeline's stack, in the same order, so they give the
    same times without walking up the parents for every marker.
    """

    spans: list[otio.opentime.TimeRange]  # the children's ranges, by index, in track time
    trim: otio.opentime.RationalTime  # the track's trimmed start
    start: otio.opentime.RationalTime  # the track's start in the stack

    def to_track(
        self, time: otio.opentime.RationalTime, index: int, clip_trim: otio.opentime.RationalTime
    ) -> otio.opentime.RationalTime:
        """A time of child ``index`` (whose trimmed start is ``clip_trim``) in track time."""
        return time - clip_trim + self.spans[index].start_time

    def to_stack(self, time: otio.opentime.RationalTime) -> otio.opentime.RationalTime:
        """A track time in the stack's time."""
        return time - self.trim + self.start


def _track_place(track: otio.schema.Track) -> _TrackPlace:
    """The :class:`_TrackPlace` of a track in the timeline's stack."""

    def compute() -> _TrackPlace:
        return _TrackPlace(
            spans=_track_ranges(track)[1],
            trim=_trim_start(track),
            start=_range_in_parent(track.parent(), track).start_time,
        )

    place: _TrackPlace = _cached(track, "place", compute)
    return place


def _piece(
    loaded: LoadedTimeline,
    track_index: int,
    track: otio.schema.Track,
    clip_index: int,
    clip: otio.schema.Clip,
    source: otio.opentime.TimeRange,
    clip_trim: otio.opentime.RationalTime | None = None,
) -> Piece:
    place = _track_place(track)
    trim = clip.trimmed_range().start_time if clip_trim is None else clip_trim
    record = TR(place.to_track(source.start_time, clip_index, trim), source.duration)
    stack = TR(place.to_stack(record.start_time), source.duration)
    return Piece(track_index, clip_index, clip, source, record, stack)


def _known(time: otio.opentime.RationalTime) -> Callable[[], otio.opentime.RationalTime]:
    """A stack-time thunk for a time computed already."""
    return lambda: time


def _clip_stack_time(
    loaded: LoadedTimeline,
    track: otio.schema.Track,
    clip_index: int,
    clip: otio.schema.Clip,
    marker: otio.schema.Marker,
) -> otio.opentime.RationalTime:
    """Where a clip marker starts in the stack (for messages)."""
    start = marker_clip_range(loaded, clip, marker).start_time
    try:
        place = _track_place(track)
        return place.to_stack(place.to_track(start, clip_index, clip.trimmed_range().start_time))
    except Exception:  # noqa: BLE001 - only used for the message
        return start


def _clip_marker(
    loaded: LoadedTimeline,
    track_index: int,
    track: otio.schema.Track,
    clip_index: int,
    clip: otio.schema.Clip,
    marker: otio.schema.Marker,
) -> _Built:
    bounds = clip.trimmed_range()
    if bounds.duration.value <= 0:
        raise _Refused(
            f"the clip has no duration ({timecode(bounds.duration)}); fix its in/out points in "
            "the edit or remove the marker"
        )
    r = marker_clip_range(loaded, clip, marker)
    if _is_point(r):
        if not _on(bounds, r.start_time):
            raise _Refused(
                f"marker at source {timecode(r.start_time)} is outside its clip "
                f"({timecode(bounds.start_time)}-{timecode(bounds.end_time_exclusive())}); "
                "move it onto the clip"
            )
        piece = _piece(loaded, track_index, track, clip_index, clip, bounds, bounds.start_time)
        return [piece], [], r.start_time
    covered = intersect(r, bounds)
    if covered is None:
        raise _Refused(
            f"marker {timecode(r.start_time)}-{timecode(r.end_time_exclusive())} is outside its "
            f"clip ({timecode(bounds.start_time)}-{timecode(bounds.end_time_exclusive())}); "
            "move it onto the clip"
        )
    warnings = []
    if covered.duration != r.duration:
        warnings.append("marker extends past its clip; only the part on the clip is used")
    piece = _piece(loaded, track_index, track, clip_index, clip, covered, bounds.start_time)
    return [piece], warnings, r.start_time


#: What to do about a nested sequence or compound clip under a marker.
_NESTED_FIX = (
    "aleph-otio plans clips of the main timeline only: take the clips out of the nest "
    "(Resolve: Decompose in Place) and mark them there"
)


def _nested_refusal(
    loaded: LoadedTimeline, nest: otio.schema.Stack, at: otio.opentime.RationalTime
) -> _Refused:
    return _Refused(
        f"marker covers the nested sequence/compound clip {display_name(nest.name or '?')!r} "
        f"at {_stack_time(loaded, at)}; {_NESTED_FIX}"
    )


def _composition_hits(
    loaded: LoadedTimeline,
    track_index: int,
    track: otio.schema.Track,
    r: otio.opentime.TimeRange,
) -> _Built:
    """Pieces of the clips a track-time range covers (a point covers the clip under it)."""
    if _is_point(r):
        for index, child in enumerate(track):
            span = _child_span(track, index)
            if isinstance(child, otio.schema.Stack) and _on(span, r.start_time):
                at = _transformed_time(track, r.start_time, loaded.timeline.tracks)
                raise _nested_refusal(loaded, child, at)
            if isinstance(child, otio.schema.Clip) and _on(span, r.start_time):
                whole = child.trimmed_range()
                anchor = _transformed_time(track, r.start_time, child)
                return [_piece(loaded, track_index, track, index, child, whole)], [], anchor
        raise _Refused(
            f"no clip under the marker on track {display_name(track.name or str(track_index))}"
        )
    pieces: list[Piece] = []
    warnings: list[str] = []
    for index, child in enumerate(track):
        if isinstance(child, otio.schema.Transition):
            continue
        span = _child_span(track, index)
        overlap = intersect(r, span)
        if overlap is None:
            continue
        if not isinstance(child, otio.schema.Clip):
            at = _transformed_time(track, overlap.start_time, loaded.timeline.tracks)
            if isinstance(child, otio.schema.Stack):
                raise _nested_refusal(loaded, child, at)
            raise _Refused(
                f"marker spans a {type(child).__name__.lower()} at {_stack_time(loaded, at)}; "
                "Aleph needs continuous picture: split the marker around it"
            )
        source = _transformed_range(track, overlap, child)
        pieces.append(_piece(loaded, track_index, track, index, child, source))
    if not pieces:
        raise _Refused(
            f"no clip under the marker on track {display_name(track.name or str(track_index))}"
        )
    if any(isinstance(c, otio.schema.Transition) for c in track) and len(pieces) > 1:
        warnings.append("transitions inside the range are sent as hard cuts")
    return pieces, warnings, pieces[0].source_range.start_time


def _stack_marker_track(
    loaded: LoadedTimeline, settings: PlanSettings, r: otio.opentime.TimeRange
) -> tuple[int, otio.schema.Track, otio.opentime.TimeRange]:
    """The topmost video track with a clip at the marker's start (what editors see).

    Clips without file media (titles, generators) are passed over when a clip below has media.
    """
    stack = loaded.timeline.tracks
    fallback = None
    for index, track, is_guide in reversed(_video_tracks(loaded, settings)):
        if is_guide:
            continue
        local = _transformed_range(stack, r, track)
        for child_index, child in enumerate(track):
            if isinstance(child, otio.schema.Stack) and _on(
                _child_span(track, child_index), local.start_time
            ):
                # A compound clip covers the tracks below: its picture is what editors see, so
                # it is the one refused (with what to do), never a clip underneath sent instead.
                return index, track, local
            if isinstance(child, otio.schema.Clip) and _on(
                _child_span(track, child_index), local.start_time
            ):
                if isinstance(
                    child.media_reference,
                    otio.schema.ExternalReference | otio.schema.ImageSequenceReference,
                ):
                    return index, track, local
                fallback = fallback or (index, track, local)
    if fallback is not None:
        return fallback
    raise _Refused("no video clip under the timeline marker")


def _guides_from_track(
    loaded: LoadedTimeline,
    settings: PlanSettings,
    pieces: list[Piece],
    locator: MediaLocator,
) -> list[GuideSpec]:
    stack = loaded.timeline.tracks
    span = TR.range_from_start_end_time(
        pieces[0].stack_range.start_time, pieces[-1].stack_range.end_time_exclusive()
    )
    guides: list[GuideSpec] = []
    for _, track, is_guide in _video_tracks(loaded, settings):
        if not is_guide:
            continue
        for child in track:
            if not isinstance(child, otio.schema.Clip) or not is_still(child):
                continue
            place = _transformed_range(child, child.trimmed_range(), stack)
            overlap = intersect(place, span)
            if overlap is None:
                continue
            image = still_image_path(child, loaded.folder)
            if image is None:
                continue
            ref = child.media_reference
            url = ref.target_url if isinstance(ref, otio.schema.ExternalReference) else image
            image = _require_image(
                image,
                f"guide still {display_name(child.name or '?')} on "
                f"{display_name(track_label(loaded.timeline, track))}",
                locator,
                url,
            )
            guides.append(
                GuideSpec(
                    image=image,
                    origin=f"{display_name(track_label(loaded.timeline, track))} clip "
                    f"{display_name(child.name or '?')} at "
                    f"{_stack_time(loaded, place.start_time)}",
                    stack_time=overlap.start_time,
                )
            )
    return guides


def _require_image(image: str, what: str, locator: MediaLocator, url: str) -> str:
    """The guide image to use: ``image``, or where ``--media-map``/``--media-search`` find it."""
    if "://" in image or os.path.isfile(image):
        return image
    if locator.active:
        try:
            image = locator.locate(url, image).path
        except ConfigError as exc:
            raise _Refused(f"{what}: {exc}") from None
    if not os.path.isfile(image):
        raise _Refused(
            f"{what}: image {display_name(image, 400)} not found; fix the path or remove the guide"
        )
    return image


def _guides_from_metadata(
    loaded: LoadedTimeline, raw: list[Any], locator: MediaLocator
) -> list[GuideSpec]:
    guides = []
    for i, item in enumerate(raw):
        where = f"aleph.guides[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("image"), str):
            raise _Refused(f'{where} must be {{"image": "still.png", "frame": "first"}}')
        image = _require_image(
            media_path(item["image"], loaded.folder), where, locator, item["image"]
        )
        frame = item.get("frame")
        stamp = item.get("timestamp")
        if frame is not None and stamp is not None:
            raise _Refused(f'{where}: give "frame" or "timestamp", not both')
        if frame is not None:
            position: Literal["first", "last"]
            if frame in (0, "0", "first"):
                position = "first"
            elif frame in (-1, "-1", "last"):
                position = "last"
            else:
                raise _Refused(f'{where}: frame must be "first" or "last", not {frame!r}')
            guides.append(GuideSpec(image=image, origin=where, frame=position))
        elif stamp is not None:
            if isinstance(stamp, bool) or not isinstance(stamp, int | float) or stamp < 0:
                raise _Refused(f"{where}: timestamp must be seconds >= 0, not {stamp!r}")
            guides.append(GuideSpec(image=image, origin=where, timestamp=float(stamp)))
        else:
            guides.append(GuideSpec(image=image, origin=where, frame="first"))
    return guides


def _check_color(loaded: LoadedTimeline, settings: PlanSettings) -> list[str]:
    color = settings.marker_color
    if not color or color.upper() in KNOWN_COLORS:
        return []
    for marker in _all_markers(loaded.timeline):
        if color.upper() in _marker_colors(marker):
            return []
    return [
        f"{display_name(loaded.path.name, 120)}: unknown marker colour {color!r}; "
        f"use one of {', '.join(c.lower() for c in KNOWN_COLORS)}"
    ]


def _all_markers(timeline: otio.schema.Timeline) -> Iterator[otio.schema.Marker]:
    yield from items_of(timeline.tracks.markers)
    for child in timeline.tracks.find_children():
        yield from items_of(getattr(child, "markers", ()))


def find_marked_ranges(
    loaded: LoadedTimeline, settings: PlanSettings, *, locator: MediaLocator | None = None
) -> tuple[list[MarkedRange], list[str]]:
    """Every edit-request marker as a :class:`MarkedRange`, plus one-line errors.

    Markers on clips are read in clip time, markers on tracks and on the timeline in record time;
    adapter quirks are undone first. Markers on the guide track are ignored. A marker that
    cannot be used becomes an error line naming file, track, clip and timecode; the rest still
    come back. Ranges are ordered by record time.
    """
    with planning_cache():
        return _find_marked_ranges(loaded, settings, locator or media_locator(settings))


@contextlib.contextmanager
def planning_cache() -> Iterator[None]:
    """Cache track geometry and the timeline's start while the block runs.

    The timeline must not change inside the block. A nested block shares the outer cache.
    """
    if _CACHE.get() is not None:
        yield
        return
    token = _CACHE.set({})
    try:
        yield
    finally:
        _CACHE.reset(token)


def _find_marked_ranges(
    loaded: LoadedTimeline, settings: PlanSettings, locator: MediaLocator
) -> tuple[list[MarkedRange], list[str]]:
    errors = _check_color(loaded, settings)
    ranges: list[MarkedRange] = []
    stack = loaded.timeline.tracks
    video = {index: (track, is_guide) for index, track, is_guide in _video_tracks(loaded, settings)}

    def add(
        marker: otio.schema.Marker,
        track: otio.schema.Track | None,
        clip: otio.schema.Clip | None,
        stack_time: Callable[[], otio.opentime.RationalTime],
        scope: Literal["clip", "track", "stack"],
        build: Any,
    ) -> None:
        # Most markers are not edit requests: their location is not worth formatting.
        try:
            request = _edit_request(marker, settings)
        except _Refused as exc:
            errors.append(f"{_location(loaded, track, clip, stack_time(), marker)}: {exc}")
            return
        if request is None:
            return
        location = _location(loaded, track, clip, stack_time(), marker)
        try:
            if not request.prompt:
                raise _Refused(
                    "the prompt is empty; write it in the marker's name or comment "
                    f"(after {settings.prefix!r})"
                )
            if marker.marked_range.duration.value < 0:
                raise _Refused(
                    f"the marker's duration is negative ({timecode(marker.marked_range.duration)})"
                    "; set its out point after its in point"
                )
            pieces, warnings, anchor = build()
            guides = _guides_from_track(loaded, settings, pieces, locator)
            guides += _guides_from_metadata(loaded, request.guides, locator)
        except _Refused as exc:
            errors.append(f"{location}: {exc}")
            return
        ranges.append(
            MarkedRange(
                prompt=request.prompt,
                options=request.options,
                marker_name=marker.name,
                marker_color=str(marker.color),
                location=location,
                scope=scope,
                pieces=pieces,
                anchor=anchor,
                guides=guides,
                warnings=warnings,
            )
        )

    # Stack (timeline) markers: record time of the whole edit.
    for marker in items_of(stack.markers):
        r = _stack_marker_range(loaded, marker.marked_range)

        def build_stack(r: otio.opentime.TimeRange = r) -> _Built:
            index, track, local = _stack_marker_track(loaded, settings, r)
            return _composition_hits(loaded, index, track, local)

        add(marker, None, None, _known(r.start_time), "stack", build_stack)

    for track_index, track in enumerate(stack):
        if not isinstance(track, otio.schema.Track):
            continue
        is_video = track_index in video
        kind = display_name(str(track.kind).lower())  # from the file: may hold anything
        is_guide = is_video and video[track_index][1]
        if is_guide:
            continue
        for marker in items_of(track.markers):
            r = marker.marked_range
            stack_time = _transformed_time(track, r.start_time, stack)
            if not is_video:
                if _safe_request(marker, settings):
                    errors.append(
                        f"{_location(loaded, track, None, stack_time, marker)}: marker is on "
                        f"an {kind} track; put it on a video track or clip"
                    )
                continue

            def build_track(
                r: otio.opentime.TimeRange = r, ti: int = track_index, t: otio.schema.Track = track
            ) -> _Built:
                return _composition_hits(loaded, ti, t, r)

            add(marker, track, None, _known(stack_time), "track", build_track)
        for clip_index, child in enumerate(track):
            if isinstance(child, otio.schema.Stack):
                for marker in _nested_markers(child):
                    if _safe_request(marker, settings):
                        at = _transformed_time(child, marker.marked_range.start_time, stack)
                        errors.append(
                            f"{_location(loaded, track, None, at, marker)}: marker is inside a "
                            f"nested sequence/compound clip {display_name(child.name or '?')!r}; "
                            f"{_NESTED_FIX}"
                        )
                continue
            if isinstance(child, otio.schema.Gap):
                for marker in items_of(child.markers):
                    if _safe_request(marker, settings):
                        at = _transformed_time(child, marker.marked_range.start_time, stack)
                        errors.append(
                            f"{_location(loaded, track, None, at, marker)}: marker sits on a gap "
                            "(no picture to edit); move it onto a clip"
                        )
                continue
            if not isinstance(child, otio.schema.Clip):
                continue
            for marker in items_of(child.markers):

                def clip_time(
                    m: otio.schema.Marker = marker,
                    t: otio.schema.Track = track,
                    ci: int = clip_index,
                    c: otio.schema.Clip = child,
                ) -> otio.opentime.RationalTime:
                    return _clip_stack_time(loaded, t, ci, c, m)

                if not is_video:
                    if _safe_request(marker, settings):
                        errors.append(
                            f"{_location(loaded, track, child, clip_time(), marker)}: marker is "
                            f"on an {kind} clip; put it on the video clip"
                        )
                    continue

                def build_clip(
                    m: otio.schema.Marker = marker,
                    ti: int = track_index,
                    t: otio.schema.Track = track,
                    ci: int = clip_index,
                    c: otio.schema.Clip = child,
                ) -> _Built:
                    return _clip_marker(loaded, ti, t, ci, c, m)

                add(marker, track, child, clip_time, "clip", build_clip)
    ranges.sort(key=lambda m: (m.stack_start.to_seconds(), m.pieces[0].track_index))
    return ranges, errors


def _stack_marker_range(
    loaded: LoadedTimeline, r: otio.opentime.TimeRange
) -> otio.opentime.TimeRange:
    """A timeline marker's range in stack time (0 = first frame of the edit).

    Some writers (Resolve, unverified) may count timeline markers from the timeline's start
    timecode; such a marker lies past the end of the edit, and moving it back by the start
    timecode puts it inside, so that reading is taken.
    """
    gst = loaded.timeline.global_start_time
    if gst is None or gst.value == 0:
        return r
    stack = loaded.timeline.tracks
    span = stack.trimmed_range()
    if _on(span, r.start_time):
        return r
    shifted = TR(r.start_time - gst.rescaled_to(r.start_time.rate), r.duration)
    return shifted if _on(span, shifted.start_time) else r


def _nested_markers(stack: otio.schema.Stack) -> Iterator[otio.schema.Marker]:
    yield from items_of(stack.markers)
    for child in stack.find_children():
        yield from getattr(child, "markers", [])


def _safe_request(marker: otio.schema.Marker, settings: PlanSettings) -> bool:
    try:
        return _edit_request(marker, settings) is not None
    except _Refused:
        return True
