"""What the job commands print: a progress bar per stage, the end-of-run table and lines."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from aleph_otio.shots import Shot

STAGES = ("prepare", "upload", "submit", "generate", "download", "verify", "upscale")

out_console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class StageProgress:
    """One rich progress bar per stage, fed by the pipeline's events."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress = progress
        self.bars = {
            stage: progress.add_task(stage, total=total, visible=False) for stage in STAGES
        }
        self.failed: dict[str, int] = dict.fromkeys(STAGES, 0)

    def __call__(self, stage: str, shot: Shot | None, status: str) -> None:
        bar = self.bars.get(stage)
        if bar is None:
            return
        self.progress.update(bar, visible=True)
        if status == "done":
            self.progress.advance(bar)
        elif status == "failed":
            self.failed[stage] += 1
            self.progress.advance(bar)
            self.progress.update(bar, description=f"{stage} [red]({self.failed[stage]} failed)")


def summary_table(summary: Any) -> Table:
    """The per-shot end-of-run table."""
    table = Table(title="aleph-otio run", show_lines=False)
    for column in ("shot", "state", "estimate", "cost", "results / reason"):
        table.add_column(column)
    for shot in summary.shots:
        colour = {"relinked": "green", "failed": "red"}.get(shot.state, "yellow")
        # Names, paths and reasons come from the timeline: Text, never markup.
        detail = Text("\n".join(shot.results) if shot.state == "relinked" else (shot.reason or ""))
        if shot.state == "relinked" and shot.reason:
            # e.g. variations that failed next to the ones relinked
            detail.append("\n" + shot.reason, style="yellow")
        table.add_row(
            Text(f"{shot.name}\n{shot.clips}" if shot.clips else shot.name),
            Text(shot.state, style=colour),
            f"${shot.estimate:.2f}",
            f"${shot.cost:.2f}" if shot.cost is not None else "-",
            detail,
        )
    return table


def print_summary(summary: Any) -> None:
    out_console.print(summary_table(summary))
    done, failed = len(summary.done), len(summary.failed)
    out_console.print(
        f"{done}/{len(summary.shots)} shot(s) relinked, {failed} failed; "
        f"cost ${summary.cost:.2f} (estimate ${summary.estimate:.2f})"
    )
    if summary.output is not None and done:
        out_console.print(f"output: {summary.output}", markup=False)
    out_console.print(f"job ledger: {summary.ledger}", markup=False)
    for line in summary.plan_warnings:
        err_console.print(f"warning: {line}", markup=False)
    for line in summary.plan_errors:
        err_console.print(f"error: {line}", markup=False)
    for shot in summary.failed:
        # The table cuts long reasons to the terminal width; this line keeps the whole reason.
        err_console.print(f"error: {shot.name}: {shot.reason or 'failed'}", markup=False)
    if summary.stopped_by_budget:
        err_console.print(
            "budget reached: the remaining shots are planned; raise --budget to go on"
        )
    if summary.still_processing:
        err_console.print(
            f"{summary.still_processing} task(s) still processing: run the same command again"
        )
    if failed:
        err_console.print("failed shots are kept in the ledger: run the same command to retry them")


def announce_emulator(base_url: str) -> None:
    """Say on stderr where the emulator started for this run listens."""
    err_console.print(f"emulator: {base_url} (offline rehearsal, nothing is paid)")
