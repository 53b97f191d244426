"""``aleph-otio demo``: the whole job, offline, on a generated sample edit.

Makes a short multi-clip timeline with real media and edit-request markers (a clip marker, a
whole-clip marker, a track marker across a cut, a guide still), runs it against the built-in
emulator, writes the relinked timeline and an HTML review report, and says where they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from aleph_otio.cli.execute import execute
from aleph_otio.cli.output import announce_emulator, print_summary
from aleph_otio.config import PlanSettings, resolve_api_settings
from aleph_otio.errors import ConfigError
from aleph_otio.rehearsal import maybe_emulator

DEFAULT_FOLDER = Path("aleph-demo")


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the app."""

    @app.command("demo")
    def demo_command(
        folder: Annotated[
            Path, typer.Argument(help="Where to put the sample edit, results and report.")
        ] = DEFAULT_FOLDER,
        output_format: Annotated[
            str, typer.Option("--format", help="Relinked timeline format: otio, xml, edl, otioz.")
        ] = "otio",
        latency: Annotated[float, typer.Option(help="Emulated seconds per task.")] = 1.0,
    ) -> None:
        """Run the whole pipeline offline on a generated sample edit (no key, no cost)."""
        # Imported here for start-up time: `aleph-otio --help` loads no more than the CLI.
        from aleph_otio.pipeline import RunConfig
        from aleph_otio.report import write_report
        from aleph_otio.sample import make_sample_project

        suffix = output_format.lower().lstrip(".")
        if suffix not in ("otio", "xml", "edl", "otioz", "fcpxml"):
            raise ConfigError(f"--format {output_format!r}: use otio, xml, edl, otioz or fcpxml")
        out = Console(highlight=False)
        project = make_sample_project(folder / "source")
        out.print(
            f"sample edit: {project.timeline} ({len(project.prompts)} edit requests)", markup=False
        )
        output = folder / f"relinked.{suffix}"
        work = folder / "work"
        with maybe_emulator(True, work, latency, announce=announce_emulator) as url:
            settings = resolve_api_settings(
                emulator_url=url,
                base_url=None,
                ttl=None,
                include_cost=True,
                webhook_url=None,
                upload_endpoint=None,
                safety=None,
                price=0.28,
                poll_interval=0.2,
            )
            config = RunConfig(
                timeline=project.timeline,
                output=output,
                work_dir=work,
                plan_settings=PlanSettings(),
                api_settings=settings,
            )
            summary = execute(config, settings)
        print_summary(summary)
        report = write_report(config.ledger_path, folder / "report.html", title="aleph-otio demo")
        out.print(f"report: {report}", markup=False)
        out.print(f"open it: file://{report.resolve()}", markup=False)
        raise typer.Exit(summary.exit_code)
