"""``.edl``: CMX 3600 in Avid style, one file per version track, reels from shot names."""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath

import opentimelineio as otio

from aleph_otio.errors import TimelineWriteError
from aleph_otio.exports.conform import (
    GUIDE_TRACK,
    conform_results_to_files,
    is_result_clip,
    version_label,
)
from aleph_otio.exports.paths import local_file
from aleph_otio.relink import METADATA_KEY
from aleph_otio.timeline import parse_rate, smpte_rate

log = logging.getLogger(__name__)

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange

#: Longest reel name an EDL takes (CMX 3600 / Avid tape names).
REEL_LENGTH = 8


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
    relinked = [t for t in video if any(is_result_clip(c) for c in t.find_clips())]
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


def _unique_forms(
    group: list[str], stems: dict[str, str], length: int, taken: set[str]
) -> list[str]:
    """One name per file of ``group``: the first ``length - k`` and last ``k`` characters of its
    stem for the smallest ``k`` that makes them unique (and free), the whole group alike."""
    for k in range(length):
        tried = [(stems[f][: length - k] + (stems[f][-k:] if k else "")) for f in group]
        if len(set(tried)) == len(tried) and not taken.intersection(tried):
            return tried
    return [stems[group[0]][: length - len(str(i + 1))] + str(i + 1) for i in range(len(group))]


@dataclass(frozen=True)
class ReelSource:
    """What a result file's reel is made of: its shot's name, version and variation."""

    shot: str
    version: int = 1
    variant: int = 0

    @property
    def tag(self) -> str:
        """``v1a``: the version (no leading zeros) and the variation letter."""
        letter = "abcdefghijklmnopqrstuvwxyz"[self.variant] if self.variant < 26 else "z"
        return f"v{self.version}{letter}"


def _shot_reels(sources: dict[str, ReelSource], length: int, taken: set[str]) -> dict[str, str]:
    """Reels of result files from their shots: ``<shot><tag>`` in ``length`` characters.

    The shot name's letters and digits come first; a name too long for the tag beside it keeps
    its end (shot numbers sit there: ``SQ010_SH020`` -> ``SH020v1a``). Shots whose ends meet
    keep characters from both ends instead (``SQ010v1a``, ``SQ020v1a``), the same form for
    every version and variation of a shot, so two shots never share a reel.
    """
    stems = {src.shot: _alnum(src.shot) or "AX" for src in sources.values()}
    room: dict[str, int] = {}
    for src in sources.values():
        room[src.shot] = min(room.get(src.shot, length), max(1, length - len(src.tag)))
    by_end: dict[tuple[str, int], list[str]] = {}
    for shot, stem in stems.items():
        by_end.setdefault((stem[-room[shot] :], room[shot]), []).append(shot)
    form: dict[str, str] = {}
    for (end, size), shots in by_end.items():
        if len({stems[s].casefold() for s in shots}) == len(shots) == 1:
            form[shots[0]] = end
            continue
        picks = _unique_forms(shots, stems, size, set())
        form.update(zip(shots, picks, strict=True))
    names: dict[str, str] = {}
    for f, src in sources.items():
        names[f] = f"{form[src.shot]}{src.tag}"
    for f, src in sources.items():
        counter = 1
        while names[f] in taken or list(names.values()).count(names[f]) > 1:
            # Met a source file's reel or another shot's (only with odd names): a counter
            # after the tag, the shot part losing characters at its front (its number stays).
            digits = str(counter)
            keep = max(0, length - len(src.tag) - len(digits))
            names[f] = f"{form[src.shot][-keep:] if keep else ''}{src.tag}{digits}"[-length:]
            counter += 1
    taken.update(names.values())
    return names


def reel_names(
    files: Iterable[str],
    length: int = REEL_LENGTH,
    shots: dict[str, ReelSource] | None = None,
) -> dict[str, str]:
    """A reel name per media file, at most ``length`` characters, unique.

    A result file of a named shot (``shots``) takes its shot's name, version and variation
    (:func:`_shot_reels`); any other file its file name's letters and digits, where names that
    collide keep the first ``length - k`` and the last ``k`` characters for the smallest ``k``
    that makes them unique; a counter is the last resort.
    """
    files = list(dict.fromkeys(files))
    shots = {f: s for f, s in (shots or {}).items() if f in files}
    names: dict[str, str] = {}
    taken: set[str] = set()
    others = [f for f in files if f not in shots]
    stems = {f: _alnum(PurePath(f).stem) or "AX" for f in others}
    groups: dict[str, list[str]] = {}
    for f in others:
        groups.setdefault(stems[f][:length], []).append(f)
    for prefix, group in groups.items():
        if len(group) == 1 and prefix not in taken:
            names[group[0]] = prefix
            taken.add(prefix)
            continue
        # The whole group takes the same form, so variations read 0/1/2..., not 3/1/2.
        tried = _unique_forms(group, stems, length, taken) if len(group) > 1 else []
        if len(group) == 1:
            tried = _unique_forms(group, stems, length, taken | {prefix})
        names.update(zip(group, tried, strict=True))
        taken.update(tried)
    # Source files first: their reels are the camera's; results take the names left free.
    names.update(_shot_reels(shots, length, taken))
    for f in files:
        # A counter when a shortened name met another file's (rare: only with odd file names).
        counter = 1
        while list(names.values()).count(names[f]) > 1:
            names[f] = names[f][: length - len(str(counter))] + str(counter)
            counter += 1
    return names


def _reel_source(clip: otio.schema.Clip) -> ReelSource | None:
    """The shot behind a result clip (from its provenance), None for any other clip."""
    prov = clip.metadata.get(METADATA_KEY)
    if prov is None or not hasattr(prov, "get") or not prov.get("shot_name"):
        return None
    version = prov.get("shot_version")
    if version is None:
        # Results relinked before versions were numbered: the file name says it.
        found = re.search(r"_v(\d+)[a-z]?$", PurePath(str(prov.get("result_path", ""))).stem)
        version = int(found.group(1)) if found else 1
    return ReelSource(str(prov.get("shot_name")), int(version), int(prov.get("variant") or 0))


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


def write_edls(timeline: otio.schema.Timeline, path: Path) -> list[Path]:
    conform_results_to_files(timeline)
    chosen = _edl_tracks(timeline)
    files: list[str] = []
    shots: dict[str, ReelSource] = {}
    for _label, track in chosen:
        for clip in track.find_clips():
            ref = clip.media_reference
            if isinstance(ref, otio.schema.ExternalReference) and (
                local := local_file(ref.target_url)
            ):
                files.append(local)
                if is_result_clip(clip) and (source := _reel_source(clip)) is not None:
                    shots.setdefault(local, source)
    reels = reel_names(files, shots=shots)
    start = timeline.global_start_time
    targets = edl_paths(path, [label for label, _ in chosen])
    written = []
    for (label, track), target in zip(chosen, targets, strict=True):
        edl_track = track.deepcopy()
        rate = _edl_rate(edl_track)
        for clip in edl_track.find_clips():
            ref = clip.media_reference
            local = (
                local_file(ref.target_url)
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
