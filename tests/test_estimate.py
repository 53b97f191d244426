"""Cost before and after: estimates, ``plan --estimate`` and ``run --budget``.

The sample edit's shots are 72, 84 and 72 frames at 24 fps (3.0, 3.5 and 3.0 s), so at the
documented USD 0.28 per second of input video per result they cost 0.84, 0.98 and 0.84.
The budget tests run the real command against an emulator over real sockets and read the job
ledger and what the emulator received: what is submitted, what waits, and that a rerun with a
larger budget submits the rest under the taskUUIDs minted before, paying nothing twice.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import opentimelineio as otio
import pytest
import typer
from typer.testing import CliRunner

from aleph_otio import APISettings, PlanSettings, estimate, plan_timeline, run_timeline
from aleph_otio.cli import plan as plan_cli
from aleph_otio.cli import run as run_cli
from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.errors import ConfigError
from aleph_otio.ledger import Ledger
from aleph_otio.pipeline import estimate_cost
from aleph_otio.sample import make_sample_project

KEY = "test-key-estimate-not-secret"
NAMES = ["sh010", "sh020", "sh030"]


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project, made once per session (shared with other test modules)."""
    folder = tmp_path_factory.getbasetemp() / "aleph-sample-shared"
    if not (folder / "sample.otio").is_file():
        make_sample_project(folder)
    return folder


@pytest.fixture()
def cut(sample_dir: Path, tmp_path: Path) -> Path:
    folder = Path(shutil.copytree(sample_dir, tmp_path / "edit"))
    return Path(shutil.copy(folder / "sample.otio", folder / "cut.otio"))


@pytest.fixture()
def emu(tmp_path: Path) -> Any:
    with Emulator(
        EmulatorConfig(latency=0.2, concurrency=4, storage_dir=tmp_path / "emu", api_key=KEY)
    ) as server:
        yield server


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def root() -> None:
        """Keep the commands sub-commands, as in the real CLI."""

    plan_cli.register(app)
    run_cli.register(app)
    return app


def invoke(app: typer.Typer, *args: str, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_estimate_is_price_times_input_seconds_times_results(cut: Path) -> None:
    plan = plan_timeline(cut)
    cost = estimate(plan)
    assert [(s.name, s.seconds, s.results, s.usd) for s in cost.shots] == [
        (NAMES[0], 3.0, 1, 0.84),
        (NAMES[1], 3.5, 1, 0.98),
        (NAMES[2], 3.0, 1, 0.84),
    ]
    assert cost.total == pytest.approx(2.66) and cost.seconds == 9.5 and cost.results == 3
    assert str(cost) == (
        "3 shot(s), 9.50 s of input video, 3 result(s): $2.66 at $0.28/s per result"
    )

    # Handles are sent, so they are paid for; every variation is paid for.
    bigger = estimate(cut, price_per_second=0.5, settings=PlanSettings(number_results=2), handles=6)
    assert [s.usd for s in bigger.shots] == [3.5, 4.0, 3.5]
    assert bigger.total == 11.0 and bigger.results == 6
    # Exactly the pipeline's formula, which `run --budget` compares against.
    replanned = plan_timeline(cut, number_results=2, handles=6)
    assert [s.usd for s in bigger.shots] == [estimate_cost(s, 0.5) for s in replanned.shots]
    assert estimate(plan, price_per_second=0).total == 0

    for bad in (-0.28, math.nan):
        with pytest.raises(ConfigError, match="USD per second of input video"):
            estimate(plan, price_per_second=bad)


def _rows(text: str) -> dict[str, list[str]]:
    """Cells of the estimate table's rows, by shot name (and 'total')."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line)[1:-1]]
        if cells and (cells[0] in NAMES or cells[0] == "total"):
            rows[cells[0]] = cells
    return rows


def test_plan_estimate_prints_cost_per_shot_and_total(app: typer.Typer, cut: Path) -> None:
    result = invoke(app, "plan", str(cut), "--estimate")
    assert result.exit_code == 0, result.stderr
    rows = _rows(result.stdout.split("Cost estimate")[1])
    assert rows[NAMES[0]][2:] == ["3.00", "1", "$0.84"]
    assert rows[NAMES[1]][2:] == ["3.50", "1", "$0.98"]
    assert rows[NAMES[2]][2:] == ["3.00", "1", "$0.84"]
    assert rows["total"][2:] == ["9.50", "3", "$2.66"]
    assert "$0.28 per second of input video, per result" in result.stdout
    assert "estimated $2.66 at $0.28/s per result" in result.stdout

    # --price and the plan options change it; with --json, stdout stays the manifest.
    result = invoke(
        app, "plan", str(cut), "--estimate", "--price", "0.5", "--number-results", "2",
        "--handles", "6", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    batch = json.loads(result.stdout)
    assert [s["estimated_cost_usd"] for s in batch["shots"]] == [3.5, 4.0, 3.5]
    assert batch["estimated_cost_usd"] == 11.0
    rows = _rows(result.stderr)
    assert rows["total"][2:] == ["11.00", "6", "$11.00"]
    assert rows[NAMES[1]][2:] == ["4.00", "2", "$4.00"]

    # Without --estimate there is no estimate table; a negative price is a usage error.
    assert "Cost estimate" not in invoke(app, "plan", str(cut)).stdout
    refused = invoke(app, "plan", str(cut), "--estimate", "--price", "-1")
    assert refused.exit_code == 2 and "--price" in refused.stderr


def test_plan_estimate_is_the_chosen_backends_price_with_the_upscale(
    app: typer.Typer, cut: Path
) -> None:
    """Runway bills credits: 28 a second of mp4, +5 for ProRes, +2 for the upscale; in USD
    (0.01 a credit, the unit --budget takes) and in credits beside it."""
    result = invoke(app, "plan", str(cut), "--estimate", "--backend", "runway")
    assert result.exit_code == 0, result.stderr
    rows = _rows(result.stdout.split("Cost estimate")[1])
    assert rows["total"][2:] == ["9.50", "3", "266", "$2.66"]
    assert "28 credits = $0.28 per second" in result.stdout
    result = invoke(
        app, "plan", str(cut), "--estimate", "--backend", "runway", "--output-format", "prores",
        "--upscale", "4k",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = _rows(result.stdout.split("Cost estimate")[1])
    assert rows[NAMES[1]][2:] == ["3.50", "1", "122.5", "$1.23"]
    assert rows["total"][2:] == ["9.50", "3", "332.5", "$3.33"]
    assert "aleph2 prores 33 credits + upscale 4k 2 credits = 35 credits" in result.stdout
    assert "estimated $3.33 at $0.35/s per result" in result.stdout
    # The upscale is Runway's: on Runware it is refused, naming the option.
    refused = invoke(app, "plan", str(cut), "--estimate", "--upscale", "4k")
    assert refused.exit_code == 2 and "--upscale 4k is a Runway option" in refused.stderr


def _ledger_states(ledger_path: Path) -> dict[str, tuple[str, str]]:
    with Ledger(ledger_path) as ledger:
        return {r.shot.name: (r.state, r.task_uuid) for r in ledger.shots()}


def _sent(emu: Emulator) -> list[dict[str, Any]]:
    return [t for t in emu.received if t.get("taskType") != "getResponse"]


def test_run_budget_submits_what_fits_and_a_rerun_submits_the_rest_once(
    app: typer.Typer, cut: Path, emu: Emulator, tmp_path: Path
) -> None:
    out = cut.parent / "cut_aleph.otio"
    env = {"RUNWARE_API_KEY": KEY, "ALEPH_OTIO_CONFIG": str(tmp_path / "no-config.toml")}
    args = ["run", str(cut), "-o", str(out), "--base-url", emu.base_url, "--concurrency", "1"]

    # USD 1.00 pays for the first shot (0.84); a second one (0.98 or 0.84) would pass it.
    first = invoke(app, *args, "--budget", "1", env=env)
    assert first.exit_code == 4, first.stdout + first.stderr
    assert "1/3 shot(s) relinked" in first.stdout
    assert "cost $0.84 (estimate $2.66)" in first.stdout
    assert "budget reached" in first.stderr
    ledger = cut.parent / "cut_aleph.aleph-work" / "ledger.sqlite"
    states = _ledger_states(ledger)
    assert [s for s, _ in states.values()] == ["relinked", "uploaded", "uploaded"]
    submitted = [t["taskUUID"] for t in _sent(emu) if t["taskType"] == "videoInference"]
    assert submitted == [states[NAMES[0]][1]]
    written = otio.adapters.read_from_file(str(out))
    assert [c.name for c in written.tracks[1].find_clips()] == ["sh010_aleph_v001a"]
    before = len(_sent(emu))

    # The same budget again: nothing more is submitted (the spent estimate counts).
    same = invoke(app, *args, "--budget", "1", env=env)
    assert same.exit_code == 4 and "budget reached" in same.stderr
    assert len(_sent(emu)) == before

    # A larger budget submits the two waiting shots, under the taskUUIDs minted before,
    # without uploading their clips again; the first shot is not paid for twice.
    second = invoke(app, *args, "--budget", "3", env=env)
    assert second.exit_code == 0, second.stdout + second.stderr
    assert "3/3 shot(s) relinked" in second.stdout
    assert "cost $2.66 (estimate $2.66)" in second.stdout
    assert "budget reached" not in second.stderr
    new = _sent(emu)[before:]
    assert [t["taskType"] for t in new] == ["videoInference", "videoInference"]
    assert [t["taskUUID"] for t in new] == [states[NAMES[1]][1], states[NAMES[2]][1]]
    assert len(emu.jobs) == 3
    with Ledger(ledger) as led:
        assert led.summary()["cost"] == pytest.approx(2.66)
        assert {r.state for r in led.shots()} == {"relinked"}
    written = otio.adapters.read_from_file(str(out))
    assert len(list(written.tracks[1].find_clips())) == 4


def test_scripting_budget_zero_prepares_and_uploads_but_submits_nothing(
    cut: Path, emu: Emulator
) -> None:
    api = APISettings(base_url=emu.base_url, api_key=KEY, poll_interval=0.05)
    result = run_timeline(cut, api=api, budget=0.0)
    assert result.summary.stopped_by_budget and result.exit_code == 5
    assert [s.state for s in result.shots] == ["uploaded"] * 3
    assert result.cost == 0 and result.estimate == pytest.approx(2.66)
    assert not [t for t in emu.received if t.get("taskType") == "videoInference"]
    assert [t.name for t in result.timeline.video_tracks()] == ["V1", "ALEPH GUIDES"]


def test_run_budget_in_runway_credits_with_the_upscale_counted(
    app: typer.Typer, cut: Path, tmp_path: Path
) -> None:
    """--budget in credits for Runway: 28 + 2 (the 1k upscale) credits a second; the first shot
    (3.0 s: 90 credits) fits in 100, the second (3.5 s: 105 more) would pass it."""
    out = tmp_path / "runway.otio"
    args = ["run", str(cut), "-o", str(out), "--emulator", "--backend", "runway"]
    args += ["--concurrency", "1", "--upscale", "1k", "--emulator-latency", "0.3"]
    env = {"ALEPH_OTIO_CONFIG": str(tmp_path / "no-config.toml")}
    first = invoke(app, *args, "--budget", "100 credits", env=env)
    assert first.exit_code == 4, first.stdout + first.stderr
    assert "budget reached" in first.stderr
    assert "1/3 shot(s) relinked" in first.stdout
    # Credits are Runway's: on Runware they are refused in one line, naming what to give.
    with pytest.raises(ConfigError, match="credits are Runway's unit"):
        invoke(app, "run", str(cut), "-o", str(out), "--emulator", "--budget", "100cr")
    with pytest.raises(ConfigError, match="give the most USD to spend"):
        invoke(app, *args, "--budget", "lots")
