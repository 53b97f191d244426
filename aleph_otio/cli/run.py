"""``aleph-otio run`` and ``submit``: the job itself.

``run`` plans, prepares, uploads, submits, waits, downloads, verifies, relinks and writes; run it
again after a crash or Ctrl-C and it resumes from the job ledger. ``--emulator`` runs against a
local emulator it starts itself (no key, no cost).
Exit status: 0 every shot relinked; 4 some shots failed or are still running (the rest were
relinked); 5 nothing relinked; 2 bad input or options; 3 markers that could not be planned.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from aleph_otio.batch import read_batch
from aleph_otio.cli import options
from aleph_otio.cli.execute import execute
from aleph_otio.cli.output import announce_emulator, err_console, print_summary
from aleph_otio.cli.plan import build_colour, build_settings, with_naming
from aleph_otio.config import (
    EMULATOR_POLL_INTERVAL,
    PlanSettings,
    default_work_dir,
    resolve_api_settings,
)
from aleph_otio.cost import parse_budget
from aleph_otio.errors import ConfigError
from aleph_otio.rehearsal import maybe_emulator


def _timeline_and_settings(
    source: Path, settings: PlanSettings, rate: str | None
) -> tuple[Path, PlanSettings, str | None]:
    """A batch manifest (``.aleph.json``) stands for its timeline and its plan settings."""
    if source.name.endswith(".aleph.json"):
        batch = read_batch(source)
        return Path(batch.timeline), batch.settings, rate
    return source, settings, rate


def _check_output_format(output: Path) -> None:
    """Refuse an output no adapter can write before anything is cut, sent or paid for."""
    # Imported here for start-up time: `aleph-otio --help` loads no more than the CLI.
    from aleph_otio.timeline import known_suffixes

    suffix = output.suffix[1:].lower()
    writable = known_suffixes(write=True)
    if suffix not in writable:
        what = f"suffix .{suffix}" if suffix else "no suffix"
        raise ConfigError(
            f"{output}: {what} is not a timeline format aleph-otio can write; use one of "
            + ", ".join("." + s for s in writable)
        )


def _reviser(work: Path, price: float) -> Any:
    """``run --against``: the plan of the new cut as it runs, its diff printed first."""

    def revise_plan(plan: Any) -> Any:
        # Imported here for start-up time: `aleph-otio --help` loads no more than the CLI.
        from aleph_otio.cli.revision import print_revision
        from aleph_otio.scripting.revising import record_cut, revise

        revision = revise(plan, work, price=price)
        print_revision(revision, err_console)
        record_cut(work, revision)
        return revision.plan

    return revise_plan


def register(app: typer.Typer) -> None:
    """Add ``run`` and ``submit`` to the app."""

    @app.command("run")
    def run_command(
        timeline: Annotated[
            Path, typer.Argument(help="Timeline (.otio, .edl, .xml, ...) or .aleph.json batch.")
        ],
        output: Annotated[
            Path | None,
            typer.Option("-o", "--output", help="Relinked timeline to write; format by suffix."),
        ] = None,
        emulator: options.Emulator = False,
        relink: Annotated[
            str, typer.Option(help="version (new track), reference (alternate media) or replace.")
        ] = "version",
        concurrency: options.Concurrency = 4,
        work_dir: Annotated[
            Path | None,
            typer.Option(help="Clips, results and the job ledger (default: next to -o)."),
        ] = None,
        budget: options.Budget = None,
        submit_only: Annotated[
            bool, typer.Option("--submit-only", help="Stop after submitting; `status` polls later.")
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
        result_template: options.ResultTemplate = options.DEFAULT_RESULT_TEMPLATE,
        against: options.Against = None,
        ocio_config: options.OcioConfig = None,
        input_colorspace: options.InputColorspace = None,
        colorspace_rule: options.ColorspaceRule = None,
        view: options.View = None,
        lut: options.Lut = None,
        cdl: options.Cdl = None,
        return_colorspace: options.ReturnColorspace = "display",
        deliver: options.Deliver = "as-returned",
        deliver_size: options.DeliverSize = "source",
        base_url: options.BaseUrl = None,
        ttl: Annotated[
            int | None, typer.Option(help="Result URL lifetime, seconds (>= 60).")
        ] = None,
        include_cost: Annotated[
            bool, typer.Option(help="Ask the API for each task's cost.")
        ] = True,
        webhook_url: Annotated[
            str | None, typer.Option(help="Webhook for finished results.")
        ] = None,
        upload_endpoint: Annotated[
            str | None, typer.Option(help="URL the service PUTs each result to.")
        ] = None,
        safety: Annotated[
            str | None, typer.Option(help="Content check: none, fast or full.")
        ] = None,
        price: options.Price = options.DEFAULT_PRICE,
        emulator_latency: Annotated[float, typer.Option(help="Emulated seconds per task.")] = 1.0,
        resubmit_expired: Annotated[
            bool,
            typer.Option(
                "--resubmit-expired",
                help="Submit shots whose results expired on the server again (paid again).",
            ),
        ] = False,
        poll_interval: Annotated[
            float | None,
            typer.Option(min=0.01, help="Seconds between status polls at first (default 2)."),
        ] = None,
        webhook_listen: Annotated[
            str | None,
            typer.Option(
                help="Receive webhooks on HOST:PORT (or PORT) and poll a task when its webhook "
                "arrives; tasks name http://HOST:PORT/aleph-otio/webhook unless --webhook-url "
                "gives the public URL that reaches it."
            ),
        ] = None,
        backend: Annotated[
            str,
            typer.Option(
                help="runware (Runware's task API, RUNWARE_API_KEY) or runway (Runway's own "
                "API, RUNWAYML_API_SECRET: seeds, ProRes); one work folder holds one backend."
            ),
        ] = "runware",
        seed: Annotated[
            int | None,
            typer.Option(help="Runway: the first result's seed (result i gets seed + i)."),
        ] = None,
        prores_profile: Annotated[
            str | None,
            typer.Option(help="Runway: return ProRes in this profile (422 HQ, 4444, 4444 XQ...)."),
        ] = None,
        resubmit_uncertain: Annotated[
            bool,
            typer.Option(
                "--resubmit-uncertain",
                help="Runway: send again a create whose answer was lost; only after checking "
                "Runway's task list shows no such task (else it is paid twice).",
            ),
        ] = False,
        upscale: options.Upscale = None,
        upscale_price: options.UpscalePrice = None,
    ) -> None:
        """Send the marked shots to Aleph and write the relinked timeline (resumable)."""
        # Imported here for start-up time: `aleph-otio --help` loads no more than the CLI.
        from aleph_otio.pipeline import RunConfig

        if relink not in options.RELINK_MODES:
            raise ConfigError(f"--relink {relink!r}: use version, reference or replace")
        if output is None and not submit_only:
            raise ConfigError("no output: aleph-otio run TIMELINE -o OUT.otio (or --submit-only)")
        if output is not None:
            _check_output_format(output)
        budget_usd = parse_budget(budget, backend)
        listen = None
        if webhook_listen is not None:
            from aleph_otio.api.webhook import parse_listen

            listen = parse_listen(webhook_listen)
            if webhook_url is None and not emulator:
                # Runware cannot POST to this machine's own address: it needs the public URL
                # that is forwarded here (the emulator runs here, so it can).
                raise ConfigError(
                    f"--webhook-listen {webhook_listen}: also give --webhook-url, the public "
                    "URL Runware can reach that is forwarded to it "
                    "(e.g. https://hooks.example.com/aleph-otio/webhook)"
                )
        output_format, runway_format = options.split_output_format(output_format)
        plan_settings = build_settings(
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
        plan_settings = with_naming(
            plan_settings,
            shot_names=shot_names,
            shot_regex=shot_regex,
            shot_template=shot_template,
            result_template=result_template,
        )
        for flag, value, allowed in (
            ("--deliver", deliver, options.DELIVER_KINDS),
            ("--deliver-size", deliver_size, ("source", "returned")),
        ):
            if value not in allowed:
                raise ConfigError(f"{flag} {value!r}: choose one of {', '.join(allowed)}")
        plan_settings = plan_settings.model_copy(
            update={"deliver": deliver, "deliver_size": deliver_size}
        )
        source, plan_settings, rate = _timeline_and_settings(timeline, plan_settings, rate)
        if output is not None and output.resolve() == source.resolve():
            raise ConfigError(
                f"{output}: is the input timeline; choose another -o (inputs are never overwritten)"
            )
        if against is not None and work_dir is not None and work_dir.resolve() != against.resolve():
            raise ConfigError(
                f"--against {against} and --work-dir {work_dir}: a revision runs in the work "
                "folder it is compared with; give one of them"
            )
        work = against or work_dir or default_work_dir(output, source, rehearsal=emulator)
        # Imported here for start-up time: `aleph-otio --help` loads no ledger.
        from aleph_otio.ledger.lock import check_free

        check_free(work)  # before a rehearsal's emulator starts; the run then holds the lock
        with maybe_emulator(
            emulator, work, emulator_latency, announce=announce_emulator, backend=backend
        ) as emulator_url:
            settings = resolve_api_settings(
                emulator_url=emulator_url,
                base_url=base_url,
                ttl=ttl,
                include_cost=include_cost,
                webhook_url=webhook_url,
                upload_endpoint=upload_endpoint,
                safety=safety,
                price=price,
                poll_interval=poll_interval or (EMULATOR_POLL_INTERVAL if emulator else None),
                backend=backend,
                seed=seed,
                prores_profile=prores_profile,
                resubmit_uncertain=resubmit_uncertain,
                runway_format=runway_format,
                upscale=upscale,
                upscale_price=upscale_price,
            )
            from aleph_otio.timeline import parse_rate

            config = RunConfig(
                timeline=source,
                output=output,
                work_dir=work,
                plan_settings=plan_settings,
                api_settings=settings,
                relink_mode=relink,  # type: ignore[arg-type]
                concurrency=concurrency,
                rate=parse_rate(rate) if rate else None,
                budget=budget_usd,
                submit_only=submit_only,
                resubmit_expired=resubmit_expired,
            )
            summary = execute(
                config,
                settings,
                None if submit_only else listen,
                revise=_reviser(work, settings.estimate_per_second) if against else None,
            )
        print_summary(summary)
        if submit_only and not summary.failed and not summary.plan_errors:
            if not summary.stopped_by_budget:
                err_console.print("submitted: `aleph-otio run` with the same options collects them")
            raise typer.Exit(0 if not summary.stopped_by_budget else 4)
        raise typer.Exit(summary.exit_code)

    @app.command("submit")
    def submit_command(
        timeline: Annotated[
            Path, typer.Argument(help="Timeline or .aleph.json batch (from `plan -o`).")
        ],
        work_dir: Annotated[
            Path | None, typer.Option(help="Work folder (default: next to the timeline).")
        ] = None,
        emulator: options.Emulator = False,
        base_url: options.BaseUrl = None,
        budget: options.Budget = None,
        concurrency: options.Concurrency = 4,
    ) -> None:
        """Prepare, upload and submit a planned batch, then stop; `run` later collects results."""
        run_command(
            timeline=timeline,
            output=None,
            work_dir=work_dir,
            emulator=emulator,
            base_url=base_url,
            budget=budget,
            concurrency=concurrency,
            submit_only=True,
        )
