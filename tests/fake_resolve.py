"""A fake of DaVinci Resolve's scripting objects, following Resolve's documented API.

Only what ``aleph_otio.resolve`` may call is here, with the names, arguments and return values
of Resolve's ``Developer/Scripting/README.txt`` (Resolve 19/20): failures come back as
``False``/``None``, never as exceptions; timeline and track indices count from 1; marker frame
ids are offsets from the timeline's (or clip's) first frame.

The fake holds its edit as Resolve does (clips placed at absolute timeline frames, each showing
media frames of a real file), so :meth:`FakeTimeline.Export` writes the OTIO file Resolve writes
(the shape recorded from a real Resolve export in ../shared/reference/opentimelineio.md §5.2:
``Resolve_OTIO`` metadata, ``global_start_time`` 86400@24, ``Clip.2`` with plain OS paths,
``source_range`` at the timeline rate and ``available_range`` at the media rate, markers with a
``Resolve_OTIO`` note) and :meth:`FakeMediaPool.ImportTimelineFromFile` reads such a file back
into a new timeline, as the Edit page would show it.

What real Resolve does that the fake cannot know is a flag: ``export_marker_colors`` (whether an
export keeps Resolve's own colour names: unverified; the default writes only the nearest OTIO
colour), ``export_timeline_markers`` (False: a build whose export drops timeline markers) and
``stack_markers_absolute`` (count timeline markers from the start timecode instead of 0).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import opentimelineio as otio

from aleph_otio.media import probe

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange

#: Resolve's marker colours -> the OTIO colour the fake's export writes (nearest).
OTIO_COLOR = {
    "Blue": "BLUE", "Cyan": "CYAN", "Green": "GREEN", "Yellow": "YELLOW", "Red": "RED",
    "Pink": "PINK", "Purple": "PURPLE", "Fuchsia": "MAGENTA", "Rose": "PINK",
    "Lavender": "PURPLE", "Sky": "CYAN", "Mint": "GREEN", "Lemon": "YELLOW", "Sand": "ORANGE",
    "Cocoa": "ORANGE", "Cream": "WHITE",
}  # fmt: skip


class FakeMediaPoolItem:
    """A source clip in the Media Pool (a real file, probed with PyAV)."""

    def __init__(self, path: Path) -> None:
        info = probe(str(path))
        self.path = Path(path)
        self.rate = info.rate
        self.frames = info.frame_count
        self.start_frame = info.start_frame  # the file's start timecode as frames

    def GetName(self) -> str:  # noqa: N802 - Resolve's method names
        return self.path.name

    def GetClipProperty(self, key: str | None = None) -> Any:  # noqa: N802
        props = {
            "File Path": str(self.path),
            "Clip Name": self.path.name,
            "FPS": self.rate,
            "Frames": str(self.frames),
        }
        return props if key is None else props.get(key, "")


@dataclass
class FakeTimelineItem:
    """A clip on a timeline: ``start`` is an absolute timeline frame (``GetStart()``);
    ``source_start`` the first media frame it shows, counted from the file's first frame."""

    name: str
    media: FakeMediaPoolItem | None
    start: int
    duration: int
    source_start: int
    markers: dict[float, dict[str, Any]] = field(default_factory=dict)
    target_url: str = ""  # what the imported file said, when the media is offline

    def GetName(self) -> str:  # noqa: N802
        return self.name

    def GetStart(self, subframe_precision: bool = False) -> int:  # noqa: N802
        return self.start

    def GetEnd(self, subframe_precision: bool = False) -> int:  # noqa: N802
        return self.start + self.duration

    def GetDuration(self, subframe_precision: bool = False) -> int:  # noqa: N802
        return self.duration

    def GetSourceStartFrame(self) -> int:  # noqa: N802
        return self.source_start

    def GetSourceEndFrame(self) -> int:  # noqa: N802
        return self.source_start + self.duration

    def GetMediaPoolItem(self) -> FakeMediaPoolItem | None:  # noqa: N802
        return self.media

    def GetMarkers(self) -> dict[float, dict[str, Any]]:  # noqa: N802
        return copy.deepcopy(self.markers)

    def AddMarker(  # noqa: N802
        self,
        frameId: float,  # noqa: N803
        color: str,
        name: str,
        note: str,
        duration: int,
        customData: str = "",  # noqa: N803
    ) -> bool:
        """A clip marker ``frameId`` frames after the clip's first frame on the timeline."""
        if float(frameId) in self.markers or color not in OTIO_COLOR or duration < 1:
            return False
        self.markers[float(frameId)] = _marker(color, name, note, duration, customData)
        return True


@dataclass
class FakeTrack:
    name: str
    kind: str  # "video" or "audio"
    items: list[FakeTimelineItem] = field(default_factory=list)


def _marker(color: str, name: str, note: str, duration: int, custom: str) -> dict[str, Any]:
    return {
        "color": color,
        "duration": float(duration),
        "note": note,
        "name": name,
        "customData": custom,
    }


class FakeTimeline:
    """A Resolve timeline: tracks of clips at absolute frames, markers at offsets."""

    def __init__(
        self,
        name: str,
        rate: float = 24,
        start_frame: int = 86400,
        *,
        export_marker_colors: bool = False,
        export_timeline_markers: bool = True,
        stack_markers_absolute: bool = False,
    ) -> None:
        self.name = name
        self.rate = rate
        self.start_frame = start_frame
        self.tracks: list[FakeTrack] = []
        self.markers: dict[float, dict[str, Any]] = {}
        self.export_marker_colors = export_marker_colors
        self.export_timeline_markers = export_timeline_markers
        self.stack_markers_absolute = stack_markers_absolute
        self.calls: list[str] = []  # every method called, for "was it modified?" checks

    # --- building (what an editor does in the UI) ----------------------------------------

    def add_track(self, kind: str, name: str | None = None) -> FakeTrack:
        number = sum(1 for t in self.tracks if t.kind == kind) + 1
        track = FakeTrack(name or f"{'Video' if kind == 'video' else 'Audio'} {number}", kind)
        self.tracks.append(track)
        return track

    def append_clip(
        self, track: FakeTrack, media: FakeMediaPoolItem, source_start: int, duration: int
    ) -> FakeTimelineItem:
        """Cut ``duration`` frames of ``media`` from ``source_start`` onto the end of ``track``."""
        end = max((i.GetEnd() for i in track.items), default=self.start_frame)
        item = FakeTimelineItem(media.path.stem, media, end, duration, source_start)
        track.items.append(item)
        return item

    def state(self) -> Any:
        """Everything the editor sees (tracks, clips, media, markers), to compare before/after."""
        tracks = [
            (
                t.name,
                t.kind,
                [
                    (i.name, str(i.media.path) if i.media else None, i.start, i.duration,
                     i.source_start, copy.deepcopy(i.markers))
                    for i in t.items
                ],
            )
            for t in self.tracks
        ]  # fmt: skip
        return (self.name, self.rate, self.start_frame, copy.deepcopy(self.markers), tracks)

    # --- Resolve API ------------------------------------------------------------------------

    def GetName(self) -> str:  # noqa: N802
        self.calls.append("GetName")
        return self.name

    def GetSetting(self, name: str = "") -> Any:  # noqa: N802
        self.calls.append("GetSetting")
        rate = str(int(self.rate)) if float(self.rate).is_integer() else f"{self.rate:.3f}"
        settings = {"timelineFrameRate": rate, "timelineResolutionWidth": "320"}
        return settings if not name else settings.get(name, "")

    def GetStartFrame(self) -> int:  # noqa: N802
        self.calls.append("GetStartFrame")
        return self.start_frame

    def GetEndFrame(self) -> int:  # noqa: N802
        ends = [i.GetEnd() for t in self.tracks for i in t.items]
        return max(ends, default=self.start_frame)

    def GetStartTimecode(self) -> str:  # noqa: N802
        return str(otio.opentime.to_timecode(RT(self.start_frame, self.rate), self.rate))

    def GetTrackCount(self, track_type: str) -> int:  # noqa: N802
        return sum(1 for t in self.tracks if t.kind == track_type)

    def _track(self, track_type: str, index: int) -> FakeTrack | None:
        same = [t for t in self.tracks if t.kind == track_type]
        return same[index - 1] if 1 <= index <= len(same) else None

    def GetTrackName(self, track_type: str, index: int) -> str:  # noqa: N802
        track = self._track(track_type, index)
        return track.name if track else ""

    def GetItemListInTrack(self, track_type: str, index: int) -> list[FakeTimelineItem]:  # noqa: N802
        track = self._track(track_type, index)
        return list(track.items) if track else []

    def GetMarkers(self) -> dict[float, dict[str, Any]]:  # noqa: N802
        self.calls.append("GetMarkers")
        return copy.deepcopy(self.markers)

    def AddMarker(  # noqa: N802
        self,
        frameId: float,  # noqa: N803
        color: str,
        name: str,
        note: str,
        duration: int,
        customData: str = "",  # noqa: N803
    ) -> bool:
        self.calls.append("AddMarker")
        if float(frameId) in self.markers or color not in OTIO_COLOR or duration < 1:
            return False
        self.markers[float(frameId)] = _marker(color, name, note, duration, customData)
        return True

    def Export(self, fileName: str, exportType: int, exportSubtype: int | None = None) -> bool:  # noqa: N802, N803
        self.calls.append("Export")
        if exportType == FakeResolve.EXPORT_OTIO:
            adapter = "otio_json"
        elif exportType == FakeResolve.EXPORT_FCP_7_XML:
            adapter = "fcp_xml"
        else:
            return False
        try:
            otio.adapters.write_to_file(self.to_otio(), fileName, adapter_name=adapter)
        except Exception:  # noqa: BLE001 - Resolve answers False, it does not raise
            return False
        return True

    # --- the export's shape -----------------------------------------------------------------

    def _otio_marker(self, frame: float, info: dict[str, Any], offset: float) -> otio.schema.Marker:
        resolve_meta: dict[str, Any] = {"Keywords": [], "Note": info["note"]}
        if self.export_marker_colors:
            resolve_meta["Color"] = info["color"]
        return otio.schema.Marker(
            name=info["name"],
            color=OTIO_COLOR.get(info["color"], "RED"),
            marked_range=TR(RT(frame + offset, self.rate), RT(max(1, info["duration"]), self.rate)),
            metadata={"Resolve_OTIO": resolve_meta},
        )

    def to_otio(self) -> otio.schema.Timeline:
        """The timeline as Resolve's OTIO export writes it."""
        timeline = otio.schema.Timeline(
            name=self.name,
            global_start_time=RT(self.start_frame, self.rate),
            metadata={"Resolve_OTIO": {"Resolve OTIO Meta Version": "1.0"}},
        )
        if self.export_timeline_markers:
            offset = self.start_frame if self.stack_markers_absolute else 0
            for frame, info in sorted(self.markers.items()):
                timeline.tracks.markers.append(self._otio_marker(frame, info, offset))
        link = 0
        for track in self.tracks:
            kind = otio.schema.TrackKind.Video if track.kind == "video" else "Audio"
            out = otio.schema.Track(
                name=track.name, kind=kind, metadata={"Resolve_OTIO": {"Locked": False}}
            )
            position = self.start_frame
            for item in sorted(track.items, key=lambda i: i.start):
                if item.start > position:
                    out.append(otio.schema.Gap(duration=RT(item.start - position, self.rate)))
                out.append(self._otio_clip(item, link))
                link += 1
                position = item.GetEnd()
            timeline.tracks.append(out)
        return timeline

    def _otio_clip(self, item: FakeTimelineItem, link: int) -> otio.schema.Clip:
        media = item.media
        if media is None:
            ref: otio.core.MediaReference = otio.schema.MissingReference()
            source_start = RT(item.source_start, self.rate)
        else:
            media_start = RT(media.start_frame + item.source_start, media.rate)
            source_start = media_start.rescaled_to(self.rate)  # Resolve: timeline rate
            ref = otio.schema.ExternalReference(
                target_url=str(media.path),  # a plain OS path, as Resolve writes it
                available_range=TR(RT(media.start_frame, media.rate), RT(media.frames, media.rate)),
            )
            ref.name = media.path.name
        clip = otio.schema.Clip(
            name=item.name,
            source_range=TR(source_start, RT(item.duration, self.rate)),
            metadata={"Resolve_OTIO": {"Link Group ID": link}},
        )
        clip.media_reference = ref
        for frame, info in sorted(item.markers.items()):
            # Clip markers in the clip's source space (its media time code), timeline rate.
            clip.markers.append(self._otio_marker(frame, info, source_start.value))
        return clip


class FakeMediaPool:
    def __init__(self, project: FakeProject) -> None:
        self.project = project
        self.items: dict[str, FakeMediaPoolItem] = {}
        self.imports: list[tuple[str, dict[str, Any]]] = []

    def _item(self, path: Path) -> FakeMediaPoolItem:
        key = str(path)
        if key not in self.items:
            self.items[key] = FakeMediaPoolItem(path)
        return self.items[key]

    def ImportTimelineFromFile(  # noqa: N802
        self,
        filePath: str,  # noqa: N803
        importOptions: dict[str, Any] | None = None,  # noqa: N803
    ) -> FakeTimeline | None:
        """Read an AAF/EDL/XML/FCPXML/OTIO file into a new timeline; None on failure."""
        options = dict(importOptions or {})
        self.imports.append((filePath, options))
        try:
            result = otio.adapters.read_from_file(filePath)
        except Exception:  # noqa: BLE001 - Resolve answers None
            return None
        if not isinstance(result, otio.schema.Timeline):
            return None
        name = str(options.get("timelineName") or result.name or Path(filePath).stem)
        if name in [t.name for t in self.project.timelines]:
            return None
        import_media = bool(options.get("importSourceClips", True))
        timeline = self._timeline(result, name, import_media)
        self.project.timelines.append(timeline)
        return timeline

    def _timeline(
        self, source: otio.schema.Timeline, name: str, import_media: bool
    ) -> FakeTimeline:
        gst = source.global_start_time
        rate = float(gst.rate) if gst is not None else 24.0
        start = round(gst.value) if gst is not None else 0
        timeline = FakeTimeline(name, rate, start)
        for marker in source.tracks.markers:
            frame = float(round(marker.marked_range.start_time.value_rescaled_to(rate)))
            timeline.markers[frame] = _marker(
                "Blue", marker.name, "", round(marker.marked_range.duration.value), ""
            )
        for track in source.tracks:
            if not isinstance(track, otio.schema.Track):
                continue
            kind = "video" if track.kind == otio.schema.TrackKind.Video else "audio"
            out = timeline.add_track(kind, track.name or None)
            for clip in track.find_clips(shallow_search=True):
                out.items.append(self._item_for(clip, timeline, import_media))
        return timeline

    def _item_for(
        self, clip: otio.schema.Clip, timeline: FakeTimeline, import_media: bool
    ) -> FakeTimelineItem:
        record = clip.range_in_parent()
        start = timeline.start_frame + round(record.start_time.value_rescaled_to(timeline.rate))
        duration = round(record.duration.value_rescaled_to(timeline.rate))
        ref = clip.media_reference
        url = getattr(ref, "target_url", "") or ""
        path = (
            Path(otio.url_utils.filepath_from_url(url)) if url.startswith("file://") else Path(url)
        )
        media = self._item(path) if import_media and url and path.is_file() else None
        source_start = 0
        if media is not None:
            # Resolve places the clip by the FILE's embedded time code (as in an XML/AAF
            # conform), not by the reference's available_range: the frame shown is the clip's
            # source time code minus the file's start time code.
            first = clip.source_range.start_time.rescaled_to(media.rate)
            source_start = round(first.value) - media.start_frame
            length = round(clip.source_range.duration.rescaled_to(media.rate).value)
            if source_start < 0 or source_start + length > media.frames:
                media = None  # outside the file: Resolve shows the clip offline
        return FakeTimelineItem(clip.name, media, start, duration, source_start, target_url=url)


class FakeProject:
    def __init__(self, name: str) -> None:
        self.name = name
        self.timelines: list[FakeTimeline] = []
        self.current: FakeTimeline | None = None
        self.media_pool = FakeMediaPool(self)

    def GetName(self) -> str:  # noqa: N802
        return self.name

    def GetMediaPool(self) -> FakeMediaPool:  # noqa: N802
        return self.media_pool

    def GetTimelineCount(self) -> int:  # noqa: N802
        return len(self.timelines)

    def GetTimelineByIndex(self, index: int) -> FakeTimeline | None:  # noqa: N802
        return self.timelines[index - 1] if 1 <= index <= len(self.timelines) else None

    def GetCurrentTimeline(self) -> FakeTimeline | None:  # noqa: N802
        return self.current

    def SetCurrentTimeline(self, timeline: FakeTimeline) -> bool:  # noqa: N802
        if timeline not in self.timelines:
            return False
        self.current = timeline
        return True

    def GetSetting(self, name: str = "") -> Any:  # noqa: N802
        settings = {"timelineFrameRate": "24"}
        return settings if not name else settings.get(name, "")


class FakeProjectManager:
    def __init__(self, project: FakeProject | None) -> None:
        self.project = project

    def GetCurrentProject(self) -> FakeProject | None:  # noqa: N802
        return self.project


class FakeResolve:
    """The ``resolve`` object. ``version`` below 18.5 has no ``EXPORT_OTIO`` (as in Resolve)."""

    EXPORT_NONE = 0
    EXPORT_AAF = 1
    EXPORT_DRT = 2
    EXPORT_EDL = 3
    EXPORT_FCP_7_XML = 4
    EXPORT_FCPXML_1_10 = 5
    EXPORT_OTIO = 17

    def __init__(self, project: FakeProject | None, version: tuple[int, int] = (19, 1)) -> None:
        self.version = version
        self.manager = FakeProjectManager(project)

    def __getattribute__(self, name: str) -> Any:
        if name == "EXPORT_OTIO" and object.__getattribute__(self, "version") < (18, 5):
            raise AttributeError(name)
        return object.__getattribute__(self, name)

    def GetProjectManager(self) -> FakeProjectManager:  # noqa: N802
        return self.manager

    def GetProductName(self) -> str:  # noqa: N802
        return "DaVinci Resolve Studio"

    def GetVersion(self) -> list[Any]:  # noqa: N802
        return [*self.version, 0, 0, ""]

    def GetVersionString(self) -> str:  # noqa: N802
        return ".".join(str(v) for v in self.version) + ".0"
