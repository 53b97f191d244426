"""FCP 7 XML (xmeml) as Premiere Pro and Resolve write it (OTIO's ``fcp_xml`` adapter).

Clip markers count from the media file's first frame, without its start timecode. Premiere
(xmeml 4, ``<pproTicksIn>``) copies every master-clip marker into every clipitem of the clip
and its linked audio (:mod:`.copies`), and gives a marker's colour as ``<pproColor>``; FCP 7
and Resolve (xmeml 5) write a ``<color>`` of 0-255 channels, or none.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import opentimelineio as otio

from aleph_otio.timeline.access import clean_text, items_of, keys_of, nested_get
from aleph_otio.timeline.dialects.base import Dialect, Reading, TimelineFile
from aleph_otio.timeline.dialects.copies import MarkerCopies, lands_on

#: Marker colours by RGB, nearest wins: Premiere's swatches (its ``<pproColor>`` numbers
#: decoded, as exported by Premiere Pro; green is its default and written as no tag) and
#: FCP 7's named colours (OpenTimelineIO's "Editorial File Format Notes").
_PALETTE: tuple[tuple[tuple[int, int, int], str], ...] = (
    ((210, 44, 54), "RED"),  # Premiere 4281740498
    ((233, 111, 36), "ORANGE"),  # Premiere 4280578025
    ((208, 161, 43), "YELLOW"),  # Premiere 4281049552
    ((255, 255, 255), "WHITE"),  # Premiere 4294967295
    ((66, 141, 252), "BLUE"),  # Premiere 4294741314
    ((175, 139, 177), "PURPLE"),  # Premiere 4289825711 (its violet)
    ((25, 244, 214), "CYAN"),  # Premiere 4292277273
    ((255, 0, 0), "RED"),
    ((255, 127, 0), "ORANGE"),
    ((255, 255, 0), "YELLOW"),
    ((48, 191, 72), "GREEN"),
    ((48, 191, 191), "CYAN"),  # FCP 7's turquoise
    ((0, 128, 255), "BLUE"),
    ((127, 0, 255), "PURPLE"),
    ((255, 0, 127), "PINK"),
    ((255, 0, 255), "MAGENTA"),
    ((0, 0, 0), "BLACK"),
)


def nearest_color(red: int, green: int, blue: int) -> str:
    """The OTIO marker colour nearest to an RGB colour."""

    def distance(entry: tuple[tuple[int, int, int], str]) -> int:
        (r, g, b), _ = entry
        return (r - red) ** 2 + (g - green) ** 2 + (b - blue) ** 2

    return min(_PALETTE, key=distance)[1]


def ppro_color(value: Any) -> str | None:
    """The OTIO colour of a ``<pproColor>`` number (0xAABBGGRR), None when it is not one."""
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    if not 0 <= number < 1 << 32:
        return None
    return nearest_color(number & 0xFF, (number >> 8) & 0xFF, (number >> 16) & 0xFF)


def _channel(color: Mapping[str, Any], name: str) -> int | None:
    try:
        value = int(str(nested_get(color, name)).strip())
    except ValueError:
        return None
    return value if 0 <= value <= 255 else None


def _marker_color(meta: Any, premiere: bool) -> str | None:
    """The colour an FCP 7 XML marker's metadata gives (Premiere's default: green)."""
    if isinstance(meta, Mapping) and len(meta):
        keys = keys_of(meta)
        if "pproColor" in keys:
            found = ppro_color(meta["pproColor"])
            if found is not None:
                return found
        if "color" in keys and isinstance(meta["color"], Mapping):
            rgb = [_channel(meta["color"], c) for c in ("red", "green", "blue")]
            if None not in rgb:
                return nearest_color(*(c or 0 for c in rgb))
    return "GREEN" if premiere else None


def _media_key(clip: otio.schema.Clip, meta: Any) -> Hashable | None:
    """What names a clip's media across clipitems: Premiere's master clip, else the file."""
    master = clean_text(nested_get(meta, "masterclipid")) if isinstance(meta, Mapping) else ""
    if master:
        return ("masterclip", master)
    ref = clip.media_reference
    url = getattr(ref, "target_url", "") if ref is not None else ""
    return ("file", url) if url else None


class Fcp7Dialect(Dialect):
    name = "fcp7"
    adapters = ("fcp_xml",)
    comment_keys = (("fcp_xml", "comment"),)

    def clip_marker_start(
        self, loaded: TimelineFile, clip: otio.schema.Clip, marker: otio.schema.Marker
    ) -> otio.opentime.RationalTime | None:
        avail = clip.media_reference.available_range if clip.media_reference else None
        if avail is None:
            return None
        start = marker.marked_range.start_time
        return start + avail.start_time.rescaled_to(start.rate)

    def normalise(self, loaded: TimelineFile) -> Reading:
        """Premiere's marker copies (ignored) and every marker's colour, in one pass."""
        reading = Reading()
        copies = MarkerCopies()
        premiere = False
        markers = items_of(loaded.timeline.tracks.markers)
        for track in items_of(loaded.timeline.tracks):
            if not isinstance(track, otio.schema.Track):
                continue
            video = track.kind == otio.schema.TrackKind.Video
            markers += items_of(track.markers)
            for child in items_of(track):
                if not isinstance(child, otio.schema.Clip):
                    continue
                meta = nested_get(child.metadata, "fcp_xml")
                if not premiere and isinstance(meta, Mapping) and len(meta):
                    premiere = "pproTicksIn" in keys_of(meta)
                clip_markers = items_of(child.markers)
                if not clip_markers:
                    continue
                markers += clip_markers
                self._add_copies(loaded, copies, child, meta, clip_markers, video)
        copies.note(reading)
        shown = nested_get(loaded.timeline.metadata, "fcp_xml", "timecode", "displayformat")
        reading.drop_frame = isinstance(shown, str) and shown.strip().upper() == "DF"
        for marker in markers:
            color = _marker_color(nested_get(marker.metadata, "fcp_xml"), premiere)
            if color is not None:
                facts = reading.note(marker)
                facts.color, facts.color_replaces = color, True
        return reading

    def _add_copies(
        self,
        loaded: TimelineFile,
        copies: MarkerCopies,
        clip: otio.schema.Clip,
        meta: Any,
        clip_markers: list[otio.schema.Marker],
        video: bool,
    ) -> None:
        media = _media_key(clip, meta)
        if media is None:
            return
        try:
            bounds = clip.trimmed_range()
        except Exception:  # noqa: BLE001 - a clip without a range is refused by the planner
            return
        for marker in clip_markers:
            marked = marker.marked_range
            conventional = self.clip_marker_start(loaded, clip, marker)
            on_clip = lands_on(bounds, marked, marked.start_time) or (
                conventional is not None and lands_on(bounds, marked, conventional)
            )
            note = clean_text(nested_get(marker.metadata, "fcp_xml", "comment"))
            start, length = marked.start_time, marked.duration
            key = (media, round(start.value, 3), round(length.value, 3), marker.name, note)
            copies.add(key, marker, video=video, on_clip=on_clip)
