"""A marker's ``aleph`` options over the plan settings, as the task's options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from aleph_otio.config import PlanSettings
from aleph_otio.plan.sources import Memo, Refused
from aleph_otio.shots import (
    TaskOptions,
)

#: Marker-metadata option names (API spelling and snake_case) -> TaskOptions field.
_OPTION_KEYS = {
    "numberResults": "number_results",
    "number_results": "number_results",
    "outputFormat": "output_format",
    "output_format": "output_format",
    "outputQuality": "output_quality",
    "output_quality": "output_quality",
}


def task_options(
    settings: PlanSettings, overrides: Mapping[str, Any], memo: Memo | None = None
) -> TaskOptions:
    if memo is None:
        return _make_options(settings, overrides)
    try:
        # Types in the key: True == 1 and 2 == 2.0 as keys, but not as option values.
        key = tuple((k, type(v), v) for k, v in overrides.items())
        known = memo.options.get(key)
    except TypeError:  # an unhashable value (a list, say): refused below anyway
        return _make_options(settings, overrides)
    if known is None:
        known = memo.options[key] = _make_options(settings, overrides)
    return known


def _make_options(settings: PlanSettings, overrides: Mapping[str, Any]) -> TaskOptions:
    values: dict[str, Any] = {
        "number_results": settings.number_results,
        "output_format": settings.output_format,
        "output_quality": settings.output_quality,
    }
    for key, value in overrides.items():
        if key not in _OPTION_KEYS:
            known = "prompt, guides, numberResults, outputFormat, outputQuality"
            raise Refused(f"unknown option {key!r} in the marker's aleph metadata; known: {known}")
        field = _OPTION_KEYS[key]
        values[field] = (
            value.upper() if field == "output_format" and isinstance(value, str) else value
        )
    try:
        return TaskOptions(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = {v: k for k, v in _OPTION_KEYS.items() if k[0].islower() and "_" not in k}
        where = name.get(str(first["loc"][0]), str(first["loc"][0]))
        raise Refused(f"option {where}={first.get('input')!r}: {first['msg']}") from None
