"""Each shot's colour pipeline, from the settings, the clip, its metadata and its media.

The input colour space of a clip, first that applies:
1. a ``rules`` regex (``--colorspace-rule REGEX=SPACE``) found in the clip's name or its file's
   name, first rule first;
2. the colour space the clip's OTIO metadata names: Hiero/Nuke Studio exports through AYON (and
   OpenPype before it) write ``ayon.source.colourtransform`` (``openpype.source.colourtransform``)
   on the media reference, from Hiero's source media colour transform;
3. ``input_colorspace`` for the whole run;
4. the media's own tags (FFmpeg's transfer and primaries codes), only for what they can say:
   Rec.709/sRGB video, PQ/HLG, linear. Last because camera ProRes is often tagged BT.709 while
   it holds LogC or S-Log3: explicit beats inferred.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import opentimelineio as otio

from aleph_otio.config import ColourSettings
from aleph_otio.errors import ConfigError, MediaError
from aleph_otio.files import sha256_file
from aleph_otio.media.colour.config import (
    colorspace,
    config_id,
    config_source,
    display_view,
    is_scene_linear,
    load_config,
)
from aleph_otio.media.colour.transform import CDL_SUFFIXES, cdl_ids, lut_file
from aleph_otio.media.probe import MediaInfo, probe
from aleph_otio.shots import Plan, Shot, ShotColour, SourceSegment, shot_id
from aleph_otio.timeline import LoadedTimeline

#: Metadata keys that name a clip's source colour space, on the media reference or the clip.
METADATA_KEYS = ("ayon.source.colourtransform", "openpype.source.colourtransform")
#: (transfer, primaries) FFmpeg codes -> a colour space of the built-in studio config.
_TAGGED = {
    (1, 1): "Rec.1886 Rec.709 - Display",
    (6, 1): "Rec.1886 Rec.709 - Display",
    (14, 1): "Rec.1886 Rec.709 - Display",
    (13, 1): "sRGB - Display",
    (8, 1): "Linear Rec.709 (sRGB)",
    (16, 9): "Rec.2100-PQ - Display",
    (18, 9): "Rec.2100-HLG - Display",
}
MediaInfoFn = Callable[[str], MediaInfo | None]


def attach_colour(
    loaded: LoadedTimeline,
    plan: Plan,
    settings: ColourSettings,
    media_info: MediaInfoFn | None = None,
) -> Plan:
    """``plan`` with each shot's colour pipeline set and its id renewed to include it.

    A shot whose clips need different input spaces, or a clip with none, is refused with one
    error line (the other shots still go).
    """
    source = config_source(settings.ocio_config)
    config = load_config(source)
    display, view = display_view(config, source, settings.display, settings.view)
    base = {
        "config": source,
        "config_id": config_id(source),
        "display": display,
        "view": None if settings.lut else view,
        "return_colorspace": settings.return_colorspace,
    }
    if settings.lut:
        lut = lut_file(settings.lut)
        base |= {"lut": str(lut), "lut_sha256": sha256_file(lut)}
    working = settings.working_colorspace
    if working:
        working = colorspace(config, source, working, "--working-colorspace")
    rules = [(_rule(pattern), space) for pattern, space in settings.rules]
    probed: dict[str, MediaInfo | None] = {}

    def info(path: str) -> MediaInfo | None:
        if path not in probed:
            probed[path] = (media_info or _probe)(path)
        return probed[path]

    shots: list[Shot] = []
    errors = list(plan.errors)
    for shot in plan.shots:
        try:
            spaces = {_input_space(loaded, seg, settings, rules, info) for seg in shot.segments}
            if len(spaces) > 1:
                found = ", ".join(f"{s!r} ({w})" for s, w in sorted(spaces))
                raise ConfigError(
                    f"its clips are in different colour spaces ({found}); one Aleph clip needs"
                    " one: split the marker at the cut"
                )
            name, origin = spaces.pop()
            name = colorspace(config, source, name, f"{origin}")
            if settings.return_colorspace == "source" and is_scene_linear(config, name):
                raise ConfigError(
                    f"--return-colorspace source: {name} is scene-linear, which a movie cannot"
                    " carry (values above 1.0); results come back display-referred: drop the"
                    " option, or convert them in the compositing package"
                )
            cdl, warning = _cdl(settings.cdl, shot)
            colour = ShotColour(
                **base,  # type: ignore[arg-type]
                input_colorspace=name,
                input_from=origin,
                working_colorspace=working or name,
                **cdl,
            )
        except ConfigError as exc:
            errors.append(f"{shot.marker_location or shot.name}: colour: {exc}")
            continue
        new_id = shot_id(
            shot.prompt,
            shot.segments,
            shot.guides,
            shot.head_frames,
            shot.tail_frames,
            shot.options,
            colour,
            shot.send_step,
        )
        warnings = [*shot.warnings, warning] if warning else shot.warnings
        shots.append(shot.model_copy(update={"colour": colour, "id": new_id, "warnings": warnings}))
    return plan.model_copy(update={"shots": shots, "errors": errors})


def _rule(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(
            f"--colorspace-rule {pattern!r}: not a regular expression ({exc})"
        ) from None


def _input_space(
    loaded: LoadedTimeline,
    seg: SourceSegment,
    settings: ColourSettings,
    rules: list[tuple[re.Pattern[str], str]],
    info: MediaInfoFn,
) -> tuple[str, str]:
    """(colour space, where it came from) for one segment's clip."""
    file_name = Path(seg.media_path).name
    for pattern, space in rules:
        if pattern.search(seg.clip_name) or pattern.search(file_name):
            return space, f"rule {pattern.pattern!r}"
    named = _metadata_space(loaded, seg)
    if named is not None:
        return named
    if settings.input_colorspace:
        return settings.input_colorspace, "--input-colorspace"
    facts = info(seg.media_path)
    if facts is not None:
        tagged = _TAGGED.get((facts.color_trc, facts.color_primaries))
        if tagged is not None:
            return tagged, f"media tags of {file_name}"
    raise ConfigError(
        f"clip {seg.clip_name!r} ({file_name}, track {seg.track_name!r} at {seg.source_tc_in}):"
        " no input colour space (no rule matched, no clip metadata, untagged media); pass"
        " --input-colorspace SPACE or --colorspace-rule REGEX=SPACE"
    )


def _metadata_space(loaded: LoadedTimeline, seg: SourceSegment) -> tuple[str, str] | None:
    try:
        clip = loaded.timeline.tracks[seg.track_index][seg.clip_index]
    except IndexError:
        return None
    if not isinstance(clip, otio.schema.Clip):
        return None
    holders = [("media reference", clip.media_reference), ("clip", clip)]
    for where, holder in holders:
        metadata = getattr(holder, "metadata", None) or {}
        for key in METADATA_KEYS:
            value = metadata.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip(), f"{where} metadata {key}"
    return None


def _cdl(setting: str | None, shot: Shot) -> tuple[dict[str, Any], str | None]:
    """The shot's CDL fields and a warning when a CDL was asked for but none matches."""
    if not setting:
        return {}, None
    path = Path(setting).expanduser().resolve()
    if not path.exists():
        raise ConfigError(f"{path}: CDL file or folder not found; check --cdl")
    keys = _cdl_keys(shot)
    files = (
        sorted(p for p in path.iterdir() if p.suffix.lower() in CDL_SUFFIXES)
        if path.is_dir()
        else [path]
    )
    # A file named after the clip wins; then an id inside any file; then a lone correction.
    chosen: tuple[Path, str] | None = None
    for candidate in files:
        if candidate.stem.lower() in keys:
            ids = cdl_ids(str(candidate))
            match = [i for i in ids if i.lower() in keys]
            chosen = (candidate, match[0] if match else (ids[0] if ids else ""))
            break
    if chosen is None:
        for candidate in files:
            match = [i for i in cdl_ids(str(candidate)) if i.lower() in keys]
            if match:
                chosen = (candidate, match[0])
                break
    if chosen is None and path.is_file():
        ids = cdl_ids(str(path))
        if len(ids) == 1:
            chosen = (path, ids[0])
    if chosen is None:
        names = ", ".join(sorted(keys))
        return {}, f"colour: no CDL in {path} matches {names}; sent without a CDL"
    found, cdl_id = chosen
    return {"cdl": str(found), "cdl_id": cdl_id or None, "cdl_sha256": sha256_file(found)}, None


def _cdl_keys(shot: Shot) -> set[str]:
    """Names a CDL may be matched by: the clips', their files' stems, the marker's."""
    keys = {s.clip_name for s in shot.segments} | {Path(s.media_path).stem for s in shot.segments}
    if shot.marker_name:
        keys.add(shot.marker_name)
    return {k.lower() for k in keys if k}


def _probe(path: str) -> MediaInfo | None:
    try:
        return probe(Path(path), count_frames=False)
    except MediaError:
        return None
