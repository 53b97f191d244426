"""The HTML review report: one card per shot with before/after frames, prompt, cost, taskUUID.

It is one self-contained file (stills are embedded as data URIs, media linked by relative path),
so it opens from the file system with no server and no network.
"""

from __future__ import annotations

import base64
import html
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from aleph_otio.errors import AlephOtioError
from aleph_otio.ledger import Ledger
from aleph_otio.media import extract_still

#: Frames shown per shot: first, middle and last of the marked range.
STILL_POSITIONS = (0.0, 0.5, 1.0)
STILL_HEIGHT = 180

_STYLE = """
body{font-family:system-ui,sans-serif;background:#16181c;color:#e8e8e8;margin:2rem}
h1{font-weight:600}.shot{background:#22252b;border-radius:8px;padding:1rem;margin:1rem 0}
.row{display:flex;gap:.5rem;align-items:center;flex-wrap:wrap}
.row img{height:120px;border-radius:4px}
.label{width:4.5rem;color:#9aa}.meta{color:#aab;font-size:.9rem}.bad{color:#f77}.ok{color:#7d7}
code{background:#111;padding:0 .3rem;border-radius:3px}a{color:#8cf}
"""


def _data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def _link(media: Path, base: Path) -> str:
    return os.path.relpath(media.resolve(), base)


def _stills(media: Path, frames: int, head: int, tail: int, scratch: Path) -> list[str]:
    """Data URIs of the marked range's first, middle and last frames (handles skipped)."""
    first, last = head, max(head, frames - tail - 1)
    uris = []
    for i, position in enumerate(STILL_POSITIONS):
        index = round(first + (last - first) * position)
        out = scratch / f"{media.stem}_{i}.png"
        try:
            extract_still(media, index, out, max_height=STILL_HEIGHT)
        except AlephOtioError:
            continue
        uris.append(_data_uri(out))
    return uris


def write_report(ledger_path: Path, out_html: Path, *, title: str = "aleph-otio review") -> Path:
    """Write the review page for every shot in the ledger; returns its path."""
    out_html = Path(out_html)
    base = out_html.parent.resolve()
    cards: list[str] = []
    total = 0.0
    with Ledger(ledger_path) as ledger, tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for record in ledger.shots():
            shot = record.shot
            results = ledger.results(shot.id)
            costs = [r.cost for r in results if r.cost is not None]
            total += sum(costs)
            rows = []
            if record.clip_path and Path(record.clip_path).is_file():
                before = _stills(
                    Path(record.clip_path),
                    shot.frame_count,
                    shot.head_frames,
                    shot.tail_frames,
                    scratch,
                )
                rows.append(("before", before, Path(record.clip_path)))
            for r in results:
                if r.path and Path(r.path).is_file():
                    after = _stills(
                        Path(r.path),
                        shot.frame_count,
                        shot.head_frames,
                        shot.tail_frames,
                        scratch,
                    )
                    rows.append((f"after #{r.result_index + 1}", after, Path(r.path)))
            strips = "".join(
                f'<div class="row"><span class="label">{label}</span>'
                + "".join(f'<img alt="{label}" src="{uri}">' for uri in uris)
                + f' <a href="{html.escape(_link(media, base))}">media</a></div>'
                for label, uris, media in rows
            )
            state_class = (
                "ok" if record.state == "relinked" else ("bad" if record.state == "failed" else "")
            )
            seg = shot.segments[0]
            cards.append(
                f'<div class="shot"><h2>{html.escape(shot.name)} '
                f'<span class="{state_class}">{html.escape(record.state)}</span></h2>'
                f"<p>{html.escape(shot.prompt)}</p>"
                f'<p class="meta">source {html.escape(seg.source_tc_in)} - '
                f"{html.escape(shot.segments[-1].source_tc_out)} "
                f"({shot.duration_seconds:.2f} s, {shot.frame_count} frames) · task "
                f"<code>{html.escape(record.task_uuid)}</code> · cost "
                f"{f'${sum(costs):.2f}' if costs else '-'}"
                + (f" · {html.escape(record.reason)}" if record.reason else "")
                + f"</p>{strips}</div>"
            )
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f'<p class="meta">{len(cards)} shot(s) · total cost ${total:.2f} · {when}</p>'
        + "".join(cards)
        + "</body></html>"
    )
    out_html.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = out_html.with_name(out_html.name + ".part")
    tmp_path.write_text(page, encoding="utf-8")
    tmp_path.replace(out_html)
    return out_html
