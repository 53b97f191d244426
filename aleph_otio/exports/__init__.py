"""Writing the relinked timeline in the user's format, ready for their NLE.

:func:`write_output` picks the format from the output's suffix and fixes up what each OTIO
adapter leaves for an NLE to trip over (see ``docs/nle.md``):

``.otio``
    Everything, as relinked. Relative media paths are rebased onto the output's folder.
``.otioz``
    The same, with every clip's media bundled into the zip (OTIO's ``otioz`` adapter), so the
    bundle opens on another machine. A missing media file is an error naming the clip.
``.xml`` (FCP 7 XML, for Premiere Pro and DaVinci Resolve)
    ``pathurl`` as ``file://localhost/...`` URLs (what Premiere writes and wants), every track
    named (``<name>``), the ``ALEPH GUIDES`` track disabled so the painted stills do not cover
    the results, and each result ``<file>`` carrying the result file's own timecode.
``.edl`` (CMX 3600, Avid style)
    An EDL holds one video track, so each version track gets its own file: ``OUT.edl`` for the
    first (``ALEPH v001`` or ``v001a``), ``OUT_v001b.edl`` ... for the others. Record timecodes
    are the original ranges' (timeline start included); reels are derived from the result file
    names (at most 8 characters, unique across the export); every event has ``* FROM CLIP
    NAME:`` (the version clip's name), ``* FROM CLIP:`` (the file's full path) and ``* SOURCE
    FILE:`` (its file name) comments, plus the original source timecode, Aleph task and prompt.
    ``OUT_v###x.edl`` files an earlier run wrote and this one does not are removed.
``.fcpxml``
    Through the ``fcpx_xml`` adapter, with ``file://`` URLs; refused at NTSC rates
    (23.976/29.97/59.94), where that adapter crashes.
``.aaf``
    Through the AAF adapter, one master mob per media file; media is linked by path and comes in
    offline in Avid until linked (see ``docs/nle.md``).

The pipeline stamps MP4/MOV results with the source timecode their references start at (see
``aleph_otio.media.stamp``). In the NLE formats each result reference is addressed in the file's
own timecode (probed), which is that one, or 00:00:00:00 for a file without any (WEBM): the same
frames, addressed the way the NLE will read the file. The OTIO formats keep the source timecode
(the relink convention). Every file is written atomically and the input timeline is never modified.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import unquote, urlparse

import opentimelineio as otio

from aleph_otio.errors import MediaError, TimelineWriteError
from aleph_otio.media.probe import MediaInfo
from aleph_otio.relink import METADATA_KEY, original_media_reference
from aleph_otio.timeline import (
    intersect,
    media_path,
    parse_rate,
    smpte_rate,
    timecode,
    write_timeline,
)

log = logging.getLogger(__name__)

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange

#: Name of the guide-still track (``PlanSettings.guide_track``'s default).
GUIDE_TRACK = "ALEPH GUIDES"
#: Longest reel name an EDL takes (CMX 3600 / Avid tape names).
REEL_LENGTH = 8
#: Formats that hold one media file per clip (results are split and rebased for them).
_NLE_SUFFIXES = (".xml", ".edl", ".fcpxml", ".aaf")
_VERSION_TRACK_RE = re.compile(r"^ALEPH (v\d+[a-z]*)$")


def write_output(
    timeline: otio.schema.Timeline, path: Path, *, media_base: Path | None = None
) -> Path:
    """Write a relinked timeline to ``path``, the format chosen by its suffix, atomically.

    ``media_base`` is the folder the timeline's relative media paths are relative to (the input
    timeline's folder). Pass it: NLE formats then get absolute paths/URLs and ``.otio`` paths
    relative to the output; without it relative paths are written unchanged. Returns ``path``;
    with several version tracks an EDL export also writes ``<stem>_<version>.edl`` files (see
    :func:`write_outputs`).
    """
    return write_outputs(timeline, path, media_base=media_base)[0]


def write_outputs(
    timeline: otio.schema.Timeline, path: Path, *, media_base: Path | None = None
) -> list[Path]:
    """Like :func:`write_output`, returning every file written (``path`` first)."""
    path = Path(path).expanduser().resolve()
    base = Path(media_base).expanduser().resolve() if media_base is not None else None
    suffix = path.suffix.lower()
    work: otio.schema.Timeline = timeline.deepcopy()
    if suffix == ".otio":
        if base is not None:
            _rebase_relative(work, base, path.parent)
        return [write_timeline(work, path)]
    if suffix == ".otioz":
        # A bundle must find every file now; without a base, paths are the output's relatives.
        _absolutise(work, base or path.parent)
        return [_write_otioz(work, path)]
    if suffix in _NLE_SUFFIXES:
        _split_partial_results(work)
    if base is not None:
        # NLEs resolve relative paths against nothing useful: give them absolute ones. Without
        # a base the relative paths are left as they are (the caller's convention).
        _absolutise(work, base)
    if suffix == ".xml":
        return [_write_fcp7(work, path)]
    if suffix == ".edl":
        return _write_edls(work, path)
    if suffix == ".fcpxml":
        return [_write_fcpxml(work, path)]
    if suffix == ".aaf":
        return [_write_aaf(work, path)]
    return [write_timeline(work, path)]


# --- media paths --------------------------------------------------------------------------------


def _external_references(
    timeline: otio.schema.Timeline,
) -> Iterable[tuple[otio.schema.Clip, otio.schema.ExternalReference]]:
    """Every (clip, external reference) pair, inactive references of multi-reference clips too."""
    for clip in timeline.find_clips():
        for ref in clip.media_references().values():
            if isinstance(ref, otio.schema.ExternalReference) and ref.target_url:
                yield clip, ref


def _is_local(url: str) -> bool:
    scheme = urlparse(url).scheme
    return scheme == "file" or len(scheme) <= 1  # "" or a Windows drive letter


def _absolutise(timeline: otio.schema.Timeline, base: Path) -> None:
    """Local target URLs become absolute OS paths (relative ones resolved against ``base``)."""
    for _clip, ref in _external_references(timeline):
        if _is_local(ref.target_url):
            ref.target_url = media_path(ref.target_url, base)


def _rebase_relative(timeline: otio.schema.Timeline, base: Path, out_folder: Path) -> None:
    """Relative paths stay relative, but to the output's folder, so the output still finds them."""
    if base == out_folder:
        return
    for _clip, ref in _external_references(timeline):
        url = ref.target_url
        if urlparse(url).scheme or os.path.isabs(url):
            continue
        ref.target_url = PurePath(os.path.relpath(media_path(url, base), out_folder)).as_posix()


def file_url(path: str, *, localhost: bool = False) -> str:
    """``file://`` URL of an absolute path, percent-encoded; ``file://localhost/...`` if asked."""
    uri = PurePath(path).as_uri()
    return "file://localhost" + uri[len("file://") :] if localhost else uri


def _to_file_urls(timeline: otio.schema.Timeline, *, localhost: bool) -> None:
    for _clip, ref in _external_references(timeline):
        if _is_local(ref.target_url) and os.path.isabs(ref.target_url):
            ref.target_url = file_url(ref.target_url, localhost=localhost)


def _local_file(url: str) -> str | None:
    if not _is_local(url):
        return None
    parsed = urlparse(url)
    return unquote(parsed.path) if parsed.scheme == "file" else url


# --- result timecode ----------------------------------------------------------------------------


def _probe(path: str, cache: dict[str, MediaInfo | None]) -> MediaInfo | None:
    """The file's facts (cached per export), None when it is missing or unreadable."""
    if path not in cache:
        from aleph_otio.media import probe

        try:
            cache[path] = probe(path) if os.path.isfile(path) else None
        except MediaError as exc:
            log.warning("%s: cannot probe it (%s); kept the source timecode", path, exc)
            cache[path] = None
    return cache[path]


def _result_references(
    timeline: otio.schema.Timeline,
) -> Iterable[tuple[otio.schema.Clip, otio.schema.ExternalReference, str]]:
    """(clip, active result reference, local file) for every clip showing a local result."""
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if isinstance(ref, otio.schema.ExternalReference) and METADATA_KEY in ref.metadata:
            local = _local_file(ref.target_url)
            if local is not None:
                yield clip, ref, local


def _conform_results_to_files(timeline: otio.schema.Timeline) -> None:
    """Rebase each active result reference onto its file's own timecode (same frames).

    Relink gives a result the source timecode of its range; a stamped file has the same one (no
    change), a WEBM file none, and NLEs conform EDL/AAF events and show FCP ``<file>`` timecodes
    from the file.
    """
    cache: dict[str, MediaInfo | None] = {}
    for clip, ref, local in _result_references(timeline):
        avail = ref.available_range
        info = _probe(local, cache)
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


def _split_partial_results(timeline: otio.schema.Timeline) -> None:
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
            if not (
                isinstance(ref, otio.schema.ExternalReference) and METADATA_KEY in ref.metadata
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


# --- tracks ------------------------------------------------------------------------------------


def version_label(track: otio.schema.Track) -> str | None:
    """``v001a`` for a version track written by relink, else None."""
    meta = track.metadata.get(METADATA_KEY)
    if meta is not None and hasattr(meta, "get") and meta.get("version"):  # AnyDictionary too
        return str(meta.get("version"))
    match = _VERSION_TRACK_RE.match(track.name or "")
    return match.group(1) if match else None


def _is_result_clip(clip: otio.schema.Clip) -> bool:
    return METADATA_KEY in clip.metadata


# --- OTIOZ -------------------------------------------------------------------------------------


def _write_otioz(timeline: otio.schema.Timeline, path: Path) -> Path:
    from opentimelineio.adapters.file_bundle_utils import MediaReferencePolicy

    by_name: dict[str, str] = {}
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if not isinstance(ref, otio.schema.ExternalReference) or not ref.target_url:
            continue
        local = _local_file(ref.target_url)
        if local is None:
            raise TimelineWriteError(
                f"{path}: clip {clip.name!r} links remote media {ref.target_url}; an .otioz "
                "bundles local files only, download it or write .otio"
            )
        if not os.path.isfile(local):
            raise TimelineWriteError(
                f"{path}: clip {clip.name!r}: media {local} does not exist, so it cannot be "
                "bundled; relink it or write .otio"
            )
        other = by_name.setdefault(os.path.basename(local), local)
        if other != local:
            raise TimelineWriteError(
                f"{path}: clip {clip.name!r}: {local} and {other} have the same file name, "
                "which an .otioz bundle cannot hold; rename one or write .otio"
            )
    return write_timeline(timeline, path, media_policy=MediaReferencePolicy.ErrorIfNotFile)


# --- FCP 7 XML ---------------------------------------------------------------------------------


def _sequence_format(timeline: otio.schema.Timeline) -> dict[str, Any] | None:
    """``<format><samplecharacteristics>`` from the first readable source clip.

    Without it Premiere makes the imported sequence in its default size, not the footage's.
    """
    from aleph_otio.media import probe

    for track in timeline.video_tracks():
        if track.name == GUIDE_TRACK or version_label(track):
            continue
        for clip in track.find_clips():
            ref = clip.media_reference
            local = (
                _local_file(ref.target_url)
                if isinstance(ref, otio.schema.ExternalReference)
                else None
            )
            if not local or not os.path.isfile(local) or clip.source_range is None:
                continue
            try:
                info = probe(local)
            except MediaError:
                continue
            if info.is_still or not info.width:
                continue
            rate = clip.source_range.duration.rate
            return {
                "samplecharacteristics": {
                    "width": str(info.width),
                    "height": str(info.height),
                    "pixelaspectratio": "square",
                    "fielddominance": "none",
                    "rate": {
                        "timebase": str(round(rate)),
                        "ntsc": "TRUE" if abs(rate - round(rate)) > 1e-6 else "FALSE",
                    },
                }
            }
    return None


def _write_fcp7(timeline: otio.schema.Timeline, path: Path) -> Path:
    seq = dict(timeline.metadata.get("fcp_xml", {}))
    if "media" not in seq and (fmt := _sequence_format(timeline)) is not None:
        # The adapter writes the sequence's metadata as its children; tracks are added after.
        seq["media"] = {"video": {"format": fmt}}
        timeline.metadata["fcp_xml"] = seq
    _conform_results_to_files(timeline)
    cache: dict[str, MediaInfo | None] = {}
    for _clip, ref, local in _result_references(timeline):
        info = _probe(local, cache)
        if info is None:
            continue
        # The adapter declares audio on every <file>; Aleph results have none, and Premiere
        # then expects an audio stream that is not there. Describe what the file holds.
        media: dict[str, Any] = {
            "video": {
                "samplecharacteristics": {"width": str(info.width), "height": str(info.height)}
            }
        }
        if info.has_audio:
            media["audio"] = {}
        ref.metadata["fcp_xml"] = {**dict(ref.metadata.get("fcp_xml", {})), "media": media}
    _to_file_urls(timeline, localhost=True)
    for track in timeline.tracks:
        fcp = dict(track.metadata.get("fcp_xml", {}))
        # The adapter writes this metadata as the <track>'s children: a name, and <enabled>.
        if track.name and not fcp.get("name"):
            fcp["name"] = track.name
        if track.name == GUIDE_TRACK or not track.enabled:
            fcp["enabled"] = "FALSE"
        track.metadata["fcp_xml"] = fcp
    return write_timeline(timeline, path)


# --- EDL ---------------------------------------------------------------------------------------


def edl_paths(path: Path, labels: list[str]) -> list[Path]:
    """Where each version track's EDL goes: ``path`` for the first, ``<stem>_<label>`` after."""
    path = Path(path)
    return [path] + [path.with_name(f"{path.stem}_{label}{path.suffix}") for label in labels[1:]]


def _edl_tracks(timeline: otio.schema.Timeline) -> list[tuple[str, otio.schema.Track]]:
    """The tracks to write: version tracks, else tracks with relinked clips, else the first."""
    video = [t for t in timeline.video_tracks() if t.enabled]
    versions = [(label, t) for t in video if (label := version_label(t))]
    if versions:
        return versions
    relinked = [t for t in video if any(_is_result_clip(c) for c in t.find_clips())]
    if relinked:
        return [(t.name or f"V{i + 1}", t) for i, t in enumerate(relinked)]
    candidates = [t for t in video if t.name != GUIDE_TRACK]
    if not candidates:
        raise TimelineWriteError(
            f"timeline {timeline.name!r} has no video track to write as an EDL; write .otio"
        )
    return [(candidates[0].name or "V1", candidates[0])]


def _alnum(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "", text)


def reel_names(files: Iterable[str], length: int = REEL_LENGTH) -> dict[str, str]:
    """A reel name per media file: its file name's letters and digits, at most ``length``.

    Names that collide (variations of one shot differ only at the end) keep the first
    ``length - k`` and the last ``k`` characters, for the smallest ``k`` that makes them unique;
    a counter is the last resort.
    """
    files = list(dict.fromkeys(files))
    stems = {f: _alnum(PurePath(f).stem) or "AX" for f in files}
    groups: dict[str, list[str]] = {}
    for f in files:
        groups.setdefault(stems[f][:length], []).append(f)
    names: dict[str, str] = {}
    taken: set[str] = set()
    for prefix, group in groups.items():
        if len(group) == 1:
            names[group[0]] = prefix
            taken.add(prefix)
            continue
        # The whole group takes the same form, so variations read 0/1/2..., not 3/1/2.
        for k in range(1, length):
            tried = [stems[f][: length - k] + stems[f][-k:] for f in group]
            if len(set(tried)) == len(tried) and not taken.intersection(tried):
                break
        else:
            tried = [prefix[: length - len(str(i + 1))] + str(i + 1) for i in range(len(group))]
        names.update(zip(group, tried, strict=True))
        taken.update(tried)
    for f in files:
        # A counter when a shortened name met another file's (rare: only with odd file names).
        counter = 1
        while list(names.values()).count(names[f]) > 1:
            names[f] = stems[f][: length - len(str(counter))] + str(counter)
            counter += 1
    return names


def _comment(text: str) -> str:
    # One line each: a newline in a prompt would end the comment and break the event.
    return " ".join(str(text).split())


def _edl_comments(clip: otio.schema.Clip, local: str | None, rate: float) -> list[str]:
    # Avid writes the file's name here (conform tools match it against linked clips); the full
    # path is in the FROM CLIP comment, which OTIO's reader takes as the media reference.
    comments = [f"SOURCE FILE: {os.path.basename(local)}"] if local else []
    prov = clip.metadata.get(METADATA_KEY)
    if prov is not None and hasattr(prov, "get"):
        source = prov.get("source_range")
        if source is not None and hasattr(source, "get") and source.get("tc_in"):
            comments.append(
                _comment(
                    f"ALEPH SOURCE: {prov.get('source_clip', '')} "
                    f"{source.get('tc_in')} {source.get('tc_out', '')}"
                )
            )
        if prov.get("task_uuid"):
            comments.append(f"ALEPH TASK: {prov.get('task_uuid')}")
        if prov.get("prompt"):
            comments.append(_comment(f"ALEPH PROMPT: {prov.get('prompt')}"))
    return comments


def _write_edls(timeline: otio.schema.Timeline, path: Path) -> list[Path]:
    _conform_results_to_files(timeline)
    chosen = _edl_tracks(timeline)
    files = [
        local
        for _label, track in chosen
        for clip in track.find_clips()
        if isinstance(clip.media_reference, otio.schema.ExternalReference)
        and (local := _local_file(clip.media_reference.target_url))
    ]
    reels = reel_names(files)
    start = timeline.global_start_time
    targets = edl_paths(path, [label for label, _ in chosen])
    written = []
    for (label, track), target in zip(chosen, targets, strict=True):
        edl_track = track.deepcopy()
        rate = _edl_rate(edl_track)
        for clip in edl_track.find_clips():
            ref = clip.media_reference
            local = (
                _local_file(ref.target_url)
                if isinstance(ref, otio.schema.ExternalReference)
                else None
            )
            if isinstance(ref, otio.schema.ExternalReference) and re.search(
                r"[\r\n]", ref.target_url
            ):
                raise TimelineWriteError(
                    f"{path}: clip {_comment(clip.name)!r}: its media path has a line break, "
                    "which an EDL cannot hold; rename the file or write .otio/.xml"
                )
            # An EDL is line-based: a line break in a name would end the comment and start
            # forged events. Every text the writer copies becomes one line.
            clip.name = _comment(clip.name)
            for marker in clip.markers:
                marker.name = _comment(marker.name)
            cmx = dict(clip.metadata.get("cmx_3600", {}))
            if local in reels:
                cmx["reel"] = reels[local]
            elif cmx.get("reel"):
                cmx["reel"] = _comment(cmx["reel"])
            cmx["comments"] = [
                _comment(c)
                for c in cmx.get("comments", [])
                if not str(c).startswith(("SOURCE FILE:", "ALEPH "))
            ] + _edl_comments(clip, local, rate)
            clip.metadata["cmx_3600"] = cmx
        _markers_to_record_time(edl_track, start)
        if start is not None:
            # The writer counts record time from the stack's 0; the reader marks an EDL's
            # record start as a negative track start, so do the same with the timeline start.
            sr = edl_track.source_range
            span = sr.duration if sr is not None else edl_track.available_range().duration
            offset = sr.start_time if sr is not None else RT(0, span.rate)
            edl_track.source_range = TR(offset - start.rescaled_to(span.rate), span)
        one = otio.schema.Timeline(name=_comment(f"{timeline.name} {track.name}"))
        one.tracks.append(edl_track)
        written.append(_write_edl(one, target, rate))
        log.info("wrote %s (%s)", target, label)
    _remove_stale_edls(path, written)
    return written


def _remove_stale_edls(path: Path, written: list[Path]) -> None:
    """Delete ``<stem>_v###x.edl`` files an earlier run wrote beside ``path`` and this one did not.

    A run with fewer variations than the last would otherwise leave an old version's EDL next to
    the new ones, for someone to conform by mistake. Only files that carry aleph-otio's
    ``* ALEPH TASK:`` comments are removed; anything else with such a name is left alone.
    """
    pattern = re.compile(rf"{re.escape(path.stem)}_v\d{{3}}[a-z]*{re.escape(path.suffix)}")
    keep = {p.name for p in written}
    for sibling in path.parent.iterdir():
        if sibling.name in keep or not pattern.fullmatch(sibling.name) or not sibling.is_file():
            continue
        try:
            ours = "\n* ALEPH TASK: " in sibling.read_text(encoding="utf-8", errors="replace")
            if ours:
                sibling.unlink()
                log.info("removed %s: an earlier run's version this run did not write", sibling)
        except OSError as exc:
            log.warning("could not remove the stale %s: %s", sibling, exc.strerror)


def _write_edl(timeline: otio.schema.Timeline, path: Path, rate: float) -> Path:
    """The adapter's Avid-style EDL plus the ``FCM:`` line it leaves out, written atomically."""
    try:
        text = otio.adapters.write_to_string(timeline, "cmx_3600", style="avid", rate=rate)
    except Exception as exc:  # noqa: BLE001 - adapters raise anything; the user needs one line
        detail = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise TimelineWriteError(
            f"{path}: cannot write as cmx_3600: {detail}; try another format (e.g. .otio)"
        ) from None
    lines = text.splitlines()
    # The adapter writes drop-frame time codes (";") at 29.97/59.94 without saying so.
    drop = any(";" in line for line in lines if re.match(r"^\d{3}\s", line))
    fcm = "FCM: DROP FRAME" if drop else "FCM: NON-DROP FRAME"
    at = 1 if lines and lines[0].startswith("TITLE:") else 0
    lines.insert(at, fcm)
    return _atomic_write_text(path, "\n".join(lines) + "\n")


def _atomic_write_text(path: Path, text: str) -> Path:
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    except OSError as exc:
        raise TimelineWriteError(
            f"{path}: cannot write in {path.parent} ({exc.strerror})"
        ) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; match a normal write
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise TimelineWriteError(f"{path}: cannot write ({exc.strerror})") from None
    return path


def _markers_to_record_time(
    track: otio.schema.Track, start: otio.opentime.RationalTime | None
) -> None:
    """EDL ``* LOC:`` timecodes are record timecodes; the writer prints marker times as given."""
    origin = track.source_range.start_time if track.source_range is not None else None
    for clip in track.find_clips():
        if not clip.markers or clip.source_range is None:
            continue
        rec_in = clip.range_in_parent().start_time
        for marker in clip.markers:
            marked = marker.marked_range
            at = rec_in + (marked.start_time - clip.source_range.start_time)
            if origin is not None:
                at -= origin
            if start is not None:
                at += start
            marker.marked_range = TR(at.rescaled_to(marked.start_time.rate), marked.duration)


def _edl_rate(track: otio.schema.Track) -> float:
    clips = list(track.find_clips())
    rate = clips[0].source_range.duration.rate if clips else track.duration().rate
    rate = parse_rate(rate)
    if smpte_rate(rate) is None:
        raise TimelineWriteError(
            f"track {track.name!r} runs at {rate:g} fps, which SMPTE timecode (and so an EDL) "
            "cannot express; write .xml or .otio"
        )
    return rate


# --- FCPXML ------------------------------------------------------------------------------------


def _rates(timeline: otio.schema.Timeline) -> set[float]:
    rates: set[float] = set()
    for clip in timeline.find_clips():
        if clip.source_range is not None:
            rates.add(clip.source_range.duration.rate)
        ref = clip.media_reference
        if ref is not None and ref.available_range is not None:
            rates.add(ref.available_range.duration.rate)
    return rates


def _write_fcpxml(timeline: otio.schema.Timeline, path: Path) -> Path:
    ntsc = sorted(r for r in _rates(timeline) if abs(r - round(r)) > 1e-6)
    if ntsc:
        where = next(
            (
                c
                for c in timeline.find_clips()
                if c.source_range is not None and c.source_range.duration.rate in ntsc
            ),
            None,
        )
        clip = (
            f" (clip {where.name!r} at {timecode(where.range_in_parent().start_time)})"
            if where is not None
            else ""
        )
        raise TimelineWriteError(
            f"{path}: the FCPXML adapter cannot write {ntsc[0]:.3f} fps{clip}; write .xml "
            "(FCP 7 XML) or .otio instead"
        )
    _conform_results_to_files(timeline)
    _to_file_urls(timeline, localhost=False)
    return write_timeline(timeline, path)


# --- AAF ---------------------------------------------------------------------------------------


def _mob_id(key: str) -> str:
    """A stable AAF MobID for a media file, so each file is one master clip."""
    import aaf2.mobid

    mob = aaf2.mobid.MobID.new()
    mob.material = uuid.uuid5(uuid.NAMESPACE_URL, key)
    return str(mob)


def _write_aaf(timeline: otio.schema.Timeline, path: Path) -> Path:
    try:
        import aaf2.mobid  # noqa: F401 - only to fail early with a clear message
    except ImportError:
        raise TimelineWriteError(
            f"{path}: writing AAF needs the otio-aaf-adapter package; install it, or write "
            ".xml (Premiere, Resolve) or .edl (Avid)"
        ) from None
    _conform_results_to_files(timeline)
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if not isinstance(ref, otio.schema.ExternalReference) or not ref.target_url:
            continue
        aaf = dict(ref.metadata.get("AAF", {}))
        if _is_result_clip(clip) or not aaf.get("MobID"):
            aaf["MobID"] = _mob_id(ref.target_url)
            ref.metadata["AAF"] = aaf
        if _is_result_clip(clip) and "AAF" in clip.metadata:
            # A clip read from AAF names its original master mob; the result is another file.
            clip_aaf = dict(clip.metadata["AAF"])
            clip_aaf.pop("SourceID", None)
            clip_aaf["MobID"] = aaf["MobID"]
            clip.metadata["AAF"] = clip_aaf
    _to_file_urls(timeline, localhost=False)
    try:
        return write_timeline(timeline, path, use_empty_mob_ids=True)
    except TimelineWriteError as exc:
        raise TimelineWriteError(
            f"{exc}; AAF could not hold this timeline, write .xml (Premiere, Resolve) or .edl "
            "(Avid) instead"
        ) from None


__all__ = [
    "GUIDE_TRACK",
    "edl_paths",
    "file_url",
    "reel_names",
    "version_label",
    "write_output",
    "write_outputs",
]
