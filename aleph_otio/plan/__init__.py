"""Marked ranges + media facts -> Aleph shots, enforcing the task's limits. Pure: no file I/O.

Every rule that decides what is sent lives here: handles clipped to the media, widening of short
ranges into the surrounding media, splitting of long ranges into consecutive parts, retimed clips
mapped to media frames, guide frames positioned in the input clip, prompts and option limits.
A marker that cannot become a valid shot adds one error line to :attr:`Plan.errors`; the other
markers still plan.
"""

from __future__ import annotations

from aleph_otio.config import PlanSettings
from aleph_otio.locate import media_locator
from aleph_otio.naming import Named, check_order, check_regex, check_shot_template, refuse_clashes
from aleph_otio.plan.parts import MAX_GUIDES, MAX_PROMPT, plan_range
from aleph_otio.plan.sources import MediaFactsFn, Memo, Refused
from aleph_otio.shots import Plan, Shot, placement
from aleph_otio.timeline import LoadedTimeline, planning_cache
from aleph_otio.timeline.markers import scan_markers


def plan_timeline(
    loaded: LoadedTimeline,
    settings: PlanSettings,
    *,
    media_facts: MediaFactsFn | None = None,
) -> Plan:
    """Plan every edit-request marker of ``loaded`` into Aleph shots.

    ``media_facts(path)`` reports a source file's rate, frame count and start timecode (the
    pipeline passes a probe); without it, or when it returns None, the media reference's
    ``available_range`` is used, and a clip with neither is reported as offline.
    """
    shots: list[Shot] = []
    # A bad naming option is the whole plan's error, found before any marker is read.
    check_order(settings.shot_names)
    check_regex(settings.shot_regex)
    check_shot_template(settings.shot_template)
    # One locator for clips and guides: a search folder is read once per plan.
    memo = Memo(locator=media_locator(settings))
    with planning_cache():
        scan = scan_markers(loaded, settings, locator=memo.locator)
        ranges, errors = scan.ranges, scan.errors
        for number, marked in enumerate(ranges, start=1):
            try:
                shots += plan_range(loaded, settings, marked, number, media_facts, memo)
            except Refused as exc:
                errors.append(f"{marked.location}: {exc}")
    shots = _merge_identical(shots)
    clashing, clash_errors = refuse_clashes(Named(s.id, s.name, s.marker_location) for s in shots)
    errors += clash_errors
    return Plan(
        timeline_path=str(loaded.path),
        timeline_name=loaded.timeline.name or loaded.path.stem,
        shots=[s for s in shots if s.name.casefold() not in clashing],
        errors=errors,
        warnings=scan.warnings,
    )


def _merge_identical(shots: list[Shot]) -> list[Shot]:
    """One shot per request and place: identical markers on one clip are one edit request.

    Avid AAFs bring a marker attached to two slots back as two identical markers on one clip.
    The same request at another place (the same source range cut in twice) stays a shot of its
    own: it shares the id, so it is paid once, and is relinked at its own place.
    """
    kept: dict[tuple[str, tuple[tuple[int, int, float], ...]], int] = {}
    merged: list[Shot] = []
    for shot in shots:
        key = (shot.id, placement(shot))
        if key not in kept:
            kept[key] = len(merged)
            merged.append(shot)
            continue
        first = merged[kept[key]]
        note = f"an identical marker ({shot.marker_location}) was merged into this shot"
        merged[kept[key]] = first.model_copy(update={"warnings": [*first.warnings, note]})
    return merged


__all__ = ["MAX_GUIDES", "MAX_PROMPT", "MediaFactsFn", "plan_timeline"]
