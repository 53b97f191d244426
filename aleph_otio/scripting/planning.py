"""Timelines in (a file or an in-memory OTIO timeline), plans and cost estimates out."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, TypeAlias
from urllib.parse import urlparse

import opentimelineio as otio
from pydantic import ValidationError

from aleph_otio.batch import guess_source_adapter
from aleph_otio.config import (
    DEFAULT_PRICE_PER_SECOND,
    PlanSettings,
)
from aleph_otio.cost import CostEstimate, check_price, estimate_shots
from aleph_otio.errors import ConfigError
from aleph_otio.pipeline import (
    media_facts_from_probe,
)
from aleph_otio.plan import plan_timeline as plan_loaded
from aleph_otio.shots import Plan
from aleph_otio.timeline import LoadedTimeline, read_timeline

#: A timeline file (any format OTIO reads) or an in-memory OTIO timeline.
TimelineLike: TypeAlias = otio.schema.Timeline | str | os.PathLike[str]


def _relative_media(timeline: otio.schema.Timeline) -> list[str]:
    """'clip (url)' for every media reference whose path is relative to some folder."""
    found: list[str] = []
    for clip in timeline.find_clips():
        for ref in clip.media_references().values():
            url = getattr(ref, "target_url", None) or getattr(ref, "target_url_base", None)
            if not url:
                continue
            scheme = urlparse(url).scheme
            if scheme and len(scheme) > 1:  # file://, http(s)://; "C:" is a drive letter
                continue
            if not Path(url).expanduser().is_absolute():
                found.append(f"clip {clip.name!r} ({url})")
    return found


def _safe_stem(name: str) -> str:
    stem = re.sub(r"[^\w.-]+", "_", name).strip("._")
    return stem or "timeline"


def load_timeline(
    timeline: TimelineLike | LoadedTimeline,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    rate: float | str | None = None,
    sequence: str | None = None,
) -> LoadedTimeline:
    """A timeline ready to plan: read from a file, or an in-memory one anchored at ``base_dir``.

    ``rate`` is the frame rate for EDL files (default 24); ``sequence`` names the sequence to
    use in a file that holds several. An in-memory timeline gets the
    identity ``base_dir/<name>.otio`` (used for the job ledger and the default work folder);
    without ``base_dir`` its media paths must all be absolute, else a ConfigError says which.
    """
    if isinstance(timeline, LoadedTimeline):
        return timeline
    if isinstance(timeline, str | os.PathLike):
        return read_timeline(timeline, rate=rate, sequence=sequence)
    if not isinstance(timeline, otio.schema.Timeline):
        raise ConfigError(
            f"expected an OTIO Timeline or a timeline file path, got {type(timeline).__name__}; "
            "pick one timeline first (e.g. otio.adapters.read_from_file(path))"
        )
    name = timeline.name or "timeline"
    if base_dir is None:
        relative = _relative_media(timeline)
        if relative:
            raise ConfigError(
                f"timeline {name!r}: {relative[0]} has a relative media path"
                f"{f' (and {len(relative) - 1} more)' if len(relative) > 1 else ''}; "
                "pass base_dir=FOLDER the paths are relative to"
            )
        folder = Path.cwd()
    else:
        folder = Path(base_dir).expanduser().resolve()
        if not folder.is_dir():
            raise ConfigError(f"base_dir {folder}: no such folder; pass the media's folder")
    return LoadedTimeline(
        timeline=timeline,
        path=folder / f"{_safe_stem(name)}.otio",
        adapter_name=guess_source_adapter(timeline),
    )


def settings_with_options(settings: PlanSettings | None, options: dict[str, Any]) -> PlanSettings:
    """``settings`` with keyword overrides (``handles=12``); bad values are a ConfigError."""
    base = settings or PlanSettings()
    if not options:
        return base
    unknown = sorted(set(options) - set(PlanSettings.model_fields))
    if unknown:
        raise ConfigError(
            f"unknown plan option(s) {', '.join(unknown)}; "
            f"known: {', '.join(PlanSettings.model_fields)}"
        )
    try:
        return PlanSettings.model_validate({**base.model_dump(), **options})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"plan option {where}={first['input']!r}: {first['msg']}") from None


def plan_loaded_timeline(loaded: LoadedTimeline, settings: PlanSettings) -> Plan:
    return plan_loaded(loaded, settings, media_facts=media_facts_from_probe)


def plan_timeline(
    timeline: TimelineLike,
    settings: PlanSettings | None = None,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    rate: float | str | None = None,
    **options: Any,
) -> Plan:
    """Plan the timeline's edit-request markers into Aleph shots (nothing is sent or paid).

    ``options`` override fields of ``settings`` (``handles=12``, ``number_results=2``, ...).
    Markers that cannot be planned are listed in ``Plan.errors`` (one line each, naming file,
    track, clip and timecode); the rest are planned. Media is probed for its real length.
    """
    plan_settings = settings_with_options(settings, options)
    loaded = load_timeline(timeline, base_dir=base_dir, rate=rate, sequence=plan_settings.sequence)
    return plan_loaded_timeline(loaded, plan_settings)


def estimate(
    plan_or_timeline: Plan | TimelineLike,
    price_per_second: float = DEFAULT_PRICE_PER_SECOND,
    *,
    settings: PlanSettings | None = None,
    base_dir: str | os.PathLike[str] | None = None,
    rate: float | str | None = None,
    **options: Any,
) -> CostEstimate:
    """Expected cost of a plan (or of planning a timeline with ``settings``/``options``).

    Default price: USD 0.28 per second of input video, per result (Aleph 2.0 on Runware).
    """
    check_price(price_per_second)
    if isinstance(plan_or_timeline, Plan):
        plan = plan_or_timeline
    else:
        plan = plan_timeline(plan_or_timeline, settings, base_dir=base_dir, rate=rate, **options)
    return estimate_shots(plan.shots, price_per_second)
