"""``aleph-otio stills``: the first frame of each planned shot as a PNG, for painting guides.

An artist paints the edit on the still and drops it on the guide track (``ALEPH GUIDES``) at the
shot's first frame; the next plan sends it as ``frameImages`` with ``frame: "first"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from aleph_otio.cli import options
from aleph_otio.cli.plan import build_colour, build_settings


def register(app: typer.Typer) -> None:
    """Add ``stills`` to the app."""

    @app.command("stills")
    def stills_command(
        timeline: Annotated[Path, typer.Argument(help="Timeline to plan.")],
        output: Annotated[
            Path, typer.Option("-o", "--output", help="Folder for the PNG stills.")
        ] = Path("aleph-stills"),
        prefix: options.Prefix = options.DEFAULT_PREFIX,
        marker_color: options.MarkerColor = None,
        rate: options.Rate = None,
        sequence: options.Sequence = None,
        media_map: options.MediaMap = None,
        media_search: options.MediaSearch = None,
        ocio_config: options.OcioConfig = None,
        input_colorspace: options.InputColorspace = None,
        colorspace_rule: options.ColorspaceRule = None,
        view: options.View = None,
        lut: options.Lut = None,
        cdl: options.Cdl = None,
        return_colorspace: options.ReturnColorspace = "display",
        max_height: Annotated[int, typer.Option(help="Scale like the uploaded clip.")] = 1080,
    ) -> None:
        """Write the first frame of each planned shot as PNG (to paint guide frames on)."""
        # Imported here for start-up time: `aleph-otio --help` loads no more than the CLI.
        from aleph_otio.media import extract_still
        from aleph_otio.pipeline import plan_file
        from aleph_otio.timeline import parse_rate

        settings = build_settings(
            prefix=prefix,
            marker_color=marker_color,
            guide_track=options.DEFAULT_GUIDE_TRACK,
            handles=0,
            number_results=1,
            output_format="MP4",
            output_quality=95,
            media_map=media_map,
            media_search=media_search,
            sequence=sequence,
            colour=build_colour(
                ocio_config=ocio_config,
                input_colorspace=input_colorspace,
                colorspace_rule=colorspace_rule,
                view=view,
                lut=lut,
                cdl=cdl,
                return_colorspace=return_colorspace,
            ),
        )
        _, plan = plan_file(timeline, settings, rate=parse_rate(rate) if rate else None)
        out = Console(highlight=False)
        output.mkdir(parents=True, exist_ok=True)
        for shot in plan.shots:
            seg = shot.segments[0]
            safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in shot.name)
            png = output / f"{safe}_{shot.id}_first.png"
            extract_still(
                seg.media_path,
                seg.media_start_frame,
                png,
                max_height=max_height,
                colour=shot.colour,  # the still looks like the clip Aleph receives
            )
            out.print(
                f"{png}  ({seg.clip_name} {seg.source_tc_in}, record {seg.record_tc_in})",
                markup=False,
            )
        for line in plan.errors:
            Console(stderr=True, highlight=False).print(f"error: {line}", markup=False)
        if plan.errors:
            raise typer.Exit(3)
