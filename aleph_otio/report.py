"""The HTML review report: one card per shot with before/after frames, prompt, cost, taskUUID.

One self-contained file: the first, middle and last frame of each marked range (before and after)
as PNG data URIs, a small animated WebP preview of each (also a data URI), and links by relative
path to the source media, the input clip sent to Aleph and every result. No server, no network,
no external CSS/JS/fonts: it opens from the file system, and still opens when the folder is moved
as a whole.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import cast
from urllib.parse import quote

import av
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from aleph_otio.config import DEFAULT_PRICE_PER_SECOND
from aleph_otio.cost import estimate_cost
from aleph_otio.errors import AlephOtioError
from aleph_otio.ledger import Ledger, ResultRecord, ShotRecord
from aleph_otio.media import frame_levels, iter_frames, output_size
from aleph_otio.media.sequence import sequence_of
from aleph_otio.shots import Shot

log = logging.getLogger(__name__)

#: Frames shown per shot: first, middle and last of the marked range.
STILL_POSITIONS = (0.0, 0.5, 1.0)
STILL_HEIGHT = 180
#: The animated preview: at most this many frames, this high, played at real speed.
PREVIEW_FRAMES = 24
PREVIEW_HEIGHT = 120

_STYLE = """
body{font-family:system-ui,sans-serif;background:#16181c;color:#e8e8e8;margin:2rem;max-width:80rem}
h1{font-weight:600}h2{margin:.2rem 0}.shot{background:#22252b;border-radius:8px;padding:1rem;
margin:1rem 0}.row{display:flex;gap:.5rem;align-items:center;flex-wrap:wrap;margin:.4rem 0}
.row img{height:120px;border-radius:4px}.row img.anim{outline:1px solid #556}
.label{width:6rem;color:#9aa}.meta{color:#aab;font-size:.9rem}.bad{color:#f77}.ok{color:#7d7}
blockquote{margin:.4rem 0;padding:.3rem .8rem;border-left:3px solid #8cf;font-size:1.1rem}
table{border-collapse:collapse;font-size:.9rem}td,th{padding:.15rem .6rem;text-align:left}
th{color:#9aa;font-weight:normal}code{background:#111;padding:0 .3rem;border-radius:3px}
a{color:#8cf}.links a{margin-right:.8rem}.missing{color:#777}
"""


@dataclass(frozen=True)
class _Strip:
    """One row of a card: the stills and preview of one media file over the marked range."""

    label: str
    media: Path
    stills: list[str]
    preview: str | None
    note: str = ""


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def _href(target: Path, base: Path) -> str:
    """A relative link from the report's folder, URL-quoted (spaces, #, ? in names)."""
    rel = PurePath(os.path.relpath(Path(target).resolve(), base)).as_posix()
    return quote(rel)


def _jpeg(frame: VideoFrame, height: int) -> str:
    """A still as a JPEG data URI (a fifth of a PNG's size; the page stays light)."""
    width, height = output_size(frame.width, frame.height, height)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mjpeg") as container:
        stream = cast(VideoStream, container.add_stream("mjpeg", rate=1))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuvj420p"
        stream.options = {"qmin": "2", "qmax": "4"}
        jpeg = frame.reformat(
            width=width,
            height=height,
            format="yuvj420p",
            src_color_range=frame_levels(frame),
            dst_color_range="JPEG",
        )
        container.mux(stream.encode(jpeg))
        container.mux(stream.encode())
    return _data_uri(buffer.getvalue(), "image/jpeg")


def _webp(frames: list[VideoFrame], rate: float) -> str | None:
    """Animated WebP of same-size yuv420p ``frames`` at ``rate`` fps; None if PyAV cannot."""
    if not frames:
        return None
    width, height = frames[0].width, frames[0].height
    buffer = io.BytesIO()
    try:
        with av.open(buffer, "w", format="webp") as container:
            stream = cast(
                VideoStream, container.add_stream("libwebp_anim", rate=max(1, round(rate)))
            )
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.options = {"loop": "0", "quality": "70"}
            for frame in frames:
                container.mux(stream.encode(frame))
            container.mux(stream.encode())
    except (av.FFmpegError, ValueError) as exc:  # e.g. a PyAV build without libwebp
        log.warning("no animated preview: %s", exc)
        return None
    return _data_uri(buffer.getvalue(), "image/webp")


def _strip(label: str, media: Path, first: int, count: int, rate: float, note: str = "") -> _Strip:
    """Stills and preview of media frames ``first .. first+count-1``, decoded in one pass."""
    count = max(1, count)
    wanted_stills = {first + round((count - 1) * p) for p in STILL_POSITIONS}
    step = max(1, math.ceil(count / PREVIEW_FRAMES))
    stills: list[str] = []
    preview: list[VideoFrame] = []
    try:
        for offset, frame in enumerate(iter_frames(media, first, count, upright=True)):
            index = first + offset
            if index in wanted_stills:
                stills.append(_jpeg(frame, STILL_HEIGHT))
            if offset % step == 0:
                # Scaled now: a 30 s 4K range would otherwise hold 24 full frames in memory.
                width, height = output_size(frame.width, frame.height, PREVIEW_HEIGHT)
                preview.append(
                    frame.reformat(
                        width=width,
                        height=height,
                        format="yuv420p",
                        src_color_range=frame_levels(frame),
                        dst_color_range="MPEG",
                    )
                )
    except AlephOtioError as exc:
        log.warning("%s: %s", media, exc)
        return _Strip(label, media, stills, None, note or f"unreadable: {exc}")
    return _Strip(label, media, stills, _webp(preview, rate / step), note)


def _strips(record: ShotRecord, results: list[ResultRecord]) -> list[_Strip]:
    shot = record.shot
    # The input clip and the results are at the rate sent (half a high-rate source's).
    step = shot.send_step
    head = -(-shot.head_frames // step)
    marked = -(-(shot.frame_count - shot.tail_frames) // step) - head
    rate = shot.sent_rate
    rows: list[_Strip] = []
    clip = Path(record.clip_path) if record.clip_path else None
    if clip is not None and clip.is_file():
        rows.append(_strip("before", clip, head, marked, rate))
    else:
        # Not prepared yet (or the work folder was cleaned): show the source's first segment.
        seg = shot.segments[0]
        source = Path(seg.media_path)
        if source.is_file() or sequence_of(seg.media_path) is not None:
            rows.append(
                _strip(
                    "before",
                    source,
                    seg.media_start_frame,
                    seg.media_frame_count,
                    shot.media_rate,
                    note="from the source media (no input clip)",
                )
            )
    for r in results:
        if r.path and Path(r.path).is_file():
            rows.append(
                _strip(
                    f"after #{r.result_index + 1}",
                    Path(r.path),
                    head,
                    marked,
                    rate,
                    note=f"seed {r.seed}" if r.seed is not None else "",
                )
            )
    return rows


def _money(value: float | None) -> str:
    return f"${value:.2f}" if value is not None else "-"


def _links(record: ShotRecord, results: list[ResultRecord], base: Path) -> str:
    items: list[tuple[str, Path]] = []
    for seg in dict.fromkeys(s.media_path for s in record.shot.segments):
        items.append((f"source {Path(seg).name}", Path(seg)))
    if record.clip_path:
        items.append(("input clip", Path(record.clip_path)))
    for r in results:
        if r.path:
            items.append((f"result #{r.result_index + 1}", Path(r.path)))
        if r.delivered_path and sequence_of(r.delivered_path) is None:
            items.append((f"delivered #{r.result_index + 1}", Path(r.delivered_path)))
    out = []
    for text, target in items:
        if target.is_file():
            out.append(f'<a href="{_href(target, base)}">{html.escape(text)}</a>')
        else:
            out.append(f'<span class="missing">{html.escape(text)} (missing)</span>')
    return '<p class="links">' + "".join(out) + "</p>"


def _rows_html(rows: Iterable[_Strip], base: Path) -> str:
    parts = []
    for row in rows:
        label = html.escape(row.label)
        imgs = "".join(
            f'<img alt="{label} {name}" title="{name} frame of the marked range" src="{uri}">'
            for name, uri in zip(("first", "middle", "last"), row.stills, strict=False)
        )
        if row.preview:
            imgs += (
                f'<img class="anim" alt="{label} preview" title="preview (animated)" '
                f'src="{row.preview}">'
            )
        note = f' <span class="meta">{html.escape(row.note)}</span>' if row.note else ""
        parts.append(
            f'<div class="row"><span class="label">{label}</span>{imgs}'
            f' <a href="{_href(row.media, base)}">media</a>{note}</div>'
        )
    return "".join(parts)


def _facts(shot: Shot, record: ShotRecord, results: list[ResultRecord], price: float) -> str:
    costs = [r.cost for r in results if r.cost is not None]
    reported = sum(costs) if costs else None
    seeds = ", ".join(str(r.seed) for r in results if r.seed is not None) or "-"
    first, last = shot.segments[0], shot.segments[-1]
    clips = " + ".join(dict.fromkeys(s.clip_name for s in shot.segments))
    esc = html.escape
    rows = [
        ("source", esc(f"{clips} · {first.source_tc_in} - {last.source_tc_out}")),
        ("record", esc(f"{first.track_name} · {first.record_tc_in}")),
        (
            "length",
            esc(
                f"{shot.duration_seconds:.2f} s · {shot.frame_count} frames "
                f"({shot.head_frames}+{shot.tail_frames} handles) · "
                f"{shot.options.number_results} result(s)"
            ),
        ),
        ("taskUUID", f"<code>{esc(record.task_uuid)}</code>"),
        ("seed", esc(seeds)),
        ("cost", f"{_money(reported)} reported · {_money(estimate_cost(shot, price))} estimated"),
    ]
    if record.reason:
        rows.append(("reason", f'<span class="bad">{esc(record.reason)}</span>'))
    rows += [("warning", esc(w)) for w in shot.warnings]
    body = "".join(f"<tr><th>{name}</th><td>{value}</td></tr>" for name, value in rows)
    return f"<table>{body}</table>"


def write_report(
    ledger_path: Path,
    out_html: Path,
    *,
    title: str = "aleph-otio review",
    price_per_second: float = DEFAULT_PRICE_PER_SECOND,
) -> Path:
    """Write the review page for every shot in the ledger; returns its path.

    ``price_per_second`` gives the estimate shown next to each reported cost (the run's
    ``--price``). The page is written atomically next to where it will be read, so its links
    (relative) resolve from the file system.
    """
    out_html = Path(out_html)
    out_html.parent.mkdir(parents=True, exist_ok=True)
    base = out_html.parent.resolve()
    cards: list[str] = []
    index: list[str] = []
    reported = estimated = 0.0
    with Ledger(ledger_path) as ledger:
        records = ledger.shots()
        for number, record in enumerate(records, 1):
            shot = record.shot
            results = ledger.results(shot.id)
            reported += sum(r.cost for r in results if r.cost is not None)
            estimated += estimate_cost(shot, price_per_second)
            state_class = {"relinked": "ok", "failed": "bad"}.get(record.state, "")
            anchor = f"shot-{html.escape(shot.id)}"
            index.append(
                f'<tr><td><a href="#{anchor}">{number}. {html.escape(shot.name)}</a></td>'
                f'<td class="{state_class}">{html.escape(record.state)}</td>'
                f"<td>{html.escape(shot.prompt)}</td></tr>"
            )
            cards.append(
                f'<div class="shot" id="{anchor}"><h2>{number}. {html.escape(shot.name)} '
                f'<span class="{state_class}">{html.escape(record.state)}</span></h2>'
                f"<blockquote>{html.escape(shot.prompt)}</blockquote>"
                + _facts(shot, record, results, price_per_second)
                + _links(record, results, base)
                + _rows_html(_strips(record, results), base)
                + "</div>"
            )
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f'<p class="meta">{len(cards)} shot(s) · reported cost {_money(reported)} · estimated '
        f"{_money(estimated)} · {when}</p>"
        f"<table>{''.join(index)}</table>" + "".join(cards) + "</body></html>"
    )
    tmp_path = out_html.with_name(f".{out_html.name}.part")
    tmp_path.write_text(page, encoding="utf-8")
    tmp_path.replace(out_html)
    return out_html
