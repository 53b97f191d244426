"""aleph-otio: send marked ranges of an edit to Runway Aleph 2.0 and conform the results back.

This module is imported by OpenTimelineIO while it builds its plugin manifest, so it must stay
light: no OTIO adapter calls and no heavy imports at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__version__ = "0.1.0"


def _find_manifest() -> Path:
    here = Path(__file__).resolve().parent
    # A wheel has the manifest inside the package; a checkout or editable install at the root.
    for candidate in (here / "plugin_manifest.json", here.parent / "plugin_manifest.json"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("aleph_otio: plugin_manifest.json not found next to the package")


def plugin_manifest() -> Any:
    """Entry point for OTIO's plugin discovery (group ``opentimelineio.plugins``).

    OTIO re-points every plugin's source at this ``__init__.py``, so the adapter paths are made
    absolute against the manifest's own folder; that keeps wheel, editable and checkout installs
    alike.
    """
    from opentimelineio.plugins import manifest as otio_manifest

    path = _find_manifest()
    man = otio_manifest.manifest_from_file(str(path))
    for plugin in [*man.adapters, *man.media_linkers, *man.hook_scripts, *man.schemadefs]:
        if not os.path.isabs(plugin.filepath):
            plugin.filepath = str(path.parent / plugin.filepath)
    return man
