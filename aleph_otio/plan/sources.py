"""Each piece of a marked range resolved against its media: file, rate, timecode, frames."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import opentimelineio as otio

from aleph_otio.errors import AlephOtioError, ConfigError
from aleph_otio.locate import MediaLocator
from aleph_otio.shots import (
    MediaFacts,
    SourceSegment,
    TaskOptions,
)
from aleph_otio.timeline import (
    LoadedTimeline,
    Piece,
    clip_media_path,
    display_name,
    frames_at,
    items_of,
    normalise_rate,
    same_rate,
    start_at,
    timecode,
    timecode_of,
    track_label,
)
from aleph_otio.timeline.sequences import (
    SequenceError,
    bracket_sequence,
    number_ranges,
    sequence_of_reference,
)

RT = otio.opentime.RationalTime


MediaFactsFn = Callable[[str], MediaFacts | None]


class Refused(Exception):
    """This marker cannot be planned; the message says why and what to do."""


@dataclass
class Memo:
    """What the markers of one plan share, worked out once (many markers share a source file,
    a track and the same options)."""

    locator: MediaLocator = field(default_factory=MediaLocator)
    paths: dict[str, str] = field(default_factory=dict)  # target_url -> local path
    notes: dict[str, str] = field(default_factory=dict)  # target_url -> the locator's note
    named: dict[Any, tuple[str, str]] = field(default_factory=dict)  # media found by name
    track_names: dict[int, str] = field(default_factory=dict)  # track index -> label
    options: dict[Any, TaskOptions] = field(default_factory=dict)  # marker options -> TaskOptions


@dataclass(slots=True)
class Source:
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
    missing: tuple[int, ...] = ()  # media frames not on disk (an image sequence's gaps)
    tc_origin: float | None = None  # what source time code shows, when not ``origin``
    drop_frame: bool = False  # the timeline counts 29.97/59.94 time code drop-frame

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
        tc = self.origin if self.tc_origin is None else self.tc_origin
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
            source_tc_in=timecode_of(tc + first, self.media_rate, drop_frame=self.drop_frame),
            source_tc_out=timecode_of(
                tc + first + count, self.media_rate, drop_frame=self.drop_frame
            ),
            record_tc_in=timecode_of(
                self.record_tc_frames + rec_off, self.record_rate, drop_frame=self.drop_frame
            ),
        )


def time_scalar(clip: otio.schema.Clip) -> float:
    scalar = 1.0
    for effect in items_of(clip.effects):
        # FreezeFrame is a LinearTimeWarp: test it first.
        if isinstance(effect, otio.schema.FreezeFrame):
            raise Refused("the clip is a freeze frame; Aleph edits moving footage: remove it")
        if isinstance(effect, otio.schema.LinearTimeWarp):
            if effect.time_scalar < 0:
                raise Refused("the clip plays in reverse; render the reverse or remove the effect")
            if effect.time_scalar == 0:
                raise Refused("the clip is a freeze frame; Aleph edits moving footage: remove it")
            scalar *= effect.time_scalar
        elif isinstance(effect, otio.schema.TimeEffect):
            raise Refused(
                f"the clip has a time effect ({display_name(effect.name or type(effect).__name__)})"
                " that cannot "
                "be mapped to media frames; render it or remove the effect"
            )
    return scalar


#: How to point a plan at media that moved, for messages about missing files.
_MOVED = "moved media: --media-map OLD_FOLDER=NEW_FOLDER, or --media-search FOLDER"


def _searched(memo: Memo) -> str:
    return f" (nor under {memo.locator.searched()})" if memo.locator.search else ""


def resolve_piece(
    loaded: LoadedTimeline,
    piece: Piece,
    media_facts: MediaFactsFn | None,
    memo: Memo,
) -> Source:
    clip = piece.clip
    clip_name = clip.name
    label = f"clip {display_name(clip_name or '?')}"
    ref = clip.media_reference
    url = ref.target_url if isinstance(ref, otio.schema.ExternalReference) else None
    path = memo.paths.get(url) if url else None
    if isinstance(ref, otio.schema.ImageSequenceReference):
        path, url = _sequence_path(loaded, clip, ref, label, memo)
    elif path is None:
        path = clip_media_path(clip, loaded.folder)
        if url and path is not None:
            if memo.locator.active and "://" not in path:
                try:
                    located = memo.locator.locate(url, path)
                except ConfigError as exc:  # several files match: this marker, not the plan
                    raise Refused(f"{label}: {exc}") from None
                path = located.path
                if located.note:
                    memo.notes[url] = located.note
            memo.paths[url] = path
    if path is not None and isinstance(ref, otio.schema.ExternalReference):
        rate_hint = avail_rate(ref, clip)
        bracket = bracket_sequence(path, rate_hint) if "[" in path else None
        if bracket is not None:
            path = str(bracket)
    named_note: str | None = None
    if path is None and (url is None and not isinstance(ref, otio.schema.GeneratorReference)):
        path, named_note = _named_media(loaded, clip, label, media_facts, memo)
    if path is None:
        raise Refused(
            f"{label} has no source media (offline or {type(ref).__name__}); relink it to a file"
        )
    shown = display_name(path, 400)  # from the timeline: may hold control characters
    if "://" in path:
        # The cutter reads local files only; failing here beats "file not found" after paying
        # for the other shots' uploads.
        raise Refused(
            f"{label}: media {shown} is a remote URL; aleph-otio cuts local files: download it "
            "and relink the clip to the local copy"
        )
    scalar = time_scalar(clip)
    df = loaded.reading.drop_frame
    try:
        facts = media_facts(path) if media_facts is not None else None
    except AlephOtioError as exc:  # an unreadable file refuses this marker, not the plan
        raise Refused(f"{label}: {exc}") from None
    avail = ref.available_range
    warnings: list[str] = [f"{label}: {memo.notes[url]}"] if url in memo.notes else []
    if named_note:
        warnings.append(f"{label}: {named_note}")
    if facts is not None:
        if not facts.has_video or facts.frame_count <= 0 or facts.rate <= 0:
            raise Refused(f"{label}: media {shown} has no video frames; relink it")
        # Probed media (media.probe.MediaInfo) says whether frames are evenly spaced; frame
        # numbers then do not map to timecode, so no cut or relink could be frame-accurate.
        # (Read from __dict__: a bare MediaFacts has no such field, and asking a pydantic
        # model for a missing attribute is slow.)
        if facts.__dict__.get("variable_frame_rate", False):
            raise Refused(
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
            file_tc = timecode(RT(facts.start_frame, rate), drop_frame=df)
            warnings.append(
                f"{label}: {shown} starts at {file_tc} but the timeline says "
                f"{timecode(RT(origin, rate), drop_frame=df)}; frames follow the timeline"
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
        raise Refused(
            f"{label}: media {shown} is missing or offline (cannot read it and the timeline gives "
            f"no available range{_searched(memo)}); check the path or relink the clip ({_MOVED})"
        )
    src = piece.source_range
    clip0 = clip.trimmed_range().start_time
    first = frames_at(clip0, rate) - origin + frames_at(src.start_time - clip0, rate) * scalar
    start = round(first)
    count = max(1, round(frames_at(src.duration, rate) * scalar))
    if start < 0 or start + count > total:
        at = timecode(RT(origin, rate), drop_frame=df)
        raise Refused(
            f"{label} needs media frames {start}-{start + count - 1} but {shown} has frames "
            f"0-{total - 1} (starting at {at}); the clip points past its media: relink or "
            "retrim it"
        )
    missing: tuple[int, ...] = ()
    if facts is not None and facts.__dict__.get("missing_frames"):
        first_number = facts.__dict__["first_number"]
        missing = tuple(n - first_number for n in facts.__dict__["missing_frames"])
        needed = [m + first_number for m in missing if start <= m < start + count]
        if needed:
            raise Refused(
                f"{label}: {shown} is missing frame(s) {number_ranges(needed)} of the "
                f"{start + first_number}-{start + count - 1 + first_number} the marked range "
                "needs; render or copy them (nothing was sent)"
            )
    tc_origin = origin
    if (
        facts is not None
        and facts.start_frame
        and facts.__dict__.get("first_number") is not None
        and abs(origin - facts.__dict__["first_number"]) < 1
    ):
        # The timeline counts the plate by file number (1001), as OTIO does for a sequence
        # without time code; the files' headers know the time code, and that is what to show.
        tc_origin = float(facts.start_frame)
    record = piece.record_range
    record_rate = normalise_rate(record.start_time.rate)
    stack_start = piece.stack_range.start_time
    gst = start_at(loaded.timeline, stack_start.rate)
    absolute = stack_start + gst if gst is not None else stack_start
    clip_rate = normalise_rate(src.start_time.rate)
    track_name = memo.track_names.get(piece.track_index)
    if track_name is None:
        track_name = memo.track_names[piece.track_index] = track_label(loaded.timeline, piece.track)
    return Source(
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
        missing=missing,
        tc_origin=tc_origin,
        drop_frame=df,
    )


def avail_rate(ref: otio.core.MediaReference, clip: otio.schema.Clip) -> float:
    """The rate a reference's frames run at, as the timeline says (0: it does not say)."""
    if ref.available_range is not None:
        return float(ref.available_range.start_time.rate)
    return float(clip.source_range.start_time.rate) if clip.source_range is not None else 0.0


def _sequence_path(
    loaded: LoadedTimeline,
    clip: otio.schema.Clip,
    ref: otio.schema.ImageSequenceReference,
    label: str,
    memo: Memo,
) -> tuple[str, str]:
    """(source path, key) of an image-sequence clip: its files where the reference says, or
    where ``--media-map``/``--media-search`` finds its first file."""
    key = f"{ref.target_url_base}\0{ref.name_prefix}\0{ref.name_suffix}\0{ref.start_frame}"
    known = memo.paths.get(key)
    if known is not None:
        return known, key
    fallback = clip.source_range.start_time.rate if clip.source_range is not None else None
    try:
        pattern = sequence_of_reference(ref, loaded.folder, fallback)
    except SequenceError as exc:
        raise Refused(f"{label}: {exc}") from None
    if memo.locator.active:
        first_file = str(pattern.file_for(0))
        try:
            located = memo.locator.locate(ref.target_url_for_image_number(0), first_file)
        except ConfigError as exc:
            raise Refused(f"{label}: {exc}") from None
        if located.path != first_file and Path(located.path).name == Path(first_file).name:
            pattern = dataclasses.replace(pattern, folder=str(Path(located.path).parent))
            memo.notes[key] = f"sequence found in {pattern.folder}"
    memo.paths[key] = str(pattern)
    return str(pattern), key


def _named_media(
    loaded: LoadedTimeline,
    clip: otio.schema.Clip,
    label: str,
    media_facts: MediaFactsFn | None,
    memo: Memo,
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
    scalar = time_scalar(clip)  # a reverse or freeze is refused for what it is, first
    if not memo.locator.search:
        raise Refused(f"{label}: this {loaded.dialect.file_kind} names no media file: {where}")

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
        raise Refused(f"{label}: {exc}") from None
    if located is None:
        tried = ", ".join(f"{display_name(n, 60)} ({w})" for n, w in names)
        raise Refused(
            f"{label}: this {loaded.dialect.file_kind} names no media file and no file is "
            f"named {tried} under {memo.locator.searched()}: {where}"
        )
    memo.named[key] = (located.path, located.note or "")
    return located.path, located.note


def source_reel(source: Source) -> str:
    """The source's reel (tape) name: the EDL's, else the media file's name without extension."""
    cmx = source.piece.clip.metadata.get("cmx_3600")
    reel = cmx.get("reel") if hasattr(cmx, "get") else None
    if isinstance(reel, str) and reel and reel.upper() not in ("AX", "BL"):
        return reel
    stem = source.media_path.replace("\\", "/").rsplit("/", 1)[-1]
    return stem.rsplit(".", 1)[0] if "." in stem else stem
