"""Guide stills for a marked range: from the guide track and from marker metadata."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal

import opentimelineio as otio

from aleph_otio.config import PlanSettings
from aleph_otio.errors import ConfigError
from aleph_otio.locate import MediaLocator
from aleph_otio.timeline.access import display_name, track_label
from aleph_otio.timeline.geometry import intersect, transformed_range
from aleph_otio.timeline.media_refs import is_still, media_path, still_image_path
from aleph_otio.timeline.pieces import stack_timecode, video_tracks
from aleph_otio.timeline.ranges import GuideSpec, Piece, Refused
from aleph_otio.timeline.reading import LoadedTimeline

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


def guides_from_track(
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
    for _, track, is_guide in video_tracks(loaded, settings):
        if not is_guide:
            continue
        for child in track:
            if not isinstance(child, otio.schema.Clip) or not is_still(child):
                continue
            place = transformed_range(child, child.trimmed_range(), stack)
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
                    f"{stack_timecode(loaded, place.start_time)}",
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
            raise Refused(f"{what}: {exc}") from None
    if not os.path.isfile(image):
        raise Refused(
            f"{what}: image {display_name(image, 400)} not found; fix the path or remove the guide"
        )
    return image


def guides_from_metadata(
    loaded: LoadedTimeline, raw: list[Any], locator: MediaLocator
) -> list[GuideSpec]:
    guides = []
    for i, item in enumerate(raw):
        where = f"aleph.guides[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("image"), str):
            raise Refused(f'{where} must be {{"image": "still.png", "frame": "first"}}')
        image = _require_image(
            media_path(item["image"], loaded.folder), where, locator, item["image"]
        )
        frame = item.get("frame")
        stamp = item.get("timestamp")
        if frame is not None and stamp is not None:
            raise Refused(f'{where}: give "frame" or "timestamp", not both')
        if frame is not None:
            position: Literal["first", "last"]
            if frame in (0, "0", "first"):
                position = "first"
            elif frame in (-1, "-1", "last"):
                position = "last"
            else:
                raise Refused(f'{where}: frame must be "first" or "last", not {frame!r}')
            guides.append(GuideSpec(image=image, origin=where, frame=position))
        elif stamp is not None:
            if isinstance(stamp, bool) or not isinstance(stamp, int | float) or stamp < 0:
                raise Refused(f"{where}: timestamp must be seconds >= 0, not {stamp!r}")
            guides.append(GuideSpec(image=image, origin=where, timestamp=float(stamp)))
        else:
            guides.append(GuideSpec(image=image, origin=where, frame="first"))
    return guides
