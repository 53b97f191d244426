"""What ``plan --against`` and ``run --against`` print: the diff of a new cut, paid rows costed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aleph_otio.errors import PlanError

#: Row colours: free rows plain, paid rows stand out.
_STYLE = {"extended": "yellow", "changed": "yellow", "new": "yellow", "omitted": "dim"}


def revision_table(revision: Any) -> Table:
    """One row per shot of the new cut (and per omitted one): kind, name, id, detail, USD."""
    table = Table(title=Text(f"{revision.plan.timeline_name}: against the work folder"))
    table.add_column("change", no_wrap=True)
    table.add_column("shot", no_wrap=True)
    table.add_column("id", no_wrap=True)
    table.add_column("detail", ratio=3)
    table.add_column("USD", justify="right", no_wrap=True)
    for change in revision.changes:
        shot = change.shot or change.prior
        cost = revision.estimate(change)
        table.add_row(
            Text(change.kind),
            Text(change.name),
            Text(shot.id if shot is not None else ""),
            Text(change.detail),
            f"${cost:.2f}" if change.paid else "-",
            style=_STYLE.get(change.kind),
        )
    return table


def summary_line(revision: Any) -> str:
    paid = [c for c in revision.changes if c.paid]
    free = [c for c in revision.changes if not c.paid and c.kind != "omitted"]
    return (
        f"{len(paid)} shot(s) to pay, estimated ${revision.total:.2f} at "
        f"${revision.price:.2f}/s per result; {len(free)} reused from the work folder"
    )


def print_revision(revision: Any, console: Console, *, as_json: bool = False) -> None:
    if as_json:
        console.file.write(json.dumps(revision.as_json(), indent=2) + "\n")
        return
    console.print(revision_table(revision))
    console.print(summary_line(revision), markup=False, highlight=False)


def plan_against(
    timeline: Path,
    settings: Any,
    against: Path,
    *,
    rate: str | None,
    price: float,
    as_json: bool,
) -> None:
    """``plan NEW_CUT --against WORK_DIR``: the diff, paid rows costed; exit 3 on refusals."""
    # Imported here for start-up time: `aleph-otio --help` loads no more than the CLI.
    from aleph_otio.scripting.revising import record_cut, revise_file
    from aleph_otio.timeline import parse_rate

    revision = revise_file(
        timeline, settings, against, rate=parse_rate(rate) if rate else None, price=price
    )
    if not revision.plan.errors:
        # The folder remembers this cut, so the next one knows what it dropped.
        record_cut(against, revision)
    out = Console()
    if not out.is_terminal:
        out = Console(width=max(out.width, 120))
    print_revision(revision, out, as_json=as_json)
    err = Console(stderr=True, soft_wrap=True, highlight=False)
    for line in revision.plan.warnings:
        err.print(f"warning: {line}", markup=False)
    for line in revision.plan.errors:
        err.print(f"error: {line}", markup=False)
    if revision.plan.errors:
        raise typer.Exit(PlanError.exit_code)
