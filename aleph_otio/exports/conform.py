"""What every NLE format needs of a relinked timeline: result files in their own timecode,
clips showing a result over part of their range split, version tracks recognised."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable

import opentimelineio as otio

from aleph_otio.errors import MediaError, TimelineWriteError
from aleph_otio.exports.paths import local_file
from aleph_otio.media.probe import MediaInfo, probe
from aleph_otio.relink import METADATA_KEY, original_media_reference
from aleph_otio.timeline import intersect, timecode

log = logging.getLogger(__name__)

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange

#: Name of the guide-still track (``PlanSettings.guide_track``'s default).
GUIDE_TRACK = "ALEPH GUIDES"
_VERSION_TRACK_RE = re.compile(r"^ALEPH (v\d+[a-z]*)$")
#: Metadata of a reference standing for an image sequence by its first file: the sequence.
SEQUENCE_KEY = "aleph_otio_image_sequence"


def probe_cached(path: str, cache: dict[str, MediaInfo | None]) -> MediaInfo | None:
    """The file's facts (cached per export), None when it is missing or unreadable."""
    if path not in cache:
        try:
            cache[path] = probe(path) if os.path.isfile(path) else None
        except MediaError as exc:
            log.warning("%s: cannot probe it (%s); kept the source timecode", path, exc)
            cache[path] = None
    return cache[path]


def result_references(
    timeline: otio.schema.Timeline,
) -> Iterable[tuple[otio.schema.Clip, otio.schema.ExternalReference, str]]:
    """(clip, active result reference, local file) for every clip showing a local result."""
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if isinstance(ref, otio.schema.ExternalReference) and METADATA_KEY in ref.metadata:
            local = local_file(ref.target_url)
            if local is not None:
                yield clip, ref, local


def conform_results_to_files(timeline: otio.schema.Timeline) -> None:
    """Rebase each active result reference onto its file's own timecode (same frames).

    Relink gives a result the source timecode of its range; a stamped file has the same one (no
    change), a WEBM file none, and NLEs conform EDL/AAF events and show FCP ``<file>`` timecodes
    from the file.
    """
    cache: dict[str, MediaInfo | None] = {}
    for clip, ref, local in result_references(timeline):
        if SEQUENCE_KEY in ref.metadata:
            # A delivered sequence's first file: the times are the sequence's (its files'
            # headers), which one file's probe (a still, no time code) cannot give.
            continue
        avail = ref.available_range
        info = probe_cached(local, cache)
        if avail is None or clip.source_range is None or info is None:
            continue
        rate = avail.start_time.rate
        start = RT(info.start_frame, rate)
        delta = avail.start_time - start
        ref.available_range = TR(start, avail.duration)
        source = clip.source_range
        clip.source_range = TR(
            (source.start_time - delta).rescaled_to(source.start_time.rate), source.duration
        )
        for marker in clip.markers:  # clip markers live in the same (source) time
            marked = marker.marked_range
            marker.marked_range = TR(
                (marked.start_time - delta).rescaled_to(marked.start_time.rate), marked.duration
            )


def _original_reference(clip: otio.schema.Clip) -> otio.core.MediaReference | None:
    """The reference a ``reference``/``replace`` relink put the result in front of."""
    replaced = original_media_reference(clip)
    if replaced is not None:
        return replaced
    refs = clip.media_references()
    return refs.get(otio.schema.Clip.DEFAULT_MEDIA_KEY)


def split_partial_results(timeline: otio.schema.Timeline) -> None:
    """Split clips that show a result over only part of their range (``reference``/``replace``).

    The result covers the marked range; the rest of the clip keeps its original media. NLE
    formats hold one file per clip, so each such clip becomes original / result / original
    pieces at the same record times (else the NLE would read before the result's first frame).
    """
    for track in timeline.video_tracks():
        for index in reversed(range(len(track))):
            clip = track[index]
            if not isinstance(clip, otio.schema.Clip):
                continue
            ref = clip.media_reference
            # A result is a file, or an image sequence when delivered as EXR/DPX.
            if not (
                isinstance(ref, otio.schema.ExternalReference | otio.schema.ImageSequenceReference)
                and METADATA_KEY in ref.metadata
            ):
                continue
            avail, source = ref.available_range, clip.source_range
            if avail is None or source is None:
                continue
            inside = intersect(source, avail)
            if (
                inside is not None
                and inside.start_time == source.start_time
                and (inside.end_time_exclusive() == source.end_time_exclusive())
            ):
                continue
            original = _original_reference(clip)
            if original is None or clip.effects:
                raise TimelineWriteError(
                    f"clip {clip.name!r} on track {track.name!r} at "
                    f"{timecode(track.range_of_child_at_index(index).start_time)} shows a result "
                    "over part of its range only, which this format cannot hold"
                    + (" for a retimed clip" if clip.effects else "")
                    + "; relink with --relink version or write .otio"
                )
            parts: list[tuple[otio.opentime.TimeRange, bool]] = []
            if inside is None:
                parts.append((source, False))
            else:
                if inside.start_time > source.start_time:
                    parts.append(
                        (TR.range_from_start_end_time(source.start_time, inside.start_time), False)
                    )
                parts.append((inside, True))
                if inside.end_time_exclusive() < source.end_time_exclusive():
                    parts.append(
                        (
                            TR.range_from_start_end_time(
                                inside.end_time_exclusive(), source.end_time_exclusive()
                            ),
                            False,
                        )
                    )
            pieces = []
            for span, is_result in parts:
                piece: otio.schema.Clip = clip.deepcopy()
                piece.source_range = span
                if not is_result:
                    piece.media_reference = original.deepcopy()
                    piece.metadata.pop(METADATA_KEY, None)
                keep = [m for m in piece.markers if span.contains(m.marked_range.start_time)]
                piece.markers.clear()
                piece.markers.extend(keep)
                pieces.append(piece)
            del track[index]
            for offset, piece in enumerate(pieces):
                track.insert(index + offset, piece)


def version_label(track: otio.schema.Track) -> str | None:
    """``v001a`` for a version track written by relink, else None."""
    meta = track.metadata.get(METADATA_KEY)
    if meta is not None and hasattr(meta, "get") and meta.get("version"):  # AnyDictionary too
        return str(meta.get("version"))
    match = _VERSION_TRACK_RE.match(track.name or "")
    return match.group(1) if match else None


def is_result_clip(clip: otio.schema.Clip) -> bool:
    return METADATA_KEY in clip.metadata


def sequences_as_first_files(timeline: otio.schema.Timeline) -> None:
    """Point image-sequence clips at their first file, for formats with no sequence type.

    FCP 7 XML and FCPXML name one file per clip; Premiere, Resolve and Final Cut take a numbered
    first file as the start of its sequence when the import is told so. The frames and times
    stay the sequence's (same available range); the metadata keeps the sequence's description.
    """
    for clip in timeline.find_clips():
        refs = clip.media_references()
        changed = False
        for key, ref in list(refs.items()):
            if not isinstance(ref, otio.schema.ImageSequenceReference):
                continue
            first = otio.schema.ExternalReference(
                target_url=ref.target_url_for_image_number(0),
                available_range=ref.available_range,
            )
            first.name = ref.name
            first.metadata.update(dict(ref.metadata))
            first.metadata[SEQUENCE_KEY] = ref.abstract_target_url(
                "#" * max(ref.frame_zero_padding, 1)
            )
            refs[key] = first
            changed = True
        if changed:
            clip.set_media_references(refs, clip.active_media_reference_key)
