"""One marked range -> its shots: handles, widening, splitting into parts, guide frames."""

from __future__ import annotations

import math

from aleph_otio.config import PlanSettings
from aleph_otio.naming import (
    NameFields,
    marker_id,
    part_name,
    shot_name,
)
from aleph_otio.plan.options import task_options
from aleph_otio.plan.sources import MediaFactsFn, Memo, Refused, Source, resolve_piece, source_reel
from aleph_otio.shots import (
    GuideFrame,
    Shot,
    shot_id,
)
from aleph_otio.timeline import (
    GuideSpec,
    LoadedTimeline,
    MarkedRange,
    display_name,
    frames_at,
    same_rate,
)

MAX_PROMPT = 1000


MAX_GUIDES = 5


def guide_index(spec: GuideSpec, sources: list[Source], head: int, core: int) -> int:
    """Index of the input-clip frame a guide constrains (0 = first frame, head included)."""
    if spec.frame == "first":
        return 0
    if spec.frame == "last":
        return -1
    rate = sources[0].media_rate
    if spec.timestamp is not None:
        offset = round(spec.timestamp * rate)
        if offset > core:
            raise Refused(
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


def plan_range(
    loaded: LoadedTimeline,
    settings: PlanSettings,
    marked: MarkedRange,
    number: int,
    media_facts: MediaFactsFn | None,
    memo: Memo,
) -> list[Shot]:
    prompt = marked.prompt
    if not 1 <= len(prompt) <= MAX_PROMPT:
        raise Refused(
            f"the prompt is {len(prompt)} characters; Aleph accepts 1-{MAX_PROMPT}: shorten it"
        )
    options = task_options(settings, marked.options, memo)
    if len(marked.guides) > MAX_GUIDES:
        raise Refused(
            f"{len(marked.guides)} guide frames; Aleph accepts at most {MAX_GUIDES}: "
            "remove some stills from the guide track or the marker's aleph.guides"
        )
    sources = [resolve_piece(loaded, piece, media_facts, memo) for piece in marked.pieces]
    rate = sources[0].media_rate
    for src in sources[1:]:
        if not same_rate(src.media_rate, rate):
            raise Refused(
                f"the range crosses a cut between media at {rate:g} fps "
                f"({display_name(sources[0].clip_name)}) and {src.media_rate:g} fps "
                f"({display_name(src.clip_name)}); conform the rates or split the "
                "marker at the cut"
            )
    warnings = list(marked.warnings) + [w for src in sources for w in src.warnings]
    step = send_step(rate, settings.max_fps)
    if step > 1:
        warnings.append(
            f"{rate:g} fps is above the {settings.max_fps:g} fps Aleph takes: sent at "
            f"{rate / step:g} fps (every second frame); the result is returned at {rate:g} fps"
        )
    core = sum(s.count for s in sources)
    room_head, room_tail = _room(sources[0], sources[-1])
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
            raise Refused(
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
    full_head, full_tail = sources[0].start, room_tail_of(sources[-1])
    if head < min(settings.handles, cap, full_head):
        warnings.append(f"handles before the range cut to {head} frame(s): a file is missing")
    if tail < min(settings.handles, cap, full_tail):
        warnings.append(f"handles after the range cut to {tail} frame(s): a file is missing")
    total = head + core + tail
    if total > max_frames and not settings.split_long:
        raise Refused(
            f"the range is {total / rate:.2f}s; Aleph accepts at most {settings.max_seconds:g}s: "
            "shorten the marker or allow splitting"
        )
    guide_at = []
    for spec in marked.guides:
        index = guide_index(spec, sources, head, core)
        guide_at.append((total - 1 if index < 0 else index, spec))
    guide_at.sort(key=lambda item: item[0])

    parts = _split(total, max_frames, min_frames) if total > max_frames else [(0, total)]
    base_name = shot_name(
        NameFields(
            sequence=loaded.timeline.name or loaded.path.stem,
            track=sources[0].track_name,
            clip=sources[0].clip_name,
            reel=source_reel(sources[0]),
            marker=marker_id(marked.marker_name, prompt, settings.prefix),
            index=number,
        ),
        order=settings.shot_names,
        regex=settings.shot_regex,
        template=settings.shot_template,
    )
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
        name = part_name(base_name, part, len(parts))
        shots.append(
            Shot(
                id=shot_id(prompt, segments, guides, part_head, part_tail, options, send_step=step),
                name=name,
                prompt=prompt,
                segments=segments,
                guides=guides,
                head_frames=part_head,
                tail_frames=part_tail,
                options=options,
                marker_name=marked.marker_name,
                reel="+".join(dict.fromkeys(source_reel(src) for src in sources)),
                marker_location=marked.location,
                part=part,
                parts=len(parts),
                warnings=warnings,
                send_step=step,
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


def send_step(rate: float, max_fps: float) -> int:
    """Source frames per frame sent: 1, or 2 for a source up to twice ``max_fps`` (50, 59.94,
    60 fps at the default 30). Faster sources are refused: every third or fourth frame would
    move in jumps that no edit of the result can restore."""
    if rate <= max_fps + 1e-6:
        return 1
    if rate / 2 <= max_fps + 1e-6:
        return 2
    raise Refused(
        f"the source runs at {rate:g} fps; Aleph takes at most {max_fps:g} fps (Runway's stated "
        f"input limit) and half of {rate:g} is still {rate / 2:g}: conform the clip to "
        f"{max_fps:g} fps or less (or to twice that) and relink it, or raise --max-fps"
    )


def room_tail_of(src: Source) -> int:
    """Media frames after the piece, to the end of its file."""
    return src.total_frames - (src.start + src.count)


def _room(first: Source, last: Source) -> tuple[int, int]:
    """Frames free for handles before the first piece and after the last: to the file's ends,
    or to the nearest file missing from an image sequence (handles never span a gap)."""
    head = first.start - 1 - max((m for m in first.missing if m < first.start), default=-1)
    end = last.start + last.count
    tail = min((m for m in last.missing if m >= end), default=last.total_frames) - end
    return head, tail
