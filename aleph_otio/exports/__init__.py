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

One module per format (``otioz``, ``fcp7``, ``edl``, ``fcpxml``, ``aaf``); ``write`` picks
one by suffix, ``conform`` and ``paths`` hold what the NLE formats share.
"""

from __future__ import annotations

from aleph_otio.exports.conform import GUIDE_TRACK, version_label
from aleph_otio.exports.edl import REEL_LENGTH as REEL_LENGTH
from aleph_otio.exports.edl import edl_paths, reel_names
from aleph_otio.exports.paths import file_url
from aleph_otio.exports.write import write_output, write_outputs

__all__ = [
    "GUIDE_TRACK",
    "edl_paths",
    "file_url",
    "reel_names",
    "version_label",
    "write_output",
    "write_outputs",
]
