"""What each EDL event means, and the EDL text OTIO's cmx_3600 adapter can read without refusing.

OTIO's adapter refuses a whole file when one event's source and record lengths differ, when a
key (``K``) effect or an unreadable M2 line appears, and when a dissolve comes out of black it
cannot place. Here every event is judged on its own: title, slug and black events are skipped,
lengths that differ without an M2 are read as the record says, and each such decision becomes
a plan warning naming the event. A rate that would make every event agree is the one thing a
``--rate`` hint is given for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import opentimelineio as otio

from aleph_otio.errors import TimelineReadError
from aleph_otio.timeline.access import display_name
from aleph_otio.timeline.dialects.edl.events import EdlDocument, Event, EventLine
from aleph_otio.timeline.rates import normalise_rate

#: The rates EDLs are cut at, tried when the given one makes events disagree.
COMMON_RATES = (24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 50.0, 60000 / 1001, 60.0)
#: Reels that hold no media (CMX's special sources, Avid's title/slug reels).
_NO_MEDIA_REELS = {"BL": "black", "BLACK": "black", "BARS": "bars", "SIGNATUR": "a title"}
#: Names NLEs give title, text and generator clips (a file name has a suffix, these do not).
_GENERATOR = re.compile(
    r"^(?:fusion |basic |classic |legacy |new |scrolling |rolling |crawling )?"
    r"(?:titles?|text\+?|subtitles?|captions?|graphics?|solid colou?r|colou?r matte|"
    r"black video|slug|bars(?: and tone)?|colou?r bars|smpte bars|transparent video|"
    r"adjustment (?:layer|clip)|signature|lower third)(?:\s*\d+)?$",
    re.IGNORECASE,
)
#: The tracks an event's channel puts it on (OTIO's adapter names them so).
_CHANNEL_TRACKS = {
    "A": ["A1"],
    "AA": ["A1", "A2"],
    "B": ["V", "A1"],
    "A2/V": ["V", "A2"],
    "AA/V": ["V", "A1", "A2"],
}
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{2,5}$")


def _fps(rate: float) -> str:
    return f"{rate:.3f}".rstrip("0").rstrip(".")


def rate_arg(rate: float) -> str:
    """``rate`` as the user would type it after ``--rate``."""
    return {24000 / 1001: "23.976", 30000 / 1001: "29.97", 60000 / 1001: "59.94"}.get(
        rate, _fps(rate)
    )


def _frames(tc: str, rate: float) -> int | None:
    try:
        return round(otio.opentime.from_timecode(tc, rate).value)
    except (ValueError, TypeError):
        return None


def _lengths(line: EventLine, rate: float) -> tuple[int, int] | None:
    """(source, record) length in frames at ``rate``; None when a timecode is not valid there."""
    frames = [_frames(tc, rate) for tc in line.tcs]
    if any(f is None for f in frames):
        return None
    s_in, s_out, r_in, r_out = (f or 0 for f in frames)
    return s_out - s_in, r_out - r_in


def names_of(event: Event) -> list[str]:
    """The clip names the event gives its own source (a transition's incoming clip)."""
    own = event.value("TO CLIP NAME") if len(event.lines) > 1 else None
    name = own or event.value("FROM CLIP NAME")
    return [name] if name else []


def marker_only(event: Event) -> bool:
    """A Resolve marker written as an event of its own (source = record, naming no clip)."""
    media = event.media
    return (
        bool(event.markers)
        and not names_of(event)
        and not event.values("SOURCE FILE")
        and not event.values("FROM FILE")
        and media.tcs[:2] == media.tcs[2:]
    )


def no_media_reason(event: Event) -> str | None:
    """Why the event shows no media ("black", "a title") or None for a media event."""
    media = event.media
    reel = media.reel.upper()
    if reel in _NO_MEDIA_REELS:
        return _NO_MEDIA_REELS[reel]
    for effect in event.values("EFFECT NAME"):
        if _GENERATOR.match(effect.strip()):
            return f"a title/generator ({display_name(effect, 60)})"
    names = names_of(event) + event.values("SOURCE FILE")
    for name in names:
        if _GENERATOR.match(name.strip()) and not _SUFFIX.search(name):
            return f"a title/generator ({display_name(name, 60)})"
    if reel == "AX" and not names and not event.values("FROM FILE"):
        if media.tcs[0].replace(";", ":") == "00:00:00:00":
            return "a slug/title (reel AX at 00:00:00:00 naming no clip)"
    return None


@dataclass
class Prepared:
    """The adapter's input and what reading the file taught: warnings, events by number."""

    text: str
    rate: float
    warnings: list[str] = field(default_factory=list)
    events: dict[int, Event] = field(default_factory=dict)  # kept events by tag (see tag_of)
    #: Resolve's marker-only events (its timeline-marker EDL): placed on the clip under them.
    floating: list[Event] = field(default_factory=list)


def _checked(doc: EdlDocument) -> list[tuple[Event, EventLine]]:
    """The lines whose lengths must agree: media events without a speed line."""
    return [(e, e.media) for e in doc.events if not e.m2 and no_media_reason(e) is None]


def _agrees(doc: EdlDocument, checked: list[tuple[Event, EventLine]], rate: float) -> bool:
    """Every timecode exists at ``rate`` and every checked event's lengths agree there."""
    if any(_frames(tc, rate) is None for e in doc.events for ln in e.lines for tc in ln.tcs):
        return False
    return not any(_differs(line, rate) for _, line in checked)


def _other_rate(doc: EdlDocument, rate: float) -> float | None:
    """A common rate (of another nominal fps) at which every event's lengths agree."""
    checked = _checked(doc)
    if not checked:
        return None
    for other in COMMON_RATES:
        if round(other) == round(rate):
            continue
        if doc.drop_frame and round(other) not in (30, 60):
            continue
        if _agrees(doc, checked, other):
            return other
    return None


def choose_rate(doc: EdlDocument, given: float | None, path: str) -> float:
    """The rate to read at: ``given``, else 29.97 for drop-frame timecode, else 24.

    Refuses (with ``--rate`` advice) only when a timecode cannot exist at that rate, or when no
    rate was given and another common rate makes every event's lengths agree.
    """
    rate = given if given is not None else (30000 / 1001 if doc.drop_frame else 24.0)
    rate = normalise_rate(rate)
    if doc.drop_frame and round(rate) not in (30, 60):
        raise TimelineReadError(
            f"{path}: its timecodes are drop frame (';' or FCM: DROP FRAME), which only 29.97 "
            f"and 59.94 fps have, but it is read at {_fps(rate)} fps: pass --rate 29.97 "
            "(or 59.94)"
        )
    for event in doc.events:
        for line in event.lines:
            for tc in line.tcs:
                if _frames(tc, rate) is None:
                    other = _other_rate(doc, rate)
                    hint = (
                        f"is the EDL rate right? pass --rate {rate_arg(other)}"
                        if other is not None
                        else "pass --rate with the sequence's frame rate"
                    )
                    raise TimelineReadError(
                        f"{path}: event {event.number:03d} (line {line.line}): timecode {tc} "
                        f"has no frame {tc[-2:]} at {_fps(rate)} fps; {hint}"
                    )
    if given is None:
        checked = _checked(doc)
        differ = [e for e, line in checked if _differs(line, rate)]
        other = _other_rate(doc, rate) if differ else None
        if other is not None:
            shown = ", ".join(f"{e.number:03d}" for e in differ[:6])
            raise TimelineReadError(
                f"{path}: source and record lengths differ in {len(differ)} event(s) "
                f"({shown}) at {_fps(rate)} fps but agree in every event at "
                f"{_fps(other)} fps: is the EDL rate right? pass --rate {rate_arg(other)}"
            )
    return rate


def _differs(line: EventLine, rate: float) -> bool:
    lengths = _lengths(line, rate)
    return lengths is not None and lengths[0] != lengths[1]


def tag_of(index: int) -> str:
    """The comment that tells which event a clip the adapter made came from."""
    return f"ALEPH EVENT {index}"


def prepare(doc: EdlDocument, rate: float, path: str) -> Prepared:
    """The EDL text for OTIO's adapter and the warnings of every decision taken."""
    out = [f"TITLE: {doc.title}" if doc.title else "", f"FCM: {doc.fcm}" if doc.fcm else ""]
    prepared = Prepared(text="", rate=rate)
    warn = prepared.warnings.append
    for number, text in doc.odd:
        warn(f"line {number} is not an event line, skipped: {display_name(text, 80)!r}")
    if doc.splits:
        where = ", ".join(str(n) for n in doc.splits[:6])
        warn(f"SPLIT (audio/video delay) lines are ignored (line {where})")
    ends: dict[str, int] = {}
    for index, event in enumerate(doc.events):
        if marker_only(event):
            prepared.floating.append(event)
            continue
        why = no_media_reason(event)
        label = f"event {event.number:03d}"
        if why is not None:
            marks = len(event.markers) + len(event.values("LOC"))
            extra = f"; its {marks} marker(s) there plan nothing" if marks else ""
            warn(f"{label} ({display_name(event.media.reel, 40)}) is {why}, skipped: "
                 f"nothing to edit there{extra}")  # fmt: skip
            continue
        lines = list(event.lines)
        if len(lines) > 1 and lines[0].reel.upper() in _NO_MEDIA_REELS:
            lines = lines[1:]  # a dissolve out of black: the incoming side as a cut
            kind: str | None = "C"
        else:
            kind = None
        media = lines[-1]
        if media.kind.startswith("K"):
            warn(f"{label}: key effect ({media.kind}) read as a cut")
            kind = "C"
        record = (_frames(media.tcs[2], rate), _frames(media.tcs[3], rate))
        tracks = _CHANNEL_TRACKS.get(media.channel, [media.channel])
        overlap = [t for t in tracks if record[0] is not None and record[0] < ends.get(t, -1)]
        if overlap:
            warn(f"{label} starts at {media.tcs[2]}, inside the event before it on track "
                 f"{overlap[0]}, skipped: check the EDL's record timecodes")  # fmt: skip
            continue
        for track in tracks:
            if record[1] is not None:
                ends[track] = record[1]
        tcs = media.tcs
        speed = speed_of(event)
        if speed is not None or _differs(media, rate):
            # The source as long as the record: a speed is applied to the clip afterwards
            # (clips.decorate), and a length that differs without one reads as the record says.
            _, rec = _lengths(media, rate) or (0, 0)
            s_in = otio.opentime.from_timecode(tcs[0], rate)
            s_out = otio.opentime.to_timecode(
                s_in + otio.opentime.RationalTime(rec, rate), rate, ";" in tcs[0]
            )
        if speed is None and _differs(media, rate):
            source, rec = _lengths(media, rate) or (0, 0)
            warn(
                f"{label} ({display_name(media.reel, 40)}): source {tcs[0]}-{tcs[1]} is "
                f"{source} frames but record {tcs[2]}-{tcs[3]} is {rec}, with no M2 speed "
                f"line; read as the record says (source out {s_out}): a high-frame-rate or "
                "retimed clip? check it in the editing application"
            )
        if speed is not None or _differs(media, rate):
            tcs = (tcs[0], s_out, tcs[2], tcs[3])
        out.append("")
        for line in lines[:-1]:
            out.append(line.text())
        out.append(media.text(kind=kind, tcs=tcs))
        out.extend(_readable(event, rate, warn))
        out.append(f"* {tag_of(index)}")
        prepared.events[index] = event
    if not doc.events:
        first = (
            f" (line {doc.odd[0][0]} is not one: {display_name(doc.odd[0][1], 80)!r})"
            if doc.odd
            else ""
        )
        raise TimelineReadError(
            f"{path}: holds no CMX 3600 event line ('001  REEL  V  C  <4 timecodes>'){first}; "
            "export the sequence as a CMX 3600 EDL"
        )
    prepared.text = "\n".join(out) + "\n"
    return prepared


def speed_of(event: Event) -> float | None:
    """The event's M2 speed (frames per second of source played) for its own source.

    A dissolve's M2 lines may name the outgoing reel too: the incoming reel's wins.
    """
    reel = re.sub(r"\s+", "_", event.media.reel).upper()
    chosen = None
    for _, m2_reel, speed, _ in event.m2:
        if chosen is None or re.sub(r"\s+", "_", m2_reel).upper() == reel:
            chosen = (m2_reel, speed)
    if chosen is None:
        return None
    if len(event.lines) > 1 and re.sub(r"\s+", "_", chosen[0]).upper() != reel:
        return None  # the outgoing clip's speed: it is not this event's source
    return float(chosen[1])


_TRIPLE = r"([-+]?[\d.]+),? ([-+]?[\d.]+),? ([-+]?[\d.]+),?"
_SOP = re.compile(rf"\({_TRIPLE}\)\s*\({_TRIPLE}\)\s*\({_TRIPLE}\)")


def _readable(event: Event, rate: float, warn: Any) -> list[str]:
    """The event's comments, less CDL lines OTIO's adapter would refuse the file for."""
    kept = []
    for number, text in event.comments:
        m = re.match(r"^\*?\s*(ASC_SOP|ASC_SAT)\s*:?\s*(.*)$", text, re.IGNORECASE)
        if m:
            body = m.group(2).strip()
            ok = bool(_SOP.match(body)) if m.group(1).upper() == "ASC_SOP" else _is_float(body)
            if not ok:
                warn(f"event {event.number:03d}: {m.group(1).upper()} on line {number} is "
                     "unreadable, ignored")  # fmt: skip
                continue
            text = f"* {m.group(1).upper()} {body}"
        loc = _LOC.match(text)
        if loc:
            text = _loc_line(event, number, loc, rate, warn)
            if not text:
                continue
        kept.append(text)
    return kept


_LOC = re.compile(r"^\*?\s*LOC\s*:?\s*(?P<tc>\S+)\s*(?P<rest>.*)$", re.IGNORECASE)


def _loc_line(event: Event, number: int, loc: re.Match[str], rate: float, warn: Any) -> str:
    """A ``* LOC:`` line whose timecode the adapter reads as meant: it reads ``:`` only, so a
    drop-frame ``;`` timecode is written as the non-drop one of the same frame."""
    tc = loc.group("tc")
    frames = _frames(tc, rate) if re.fullmatch(r"\d{2}[:;]\d{2}[:;]\d{2}[:;]\d{2}", tc) else None
    if frames is None:
        warn(f"event {event.number:03d}: LOC on line {number} has no timecode, ignored")
        return ""
    plain = otio.opentime.to_timecode(otio.opentime.RationalTime(frames, rate), rate, False)
    return f"* LOC: {plain} {loc.group('rest')}"


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
