"""DaVinci Resolve round trip: export the current timeline, plan, run, import the result.

Every function takes Resolve's own scripting objects (duck-typed, as documented in Resolve's
``Developer/Scripting/README.txt``), so the same code runs inside Resolve (Workspace > Scripts),
from an external Python that reached Resolve through ``DaVinciResolveScript``, and in tests
against ``tests/fake_resolve.py``. The Resolve calls used, all of them:

- ``resolve.GetProjectManager().GetCurrentProject()``, ``project.GetCurrentTimeline()``,
  ``project.GetName()``, ``project.GetTimelineCount()``, ``project.GetTimelineByIndex(i)``,
  ``project.SetCurrentTimeline(timeline)``, ``project.GetMediaPool()``;
- ``timeline.GetName()``, ``timeline.GetSetting("timelineFrameRate")`` (else the project's),
  ``timeline.GetStartFrame()``, ``timeline.GetMarkers()``,
  ``timeline.GetItemListInTrack("video", i)``, ``item.GetStart()``, ``item.GetMarkers()``;
- ``timeline.Export(path, resolve.EXPORT_OTIO, resolve.EXPORT_NONE)`` (Resolve 18.5+; older
  versions fall back to ``resolve.EXPORT_FCP_7_XML``);
- ``media_pool.ImportTimelineFromFile(path, {"timelineName": ..., "importSourceClips": True})``.

The original timeline is only read: results come back as a NEW timeline (``<name> ALEPH v001``).

Markers: Resolve's OTIO export carries timeline markers on ``timeline.tracks`` and clip markers
on their clips, with the note in ``metadata["Resolve_OTIO"]["Note"]``; OTIO has 11 marker
colours and Resolve 16, so an export cannot say which of Resolve's colours a marker had (Sand,
Cream, Fuchsia...). :func:`fill_markers` takes the timeline markers from ``GetMarkers()`` and
adds what the export lacks (Resolve's colour name, a missing note, the ``customData``, or the
whole marker when the export has none), so ``--marker-color`` accepts the colour the editor sees;
:func:`fill_clip_markers` does the same for clip markers.

Time code: MP4/MOV results are stamped with the source time code their relinked references
start at; a result without one (WEBM) starts at 00:00:00:00, so :func:`conform_for_resolve` moves
such a clip onto its file's own time code in the file Resolve imports
(``<name> ALEPH.resolve.otio``), since Resolve places clips by the file's.

Rooms: ``connect`` (reaching Resolve), ``markers``, ``export``, ``run``, ``importing`` and
``script`` (the Workspace > Scripts flow); this module re-exports their public names.
"""

from __future__ import annotations

from aleph_otio.resolve.connect import (
    FOLDER_ENV,
    ResolveError,
    connect,
    current_timeline,
    default_folder,
    timeline_rate,
)
from aleph_otio.resolve.export import (
    ResolveExport,
    export_current_timeline,
    export_timeline,
    plan_current_timeline,
)
from aleph_otio.resolve.importing import (
    VERSION_SUFFIX,
    conform_for_resolve,
    import_result,
    next_timeline_name,
    resolve_ready,
)
from aleph_otio.resolve.markers import (
    RESOLVE_COLORS,
    fill_clip_markers,
    fill_markers,
    markers_from_resolve,
    otio_color,
)
from aleph_otio.resolve.run import (
    output_path,
    print_progress,
    run_current_timeline,
    run_exported,
)
from aleph_otio.resolve.script import (
    MODE_ENV,
    MODES,
    AskFn,
    plan_lines,
    script_main,
    settings_from_env,
    summary_lines,
)

__all__ = [
    "AskFn",
    "FOLDER_ENV",
    "MODES",
    "MODE_ENV",
    "RESOLVE_COLORS",
    "ResolveError",
    "ResolveExport",
    "VERSION_SUFFIX",
    "conform_for_resolve",
    "connect",
    "current_timeline",
    "default_folder",
    "export_current_timeline",
    "export_timeline",
    "fill_clip_markers",
    "fill_markers",
    "import_result",
    "markers_from_resolve",
    "next_timeline_name",
    "otio_color",
    "output_path",
    "plan_current_timeline",
    "plan_lines",
    "print_progress",
    "resolve_ready",
    "run_current_timeline",
    "run_exported",
    "script_main",
    "settings_from_env",
    "summary_lines",
    "timeline_rate",
]
