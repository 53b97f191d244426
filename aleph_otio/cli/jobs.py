"""``aleph-otio status`` and ``relink``: reading a job ledger, without running anything."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from aleph_otio.cli import options
from aleph_otio.cli.output import out_console
from aleph_otio.config import default_work_dir
from aleph_otio.errors import ConfigError


def register(app: typer.Typer) -> None:
    """Add ``status`` and ``relink`` to the app."""

    @app.command("status")
    def status_command(
        work_dir: Annotated[
            Path, typer.Argument(help="The run's work folder (or its ledger.sqlite).")
        ],
    ) -> None:
        """Show every shot of a job ledger: state, task, cost, results."""
        # Imported here for start-up time: `aleph-otio --help` loads no more than the CLI.
        from aleph_otio.ledger import Ledger

        path = work_dir / "ledger.sqlite" if work_dir.is_dir() else work_dir
        if not path.is_file():
            raise ConfigError(f"{path}: no job ledger here; pass the work folder of a run")
        with Ledger(path) as ledger:
            table = Table(title=Text(str(path)))
            for column in ("shot", "state", "taskUUID", "cost", "results / reason"):
                table.add_column(column)
            for record in ledger.shots():
                results = ledger.results(record.shot.id)
                costs = [r.cost for r in results if r.cost is not None]
                detail = "\n".join(r.path for r in results if r.path) or (record.reason or "")
                clips = "+".join(dict.fromkeys(s.clip_name for s in record.shot.segments))
                table.add_row(
                    Text(f"{record.shot.name}\n{clips}"),
                    record.state,
                    record.task_uuid,
                    f"${sum(costs):.2f}" if costs else "-",
                    Text(detail),
                )
            out_console.print(table)
            summary = ledger.summary()
            states = ", ".join(f"{k} {v}" for k, v in summary["states"].items() if v)
            out_console.print(f"{summary['shots']} shot(s): {states}; cost ${summary['cost']:.2f}")

    @app.command("relink")
    def relink_command(
        timeline: Annotated[Path, typer.Argument(help="The timeline the shots were planned from.")],
        output: Annotated[Path, typer.Option("-o", "--output", help="Relinked timeline to write.")],
        ledger_path: Annotated[
            Path | None,
            typer.Option("--ledger", help="Job ledger (default: the run's work folder)."),
        ] = None,
        relink: Annotated[str, typer.Option(help="version, reference or replace.")] = "version",
        rate: Annotated[str | None, typer.Option(help="Frame rate for EDLs.")] = None,
        sequence: options.Sequence = None,
        version: Annotated[
            int | None,
            typer.Option(
                min=1,
                help="Show version N of each shot (v001 = 1) where the ledger has it, instead "
                "of the latest: its track on top (version), its reference active (reference), "
                "the only one kept (replace). Every version is written; nothing is paid.",
            ),
        ] = None,
    ) -> None:
        """Relink results already in a job ledger into a timeline, without running anything."""
        # Imported here for start-up time: `aleph-otio --help` loads no more than the CLI.
        from aleph_otio.exports import write_outputs
        from aleph_otio.ledger import Ledger
        from aleph_otio.relink import relink_timeline
        from aleph_otio.timeline import read_timeline

        if relink not in options.RELINK_MODES:
            raise ConfigError(f"--relink {relink!r}: use version, reference or replace")
        if output.resolve() == timeline.resolve():
            raise ConfigError(f"{output}: is the input timeline; choose another -o")
        path = ledger_path or default_work_dir(output, timeline) / "ledger.sqlite"
        if not path.is_file():
            raise ConfigError(f"{path}: no job ledger; pass --ledger WORK/ledger.sqlite")
        loaded = read_timeline(timeline, rate=rate, sequence=sequence)
        with Ledger(path) as ledger:
            results = ledger.relink_results(timeline_path=str(loaded.path))
        # Imported here for start-up time, as above.
        from aleph_otio.scripting.revising import version_results

        # Every version the ledger holds beside the latest: v001 stays next to v002.
        results, missing = version_results(path, results, version or 1)
        if version is not None:
            for name in missing:
                out_console.print(
                    f"{name}: no v{version:03d} covering this shot in {path}; its latest "
                    "version is relinked",
                    markup=False,
                )
        relinked = relink_timeline(
            loaded.timeline,
            results,
            mode=relink,  # type: ignore[arg-type]
            active_version=version,
        )
        written = write_outputs(relinked, output, media_base=loaded.folder)
        shots = len({r.shot.id for r in results})
        files = ", ".join(str(p) for p in written)
        out_console.print(
            f"relinked {len(results)} result(s) of {shots} shot(s) into {files}", markup=False
        )
