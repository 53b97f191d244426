"""``aleph-otio sheet``: the turnover sheet (CSV or Avid ALE) of a timeline or a work folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from aleph_otio.cli import options
from aleph_otio.cli.plan import build_settings, with_naming
from aleph_otio.errors import AlephOtioError


def register(app: typer.Typer) -> None:
    """Add ``sheet`` to the app."""

    @app.command("sheet")
    def sheet_command(
        source: Annotated[
            Path,
            typer.Argument(
                help="A timeline (the shots it would send) or a run's work folder (what was "
                "sent, its versions and results)."
            ),
        ],
        output: Annotated[
            Path, typer.Option("-o", "--output", help="The sheet: NAME.csv or NAME.ale (Avid).")
        ],
        price: options.Price = options.DEFAULT_PRICE,
        marker_color: options.MarkerColor = None,
        prefix: options.Prefix = options.DEFAULT_PREFIX,
        handles: options.Handles = 0,
        rate: options.Rate = None,
        sequence: options.Sequence = None,
        shot_names: options.ShotNames = options.DEFAULT_SHOT_NAMES,
        shot_regex: options.ShotRegex = None,
        shot_template: options.ShotTemplate = options.DEFAULT_SHOT_TEMPLATE,
    ) -> None:
        """Write one row per shot, version and result: names, time codes, prompt, cost, file."""
        # Imported here for start-up time: `aleph-otio --help` loads no more than the CLI.
        from aleph_otio.scripting.sheets import write_turnover_sheet
        from aleph_otio.timeline import parse_rate

        err = Console(stderr=True, soft_wrap=True, highlight=False)
        try:
            settings = with_naming(
                build_settings(
                    prefix=prefix,
                    marker_color=marker_color,
                    guide_track=options.DEFAULT_GUIDE_TRACK,
                    handles=handles,
                    number_results=1,
                    output_format="MP4",
                    output_quality=95,
                    sequence=sequence,
                ),
                shot_names=shot_names,
                shot_regex=shot_regex,
                shot_template=shot_template,
            )
            path, rows = write_turnover_sheet(
                source, output, settings, price=price, rate=parse_rate(rate) if rate else None
            )
        except AlephOtioError as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(exc.exit_code) from None
        Console(soft_wrap=True).print(
            f"wrote {path} ({rows} row(s))", markup=False, highlight=False
        )
