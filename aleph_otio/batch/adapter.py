"""The OTIO adapter's logic (``adapters/aleph_json.py`` delegates here): plan a timeline
into a manifest on write, a timeline of the planned shots on read."""

from __future__ import annotations

import importlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from aleph_otio.batch.manifest import plan_to_batch
from aleph_otio.batch.shots_timeline import batch_to_timeline
from aleph_otio.batch.storage import batch_from_data, load_json, write_batch
from aleph_otio.config import PlanSettings
from aleph_otio.errors import ConfigError, TimelineWriteError
from aleph_otio.shots import MediaFacts, Plan
from aleph_otio.timeline.sequences import parse_sequence

if TYPE_CHECKING:
    import opentimelineio as otio

_log = logging.getLogger("aleph_otio.batch")


#: Adapter keyword arguments beyond PlanSettings' fields.
_ADAPTER_KWARGS = {"timeline_path", "source_adapter"}


def settings_from_kwargs(kwargs: Mapping[str, Any]) -> PlanSettings:
    """PlanSettings from adapter keyword arguments (``otioconvert -A handles=12``)."""
    fields = set(PlanSettings.model_fields)
    unknown = sorted(set(kwargs) - fields - _ADAPTER_KWARGS)
    if unknown:
        raise ConfigError(
            f"aleph_json adapter: unknown argument(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(fields | _ADAPTER_KWARGS))}"
        )
    try:
        return PlanSettings(**{k: v for k, v in kwargs.items() if k in fields})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"aleph_json adapter: argument {where}: {first['msg']}") from None


def _find_probe() -> Callable[[Path], Any] | None:
    # media is a package whose __init__ may or may not re-export probe(): accept either layout.
    for name in ("aleph_otio.media.probe", "aleph_otio.media"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        probe = getattr(module, "probe", None)
        if callable(probe) and not isinstance(probe, ModuleType):
            return probe
    return None


def default_media_facts() -> Callable[[str], MediaFacts | None] | None:
    """``media.probe`` for files that exist, None elsewhere; None when media.py is missing."""
    probe = _find_probe()
    if probe is None:
        return None

    def facts(path: str) -> MediaFacts | None:
        pattern = parse_sequence(path)
        if pattern is None and not os.path.isfile(path):
            return None
        if pattern is not None and not os.path.isdir(pattern.folder):
            return None
        result = probe(Path(path))
        if isinstance(result, MediaFacts):
            return result
        return MediaFacts.model_validate(result, from_attributes=True)

    return facts


def guess_source_adapter(timeline: otio.schema.Timeline) -> str:
    """The adapter a timeline was most likely read with, from the metadata adapters leave.

    The marker normaliser needs it (EDL and FCP 7 XML markers are not in clip space) and an
    OTIO adapter is handed the timeline without knowing where it came from.
    """
    for item in [timeline, timeline.tracks, *timeline.tracks.find_children()]:
        metadata = item.metadata
        if "cmx_3600" in metadata:
            return "cmx_3600"
        if "fcp_xml" in metadata:
            return "fcp_xml"
    return "otio_json"


def plan_otio_timeline(
    timeline: otio.schema.Timeline,
    settings: PlanSettings,
    *,
    timeline_path: str = "",
    adapter_name: str | None = None,
) -> Plan:
    """Plan an in-memory timeline (what the adapter is handed) with the real planner.

    Relative media paths resolve against ``timeline_path``'s folder, else the current folder
    (as OTIO's own tools do).
    """
    # Imported here for start-up time: the command line imports this module to register `plan`,
    # and the planner and timeline reader (OTIO, PyAV) are only needed once a timeline is planned.
    from aleph_otio.plan import plan_timeline
    from aleph_otio.timeline import LoadedTimeline

    path = Path(timeline_path or f"{timeline.name or 'timeline'}.otio").expanduser().absolute()
    loaded = LoadedTimeline(
        timeline=timeline,
        path=path,
        adapter_name=adapter_name or guess_source_adapter(timeline),
    )
    return plan_timeline(loaded, settings, media_facts=default_media_facts())


def adapter_write(timeline: otio.schema.Timeline, filepath: str, **kwargs: Any) -> None:
    """OTIO ``write_to_file``: plan ``timeline`` and write the batch manifest."""
    import opentimelineio as otio

    if not isinstance(timeline, otio.schema.Timeline):
        raise TimelineWriteError(
            f"{filepath}: the aleph_json adapter writes timelines, not "
            f"{type(timeline).__name__}; pick one timeline first"
        )
    settings = settings_from_kwargs(kwargs)
    plan = plan_otio_timeline(
        timeline,
        settings,
        timeline_path=str(kwargs.get("timeline_path") or ""),
        adapter_name=kwargs.get("source_adapter"),
    )
    write_batch(plan_to_batch(plan, settings), filepath)
    # otioconvert shows no return value: the refused markers must reach the user somehow.
    for line in plan.warnings:
        _log.warning("aleph_json: %s", line)
    for line in plan.errors:
        _log.warning("aleph_json: marker not planned: %s", line)


def adapter_read(filepath: str, **kwargs: Any) -> otio.schema.Timeline:
    """OTIO ``read_from_file``: the timeline of a batch's planned shots.

    The adapter owns the ``json`` suffix, so a plain OTIO JSON document saved as ``.json`` is
    handed to OTIO's own reader instead of being refused.
    """
    path = Path(filepath)
    data = load_json(path)
    if isinstance(data, dict) and "OTIO_SCHEMA" in data:
        from opentimelineio.adapters import otio_json

        result: otio.schema.Timeline = otio_json.read_from_string(json.dumps(data))
        return result
    return batch_to_timeline(batch_from_data(path, data))
