"""A new cut against what a work folder already holds: what changed, what is paid. Pure.

Each shot of the new cut is matched to the ledger's shots (:class:`Prior`) by content id, then
by shot name on the same source media, then by source media and overlapping frames with the
same request (a renumbered ``{index}`` name) -- never by record position -- and classified:

- ``unchanged``: the same request at the same place;
- ``moved``: the same request elsewhere in the edit (relinked at its new place, nothing paid);
- ``trimmed``: a range inside the frames already received, handles included (relinked as a
  sub-range of the existing result, nothing paid), or inside those of a task sent and still
  running (the new cut waits for that task: paid once);
- ``extended``: past those frames (a new render, the next version; by how much at which end);
- ``changed``: the request changed (prompt, guides, options, or the marker moved to another
  clip): the next version, paid;
- ``reinstated``: a shot the last cut omitted, back again (relinked from the ledger);
- ``new``: nothing like it before (paid);
- ``omitted``: in the last cut, not in this one (listed; the ledger keeps it).

A trimmed shot is run as the prior shot (its ledger id) with the new cut's segments and handles
that cover the rest of the received clip, so the result's frame ``i`` is still the source frame
the input clip had at ``i``: the relink lands the new range on the same frames, and the
received range stays recorded for the next revision.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from aleph_otio.relink import RelinkResult
from aleph_otio.shots import Shot, distinct, placement

ChangeKind = Literal[
    "unchanged", "moved", "trimmed", "extended", "changed", "reinstated", "new", "omitted"
]
#: Kinds that send a task (and are paid for).
PAID: frozenset[str] = frozenset({"extended", "changed", "new"})


@dataclass(frozen=True)
class Prior:
    """A shot the ledger holds: the request, whether its results came, and whether the cut
    before this one had it."""

    shot: Shot
    received: bool
    in_last_cut: bool = True
    version: int = 1
    #: Sent and paid, its results not in yet (submitted, being polled): a trim inside its
    #: frames waits for that task instead of paying for another.
    pending: bool = False


@dataclass(frozen=True)
class Change:
    """One row of the diff: a shot of the new cut (or an omitted one) and what it needs."""

    kind: ChangeKind
    name: str
    shot: Shot | None  # what to run; for ``trimmed``, the prior id with the new segments
    prior: Shot | None
    detail: str = ""
    origin: str = ""  # the new cut's own content id of the shot ('' for omitted)

    @property
    def paid(self) -> bool:
        return self.kind in PAID


def received_range(shot: Shot) -> tuple[str, int, int] | None:
    """(media, first, end) of the media frames a one-segment shot's result holds, handles in."""
    if len(shot.segments) != 1:
        return None
    seg = shot.segments[0]
    return (
        seg.media_path,
        seg.media_start_frame - shot.head_frames,
        seg.media_start_frame + seg.media_frame_count + shot.tail_frames,
    )


def _core(shot: Shot) -> tuple[str, int, int] | None:
    if len(shot.segments) != 1:
        return None
    seg = shot.segments[0]
    return seg.media_path, seg.media_start_frame, seg.media_start_frame + seg.media_frame_count


def _guides(shot: Shot) -> list[tuple[str, str | None, float | None]]:
    # Not ``origin``: it names the guide's record time code, which a ripple moves.
    return [(g.image, g.frame, g.timestamp) for g in shot.guides]


def _same_request(a: Shot, b: Shot) -> bool:
    return (a.prompt, _guides(a), a.options) == (b.prompt, _guides(b), b.options)


def _sources(shot: Shot) -> tuple[str, ...]:
    return tuple(s.media_path for s in shot.segments)


def _overlaps(a: Shot, b: Shot) -> bool:
    ca, cb = _core(a), received_range(b)
    return ca is not None and cb is not None and ca[0] == cb[0] and ca[1] < cb[2] and cb[1] < ca[2]


def _best(candidates: Sequence[Prior]) -> Prior | None:
    # The latest version that has results, else the latest.
    if not candidates:
        return None
    ranked = sorted(candidates, key=lambda p: (p.received, p.version))
    return ranked[-1]


def _match(shot: Shot, priors: Sequence[Prior], used: set[str]) -> tuple[Prior | None, str]:
    """The prior this shot continues, and how it was found (``used`` priors are taken)."""
    free = [p for p in priors if p.shot.id not in used]
    by_id = [p for p in free if p.shot.id == shot.id]
    if by_id:
        return by_id[0], "id"
    named = [p for p in free if p.shot.name.casefold() == shot.name.casefold()]
    same_source = [p for p in named if _sources(p.shot) == _sources(shot)]
    if same_source:
        return _best(same_source), "name"
    by_source = [
        p
        for p in free
        if _sources(p.shot) == _sources(shot)
        and _same_request(p.shot, shot)
        and _overlaps(shot, p.shot)
    ]
    if by_source:
        return _best(by_source), "source"
    return None, ""


def _moved_marker(shot: Shot, priors: Sequence[Prior], used: set[str]) -> Prior | None:
    """A prior of the same name on other media: the marker moved to another clip."""
    named = [
        p
        for p in priors
        if p.shot.id not in used and p.shot.name.casefold() == shot.name.casefold()
    ]
    return _best(named)


def _free_name(name: str, taken: set[str]) -> str:
    """``name``, or the next free one (``sh010`` -> ``sh011``; ``X`` -> ``X_2``)."""
    if name.casefold() not in taken:
        return name
    match = re.match(r"^(.*?)(\d+)$", name)
    if match:
        stem, digits = match.groups()
        for number in range(int(digits) + 1, int(digits) + 10_000):
            tried = f"{stem}{number:0{len(digits)}d}"
            if tried.casefold() not in taken:
                return tried
    counter = 2
    while f"{name}_{counter}".casefold() in taken:
        counter += 1
    return f"{name}_{counter}"


def _spans(shot: Shot) -> list[tuple[str, int, int, float]]:
    """(media, first, end, time scalar) of each segment's media frames, handles out."""
    return [
        (
            s.media_path,
            s.media_start_frame,
            s.media_start_frame + s.media_frame_count,
            s.time_scalar,
        )
        for s in shot.segments
    ]


def _trimmed(shot: Shot, prior: Shot) -> Shot | None:
    """``shot`` run as ``prior``'s result when its range lies inside what was received.

    A shot across a cut (several segments) qualifies when it has the same clips in the same
    order (media, speed) and only its outer ends moved inward or into the handles: the first
    segment's head and the last one's tail. The cut points inside stay where the result has
    them, so result frame ``i`` is still the source frame the input clip had at ``i``.
    """
    new, old = _spans(shot), _spans(prior)
    if len(new) != len(old) or not new:
        return None
    if [(m, t) for m, _, _, t in new] != [(m, t) for m, _, _, t in old]:
        return None
    last = len(new) - 1
    for i, ((_, first, end, _), (_, was_first, was_end, _)) in enumerate(
        zip(new, old, strict=True)
    ):
        low = was_first - (prior.head_frames if i == 0 else 0)
        high = was_end + (prior.tail_frames if i == last else 0)
        if not (low <= first and end <= high and first < end):
            return None
        # Inside the shot the cut points must stay where the result has them.
        if i > 0 and first != was_first:
            return None
        if i < last and end != was_end:
            return None
    head = prior.head_frames + new[0][1] - old[0][1]
    tail = prior.tail_frames + old[last][2] - new[last][2]
    return shot.model_copy(
        update={
            "id": prior.id,
            "head_frames": head,
            "tail_frames": tail,
            "guides": prior.guides,
            "options": prior.options,
        }
    )


def as_result_of(shot: Shot, earlier: Shot) -> Shot | None:
    """``shot`` shown with ``earlier``'s result (another version), when its frames lie inside
    what ``earlier`` received; None when they do not."""
    run = _trimmed(shot, earlier)
    return run.model_copy(update={"prompt": earlier.prompt}) if run is not None else None


def shown_versions(
    current: Sequence[RelinkResult], history: Sequence[RelinkResult]
) -> list[RelinkResult]:
    """``current`` (the results a relink uses, one shot per place) and, after them, the results
    of ``history`` that are other versions of those shots, each shown at that place.

    Another version is another shot id under the same name (case aside); it is kept when its
    received frames cover the place's frames (:func:`as_result_of`), so it lands on the same
    source frames. An earlier version whose frames do not cover the new range (an extended
    shot) is left in the ledger: it cannot sit at this record range frame for frame.
    """
    out = list(current)
    places: dict[tuple[str, object], Shot] = {}
    for r in current:
        places.setdefault((r.shot.id, placement(r.shot)), r.shot)
    others: dict[str, list[RelinkResult]] = {}
    for r in history:
        others.setdefault(r.shot.name.casefold(), []).append(r)
    for place in places.values():
        for r in others.get(place.name.casefold(), []):
            if r.shot.id == place.id:
                continue
            shown = as_result_of(place, r.shot)
            if shown is None:
                continue
            out.append(dataclasses.replace(r, shot=shown, prompt=r.shot.prompt))
    # One result per (shot, variant, place): a version seen twice in the history is kept once.
    seen: set[tuple[str, int, object]] = set()
    kept: list[RelinkResult] = []
    for r in out:
        key = (r.shot.id, r.variant, placement(r.shot))
        if key not in seen:
            seen.add(key)
            kept.append(r)
    return kept


def _extension(shot: Shot, prior: Shot) -> str:
    core, got = _core(shot), received_range(prior)
    if core is None or got is None:
        new, old = _spans(shot), _spans(prior)
        if len(new) == len(old) and [(m, t) for m, _, _, t in new] == [
            (m, t) for m, _, _, t in old
        ]:
            return (
                "a cut point inside the shot moved; the result holds those clips' frames in "
                "one run, not this one, so it is rendered again"
            )
        return "the range changed across a cut"
    parts = []
    if core[1] < got[1]:
        parts.append(f"{got[1] - core[1]} frame(s) at the head")
    if core[2] > got[2]:
        parts.append(f"{core[2] - got[2]} frame(s) at the tail")
    return "extended by " + " and ".join(parts) + " past the frames received"


def _what_changed(shot: Shot, prior: Shot) -> str:
    if _sources(shot) != _sources(prior):
        return f"moved to clip {shot.segments[0].clip_name} (was {prior.segments[0].clip_name})"
    what = [
        label
        for label, differs in (
            ("prompt", shot.prompt != prior.prompt),
            ("guides", _guides(shot) != _guides(prior)),
            ("options", shot.options != prior.options),
        )
        if differs
    ]
    return (", ".join(what) or "range") + " changed"


def classify(shots: Iterable[Shot], priors: Sequence[Prior]) -> list[Change]:
    """The diff of a new cut's shots against the ledger's, in the new cut's order, omitted last.

    Matched in two passes: first by id, name on the same media, or media and frames; then a
    name alone (a marker moved to another clip), so that a renumbered ``{index}`` name never
    takes a shot that is still in the cut.
    """
    planned = distinct(shots)
    used: set[str] = set()
    found: dict[str, tuple[Prior | None, str]] = {}
    for shot in planned:
        prior, how = _match(shot, priors, used)
        if prior is not None:
            used.add(prior.shot.id)
        found[shot.id] = (prior, how)
    for shot in planned:
        if found[shot.id][0] is None:
            prior = _moved_marker(shot, priors, used)
            if prior is not None:
                used.add(prior.shot.id)
                found[shot.id] = (prior, "moved clip")
    # Matched shots keep the names they had; the others take free ones.
    taken = {p.shot.name.casefold() for p, _ in found.values() if p is not None}
    changes: list[Change] = []
    for shot in planned:
        prior, how = found[shot.id]
        if prior is None:
            name = _free_name(shot.name, taken)
            taken.add(name.casefold())
            fresh = shot if name == shot.name else shot.model_copy(update={"name": name})
            changes.append(Change("new", name, fresh, None, origin=shot.id))
            continue
        old = prior.shot
        named = shot if shot.name == old.name else shot.model_copy(update={"name": old.name})
        back = not prior.in_last_cut

        def add(
            kind: ChangeKind, run: Shot, detail: str, old: Shot = old, new: str = shot.id
        ) -> None:
            changes.append(Change(kind, run.name, run, old, detail, origin=new))

        if how == "id":
            moved = placement(shot) != placement(old)
            if back:
                add("reinstated", named, "relinked from the ledger")
            else:
                add("moved" if moved else "unchanged", named, "at a new place" if moved else "")
        elif how == "moved clip" or not _same_request(shot, old):
            add("changed", named, _what_changed(shot, old))
        elif not prior.received and not prior.pending:
            # Nothing received or coming to cut the new range from: a new render of it.
            add("extended", named, "range changed; nothing was received for the old one")
        elif (trimmed := _trimmed(named, old)) is not None:
            if back:
                add("reinstated", trimmed, "relinked from the ledger")
            elif _spans(shot) == _spans(old):
                # Trimmed by an earlier revision (the ledger holds that range): as it was.
                moved = placement(shot) != placement(old)
                add("moved" if moved else "unchanged", trimmed, "at a new place" if moved else "")
            else:
                spans = _spans(shot)
                frames = ", ".join(f"{first}-{end - 1}" for _, first, end, _ in spans)
                where = (
                    "received"
                    if prior.received
                    else "being rendered (waits for that task, paid once)"
                )
                add(
                    "trimmed",
                    trimmed,
                    f"media frames {frames}, inside the {old.frame_count} {where}",
                )
        else:
            add("extended", named, _extension(shot, old))
    names_in_cut = {c.name.casefold() for c in changes}
    for prior in priors:
        if not prior.in_last_cut or prior.shot.id in used:
            continue
        if prior.shot.name.casefold() in names_in_cut:
            continue  # an earlier version of a shot still in the cut
        names_in_cut.add(prior.shot.name.casefold())
        changes.append(Change("omitted", prior.shot.name, None, prior.shot, "kept in the ledger"))
    return changes


def revised_shots(changes: Iterable[Change], shots: Sequence[Shot]) -> list[Shot]:
    """The new cut's shots (every place of each) as they run: a trimmed one as its prior
    result, a matched one under the name it had."""
    runs = {c.origin: c.shot for c in changes if c.shot is not None and c.origin}
    return [shot_as(shot, runs[shot.id]) if shot.id in runs else shot for shot in shots]


def shot_as(shot: Shot, run: Shot) -> Shot:
    """``shot`` (one place in the new cut) run as ``run``: its id, name and handles."""
    return shot.model_copy(
        update={
            "id": run.id,
            "name": run.name,
            "head_frames": run.head_frames,
            "tail_frames": run.tail_frames,
            "guides": run.guides,
            "options": run.options,
        }
    )
