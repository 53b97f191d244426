"""Turnover sheets of a timeline (what would be sent) or a work folder (what was sent and got).

``sheet_entries`` gathers the facts; :mod:`aleph_otio.exports.sheets` lays them out as CSV or ALE.
"""

from __future__ import annotations

from pathlib import Path

from aleph_otio.config import DEFAULT_PRICE_PER_SECOND, PlanSettings
from aleph_otio.cost import estimate_cost
from aleph_otio.errors import ConfigError
from aleph_otio.exports.sheets import SheetEntry, write_sheet
from aleph_otio.ledger import Ledger
from aleph_otio.pipeline import plan_file
from aleph_otio.shots import distinct

LEDGER_NAME = "ledger.sqlite"


def ledger_path(source: Path) -> Path | None:
    """The job ledger ``source`` names (a work folder or the ledger itself), else None."""
    if source.is_dir():
        return source / LEDGER_NAME
    if source.name == LEDGER_NAME:
        return source
    return None


def sheet_entries(
    source: Path,
    settings: PlanSettings | None = None,
    *,
    price: float = DEFAULT_PRICE_PER_SECOND,
    rate: float | None = None,
) -> list[SheetEntry]:
    """One entry per shot and version (and result): from a work folder's ledger, or a plan."""
    ledger = ledger_path(source)
    if ledger is None:
        _, plan = plan_file(source, settings or PlanSettings(), rate=rate)
        return [
            SheetEntry(shot=s, reel=s.reel, estimate=estimate_cost(s, price))
            for s in distinct(plan.shots)
        ]
    if not ledger.is_file():
        raise ConfigError(
            f"{source}: no job ledger ({LEDGER_NAME}) here; give the run's work folder"
        )
    entries: list[SheetEntry] = []
    with Ledger(ledger) as book:
        for record in book.shots():
            shot = record.shot
            base = SheetEntry(
                shot=shot,
                version=book.version(shot.id),
                state=record.state,
                task_uuid=record.task_uuid or "",
                estimate=estimate_cost(shot, price),
                reel=shot.reel,
            )
            results = [r for r in book.results(shot.id) if r.status == "success"]
            if not results:
                entries.append(base)
            for result in results:
                entries.append(
                    SheetEntry(
                        **{
                            **base.__dict__,
                            "cost": result.cost,
                            "result_path": result.delivered_path or result.path or "",
                            "variant": result.result_index,
                            "width": result.width or 0,
                            "height": result.height or 0,
                        }
                    )
                )
    # Plan order, each shot's versions together (a later version was added later).
    first: dict[str, int] = {}
    for entry in entries:
        first.setdefault(entry.shot.name.casefold(), len(first))
    return sorted(entries, key=lambda e: (first[e.shot.name.casefold()], e.version, e.variant or 0))


def write_turnover_sheet(
    source: Path,
    output: Path,
    settings: PlanSettings | None = None,
    *,
    price: float = DEFAULT_PRICE_PER_SECOND,
    rate: float | None = None,
) -> tuple[Path, int]:
    """Write the sheet of ``source`` to ``output`` (.csv or .ale); (path, rows)."""
    entries = sheet_entries(source, settings, price=price, rate=rate)
    return write_sheet(entries, output), len(entries)
