"""Relinking over a copy of the timeline: each result split back into its segments' clips, then
placed as version tracks (here) or inside the original clips (`alternates`)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

import opentimelineio as otio

from aleph_otio.errors import RelinkError
from aleph_otio.relink.alternates import relink_references
from aleph_otio.relink.pieces import Piece, letter
from aleph_otio.relink.references import (
    METADATA_KEY,
    RelinkMode,
    RelinkResult,
    UrlStyle,
    check_result,
    describe,
    provenance,
    result_reference,
)
from aleph_otio.shots import Shot, SourceSegment, placement

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange

_VERSION_RE = re.compile(r"^ALEPH v(\d+)")


def _locate(
    timeline: otio.schema.Timeline, shot: Shot, segment: SourceSegment
) -> tuple[otio.schema.Track, otio.schema.Clip]:
    tracks = timeline.tracks
    where = f"{describe(shot, segment)}: timeline {timeline.name!r}"
    if not 0 <= segment.track_index < len(tracks):
        raise RelinkError(
            f"{where} has no track #{segment.track_index}; relink against the timeline the plan "
            "was made from"
        )
    track = tracks[segment.track_index]
    if not isinstance(track, otio.schema.Track) or track.kind != otio.schema.TrackKind.Video:
        raise RelinkError(
            f"{where}: item #{segment.track_index} is not a video track; relink against the "
            "timeline the plan was made from"
        )
    if not 0 <= segment.clip_index < len(track):
        raise RelinkError(
            f"{where}: track {track.name!r} has no item #{segment.clip_index}; relink against the "
            "timeline the plan was made from"
        )
    clip = track[segment.clip_index]
    if not isinstance(clip, otio.schema.Clip) or clip.name != segment.clip_name:
        found = clip.name if isinstance(clip, otio.schema.Clip) else type(clip).__name__
        raise RelinkError(
            f"{where}: item #{segment.clip_index} of track {track.name!r} is {found!r}, not clip "
            f"{segment.clip_name!r}; relink against the timeline the plan was made from"
        )
    return track, clip


def _piece_source_range(result: RelinkResult, index: int) -> otio.opentime.TimeRange:
    """source_range of piece ``index``, in the time code of its segment-aligned reference."""
    segment = result.shot.segments[index]
    media_start = RT(segment.available_start + segment.media_start_frame, segment.media_rate)
    original = RT(segment.clip_source_start, segment.clip_source_rate)
    half_frame = 0.5 / segment.media_rate
    if abs((original - media_start).to_seconds()) < half_frame:
        # Keep the original's exact value (and rate): the version clip's source_range then
        # *equals* the original's, which is what conform tools compare.
        start = original
    else:
        # Part of a retimed clip: OTIO measures the part's start unscaled from the clip's
        # start, the media frame it shows is scaled; the version clip starts on that frame.
        start = media_start.rescaled_to(segment.clip_source_rate)
    return TR(start, RT(segment.clip_source_duration, segment.clip_source_rate))


def _record_range(
    track: otio.schema.Track, clip: otio.schema.Clip, segment: SourceSegment
) -> otio.opentime.TimeRange:
    """Where the segment sits in the track's (untrimmed) time, at the record rate."""
    rate = segment.record_rate
    clip_in_track = track.range_of_child(clip)
    offset = (
        RT(segment.clip_source_start, segment.clip_source_rate) - clip.trimmed_range().start_time
    )
    start = (clip_in_track.start_time + offset).rescaled_to(rate).round()
    duration = RT(segment.clip_source_duration, segment.clip_source_rate).rescaled_to(rate).round()
    return TR(start, duration)


def _speed_effects(clip: otio.schema.Clip) -> list[otio.schema.Effect]:
    return [fx.deepcopy() for fx in clip.effects if isinstance(fx, otio.schema.LinearTimeWarp)]


def _overlaps(a: otio.opentime.TimeRange, b: otio.opentime.TimeRange) -> bool:
    return bool(a.start_time < b.end_time_exclusive() and b.start_time < a.end_time_exclusive())


def _next_track_version(timeline: otio.schema.Timeline) -> int:
    numbers = [
        int(m.group(1)) for track in timeline.tracks if (m := _VERSION_RE.match(track.name or ""))
    ]
    return max(numbers, default=0) + 1


def _version_track(
    name: str,
    source: otio.schema.Track,
    pieces: list[Piece],
    version: str,
    mode_meta: dict[str, Any],
    url_style: UrlStyle,
) -> otio.schema.Track:
    track = otio.schema.Track(name=name, kind=otio.schema.TrackKind.Video)
    if source.source_range is not None:
        # Same track-time origin as the source (EDL reads start at -record TC).
        track.source_range = source.source_range
    track.metadata[METADATA_KEY] = {"version": version, "source_track": source.name, **mode_meta}
    # FCP 7 XML has no track name of its own; its OTIO adapter writes this metadata as the
    # track's <name> and reads it back as the name, so versions stay recognisable.
    track.metadata["fcp_xml"] = {"name": name}
    rate = pieces[0].segment.record_rate
    cursor = RT(0, rate)
    for piece in sorted(pieces, key=lambda p: p.record.start_time.to_seconds()):
        start = piece.record.start_time
        if start > cursor:
            track.append(
                otio.schema.Gap(source_range=TR(RT(0, rate), (start - cursor).rescaled_to(rate)))
            )
        result = piece.result
        clip = otio.schema.Clip(
            name=_clip_name(piece, version),
            media_reference=result_reference(
                result, segment_index=piece.index, url_style=url_style
            ),
            source_range=_piece_source_range(result, piece.index),
        )
        for fx in _speed_effects(piece.clip):
            clip.effects.append(fx)
        clip.metadata[METADATA_KEY] = provenance(
            result, piece.index, mode="version", version=version
        )
        track.append(clip)
        cursor = start + piece.record.duration
    end = source.available_range().end_time_exclusive().rescaled_to(rate)
    if end > cursor:
        # Pad to the source track's length so NLEs show versions as long as the edit.
        track.append(otio.schema.Gap(source_range=TR(RT(0, rate), end - cursor)))
    return track


def _clip_name(piece: Piece, version: str) -> str:
    """The result file's name when it is named for its shot (``SH020_aleph_v001a``): what bins
    and EDLs show. Results of older work folders, named by hash, keep the source clip's name."""
    stem, name = PurePath(piece.result.path).stem, piece.result.shot.name
    if name and stem.casefold().startswith(name.casefold()):
        return stem
    return f"{piece.clip.name} ALEPH {version}"


def _lanes(shots: dict[str, list[list[Piece]]]) -> list[list[list[list[Piece]]]]:
    """Each shot (its variants' pieces) in the first lane where it overlaps nothing there."""
    lanes: list[list[list[list[Piece]]]] = []  # lane -> shots -> variants -> pieces
    order = sorted(
        shots.values(), key=lambda variants: variants[0][0].record.start_time.to_seconds()
    )
    for variants in order:
        ranges = [p.record for p in variants[0]]
        for lane in lanes:
            taken = [p.record for shot in lane for p in shot[0]]
            if not any(_overlaps(a, b) for a in ranges for b in taken):
                lane.append(variants)
                break
        else:
            lanes.append([variants])
    return lanes


def _relink_versions(
    timeline: otio.schema.Timeline,
    pieces_by_result: list[list[Piece]],
    url_style: UrlStyle,
    active_version: int | None = None,
) -> None:
    # Group results per source track and shot version (None: results the ledger does not
    # number), then give each shot the first lane where its pieces overlap nothing there.
    by_track: dict[int, dict[int | None, dict[str, list[list[Piece]]]]] = {}
    for pieces in pieces_by_result:
        result = pieces[0].result
        by_track.setdefault(pieces[0].segment.track_index, {}).setdefault(
            result.version, {}
        ).setdefault(result.shot.id, []).append(pieces)
    next_free = _next_track_version(timeline)
    inserts: list[tuple[int, list[otio.schema.Track]]] = []
    for track_index in sorted(by_track):
        source = timeline.tracks[track_index]
        new_tracks: list[otio.schema.Track] = []
        groups = by_track[track_index]
        # Oldest first, so the newest is on top; a chosen ``active_version`` goes on top.
        order = sorted(groups, key=lambda v: (v is not None and v == active_version, v or 0))
        for shot_version in order:
            for lane_index, lane in enumerate(_lanes(groups[shot_version])):
                if shot_version is None:
                    # Unnumbered results: the next track number free in this timeline.
                    number, extra = f"v{next_free:03d}", ""
                    next_free += 1
                else:
                    # The shot's own version, as its files are named; a second lane of one
                    # version (overlapping shots) gets a suffix, never another version's number.
                    number = f"v{shot_version:03d}"
                    extra = f"_{lane_index + 1}" if lane_index else ""
                variant_ids = sorted({v[0].result.variant for shot in lane for v in shot})
                lettered = len(variant_ids) > 1 or any(
                    shot[0][0].result.shot.options.number_results > 1 for shot in lane
                )
                for variant in variant_ids:
                    label = number + (letter(variant) if lettered else "") + extra
                    pieces = [
                        p for shot in lane for v in shot for p in v if p.result.variant == variant
                    ]
                    meta: dict[str, Any] = {"variant": variant, "mode": "version"}
                    if shot_version is not None:
                        meta["shot_version"] = shot_version
                    new_tracks.append(
                        _version_track(f"ALEPH {label}", source, pieces, label, meta, url_style)
                    )
        at = track_index + 1
        # Above earlier versions of the same track, so the newest is on top.
        while at < len(timeline.tracks) and _VERSION_RE.match(timeline.tracks[at].name or ""):
            at += 1
        inserts.append((at, new_tracks))
    # Insert from the top down so that the indices computed above stay valid.
    for at, new_tracks in sorted(inserts, key=lambda item: item[0], reverse=True):
        for offset, track in enumerate(new_tracks):
            timeline.tracks.insert(at + offset, track)


def relink_timeline(
    timeline: otio.schema.Timeline,
    results: Sequence[RelinkResult],
    *,
    mode: RelinkMode = "version",
    url_style: UrlStyle = "path",
    active_version: int | None = None,
) -> otio.schema.Timeline:
    """A copy of ``timeline`` with ``results`` relinked; the input is never modified.

    Results numbered with a shot ``version`` keep every version given: one ``ALEPH v00N``
    track per version (``version`` mode), one ``aleph_v00N`` reference per version with the
    latest (or ``active_version`` where the clip has it) active (``reference``), or only that
    one (``replace``).

    RelinkError (naming shot, clip, track and record time code) when a segment's clip is not
    where the plan says, a result is shorter than its shot or at another frame rate, or (in
    ``reference``/``replace`` modes) one clip would need results of two different shots.
    """
    if mode not in ("version", "reference", "replace"):
        raise RelinkError(f"unknown relink mode {mode!r}; use version, reference or replace")
    if url_style not in ("path", "uri"):
        raise RelinkError(f"unknown url style {url_style!r}; use path or uri")
    out: otio.schema.Timeline = timeline.deepcopy()
    seen: set[tuple[str, int, tuple[tuple[int, int, float], ...]]] = set()
    pieces_by_result: list[list[Piece]] = []
    for result in results:
        # One shot id may be placed twice (a source range cut into the edit twice, the same
        # request on both): one result, relinked at each place.
        key = (result.shot.id, result.variant, placement(result.shot))
        if key in seen:
            raise RelinkError(
                f"{describe(result.shot)}: variation {result.variant} given twice; pass one "
                "result per shot and variation"
            )
        seen.add(key)
        check_result(result)
        pieces = []
        for index, segment in enumerate(result.shot.segments):
            track, clip = _locate(out, result.shot, segment)
            pieces.append(
                Piece(result, index, segment, track, clip, _record_range(track, clip, segment))
            )
        pieces_by_result.append(pieces)
    if not pieces_by_result:
        return out
    if mode == "version":
        _relink_versions(out, pieces_by_result, url_style, active_version)
    else:
        relink_references(
            pieces_by_result, url_style, replace=mode == "replace", active_version=active_version
        )
    return out
