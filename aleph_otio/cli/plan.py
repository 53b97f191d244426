"""``aleph-otio plan``: show (or write) the Aleph tasks a timeline's markers ask for.

Nothing is uploaded or paid for: this reads the timeline, probes the source media and prints
one row per shot. ``--json`` prints the batch manifest instead; ``-o x.aleph.json`` writes it.
Exit status: 0 when every edit-request marker planned, 3 when any was refused (one ``error:``
line each), 2 for bad input or options.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text

from aleph_otio.batch import Batch, batch_json, plan_to_batch, write_batch
from aleph_otio.cli import options
from aleph_otio.config import (
    DEFAULT_PRICE_PER_SECOND,
    ColourSettings,
    PlanSettings,
    check_runway_only,
)
from aleph_otio.cost import Pricing, backend_pricing
from aleph_otio.errors import AlephOtioError, ConfigError, PlanError
from aleph_otio.locate import parse_media_map
from aleph_otio.shots import Shot

DEFAULT_SAMPLE_FOLDER = Path("aleph-sample")
PROMPT_WIDTH = 48

#: CLI option name for each PlanSettings field, for messages about bad values.
_OPTION_NAMES = {
    "prefix": "--prefix",
    "marker_color": "--marker-color",
    "guide_track": "--guide-track",
    "handles": "--handles",
    "max_fps": "--max-fps",
    "number_results": "--number-results",
    "output_format": "--output-format",
    "output_quality": "--output-quality",
    "media_map": "--media-map",
    "media_search": "--media-search",
}


def build_settings(
    *,
    prefix: str,
    marker_color: str | None,
    guide_track: str,
    handles: int,
    number_results: int,
    output_format: str,
    output_quality: int,
    media_map: list[str] | None = None,
    media_search: list[Path] | None = None,
    sequence: str | None = None,
    colour: ColourSettings | None = None,
    max_fps: float = options.DEFAULT_MAX_FPS,
) -> PlanSettings:
    """PlanSettings from CLI values; a bad value is a ConfigError naming its option."""
    for folder in media_search or []:
        if not folder.expanduser().is_dir():
            raise ConfigError(f"--media-search {folder}: not a folder; give a folder to search")
    try:
        return PlanSettings(
            sequence=sequence or None,
            media_map=parse_media_map(media_map or []),
            media_search=tuple(str(f.expanduser().resolve()) for f in media_search or []),
            prefix=prefix,
            marker_color=marker_color or None,
            guide_track=guide_track,
            handles=handles,
            number_results=number_results,
            output_format=output_format.upper(),  # type: ignore[arg-type]
            output_quality=output_quality,
            colour=colour,
            max_fps=max_fps,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        option = _OPTION_NAMES.get(field, field)
        msg = first["msg"][:1].lower() + first["msg"][1:]
        raise ConfigError(
            f"{option} {first['input']!r}: {msg}; see aleph-otio plan --help"
        ) from None


def with_naming(
    settings: PlanSettings,
    *,
    shot_names: str = options.DEFAULT_SHOT_NAMES,
    shot_regex: str | None = None,
    shot_template: str = options.DEFAULT_SHOT_TEMPLATE,
    result_template: str = options.DEFAULT_RESULT_TEMPLATE,
) -> PlanSettings:
    """``settings`` with the naming options (each checked: a bad one is a ConfigError)."""
    from aleph_otio import naming

    return settings.model_copy(
        update={
            "shot_names": naming.check_order(shot_names.split(",")),
            "shot_regex": naming.check_regex(shot_regex) and shot_regex,
            "shot_template": naming.check_shot_template(shot_template),
            "result_template": naming.check_result_template(result_template),
        }
    )


def build_colour(
    *,
    ocio_config: str | None = None,
    input_colorspace: str | None = None,
    colorspace_rule: list[str] | None = None,
    view: str | None = None,
    lut: Path | None = None,
    cdl: Path | None = None,
    return_colorspace: str = "display",
) -> ColourSettings | None:
    """ColourSettings from the CLI's colour options; None (colour untouched) when none is given."""
    given = (ocio_config, input_colorspace, colorspace_rule, view, lut, cdl)
    if not any(given) and return_colorspace == "display":
        return None
    if return_colorspace not in ("display", "source"):
        raise ConfigError(f"--return-colorspace {return_colorspace!r}: use display or source")
    rules = []
    for rule in colorspace_rule or []:
        pattern, sep, space = rule.rpartition("=")
        if not sep or not pattern or not space.strip():
            raise ConfigError(f"--colorspace-rule {rule!r}: use REGEX=SPACE, e.g. '_LOGC=ACEScct'")
        rules.append((pattern, space.strip()))
    display, _, view_name = (view or "").partition("/")
    fields: dict[str, object] = {
        "ocio_config": ocio_config,
        "input_colorspace": input_colorspace,
        "rules": tuple(rules),
        "view": view_name.strip() or None,
        "lut": str(lut) if lut else None,
        "cdl": str(cdl) if cdl else None,
        "return_colorspace": return_colorspace,
    }
    if display.strip():
        fields["display"] = display.strip()
    return ColourSettings(**fields)  # type: ignore[arg-type]


def colour_lines(shots: list[Shot]) -> list[str]:
    """One line per distinct colour pipeline of the plan, naming its shots."""
    by_pipeline: dict[str, list[str]] = {}
    for shot in shots:
        if shot.colour is not None:
            by_pipeline.setdefault(shot.colour.describe(), []).append(shot.id)
    return [f"{line} (shots {', '.join(ids)})" for line, ids in by_pipeline.items()]


def _clips_cell(shot: Shot) -> str:
    # Two lines per segment, so that each clip lines up with its in/out timecodes.
    return "\n".join(f"{s.clip_name}\n{s.track_name}" for s in shot.segments)


def _timecodes_cell(shot: Shot) -> str:
    return "\n".join(f"{s.source_tc_in}\n{s.source_tc_out}" for s in shot.segments)


def _guides_cell(shot: Shot) -> str:
    marks = [g.frame if g.frame is not None else f"{g.timestamp:.2f}s" for g in shot.guides]
    return "\n".join(m for m in marks if m) or "-"


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def shots_table(batch: Batch) -> Table:
    """The rich table ``plan`` prints: one row per shot."""
    # Names, prompts and paths come from the timeline: Text, never markup ("[/]" would crash).
    table = Table(title=Text(f"{batch.timeline_name or Path(batch.timeline).name}: Aleph shots"))
    table.add_column("shot", no_wrap=True)
    table.add_column("clip(s)", min_width=8)
    table.add_column("source in/out", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    table.add_column("prompt", min_width=12, ratio=3)
    table.add_column("guides", no_wrap=True)
    # Warnings are rare; their column only takes width when some shot has one.
    show_warnings = any(shot.warnings for shot in batch.shots)
    if show_warnings:
        table.add_column("warnings", style="yellow", ratio=2)
    for shot in batch.shots:
        part = f"\npart {shot.part}/{shot.parts}" if shot.parts > 1 else ""
        # The name people use first; the content id is what the ledger keys on.
        handles = (
            f"\n+{shot.head_frames}/{shot.tail_frames} fr"
            if shot.head_frames or shot.tail_frames
            else ""
        )
        cells = [
            f"{shot.name}\n{shot.id}{part}",
            _clips_cell(shot),
            _timecodes_cell(shot),
            f"{shot.seconds:.2f} s\n{shot.frame_count} fr{handles}",
            _truncate(shot.prompt, PROMPT_WIDTH),
            _guides_cell(shot),
        ]
        if show_warnings:
            cells.append("\n".join(shot.warnings))
        table.add_row(*(Text(cell) for cell in cells))
    return table


def _summary(batch: Batch, price: float = DEFAULT_PRICE_PER_SECOND) -> str:
    # Imported here for start-up time: `aleph-otio --help` loads no more than the CLI.
    from aleph_otio.scripting import estimate_shots

    # The pipeline's own per-shot formula, so the figure is the one ``run --budget`` checks.
    total = estimate_shots(batch.shots, price).total
    results = sum(s.options.number_results for s in batch.shots)
    return (
        f"{len(batch.shots)} shot(s), {batch.total_seconds:.2f} s of input video, "
        f"{results} result(s); estimated ${total:.2f} at ${price:.2f}/s per result"
    )


def estimate_table(batch: Batch, price: float | Pricing) -> Table:
    """``plan --estimate``: expected cost per shot and in total (nothing is paid).

    ``price`` is USD per second, or the backend's :class:`~aleph_otio.cost.Pricing` (Runway's
    credits in a column beside the USD ``--budget`` counts; ``str(pricing)`` says its steps).
    """
    # Imported here for start-up time: `aleph-otio --help` loads no more than the CLI.
    from aleph_otio.scripting import estimate_shots

    pricing = price if not isinstance(price, int | float) else backend_pricing(price=price)
    cost = estimate_shots(batch.shots, pricing.per_second)
    table = Table(
        title=f"Cost estimate: ${pricing.per_second:.2f} per second of input video, per result"
    )
    table.add_column("shot", no_wrap=True)
    table.add_column("prompt", min_width=12, ratio=3)
    table.add_column("seconds", justify="right", no_wrap=True)
    table.add_column("results", justify="right", no_wrap=True)
    credits = pricing.credit_usd is not None
    if credits:
        table.add_column("credits", justify="right", no_wrap=True)
    table.add_column("USD", justify="right", no_wrap=True)

    def money(usd: float) -> list[str]:
        return ([f"{pricing.credits(usd):g}"] if credits else []) + [f"${usd:.2f}"]

    for shot in cost.shots:
        table.add_row(
            Text(shot.name),
            Text(_truncate(shot.prompt, PROMPT_WIDTH)),
            f"{shot.seconds:.2f}",
            str(shot.results),
            *money(shot.usd),
        )
    table.add_section()
    table.add_row(
        "total", "", f"{cost.seconds:.2f}", str(cost.results), *money(cost.total), style="bold"
    )
    return table


def plan_pricing(
    backend: str,
    *,
    runway_format: str | None,
    prores_profile: str | None,
    upscale: str | None,
    price: float,
    upscale_price: float | None,
) -> Pricing:
    """The price ``plan`` estimates at: the chosen backend's, as ``run`` would pay it."""
    if backend not in ("runware", "runway"):
        raise ConfigError(f"--backend {backend!r}: use runware or runway")
    check_runway_only(backend, runway_format=runway_format, upscale=upscale)
    if prores_profile is not None and backend != "runway":
        raise ConfigError("--prores-profile is a Runway option: add --backend runway")
    return backend_pricing(
        backend,
        output_format=runway_format or ("prores" if prores_profile else "mp4"),
        upscale=upscale,
        # The default --price is Runware's figure; Runway's own stands unless --price is given.
        price=None if backend == "runway" and price == DEFAULT_PRICE_PER_SECOND else price,
        upscale_price=upscale_price,
    )


def run_plan(
    timeline: Path,
    settings: PlanSettings,
    *,
    rate: str | None = None,
    price: float = DEFAULT_PRICE_PER_SECOND,
) -> Batch:
    """Read, plan and wrap ``timeline`` into a batch (media probed when possible)."""
    # Imported here for start-up time: `aleph-otio --help` loads no more than the CLI.
    from aleph_otio.pipeline import plan_file

    _, plan = plan_file(timeline, settings, rate=rate)
    return plan_to_batch(plan, settings, price_per_second=price)


def register(app: typer.Typer) -> None:
    """Add ``plan`` to the app."""

    @app.command("plan")
    def plan_command(
        timeline: Annotated[
            Path | None,
            typer.Argument(
                help="Timeline file (.otio, .edl, .xml, .fcpxml, .aaf, ...); with --sample, "
                "the folder for the sample project (default ./aleph-sample).",
                show_default=False,
            ),
        ] = None,
        output: Annotated[
            Path | None,
            typer.Option("-o", "--output", help="Write the batch manifest (NAME.aleph.json)."),
        ] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print the batch manifest JSON on stdout.")
        ] = False,
        marker_color: options.MarkerColor = None,
        prefix: options.Prefix = options.DEFAULT_PREFIX,
        guide_track: options.GuideTrack = options.DEFAULT_GUIDE_TRACK,
        handles: options.Handles = 0,
        max_fps: options.MaxFps = options.DEFAULT_MAX_FPS,
        number_results: options.NumberResults = 1,
        output_format: options.OutputFormat = "MP4",
        output_quality: options.OutputQuality = 95,
        rate: options.Rate = None,
        sequence: options.Sequence = None,
        media_map: options.MediaMap = None,
        media_search: options.MediaSearch = None,
        shot_names: options.ShotNames = options.DEFAULT_SHOT_NAMES,
        shot_regex: options.ShotRegex = None,
        shot_template: options.ShotTemplate = options.DEFAULT_SHOT_TEMPLATE,
        against: options.Against = None,
        ocio_config: options.OcioConfig = None,
        input_colorspace: options.InputColorspace = None,
        colorspace_rule: options.ColorspaceRule = None,
        view: options.View = None,
        lut: options.Lut = None,
        cdl: options.Cdl = None,
        return_colorspace: options.ReturnColorspace = "display",
        estimate: Annotated[
            bool,
            typer.Option(
                "--estimate",
                help="Also print the expected cost per shot and in total (at --price).",
            ),
        ] = False,
        price: options.Price = options.DEFAULT_PRICE,
        backend: Annotated[
            str,
            typer.Option(help="Estimate at this backend's price: runware or runway (credits)."),
        ] = "runware",
        prores_profile: Annotated[
            str | None, typer.Option(help="Runway: priced as ProRes (its surcharge).")
        ] = None,
        upscale: options.Upscale = None,
        upscale_price: options.UpscalePrice = None,
        sample: Annotated[
            bool,
            typer.Option(
                "--sample",
                help="Make the sample project (in TIMELINE as a folder, default ./aleph-sample) "
                "and plan it.",
            ),
        ] = False,
    ) -> None:
        """Show the Aleph tasks the timeline's edit-request markers ask for (nothing is sent)."""
        err = Console(stderr=True, soft_wrap=True, highlight=False)
        try:
            output_format, runway_format = options.split_output_format(output_format)
            pricing = plan_pricing(
                backend,
                runway_format=runway_format,
                prores_profile=prores_profile,
                upscale=upscale,
                price=price,
                upscale_price=upscale_price,
            )
            price = pricing.per_second
            settings = build_settings(
                prefix=prefix,
                marker_color=marker_color,
                guide_track=guide_track,
                handles=handles,
                max_fps=max_fps,
                number_results=number_results,
                output_format=output_format,
                output_quality=output_quality,
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
            settings = with_naming(
                settings,
                shot_names=shot_names,
                shot_regex=shot_regex,
                shot_template=shot_template,
            )
            if sample:
                from aleph_otio.sample import make_sample_project

                folder = timeline if timeline is not None else DEFAULT_SAMPLE_FOLDER
                project = make_sample_project(folder)
                err.print(
                    f"sample project: {project.timeline} ({len(project.media)} clips, "
                    f"{len(project.prompts)} edit requests)",
                    markup=False,
                )
                timeline = project.timeline
            elif timeline is None:
                raise ConfigError(
                    "no timeline given: aleph-otio plan TIMELINE (or --sample to try the sample)"
                )
            if against is not None:
                from aleph_otio.cli.revision import plan_against

                plan_against(timeline, settings, against, rate=rate, price=price, as_json=as_json)
                return
            batch = run_plan(timeline, settings, rate=rate, price=price)
            if output is not None:
                write_batch(batch, output)
        except AlephOtioError as exc:
            err.print(f"error: {exc}", markup=False)
            raise typer.Exit(exc.exit_code) from None

        out = Console()
        if not out.is_terminal:
            # Piped or captured output has no width to fit; keep the table readable.
            out = Console(width=max(out.width, 120))
        if as_json:
            sys.stdout.write(batch_json(batch))
        else:
            if batch.shots:
                out.print(shots_table(batch))
                for line in colour_lines(list(batch.shots)):
                    out.print(line, markup=False, highlight=False)
                out.print(_summary(batch, price), markup=False, highlight=False)
            elif not batch.errors:  # refused markers were edit requests: their errors say why
                out.print(
                    f"no edit requests in {batch.timeline}: name a marker "
                    f"'{settings.prefix} <prompt>', or use --marker-color",
                    markup=False,
                )
        if estimate:
            # With --json, stdout is the manifest: the estimate goes to stderr.
            where = err if as_json else out
            if batch.shots:
                where.print(estimate_table(batch, pricing))
                where.print(f"priced at {pricing}", markup=False, soft_wrap=True)
            else:
                where.print("estimated total: $0.00 (no shots)", markup=False)
        if output is not None:
            err.print(f"wrote {output} ({len(batch.shots)} shot(s))", markup=False)
        for line in batch.warnings:
            err.print(f"warning: {line}", markup=False)
        for line in batch.errors:
            err.print(f"error: {line}", markup=False)
        if batch.errors:
            raise typer.Exit(PlanError.exit_code)
