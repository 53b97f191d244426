"""The HTML review report, generated from a real run (sample project, emulator, one failed task).

What a reviewer relies on: the page opens offline (nothing fetched from the network), every shot
is there with its prompt, taskUUID and costs, the before/after stills are the marked range's
first/middle/last frames and decode, the previews are animated, and every link opens a file.
"""

from __future__ import annotations

import asyncio
import base64
import html
import io
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import av
import pytest

from aleph_otio.api.client import AlephClient
from aleph_otio.config import APISettings, PlanSettings
from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.ledger import Ledger, ShotRecord
from aleph_otio.pipeline import RunConfig, estimate_cost, run_pipeline
from aleph_otio.report import PREVIEW_FRAMES, STILL_HEIGHT, write_report
from aleph_otio.sample import make_sample_project
from aleph_otio.synth import decode_index

KEY = "test-key-not-secret-report"
PRICE = 0.31


@dataclass(frozen=True)
class Reported:
    page: str
    html_path: Path
    records: list[ShotRecord]
    ledger: Path


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> Reported:
    root = tmp_path_factory.mktemp("report")
    project = make_sample_project(root / "proj")
    with Emulator(
        EmulatorConfig(latency=0.2, concurrency=4, storage_dir=root / "emu", api_key=KEY)
    ) as emu:
        emu.faults.fail_tasks = 1
        settings = APISettings(base_url=emu.base_url, poll_interval=0.05, poll_max_interval=0.2)
        config = RunConfig(
            timeline=project.timeline,
            output=root / "relinked.otio",
            work_dir=root / "work",
            api_settings=settings,
            # Handles: the stills must skip them and show the marked range itself.
            plan_settings=PlanSettings(handles=6),
            concurrency=1,
        )

        async def go() -> int:
            async with AlephClient(api_key=KEY, settings=settings) as client:
                return (await run_pipeline(config, client)).exit_code

        assert asyncio.run(go()) == 4  # two shots relinked, one failed
    # The report lives in its own folder: links must be relative to it, not to the work dir.
    out = write_report(
        config.ledger_path, root / "review" / "report.html", title="Review", price_per_second=PRICE
    )
    with Ledger(config.ledger_path) as ledger:
        records = ledger.shots()
    return Reported(out.read_text(encoding="utf-8"), out, records, config.ledger_path)


def _cards(page: str) -> list[str]:
    return re.findall(r'<div class="shot" id="shot-[^"]+">.*?(?=<div class="shot"|</body>)', page)


def _images(fragment: str) -> list[tuple[str, str, bytes]]:
    """(alt, mime, bytes) of every embedded image."""
    return [
        (alt, mime, base64.b64decode(data))
        for alt, mime, data in re.findall(
            r'<img[^>]*alt="([^"]*)"[^>]*src="data:(image/[a-z]+);base64,([A-Za-z0-9+/=]+)"',
            fragment,
        )
    ]


def _decode_jpeg(data: bytes) -> av.VideoFrame:
    with av.open(io.BytesIO(data), format="mjpeg") as container:
        return next(container.decode(video=0))


def test_page_is_self_contained(reported: Reported) -> None:
    page = reported.page
    assert not re.search(r"https?:", page), "the page references the network"
    assert not re.search(r"<script|<link|@import|url\(|<iframe", page)
    assert KEY not in page
    assert re.search(r'src="(?!data:)', page) is None, "an image is not embedded"


def test_every_shot_is_there_with_prompt_task_and_costs(reported: Reported) -> None:
    cards = _cards(reported.page)
    assert len(cards) == len(reported.records) == 3
    states = []
    with Ledger(reported.ledger) as ledger:
        for record, card in zip(reported.records, cards, strict=True):
            shot = record.shot
            assert html.escape(shot.prompt) in card
            assert record.task_uuid in card
            assert f"${estimate_cost(shot, PRICE):.2f} estimated" in card
            costs = [r.cost for r in ledger.results(shot.id) if r.cost is not None]
            if costs:
                assert f"${sum(costs):.2f} reported" in card
            for r in ledger.results(shot.id):
                if r.seed is not None:
                    assert str(r.seed) in card
            states.append(record.state)
            if record.state == "failed":
                assert record.reason and html.escape(record.reason) in card
    assert sorted(states) == ["failed", "relinked", "relinked"]


def test_stills_are_the_marked_ranges_first_middle_last_and_decode(reported: Reported) -> None:
    with Ledger(reported.ledger) as ledger:
        results = {r.shot.id: ledger.results(r.shot.id) for r in reported.records}
    for record, card in zip(reported.records, _cards(reported.page), strict=True):
        shot = record.shot
        assert shot.head_frames > 0
        marked = shot.frame_count - shot.head_frames - shot.tail_frames
        wanted = [shot.head_frames + round((marked - 1) * p) for p in (0.0, 0.5, 1.0)]
        media = {"before": record.clip_path} | {
            f"after #{r.result_index + 1}": r.path for r in results[shot.id]
        }
        rows = re.findall(r'<div class="row">.*?</div>', card)
        assert len(rows) == 1 + len([r for r in results[shot.id] if r.path])
        for row in rows:
            label = re.search(r'class="label">([^<]+)<', row).group(1)  # type: ignore[union-attr]
            stills = [d for _a, m, d in _images(row) if m == "image/jpeg"]
            assert len(stills) == 3, f"{shot.name} {label}: {len(stills)} stills"
            frames = [_decode_jpeg(d) for d in stills]
            assert all(f.height == STILL_HEIGHT for f in frames)
            # The sample media carry their frame index in a code strip: the stills are exactly
            # the marked range's first, middle and last frames of that file (handles skipped).
            with av.open(str(media[label])) as container:
                codes = [
                    decode_index(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)
                ]
            got = [decode_index(f.to_ndarray(format="rgb24")) for f in frames]
            assert got == [codes[i] for i in wanted], f"{shot.name} {label}: wrong frames"


def test_previews_are_animated_webp(reported: Reported) -> None:
    previews = [d for _a, m, d in _images(reported.page) if m == "image/webp"]
    # before + after for the two relinked shots, before only for the failed one
    assert len(previews) == 5
    for data in previews:
        assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
        assert b"ANIM" in data[:64], "not an animated WebP"
        frames = data.count(b"ANMF")
        assert 2 <= frames <= PREVIEW_FRAMES


def test_links_are_relative_and_open_files(reported: Reported) -> None:
    base = reported.html_path.parent
    hrefs = [h for h in re.findall(r'href="([^"]+)"', reported.page) if not h.startswith("#")]
    assert hrefs
    for href in hrefs:
        assert not href.startswith("/"), f"absolute link {href}"
        assert (base / unquote(href)).resolve().is_file(), f"broken link {href}"
    cards = _cards(reported.page)
    for record, card in zip(reported.records, cards, strict=True):
        links = re.findall(r'<a href="[^"]+">([^<]+)</a>', card)
        assert any(text.startswith("source ") for text in links)
        assert "input clip" in links
        results = [t for t in links if t.startswith("result #")]
        assert len(results) == (1 if record.state == "relinked" else 0), record.state


def test_report_is_rewritten_atomically(reported: Reported, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    out.write_text("old")
    write_report(reported.ledger, out, title="<b>Again</b>")
    text = out.read_text()
    assert "&lt;b&gt;Again&lt;/b&gt;" in text and "<b>Again" not in text
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]
