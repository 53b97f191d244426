"""A new cut against a work folder: the diff of :mod:`aleph_otio.revisions` and the plan to run.

``revise(plan, work_dir)`` reads what the folder's ledger holds and gives the plan of the new cut
as it should run (a trimmed shot as its prior result, matched shots under their old names) and
the diff, with the estimate of only the rows that are paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aleph_otio.config import DEFAULT_PRICE_PER_SECOND, PlanSettings
from aleph_otio.cost import estimate_cost
from aleph_otio.errors import ConfigError
from aleph_otio.ledger import Ledger
from aleph_otio.pipeline import plan_file
from aleph_otio.relink import RelinkResult
from aleph_otio.revisions import Change, Prior, classify, revised_shots
from aleph_otio.shots import Plan

LEDGER_NAME = "ledger.sqlite"
#: Shot states whose results came (or are being fetched): a trim can be cut from them.
RECEIVED = frozenset({"succeeded", "downloaded", "verified", "relinked"})
#: Shot states whose task was sent (or is being sent) and whose results are still to come.
PENDING = frozenset({"submitting", "submitted"})


@dataclass(frozen=True)
class Revision:
    """The new cut's plan as it runs, and what changed against the work folder."""

    plan: Plan
    changes: list[Change]
    price: float

    def estimate(self, change: Change) -> float:
        """Expected USD of one row: 0 unless it is paid."""
        if not change.paid or change.shot is None:
            return 0.0
        return estimate_cost(change.shot, self.price)

    @property
    def total(self) -> float:
        return round(sum(self.estimate(c) for c in self.changes), 4)

    def as_json(self) -> dict[str, Any]:
        return {
            "timeline": self.plan.timeline_path,
            "changes": [
                {
                    "kind": c.kind,
                    "shot": c.name,
                    "shot_id": c.shot.id if c.shot is not None else None,
                    "prior_id": c.prior.id if c.prior is not None else None,
                    "detail": c.detail,
                    "paid": c.paid,
                    "estimate_usd": self.estimate(c),
                }
                for c in self.changes
            ],
            "paid": sum(1 for c in self.changes if c.paid),
            "estimate_usd": self.total,
            "price_per_second": self.price,
        }


def ledger_of(work_dir: Path) -> Path:
    path = work_dir / LEDGER_NAME if work_dir.is_dir() else work_dir
    if not path.is_file():
        raise ConfigError(
            f"--against {work_dir}: no job ledger there; give the work folder of the run of the "
            "earlier cut (it holds ledger.sqlite)"
        )
    return path


def priors(work_dir: Path, cut: list[str] | None = None) -> list[Prior]:
    """What the work folder's ledger holds, as :class:`Prior` shots; ``in_last_cut`` against
    the cut before ``cut`` (the new cut's own shot ids), planned or run."""
    with Ledger(ledger_of(work_dir)) as ledger:
        last = ledger.last_cut(cut)
        return [
            Prior(
                shot=record.shot,
                received=record.state in RECEIVED,
                pending=record.state in PENDING,
                in_last_cut=last is None or record.shot.id in last,
                version=ledger.version(record.shot.id),
            )
            for record in ledger.shots()
        ]


def revise(plan: Plan, work_dir: Path, *, price: float = DEFAULT_PRICE_PER_SECOND) -> Revision:
    """The new cut ``plan`` against ``work_dir``: the plan to run and the diff."""
    changes = classify(plan.shots, priors(work_dir, [s.id for s in plan.shots]))
    shots = revised_shots(changes, plan.shots)
    return Revision(plan=plan.model_copy(update={"shots": shots}), changes=changes, price=price)


def record_cut(work_dir: Path, revision: Revision) -> None:
    """Remember the new cut's shots, so that the next revision knows what this one omitted.

    Done when a cut is planned against the folder too: a shot dropped in a cut that was only
    planned, and back in the next, is reinstated. Bookkeeping only, nothing is paid.
    """
    key = [c.origin for c in revision.changes if c.origin]
    with Ledger(ledger_of(work_dir)) as ledger:
        ledger.record_cut([s.id for s in revision.plan.shots], key=key)


def revise_file(
    timeline: Path,
    settings: PlanSettings,
    work_dir: Path,
    *,
    rate: float | None = None,
    price: float = DEFAULT_PRICE_PER_SECOND,
) -> Revision:
    """Plan ``timeline`` (a new cut) against its media and classify it against ``work_dir``."""
    _, plan = plan_file(timeline, settings, rate=rate)
    return revise(plan, work_dir, price=price)


def version_results(
    ledger_file: Path, current: list[RelinkResult], version: int
) -> tuple[list[RelinkResult], list[str]]:
    """``current`` (the results a relink would use) with every other version of each shot the
    ledger holds beside them (see :meth:`Ledger.with_earlier_versions`); and the names of the
    shots that have no version ``version`` covering their range (their latest is shown)."""
    with Ledger(ledger_file) as ledger:
        out = ledger.with_earlier_versions(current)
    having = {r.shot.name.casefold() for r in out if r.version == version}
    names = dict.fromkeys(r.shot.name for r in current)
    return out, [n for n in names if n.casefold() not in having]
