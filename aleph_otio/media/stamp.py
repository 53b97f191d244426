"""Give a result file the source timecode of its shot: a remux with a timecode track, no re-encode.

Aleph returns files without timecode. A conform relinks by timecode (Avid and Resolve match EDL
and AAF events against the file's own timecode, FCP XML shows it), and VFX returns are expected
to carry their plate's timecode. So each MP4/MOV result is rewritten with a ``tmcd`` track that
starts at the source timecode of the result's first frame (handles included): the time code the
relinked timeline already gives it. Packets are copied as they are: same frames, same bytes of
picture. WEBM cannot carry a timecode track that NLEs read, so it is left alone.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import av

from aleph_otio.timeline import smpte_rate, timecode_of

log = logging.getLogger(__name__)

#: Containers whose muxer writes a QuickTime ``tmcd`` track (what NLEs read as timecode).
STAMPABLE_FORMATS = {".mp4": "mp4", ".mov": "mov"}
#: Timecode runs for 24 hours; a start past that cannot be written.
_DAY_SECONDS = 24 * 3600


def file_timecode(start_frame: float, rate: float) -> str | None:
    """The SMPTE time code a file starting at frame ``start_frame`` carries, as aleph-otio's
    EDLs count it (drop-frame at 29.97 and 59.94); None when none can express it (a fractional
    frame, before 00:00:00:00, past 24 hours, a rate with no time code)."""
    tc_rate = smpte_rate(rate)
    frame = round(start_frame)
    if (
        tc_rate is None
        or abs(start_frame - frame) > 1e-6
        or not 0 <= frame < _DAY_SECONDS * round(tc_rate)
    ):
        return None
    # OTIO's EDL writer (so every EDL aleph-otio writes) counts 29.97/59.94 drop-frame.
    return timecode_of(frame, rate, drop_frame=True)


def stamp_timecode(path: Path, start_frame: float, rate: float) -> str | None:
    """Rewrite ``path`` in place with a timecode track starting at frame ``start_frame``.

    ``rate`` is the file's frame rate; the timecode counts at its nominal rate, drop-frame at
    29.97 and 59.94 and non-drop-frame otherwise, as aleph-otio's EDLs write it. Returns the
    timecode written, or None when the file was left as it is: a container without timecode
    tracks (WEBM); a start no SMPTE timecode can express (a fractional frame, before
    00:00:00:00, past 24 hours) or a rate without one; or a file FFmpeg cannot remux (a damaged
    download is left for verification to report). The rewrite is atomic: the file is whole,
    stamped or not, whatever happens.
    """
    path = Path(path)
    fmt = STAMPABLE_FORMATS.get(path.suffix.lower())
    tc = file_timecode(start_frame, rate)
    if fmt is None or tc is None:
        return None
    tmp = path.with_name(path.name + ".tc.part")
    try:
        with av.open(str(path)) as src, av.open(str(tmp), "w", format=fmt) as dst:
            # Data streams (an existing tmcd) are dropped: the new timecode replaces them.
            streams = [s for s in src.streams if s.type in ("video", "audio")]
            if not any(s.type == "video" for s in streams):
                raise ValueError("no video stream")
            outputs = {s.index: dst.add_stream_from_template(s) for s in streams}
            for stream in outputs.values():
                if stream.type == "video":
                    stream.metadata["timecode"] = tc
            for packet in src.demux(streams):
                if packet.dts is None:  # the demuxer's end-of-stream marker, not data
                    continue
                packet.stream = outputs[packet.stream.index]
                dst.mux(packet)
    except Exception as exc:  # best effort: an unstamped result is still a whole, good result
        tmp.unlink(missing_ok=True)
        log.warning("%s: left without timecode (%s)", path, exc)
        return None
    os.replace(tmp, path)
    return tc
