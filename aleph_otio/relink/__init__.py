"""Put Aleph results back into a timeline. Pure: a timeline in, a new timeline out, no file I/O.

Three modes (DESIGN.md "Relink convention"):

``version`` (default)
    A new video track ``ALEPH v001`` directly above the shot's source track (and above earlier
    ``ALEPH`` tracks sitting there): numbered by the shot's version when the results carry one
    (the ledger's; one track per version given, newest on top), else the next free number;
    each result at the record time of the range it replaces, gaps elsewhere.
    ``numberResults > 1`` gives one track per variation (``v001a``, ``v001b``, ...). Shots
    whose record ranges overlap go to separate tracks. A shot across a cut is split back at
    the original cut points.
``reference``
    The result becomes an extra media reference on the original clip (key ``aleph_v001``, or
    ``aleph_v001a``/``b``...; one per version given), the latest active; the original stays
    under ``DEFAULT_MEDIA``.
``replace``
    The clip's active media reference is swapped for the result (lowest variation given); the
    original is kept, serialised as OTIO JSON, in ``metadata["aleph_otio"]``.

Frame accuracy: every result reference is an :class:`ExternalReference` whose ``available_range``
is the result's own frames at the media rate, starting at the *source* time of the input clip's
first frame (``available_start + media_start_frame - head_frames`` of segment 0). So the version
clip has exactly the original clip's ``source_range`` (handles stay outside the record range but
inside ``available_range``), and any conform tool lands on the same frames.

A shot across a cut is split back at the original cut points, segment by segment: piece ``i``
shows the part of the result made from segment ``i``, through a reference whose time code is
shifted so that this part sits at segment ``i``'s own source time code (the result frame where
segment ``i`` starts = ``available_start + media_start_frame`` of segment ``i``). Every piece thus
keeps its original clip's ``source_range`` too, in every mode. Formats that identify media by path
(FCP 7 XML) keep one time code per file: they write in/out points relative to each reference's
start, so the frames stay right and only the time code shown for pieces after the first becomes
the file's (segment 0's) one.

Speed effects (``LinearTimeWarp``/``FreezeFrame``) are copied onto version clips, so they consume
the same media frames as the original. Provenance is stored under ``metadata["aleph_otio"]``:
taskUUID, model, prompt, seed, cost, source range, created time, shot id, variation. Never the
API key.

URLs: ``url_style="path"`` (default) writes plain absolute OS paths, which DaVinci Resolve
requires (it rejects ``file://`` URLs, OTIO issue #1985) and the FCP 7 XML adapter passes through;
``url_style="uri"`` writes ``file://`` URIs (:meth:`pathlib.PurePath.as_uri`) for tools that want
them. Remote URLs (``http(s)://``) are kept as they are.

Rooms: ``references`` (a result as a media reference, its provenance), ``pieces`` (one segment
of one result), ``alternates`` (the reference and replace modes), ``modes`` (the three
modes) and ``linker`` (the media linker's lookup); this module re-exports their names.
"""

from __future__ import annotations

from aleph_otio.relink.linker import (
    reference_for_clip,
)
from aleph_otio.relink.modes import (
    relink_timeline,
)
from aleph_otio.relink.references import (
    METADATA_KEY,
    REFERENCE_PREFIX,
    TRACK_PREFIX,
    RelinkMode,
    RelinkResult,
    UrlStyle,
    original_media_reference,
    provenance,
    result_reference,
    result_start_frame,
    result_url,
    segment_offsets,
)

__all__ = [
    "METADATA_KEY",
    "REFERENCE_PREFIX",
    "RelinkMode",
    "RelinkResult",
    "TRACK_PREFIX",
    "UrlStyle",
    "original_media_reference",
    "provenance",
    "reference_for_clip",
    "relink_timeline",
    "result_reference",
    "result_start_frame",
    "result_url",
    "segment_offsets",
]
