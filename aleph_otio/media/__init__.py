"""Media with PyAV: probe, cut shots frame-accurately, stills, verify and timecode results.

No system ffmpeg is needed: everything goes through PyAV's bundled libraries.
"""

from aleph_otio.media.cut import PreparedClip, prepare_shot
from aleph_otio.media.frames import iter_frames, output_size
from aleph_otio.media.pixels import frame_levels
from aleph_otio.media.png_frames import FrameFolder, unzip_frames, verify_frames
from aleph_otio.media.probe import MediaInfo, probe, timecode_to_frame
from aleph_otio.media.stamp import stamp_timecode
from aleph_otio.media.stills import extract_still, prepare_guide
from aleph_otio.media.verify import check_sdr10, verify_result

__all__ = [
    "FrameFolder",
    "check_sdr10",
    "unzip_frames",
    "verify_frames",
    "MediaInfo",
    "PreparedClip",
    "extract_still",
    "frame_levels",
    "iter_frames",
    "output_size",
    "prepare_guide",
    "prepare_shot",
    "probe",
    "stamp_timecode",
    "timecode_to_frame",
    "verify_result",
]
