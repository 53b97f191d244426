"""Decoding a source's frames in order: upright, scaled to the clip's size, frame-accurate."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.video.frame import VideoFrame

from aleph_otio.errors import MediaError
from aleph_otio.media.info import (
    STILL_FORMATS,
    open_media,
    stream_rate,
    video_stream,
)
from aleph_otio.media.sequence import iter_sequence_frames
from aleph_otio.timeline.sequences import parse_sequence

#: Widest output for a given ``max_height``: a 16:9 box (1920x1080 at the default).
MAX_ASPECT = Fraction(16, 9)


#: Downscaling filter: bicubic, the ffmpeg CLI's default (PyAV's own default is bilinear).
SCALER = "BICUBIC"


#: When a seek lands after the wanted frame (broken index), retry this far earlier, in seconds.
_SEEK_BACKOFF_SECONDS = (2.0, 10.0)


#: Filters that turn a picture by quarter turns clockwise, as the ffmpeg CLI's autorotate does.
_TURN_FILTERS: dict[int, tuple[tuple[str, str | None], ...]] = {
    1: (("transpose", "clock"),),
    2: (("hflip", None), ("vflip", None)),
    3: (("transpose", "cclock"),),
}


class Upright:
    """Shows a source's frames as players do. Phones store portrait video as landscape
    pictures with a display matrix that turns them; cut as stored, Aleph would get the shot on
    its side, and so would the edit when the result comes back without that matrix."""

    def __init__(self, frame: VideoFrame) -> None:
        #: Quarter turns clockwise; the display matrix's angle is counter-clockwise.
        self.turns = round(-frame.rotation / 90) % 4
        self.sideways = self.turns % 2 == 1
        self.shown = (
            "turned a quarter (portrait/landscape swapped)" if self.sideways else "as stored"
        )
        self._graph: av.filter.Graph | None = None
        if self.turns:
            graph = av.filter.Graph()
            node = graph.add_buffer(
                width=frame.width,
                height=frame.height,
                format=frame.format,
                time_base=frame.time_base,
            )
            for name, arg in _TURN_FILTERS[self.turns]:
                turned = graph.add(name, arg) if arg else graph.add(name)
                node.link_to(turned)
                node = turned
            node.link_to(graph.add("buffersink"))
            graph.configure()
            self._graph = graph

    def size(self, frame: VideoFrame) -> tuple[int, int]:
        """The frame's stored size as shown."""
        return (frame.height, frame.width) if self.sideways else (frame.width, frame.height)

    def aspect(self, sar: Fraction | None) -> Fraction | None:
        """The sample aspect ratio of the shown picture (a turned pixel is turned too)."""
        return 1 / sar if sar and self.sideways else sar

    def __call__(self, frame: VideoFrame) -> VideoFrame:
        if self._graph is None:
            return frame
        self._graph.vpush(frame)
        return self._graph.vpull()


@dataclass
class FrameCounter:
    decoded: int = 0
    extra: list[str] = field(default_factory=list)


def output_size(
    width: int, height: int, max_height: int = 1080, sar: Fraction | None = None
) -> tuple[int, int]:
    """Fit a (display) size into ``max_height`` x ``16/9 * max_height``, keeping aspect, even.

    Only scales down; odd dimensions are made even (rounded down) since yuv420p needs it.
    ``sar`` (sample aspect ratio) turns anamorphic storage sizes into display sizes.
    """
    display_w = Fraction(width) * (sar if sar and sar > 0 else 1)
    max_w = MAX_ASPECT * max_height
    scale = min(Fraction(1), Fraction(max_height, height), max_w / display_w)
    out_w = int(display_w * scale)
    out_h = int(Fraction(height) * scale)
    return max(2, out_w - out_w % 2), max(2, out_h - out_h % 2)


def iter_frames(
    path: Path,
    start: int,
    count: int,
    *,
    counter: FrameCounter | None = None,
    upright: bool = False,
) -> Generator[VideoFrame, None, None]:
    """Yield media frames ``start .. start+count-1`` of ``path`` (0-based from its first frame).

    Seeks to the keyframe at or before ``start`` and decodes forward, so cost depends on the GOP
    length, not on where the range sits in the file. Frames are streamed, never collected.
    With ``upright`` they are turned as players show them (a phone's display matrix).
    Raises :class:`MediaError` when the file ends early or has a gap (variable frame rate).
    An image sequence's path gives its files' frames (a missing file is an error by number).
    """
    if upright:
        turn: Upright | None = None
        for frame in iter_frames(path, start, count, counter=counter):
            turn = turn or Upright(frame)
            yield turn(frame)
        return
    pattern = parse_sequence(path)
    if pattern is not None:
        for frame in iter_sequence_frames(pattern, start, count):
            if counter is not None:
                counter.decoded += 1
            yield frame
        return
    end = start + count
    with open_media(path) as container:
        stream = video_stream(container, path)
        stream.thread_type = "AUTO"
        rate = stream_rate(stream)
        still = container.format.name in STILL_FORMATS
        if still or rate is None:
            if start != 0 or count != 1:
                raise MediaError(
                    f"{path}: is a still image; only frame 0 exists (asked for frames"
                    f" {start}-{end - 1})"
                )
            for frame in container.decode(stream):
                yield frame
                return
            raise MediaError(f"{path}: the image could not be decoded; re-export it")
        origin = stream.start_time or 0
        tb = stream.time_base
        assert tb is not None
        ticks_per_frame = 1 / (tb * rate)

        def index_of(frame: VideoFrame, fallback: int) -> int:
            if frame.pts is None:
                return fallback
            return round((frame.pts - origin) / ticks_per_frame)

        # Seek targets, in frames: the range start, then earlier in case the container's index
        # overshoots, then the very start (None) as a last resort.
        targets: list[int | None] = [start]
        if start > 0:
            targets += [max(0, start - int(s * rate)) for s in _SEEK_BACKOFF_SECONDS] + [None]
        expected = start
        for attempt, target in enumerate(targets):
            sequential = 0
            if target is None:
                container.seek(origin, stream=stream, backward=True)
            elif target > 0:
                container.seek(origin + int(target * ticks_per_frame), stream=stream, backward=True)
            can_retry = attempt < len(targets) - 1
            landed_late = False
            try:
                for frame in container.decode(stream):
                    if counter is not None:
                        counter.decoded += 1
                    index = index_of(frame, sequential)
                    sequential = index + 1
                    if index < expected:
                        continue
                    if index > expected:
                        if expected == start and can_retry:
                            landed_late = True
                            break
                        raise MediaError(
                            f"{path}: frame {expected} is missing (next decoded frame is {index});"
                            " the file has a variable frame rate or is damaged: transcode it to a"
                            " constant frame rate"
                        )
                    yield frame
                    expected += 1
                    if expected == end:
                        return
            except av.error.FFmpegError as exc:
                raise MediaError(
                    f"{path}: decoding failed near frame {expected} ({exc}); re-copy or"
                    " re-export the file"
                ) from exc
            if not landed_late:
                break
        raise MediaError(
            f"{path}: needs frames {start}-{end - 1} but the file ends at frame {expected - 1};"
            " check the clip's source range or relink it to the full-length media"
        )
