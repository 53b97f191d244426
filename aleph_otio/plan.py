"""Marked ranges + media facts -> Aleph shots, enforcing the task's limits. Pure: no file I/O.

Every rule that decides what is sent lives here: handles clipped to the media, widening of short
ranges into the surrounding media, splitting of long ranges into consecutive parts, retimed clips
mapped to media frames, guide frames positioned in the input clip, prompts and option limits.
A marker that cannot become a valid shot adds one error line to :attr:`Plan.errors`; the other
markers still plan.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import opentimelineio as otio
from pydantic import ValidationError

from aleph_otio.config import PlanSettings
from aleph_otio.errors import AlephOtioError, ConfigError
from aleph_otio.locate import MediaLocator, media_locator
from aleph_otio.shots import (
    GuideFrame,
    MediaFacts,
    Plan,
    Shot,
    SourceSegment,
    TaskOptions,
    placement,
    shot_id,
)
from aleph_otio.timeline import (
    GuideSpec,
    LoadedTimeline,
    MarkedRange,
    Piece,
    clip_media_path,
    display_name,
    frames_at,
    items_of,
    normalise_rate,
    planning_cache,
    same_rate,
    start_at,
    timecode,
    timecode_of,
    track_label,
)
from aleph_otio.timeline.markers import scan_markers

RT = otio.opentime.RationalTime
MAX_PROMPT = 1000
MAX_GUIDES = 5
MediaFactsFn = Callable[[str], MediaFacts | None]

#: Marker-metadata option names (API spelling and snake_case) -> TaskOptions field.
_OPTION_KEYS = {
    "numberResults": "number_results",
    "number_results": "number_results",
    "outputFormat": "output_format",
    "output_format": "output_format",
    "outputQuality": "output_quality",
    "output_quality": "output_quality",
}


class _Refused(Exception):
    """This marker cannot be planned; the message says why and what to do."""


@dataclass
class _Memo:
    """What the markers of one plan share, worked out once (many markers share a source file,
    a track and the same options)."""

    locator: MediaLocator = field(default_factory=MediaLocator)
    paths: dict[str, str] = field(default_factory=dict)  # target_url -> local path
    notes: dict[str, str] = field(default_factory=dict)  # target_url -> the locator's note
    named: dict[Any, tuple[str, str]] = field(default_factory=dict)  # media found by name
    track_names: dict[int, str] = field(default_factory=dict)  # track index -> label
    options: dict[Any, TaskOptions] = field(default_factory=dict)  # marker options -> TaskOptions


@dataclass(slots=True)
class _Source:
    """One piece of a marked range resolved against its media (frames at media rate)."""

    piece: Piece
    clip_name: str
    track_name: str
    media_path: str
    media_rate: float
    origin: float  # file start timecode as frames at media_rate
    total_frames: int  # frames in the file
    start: int  # first media frame (0-based) of the piece
    count: int  # media frames the piece consumes
    scalar: float
    record_rate: float
    record_start: float
    record_duration: float
    record_tc_frames: float  # absolute record TC of the piece start, frames at record_rate
    clip_rate: float
    clip_start: float
    clip_duration: float
    warnings: tuple[str, ...] = ()

    def segment(self, offset: int = 0, count: int | None = None) -> SourceSegment:
        """The SourceSegment for media frames ``offset``..``offset+count`` of this piece."""
        count = self.count if count is None else count
        whole = offset == 0 and count == self.count

        def to_rate(frames: float, rate: float) -> float:
            # media frames -> frames of the clip's playback at ``rate`` (undo the retime).
            played = frames / self.scalar
            return played if same_rate(self.media_rate, rate) else played * rate / self.media_rate

        rec_off = to_rate(offset, self.record_rate)
        first = self.start + offset
        return SourceSegment(
            clip_name=self.clip_name,
            track_name=self.track_name,
            track_index=self.piece.track_index,
            clip_index=self.piece.clip_index,
            media_path=self.media_path,
            media_rate=self.media_rate,
            available_start=self.origin,
            media_start_frame=first,
            media_frame_count=count,
            record_start=self.record_start + round(rec_off, 6),
            record_duration=self.record_duration
            if whole
            else round(to_rate(count, self.record_rate), 6),
            record_rate=self.record_rate,
            clip_source_start=self.clip_start + round(to_rate(offset, self.clip_rate), 6),
            clip_source_duration=self.clip_duration
            if whole
            else round(to_rate(count, self.clip_rate), 6),
            clip_source_rate=self.clip_rate,
            time_scalar=self.scalar,
            source_tc_in=timecode_of(self.origin + first, self.media_rate),
            source_tc_out=timecode_of(self.origin + first + count, self.media_rate),
            record_tc_in=timecode_of(self.record_tc_frames + rec_off, self.record_rate),
        )


def plan_timeline(
    loaded: LoadedTimeline,
    settings: PlanSettings,
    *,
    media_facts: MediaFactsFn | None = None,
) -> Plan:
    """Plan every edit-request marker of ``loaded`` into Aleph shots.

    ``media_facts(path)`` reports a source file's rate, frame count and start timecode (the
    pipeline passes a probe); without it, or when it returns None, the media reference's
    ``available_range`` is used, and a clip with neither is reported as offline.
    """
    shots: list[Shot] = []
    # One locator for clips and guides: a search folder is read once per plan.
    memo = _Memo(locator=media_locator(settings))
    with planning_cache():
        scan = scan_markers(loaded, settings, locator=memo.locator)
        ranges, errors = scan.ranges, scan.errors
        for number, marked in enumerate(ranges, start=1):
            try:
                shots += _plan_range(loaded, settings, marked, number, media_facts, memo)
            except _Refused as exc:
                errors.append(f"{marked.location}: {exc}")
    return Plan(
        timeline_path=str(loaded.path),
        timeline_name=loaded.timeline.name or loaded.path.stem,
        shots=_merge_identical(shots),
        errors=errors,
        warnings=scan.warnings,
    )


def _merge_identical(shots: list[Shot]) -> list[Shot]:
    """One shot per request and place: identical markers on one clip are one edit request.

    Avid AAFs bring a marker attached to two slots back as two identical markers on one clip.
    The same request at another place (the same source range cut in twice) stays a shot of its
    own: it shares the id, so it is paid once, and is relinked at its own place.
    """
    kept: dict[tuple[str, tuple[tuple[int, int, float], ...]], int] = {}
    merged: list[Shot] = []
    for shot in shots:
        key = (shot.id, placement(shot))
        if key not in kept:
            kept[key] = len(merged)
            merged.append(shot)
            continue
        first = merged[kept[key]]
        note = f"an identical marker ({shot.marker_location}) was merged into this shot"
        merged[kept[key]] = first.model_copy(update={"warnings": [*first.warnings, note]})
    return merged


def _options(
    settings: PlanSettings, overrides: Mapping[str, Any], memo: _Memo | None = None
) -> TaskOptions:
    if memo is None:
        return _make_options(settings, overrides)
    try:
        # Types in the key: True == 1 and 2 == 2.0 as keys, but not as option values.
        key = tuple((k, type(v), v) for k, v in overrides.items())
        known = memo.options.get(key)
    except TypeError:  # an unhashable value (a list, say): refused below anyway
        return _make_options(settings, overrides)
    if known is None:
        known = memo.options[key] = _make_options(settings, overrides)
    return known


def _make_options(settings: PlanSettings, overrides: Mapping[str, Any]) -> TaskOptions:
    values: dict[str, Any] = {
        "number_results": settings.number_results,
        "output_format": settings.output_format,
        "output_quality": settings.output_quality,
    }
    for key, value in overrides.items():
        if key not in _OPTION_KEYS:
            known = "prompt, guides, numberResults, outputFormat, outputQuality"
            raise _Refused(f"unknown option {key!r} in the marker's aleph metadata; known: {known}")
        field = _OPTION_KEYS[key]
        values[field] = (
            value.upper() if field == "output_format" and isinstance(value, str) else value
        )
    try:
        return TaskOptions(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = {v: k for k, v in _OPTION_KEYS.items() if k[0].islower() and "_" not in k}
        where = name.get(str(first["loc"][0]), str(first["loc"][0]))
        raise _Refused(f"option {where}={first.get('input')!r}: {first['msg']}") from None


def _time_scalar(clip: otio.schema.Clip) -> float:
    scalar = 1.0
    for effect in items_of(clip.effects):
        # FreezeFrame is a LinearTimeWarp: test it first.
        if isinstance(effect, otio.schema.FreezeFrame):
            raise _Refused("the clip is a freeze frame; Aleph edits moving footage: remove it")
        if isinstance(effect, otio.schema.LinearTimeWarp):
            if effect.time_scalar < 0:
                raise _Refused("the clip plays in reverse; render the reverse or remove the effect")
            if effect.time_scalar == 0:
                raise _Refused("the clip is a freeze frame; Aleph edits moving footage: remove it")
            scalar *= effect.time_scalar
        elif isinstance(effect, otio.schema.TimeEffect):
            raise _Refused(
                f"the clip has a time effect ({display_name(effect.name or type(effect).__name__)})"
                " that cannot "
                "be mapped to media frames; render it or remove the effect"
            )
    return scalar


#: How to point a plan at media that moved, for messages about missing files.
_MOVED = "moved media: --media-map OLD_FOLDER=NEW_FOLDER, or --media-search FOLDER"


def _searched(memo: _Memo) -> str:
    return f" (nor under {memo.locator.searched()})" if memo.locator.search else ""


def _resolve(
    loaded: LoadedTimeline,
    piece: Piece,
    media_facts: MediaFactsFn | None,
    memo: _Memo,
) -> _Source:
    clip = piece.clip
    clip_name = clip.name
    label = f"clip {display_name(clip_name or '?')}"
    ref = clip.media_reference
    if isinstance(ref, otio.schema.ImageSequenceReference):
        raise _Refused(f"{label}: image-sequence sources are not supported; render it to a movie")
    url = ref.target_url if isinstance(ref, otio.schema.ExternalReference) else None
    path = memo.paths.get(url) if url else None
    if path is None:
        path = clip_media_path(clip, loaded.folder)
        if url and path is not None:
            if memo.locator.active and "://" not in path:
                try:
                    located = memo.locator.locate(url, path)
                except ConfigError as exc:  # several files match: this marker, not the plan
                    raise _Refused(f"{label}: {exc}") from None
                path = located.path
                if located.note:
                    memo.notes[url] = located.note
            memo.paths[url] = path
    named_note: str | None = None
    if path is None and (url is None and not isinstance(ref, otio.schema.GeneratorReference)):
        path, named_note = _named_media(loaded, clip, label, media_facts, memo)
    if path is None:
        raise _Refused(
            f"{label} has no source media (offline or {type(ref).__name__}); relink it to a file"
        )
    shown = display_name(path, 400)  # from the timeline: may hold control characters
    if "://" in path:
        # The cutter reads local files only; failing here beats "file not found" after paying
        # for the other shots' uploads.
        raise _Refused(
            f"{label}: media {shown} is a remote URL; aleph-otio cuts local files: download it "
            "and relink the clip to the local copy"
        )
    scalar = _time_scalar(clip)
    try:
        facts = media_facts(path) if media_facts is not None else None
    except AlephOtioError as exc:  # an unreadable file refuses this marker, not the plan
        raise _Refused(f"{label}: {exc}") from None
    avail = ref.available_range
    warnings: list[str] = [f"{label}: {memo.notes[url]}"] if url in memo.notes else []
    if named_note:
        warnings.append(f"{label}: {named_note}")
    if facts is not None:
        if not facts.has_video or facts.frame_count <= 0 or facts.rate <= 0:
            raise _Refused(f"{label}: media {shown} has no video frames; relink it")
        # Probed media (media.probe.MediaInfo) says whether frames are evenly spaced; frame
        # numbers then do not map to timecode, so no cut or relink could be frame-accurate.
        # (Read from __dict__: a bare MediaFacts has no such field, and asking a pydantic
        # model for a missing attribute is slow.)
        if facts.__dict__.get("variable_frame_rate", False):
            raise _Refused(
                f"{label}: media {shown} has a variable frame rate; frame-accurate cuts need "
                "constant frame rate media: transcode it to CFR and relink the clip"
            )
        # What probing found worth saying (HDR media, an unreadable timecode) goes with the shot.
        warnings += [f"{label}: {w}" for w in facts.__dict__.get("warnings", ())]
        rate = normalise_rate(facts.rate)
        total = facts.frame_count
        origin = (
            frames_at(avail.start_time, rate) if avail is not None else float(facts.start_frame)
        )
        if facts.start_frame and abs(origin - facts.start_frame) >= 1:
            # Files without timecode (start_frame 0) are normal; a different one is suspicious.
            warnings.append(
                f"{label}: {shown} starts at {timecode(RT(facts.start_frame, rate))} but the "
                f"timeline says {timecode(RT(origin, rate))}; frames follow the timeline"
            )
    elif avail is not None:
        rate = normalise_rate(avail.start_time.rate)
        total = round(frames_at(avail.duration, rate))
        origin = float(avail.start_time.value)
        if media_facts is not None:
            # Planned from the timeline alone (an estimate can be made without the media), but
            # the cut will need the file: say so now, not after other shots were paid for.
            warnings.append(
                f"{label}: media {shown} not found{_searched(memo)}; planned from the "
                f"timeline, but the clip cannot be cut until it is there ({_MOVED})"
            )
    else:
        raise _Refused(
            f"{label}: media {shown} is missing or offline (cannot read it and the timeline gives "
            f"no available range{_searched(memo)}); check the path or relink the clip ({_MOVED})"
        )
    src = piece.source_range
    clip0 = clip.trimmed_range().start_time
    first = frames_at(clip0, rate) - origin + frames_at(src.start_time - clip0, rate) * scalar
    start = round(first)
    count = max(1, round(frames_at(src.duration, rate) * scalar))
    if start < 0 or start + count > total:
        raise _Refused(
            f"{label} needs media frames {start}-{start + count - 1} but {shown} has frames "
            f"0-{total - 1} (starting at {timecode(RT(origin, rate))}); the clip points past "
            "its media: relink or retrim it"
        )
    record = piece.record_range
    record_rate = normalise_rate(record.start_time.rate)
    stack_start = piece.stack_range.start_time
    gst = start_at(loaded.timeline, stack_start.rate)
    absolute = stack_start + gst if gst is not None else stack_start
    clip_rate = normalise_rate(src.start_time.rate)
    track_name = memo.track_names.get(piece.track_index)
    if track_name is None:
        track_name = memo.track_names[piece.track_index] = track_label(loaded.timeline, piece.track)
    return _Source(
        piece=piece,
        clip_name=clip_name or "",
        track_name=track_name,
        media_path=path,
        media_rate=rate,
        origin=origin,
        total_frames=total,
        start=start,
        count=count,
        scalar=scalar,
        record_rate=record_rate,
        record_start=frames_at(record.start_time, record_rate),
        record_duration=frames_at(record.duration, record_rate),
        record_tc_frames=frames_at(absolute, record_rate),
        clip_rate=clip_rate,
        clip_start=frames_at(src.start_time, clip_rate),
        clip_duration=frames_at(src.duration, clip_rate),
        warnings=tuple(warnings),
    )


def _named_media(
    loaded: LoadedTimeline,
    clip: otio.schema.Clip,
    label: str,
    media_facts: MediaFactsFn | None,
    memo: _Memo,
) -> tuple[str | None, str | None]:
    """(path, note) of the media of a clip that names no file, found by the names its file's
    dialect gives it under ``--media-search``; None when it gives none. Refuses with what to
    do when none is found."""
    names = loaded.dialect.media_names(clip)
    if not names:
        return None, None
    used = clip.trimmed_range()
    key = (tuple(names), used.start_time.to_seconds(), used.duration.to_seconds())
    known = memo.named.get(key)
    if known is not None:
        return known
    # The hint names the most file-like name (a SOURCE FILE over a clip name with spaces).
    first = min((n for n, _ in names), key=lambda n: ("." not in n, " " in n.strip()))
    holds = first if "." in first else f"{first}.mov"
    where = f"pass --media-search with the folder that holds {display_name(holds, 120)}"
    scalar = _time_scalar(clip)  # a reverse or freeze is refused for what it is, first
    if not memo.locator.search:
        raise _Refused(f"{label}: this {loaded.dialect.file_kind} names no media file: {where}")

    def holds_source(candidate: Any) -> bool | None:
        try:
            facts = media_facts(str(candidate)) if media_facts is not None else None
        except AlephOtioError:
            return False
        if facts is None or facts.rate <= 0:
            return None
        rate = normalise_rate(facts.rate)
        start = frames_at(used.start_time, rate)
        end = start + frames_at(used.duration, rate) * scalar
        return bool(
            facts.start_frame <= start + 1e-6
            and end <= facts.start_frame + facts.frame_count + 1e-6
        )

    try:
        located = memo.locator.find_named(names, holds_source)
    except ConfigError as exc:
        raise _Refused(f"{label}: {exc}") from None
    if located is None:
        tried = ", ".join(f"{display_name(n, 60)} ({w})" for n, w in names)
        raise _Refused(
            f"{label}: this {loaded.dialect.file_kind} names no media file and no file is "
            f"named {tried} under {memo.locator.searched()}: {where}"
        )
    memo.named[key] = (located.path, located.note or "")
    return located.path, located.note


def _guide_index(spec: GuideSpec, sources: list[_Source], head: int, core: int) -> int:
    """Index of the input-clip frame a guide constrains (0 = first frame, head included)."""
    if spec.frame == "first":
        return 0
    if spec.frame == "last":
        return -1
    rate = sources[0].media_rate
    if spec.timestamp is not None:
        offset = round(spec.timestamp * rate)
        if offset > core:
            raise _Refused(
                f"guide {spec.origin}: timestamp {spec.timestamp}s is past the marked range "
                f"({core / rate:.2f}s); use a smaller timestamp"
            )
        return head + min(offset, core - 1)
    assert spec.stack_time is not None
    before = 0
    for src in sources:
        span = src.piece.stack_range
        if span.start_time <= spec.stack_time < span.end_time_exclusive():
            played = frames_at(spec.stack_time - span.start_time, src.media_rate)
            return head + before + min(src.count - 1, round(played * src.scalar))
        before += src.count
    return head + core - 1


def _split(total: int, max_frames: int, min_frames: int) -> list[tuple[int, int]]:
    """Consecutive [start, end) parts of at most ``max_frames``, none below ``min_frames``."""
    sizes = [max_frames] * (total // max_frames)
    rest = total - sum(sizes)
    if rest:
        if rest < min_frames and sizes:
            sizes[-1] -= min_frames - rest
            rest = min_frames
        sizes.append(rest)
    parts, start = [], 0
    for size in sizes:
        parts.append((start, start + size))
        start += size
    return parts


def _plan_range(
    loaded: LoadedTimeline,
    settings: PlanSettings,
    marked: MarkedRange,
    number: int,
    media_facts: MediaFactsFn | None,
    memo: _Memo,
) -> list[Shot]:
    prompt = marked.prompt
    if not 1 <= len(prompt) <= MAX_PROMPT:
        raise _Refused(
            f"the prompt is {len(prompt)} characters; Aleph accepts 1-{MAX_PROMPT}: shorten it"
        )
    options = _options(settings, marked.options, memo)
    if len(marked.guides) > MAX_GUIDES:
        raise _Refused(
            f"{len(marked.guides)} guide frames; Aleph accepts at most {MAX_GUIDES}: "
            "remove some stills from the guide track or the marker's aleph.guides"
        )
    sources = [_resolve(loaded, piece, media_facts, memo) for piece in marked.pieces]
    rate = sources[0].media_rate
    for src in sources[1:]:
        if not same_rate(src.media_rate, rate):
            raise _Refused(
                f"the range crosses a cut between media at {rate:g} fps "
                f"({display_name(sources[0].clip_name)}) and {src.media_rate:g} fps "
                f"({display_name(src.clip_name)}); conform the rates or split the "
                "marker at the cut"
            )
    warnings = list(marked.warnings) + [w for src in sources for w in src.warnings]
    core = sum(s.count for s in sources)
    room_head = sources[0].start
    room_tail = sources[-1].total_frames - (sources[-1].start + sources[-1].count)
    min_frames = math.ceil(settings.min_seconds * rate - 1e-6)
    max_frames = math.floor(settings.max_seconds * rate + 1e-6)
    # Handles beyond a quarter part would leave parts without marked frames.
    cap = max(0, max_frames // 4)
    head = min(settings.handles, room_head, cap)
    tail = min(settings.handles, room_tail, cap)
    if head + core + tail < min_frames:
        need = min_frames - (head + core + tail)
        more_head = min(room_head - head, (need + 1) // 2)
        more_tail = min(room_tail - tail, need - more_head)
        more_head = min(room_head - head, need - more_tail)
        if more_head + more_tail < need:
            have = (head + core + tail + more_head + more_tail) / rate
            raise _Refused(
                f"the range is {core / rate:.2f}s; Aleph needs at least {settings.min_seconds:g}s "
                f"and the media around it gives only {have:.2f}s: lengthen the marker or use a "
                "longer take"
            )
        head += more_head
        tail += more_tail
        warnings.append(
            f"widened to {settings.min_seconds:g}s with {more_head} frame(s) before and "
            f"{more_tail} after the marked range"
        )
    total = head + core + tail
    if total > max_frames and not settings.split_long:
        raise _Refused(
            f"the range is {total / rate:.2f}s; Aleph accepts at most {settings.max_seconds:g}s: "
            "shorten the marker or allow splitting"
        )
    guide_at = []
    for spec in marked.guides:
        index = _guide_index(spec, sources, head, core)
        guide_at.append((total - 1 if index < 0 else index, spec))
    guide_at.sort(key=lambda item: item[0])

    parts = _split(total, max_frames, min_frames) if total > max_frames else [(0, total)]
    clip_names = "+".join(dict.fromkeys(s.clip_name or "?" for s in sources))
    shots = []
    for part, (a, b) in enumerate(parts, start=1):
        segments = []
        offset = head
        for src in sources:
            lo, hi = max(a, offset), min(b, offset + src.count)
            if hi > lo:
                segments.append(src.segment(lo - offset, hi - lo))
            offset += src.count
        part_head = max(0, min(b, head) - a)
        part_tail = max(0, b - max(a, head + core))
        guides = [
            _guide_frame(spec, index - a, b - a, rate) for index, spec in guide_at if a <= index < b
        ]
        name = f"sh{number:03d} {clip_names}" + (
            f" part {part}/{len(parts)}" if len(parts) > 1 else ""
        )
        shots.append(
            Shot(
                id=shot_id(prompt, segments, guides, part_head, part_tail, options),
                name=name,
                prompt=prompt,
                segments=segments,
                guides=guides,
                head_frames=part_head,
                tail_frames=part_tail,
                options=options,
                marker_name=marked.marker_name,
                marker_location=marked.location,
                part=part,
                parts=len(parts),
                warnings=warnings,
            )
        )
    return shots


def _guide_frame(spec: GuideSpec, index: int, frames: int, rate: float) -> GuideFrame:
    if index == 0:
        return GuideFrame(image=spec.image, frame="first", origin=spec.origin)
    if index == frames - 1:
        return GuideFrame(image=spec.image, frame="last", origin=spec.origin)
    stamp = min(round(index / rate, 2), math.floor(frames / rate * 100) / 100)
    return GuideFrame(image=spec.image, timestamp=stamp, origin=spec.origin)
