"""Put Aleph results back into a timeline. Pure: a timeline in, a new timeline out, no file I/O.

Three modes (DESIGN.md "Relink convention"):

``version`` (default)
    A new video track ``ALEPH v001`` (next free number) directly above the shot's source track
    (and above earlier ``ALEPH`` tracks sitting there), each result at the record time of the
    range it replaces, gaps elsewhere. ``numberResults > 1`` gives one track per variation
    (``v001a``, ``v001b``, ...). Shots whose record ranges overlap go to separate versions.
    A shot across a cut is split back at the original cut points.
``reference``
    The result becomes an extra media reference on the original clip (key ``aleph_v001``, or
    ``aleph_v001a``/``b``...), made active; the original stays under ``DEFAULT_MEDIA``.
``replace``
    The clip's active media reference is swapped for the result (lowest variation given); the
    original is kept, serialised as OTIO JSON, in ``metadata["aleph_otio"]``.

Frame accuracy: every result reference is an :class:`ExternalReference` whose ``available_range``
is the result's own frames at the media rate, starting at the *source* time of the input clip's
first frame (``available_start + media_start_frame - head_frames`` of segment 0). So the version
clip has exactly the original clip's ``source_range`` (handles stay outside the record range but
inside ``available_range``), and any conform tool lands on the same frames.

A shot across a cut is split back at the original cut points, segment by segment: piece ``i``
shows the part of the result made from segment ``i``, through a reference whose time code is
shifted so that this part sits at segment ``i``'s own source time code (the result frame where
segment ``i`` starts = ``available_start + media_start_frame`` of segment ``i``). Every piece thus
keeps its original clip's ``source_range`` too, in every mode. Formats that identify media by path
(FCP 7 XML) keep one time code per file: they write in/out points relative to each reference's
start, so the frames stay right and only the time code shown for pieces after the first becomes
the file's (segment 0's) one.

Speed effects (``LinearTimeWarp``/``FreezeFrame``) are copied onto version clips, so they consume
the same media frames as the original. Provenance is stored under ``metadata["aleph_otio"]``:
taskUUID, model, prompt, seed, cost, source range, created time, shot id, variation. Never the
API key.

URLs: ``url_style="path"`` (default) writes plain absolute OS paths, which DaVinci Resolve
requires (it rejects ``file://`` URLs, OTIO issue #1985) and the FCP 7 XML adapter passes through;
``url_style="uri"`` writes ``file://`` URIs (:meth:`pathlib.PurePath.as_uri`) for tools that want
them. Remote URLs (``http(s)://``) are kept as they are.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Literal

import opentimelineio as otio

from aleph_otio.config import MODEL_ID
from aleph_otio.errors import RelinkError
from aleph_otio.shots import Shot, SourceSegment, placement

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange

RelinkMode = Literal["version", "reference", "replace"]
UrlStyle = Literal["path", "uri"]

#: Namespace of everything aleph-otio writes into OTIO metadata.
METADATA_KEY = "aleph_otio"
TRACK_PREFIX = "ALEPH v"
REFERENCE_PREFIX = "aleph_v"
_VERSION_RE = re.compile(r"^ALEPH v(\d+)")
_REF_KEY_RE = re.compile(r"^aleph_v(\d+)")


@dataclass(frozen=True)
class RelinkResult:
    """One downloaded result (one variation of one shot) and where it came from."""

    shot: Shot
    variant: int
    path: str
    frame_count: int
    rate: float
    width: int = 0
    height: int = 0
    task_uuid: str = ""
    model: str = MODEL_ID
    prompt: str | None = None
    seed: int | None = None
    cost: float | None = None
    created: str = ""
    video_uuid: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Piece:
    """One segment of one result, ready to place."""

    result: RelinkResult
    index: int
    segment: SourceSegment
    track: otio.schema.Track
    clip: otio.schema.Clip
    record: otio.opentime.TimeRange


# --- reference building (also used by the media linker) --------------------------------------


def result_url(path: str, url_style: UrlStyle = "path") -> str:
    """The ``target_url`` for a result file: absolute OS path, or ``file://`` URI."""
    if "://" in path:
        return path
    absolute = os.path.abspath(path)
    if url_style == "uri":
        return PurePath(absolute).as_uri()
    return absolute


def segment_offsets(shot: Shot) -> list[int]:
    """Frame of the result where each segment starts (after the head handles)."""
    offsets, at = [], shot.head_frames
    for segment in shot.segments:
        offsets.append(at)
        at += segment.media_frame_count
    return offsets


def result_start_frame(shot: Shot, segment_index: int = 0) -> float:
    """Source frame (time code at the media rate) of a result's first frame, aligned to a segment.

    Segment 0 alignment is the result's natural time code: the source time of the input clip's
    first frame, handles included. The pipeline stamps result files with it.
    """
    segment = shot.segments[segment_index]
    offset = segment_offsets(shot)[segment_index]
    return segment.available_start + segment.media_start_frame - offset


def _describe(shot: Shot, segment: SourceSegment | None = None) -> str:
    seg = segment or shot.segments[0]
    return (
        f"shot {shot.name!r} ({shot.id}, clip {seg.clip_name!r} on track {seg.track_name!r} "
        f"at {seg.record_tc_in})"
    )


def _check_result(result: RelinkResult) -> None:
    shot = result.shot
    if result.frame_count < shot.frame_count:
        raise RelinkError(
            f"{_describe(shot)}: result {result.path} has {result.frame_count} frames, the shot "
            f"needs {shot.frame_count}; download it again or re-run the shot"
        )
    if abs(result.rate - shot.media_rate) > 0.01:
        raise RelinkError(
            f"{_describe(shot)}: result {result.path} runs at {result.rate:g} fps, the source at "
            f"{shot.media_rate:g} fps; conform it to the source rate before relinking"
        )


def result_reference(
    result: RelinkResult,
    *,
    segment_index: int = 0,
    url_style: UrlStyle = "path",
    name: str | None = None,
) -> otio.schema.ExternalReference:
    """An ExternalReference for the result, its time code aligned to segment ``segment_index``.

    Aligned to segment ``i``, the result frame where that segment starts sits at the segment's
    own source time, so that segment's original ``source_range`` addresses the same frames in
    the result. Segment 0 alignment is the result's natural time code.
    """
    shot = result.shot
    rate = shot.segments[segment_index].media_rate
    start = result_start_frame(shot, segment_index)
    ref = otio.schema.ExternalReference(
        target_url=result_url(result.path, url_style),
        available_range=TR(RT(start, rate), RT(result.frame_count, rate)),
    )
    ref.name = name or PurePath(result.path).name
    facts: dict[str, Any] = {"frame_count": result.frame_count, "rate": result.rate}
    if result.width and result.height:
        facts.update(width=result.width, height=result.height)
    if result.video_uuid:
        facts["video_uuid"] = result.video_uuid
    ref.metadata[METADATA_KEY] = facts
    return ref


def provenance(result: RelinkResult, segment_index: int = 0, **more: Any) -> dict[str, Any]:
    """What goes under ``metadata["aleph_otio"]`` for one piece of one result."""
    shot = result.shot
    segment = shot.segments[segment_index]
    data: dict[str, Any] = {
        "shot_id": shot.id,
        "shot_name": shot.name,
        "task_uuid": result.task_uuid,
        "model": result.model,
        "prompt": result.prompt if result.prompt is not None else shot.prompt,
        "variant": result.variant,
        "created": result.created,
        "result_path": result.path,
        "source_clip": segment.clip_name,
        "source_track": segment.track_name,
        "source_range": {
            "start_time": segment.clip_source_start,
            "duration": segment.clip_source_duration,
            "rate": segment.clip_source_rate,
            "tc_in": segment.source_tc_in,
            "tc_out": segment.source_tc_out,
        },
        "record_tc_in": segment.record_tc_in,
        "piece": segment_index,
        "pieces": len(shot.segments),
    }
    if result.seed is not None:
        data["seed"] = result.seed
    if result.cost is not None:
        data["cost"] = result.cost
    if result.video_uuid:
        data["video_uuid"] = result.video_uuid
    if shot.colour is not None:
        # What the result's pictures are, for the grade: display-referred or the plates' space.
        source = shot.colour.return_colorspace == "source"
        data["colorspace"] = shot.colour.input_colorspace if source else shot.colour.display
        data["colour_pipeline"] = shot.colour.describe()
    data.update(result.extra)
    data.update(more)
    return data


# --- locating clips ----------------------------------------------------------------------------


def _locate(
    timeline: otio.schema.Timeline, shot: Shot, segment: SourceSegment
) -> tuple[otio.schema.Track, otio.schema.Clip]:
    tracks = timeline.tracks
    where = f"{_describe(shot, segment)}: timeline {timeline.name!r}"
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


# --- modes -------------------------------------------------------------------------------------


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
    pieces: list[_Piece],
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
            name=f"{piece.clip.name} ALEPH {version}",
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


def _relink_versions(
    timeline: otio.schema.Timeline,
    pieces_by_result: list[list[_Piece]],
    url_style: UrlStyle,
) -> None:
    # Group results per source track, then give each shot the first lane (version) where its
    # pieces do not overlap the pieces already there.
    by_track: dict[int, dict[str, list[list[_Piece]]]] = {}
    for pieces in pieces_by_result:
        track_index = pieces[0].segment.track_index
        by_track.setdefault(track_index, {}).setdefault(pieces[0].result.shot.id, []).append(pieces)
    version = _next_track_version(timeline)
    inserts: list[tuple[int, list[otio.schema.Track]]] = []
    for track_index in sorted(by_track):
        shots = by_track[track_index]
        lanes: list[list[list[list[_Piece]]]] = []  # lane -> shots -> variants -> pieces
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
        source = timeline.tracks[track_index]
        new_tracks: list[otio.schema.Track] = []
        for lane in lanes:
            number = f"v{version:03d}"
            version += 1
            variant_ids = sorted({v[0].result.variant for shot in lane for v in shot})
            lettered = len(variant_ids) > 1 or any(
                shot[0][0].result.shot.options.number_results > 1 for shot in lane
            )
            for variant in variant_ids:
                label = number + (_letter(variant) if lettered else "")
                pieces = [
                    p for shot in lane for v in shot for p in v if p.result.variant == variant
                ]
                new_tracks.append(
                    _version_track(
                        f"ALEPH {label}",
                        source,
                        pieces,
                        label,
                        {"variant": variant, "mode": "version"},
                        url_style,
                    )
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


def _letter(variant: int) -> str:
    return "abcdefghijklmnopqrstuvwxyz"[variant] if variant < 26 else f"_{variant}"


def _clip_owners(pieces_by_result: list[list[_Piece]]) -> dict[int, list[_Piece]]:
    """Pieces per clip (by identity), refusing two different shots on one clip."""
    owners: dict[int, list[_Piece]] = {}
    for pieces in pieces_by_result:
        for piece in pieces:
            owners.setdefault(id(piece.clip), []).append(piece)
    for group in owners.values():
        shots = {p.result.shot.id for p in group}
        if len(shots) > 1:
            names = ", ".join(sorted({p.result.shot.name for p in group}))
            raise RelinkError(
                f"{_describe(group[0].result.shot, group[0].segment)}: clip "
                f"{group[0].clip.name!r} is covered by {len(shots)} shots ({names}) and can hold "
                "only one result per variation; relink with mode 'version'"
            )
    return owners


def _relink_references(
    pieces_by_result: list[list[_Piece]], url_style: UrlStyle, replace: bool
) -> None:
    for group in _clip_owners(pieces_by_result).values():
        group.sort(key=lambda p: p.result.variant)
        clip = group[0].clip
        shot = group[0].result.shot
        previous = dict(clip.metadata.get(METADATA_KEY, {}))
        if replace:
            piece = group[0]
            original = previous.get("original_media_reference") or otio.adapters.write_to_string(
                clip.media_reference, "otio_json"
            )
            clip.media_reference = result_reference(
                piece.result, segment_index=piece.index, url_style=url_style
            )
            others = [p.result.path for p in group[1:]]
            clip.metadata[METADATA_KEY] = provenance(
                piece.result,
                piece.index,
                mode="replace",
                original_media_reference=original,
                **({"other_variants": others} if others else {}),
            )
            continue
        refs = clip.media_references()
        taken = [int(m.group(1)) for key in refs if (m := _REF_KEY_RE.match(key))]
        number = f"v{max(taken, default=0) + 1:03d}"
        lettered = len(group) > 1 or shot.options.number_results > 1
        versions = dict(previous.get("versions", {}))
        active = ""
        for piece in group:
            key = (
                REFERENCE_PREFIX + number[1:] + (_letter(piece.result.variant) if lettered else "")
            )
            refs[key] = result_reference(
                piece.result, segment_index=piece.index, url_style=url_style
            )
            versions[key] = provenance(piece.result, piece.index, mode="reference", key=key)
            active = active or key
        clip.set_media_references(refs, active)
        clip.metadata[METADATA_KEY] = {**versions[active], "active": active, "versions": versions}


def relink_timeline(
    timeline: otio.schema.Timeline,
    results: Sequence[RelinkResult],
    *,
    mode: RelinkMode = "version",
    url_style: UrlStyle = "path",
) -> otio.schema.Timeline:
    """A copy of ``timeline`` with ``results`` relinked; the input is never modified.

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
    pieces_by_result: list[list[_Piece]] = []
    for result in results:
        # One shot id may be placed twice (a source range cut into the edit twice, the same
        # request on both): one result, relinked at each place.
        key = (result.shot.id, result.variant, placement(result.shot))
        if key in seen:
            raise RelinkError(
                f"{_describe(result.shot)}: variation {result.variant} given twice; pass one "
                "result per shot and variation"
            )
        seen.add(key)
        _check_result(result)
        pieces = []
        for index, segment in enumerate(result.shot.segments):
            track, clip = _locate(out, result.shot, segment)
            pieces.append(
                _Piece(result, index, segment, track, clip, _record_range(track, clip, segment))
            )
        pieces_by_result.append(pieces)
    if not pieces_by_result:
        return out
    if mode == "version":
        _relink_versions(out, pieces_by_result, url_style)
    else:
        _relink_references(pieces_by_result, url_style, replace=mode == "replace")
    return out


def original_media_reference(clip: otio.schema.Clip) -> otio.core.MediaReference | None:
    """The reference a ``replace`` relink swapped out of ``clip`` (None if it was not replaced)."""
    data = clip.metadata.get(METADATA_KEY, {}).get("original_media_reference")
    if not data:
        return None
    ref = otio.adapters.read_from_string(str(data), "otio_json")
    return ref if isinstance(ref, otio.core.MediaReference) else None


# --- media linking (pure; the OTIO media linker feeds it the ledger's results) ---------------


def _local_path(url: str) -> str:
    if url.startswith("file://"):
        return os.path.normpath(otio.url_utils.filepath_from_url(url))
    if "://" in url:
        return url
    return os.path.normpath(os.path.abspath(url))


def _same_media(planned: str, named: str) -> bool:
    """Whether the file a shot was cut from is the clip's own media: the same path, or, for media
    found elsewhere with ``--media-map``/``--media-search``, the same file name without its
    suffix (a moved copy, or the transcode of a camera original)."""
    planned = _local_path(planned)
    if planned == named:
        return True
    return PurePath(planned).stem.casefold() == PurePath(named.replace("\\", "/")).stem.casefold()


def reference_for_clip(
    clip: otio.schema.Clip,
    results: Sequence[RelinkResult],
    *,
    variant: int = 0,
    url_style: UrlStyle = "path",
) -> otio.schema.ExternalReference | None:
    """The result reference ``clip`` should point at, or None when no result belongs to it.

    A clip written by :func:`relink_timeline` is found by the shot id in its provenance; any
    other clip by its source: same media file, same clip name, and a source range that holds the
    shot's segment. The reference's time code makes the clip's own ``source_range`` land on the
    right frames of the result.
    """
    prov = clip.metadata.get(METADATA_KEY, {})
    if isinstance(prov, Mapping) and prov.get("shot_id"):
        wanted = int(prov.get("variant", variant))
        for result in results:
            if result.shot.id == prov["shot_id"] and result.variant == wanted:
                piece = int(prov.get("piece", 0))
                if piece >= len(result.shot.segments):
                    return None
                return result_reference(result, segment_index=piece, url_style=url_style)
        return None
    ref = clip.media_reference
    if not isinstance(ref, otio.schema.ExternalReference) or not ref.target_url:
        return None
    path = _local_path(ref.target_url)
    try:
        clip_range = clip.trimmed_range()
    except otio.exceptions.CannotComputeAvailableRangeError:
        return None
    for result in results:
        if result.variant != variant:
            continue
        for index, segment in enumerate(result.shot.segments):
            if segment.clip_name != clip.name or not _same_media(segment.media_path, path):
                continue
            part = TR(
                RT(segment.clip_source_start, segment.clip_source_rate),
                RT(segment.clip_source_duration, segment.clip_source_rate),
            )
            if clip_range.contains(part.start_time) and part.end_time_exclusive() <= (
                clip_range.end_time_exclusive()
            ):
                return result_reference(result, segment_index=index, url_style=url_style)
    return None
