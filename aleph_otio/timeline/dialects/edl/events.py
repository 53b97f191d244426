"""CMX 3600 events as NLEs write them: event lines, their comments, M2 and marker lines.

Read from clean lines (:mod:`.text`) without judging them: :mod:`.prepare` decides what an
event means. Spacing is free (Avid pads reels to 8 or 32 characters, Resolve ends event lines
with two spaces, hand-edited files use tabs), event numbers have 3 (CMX) or 6 (Avid File_129)
digits, and a timecode's separators may be ``:``, ``;`` (drop frame) or ``.``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TC = r"\d{1,2}[:;.]\d{2}[:;.]\d{2}[:;.,]\d{2,3}"
_EVENT = re.compile(
    rf"^(?P<num>\d{{1,6}})\s+(?P<reel>\S.*?)\s+"
    r"(?P<chan>V\d*|A\d*(?:/V)?|AA(?:/V)?|B|NONE)\s+"
    r"(?P<kind>C|D|W\d{3}|KB|KO|K|K\s+[BO])\s+(?:(?P<frames>\d{1,4})\s+)?"
    rf"(?P<tcs>{_TC}\s+{_TC}\s+{_TC}\s+{_TC})$",
    re.IGNORECASE,
)
_M2 = re.compile(rf"^M2\s+(?P<reel>\S.*?)\s+(?P<speed>[-+]?\d+(?:\.\d*)?)\s+(?P<tc>{_TC})$", re.I)
#: DaVinci Resolve's marker comment: ``[note] |C:ResolveColorBlue |M:name |D:frames``.
_RESOLVE = re.compile(
    r"^(?P<note>.*?)\s*\|C:(?P<color>[^|]*?)\s*\|M:(?P<name>[^|]*?)\s*\|D:(?P<frames>\d+)\s*$"
)
_COMMENT = re.compile(r"^\*?\s*(?P<key>[A-Z][A-Z0-9 _]*?)\s*:\s*(?P<body>.*)$")


def _tc(text: str) -> str:
    """``01;00;00;02`` / ``01.00.00.02`` -> ``01:00:00;02`` (``;`` kept as drop frame's mark)."""
    drop = ";" in text
    parts = re.split(r"[:;.,]", text)
    hh, mm, ss, ff = (p.zfill(2) for p in parts)
    return f"{hh}:{mm}:{ss}{';' if drop else ':'}{ff}"


@dataclass
class EventLine:
    """One event line: ``001  A001C003 V     C        01:00:10:00 01:00:15:00 ...``."""

    line: int
    number: int
    reel: str
    channel: str
    kind: str  # C, D, Wnnn, K, KB, KO
    frames: str | None  # a transition's length in frames
    tcs: tuple[str, str, str, str]  # source in/out, record in/out, normalised by _tc

    @property
    def drop_frame(self) -> bool:
        return any(";" in tc for tc in self.tcs)

    def text(self, kind: str | None = None, tcs: tuple[str, ...] | None = None) -> str:
        """The line as OTIO's adapter reads it (one-word reel, single spaces)."""
        kind = (kind or self.kind).replace(" ", "")
        frames = f" {self.frames}" if self.frames and kind != "C" else ""
        reel = re.sub(r"\s+", "_", self.reel)
        return f"{self.number:03d} {reel} {self.channel} {kind}{frames} {' '.join(tcs or self.tcs)}"


@dataclass
class ResolveMarker:
    """A Resolve marker line: colour name (``ResolveColorBlue``), name, note, frames."""

    line: int
    color: str
    name: str
    note: str
    frames: int


@dataclass
class Event:
    """An event: its line (two for a dissolve/wipe: the outgoing, then the incoming), the
    comment lines after it, its M2 speed lines and Resolve marker lines."""

    lines: list[EventLine]
    comments: list[tuple[int, str]] = field(default_factory=list)
    m2: list[tuple[int, str, str, str]] = field(default_factory=list)  # line, reel, speed, tc
    markers: list[ResolveMarker] = field(default_factory=list)

    @property
    def number(self) -> int:
        return self.lines[0].number

    @property
    def media(self) -> EventLine:
        """The line whose source the event shows (a transition's incoming side)."""
        return self.lines[-1]

    def values(self, key: str) -> list[str]:
        """The bodies of the ``* KEY: body`` comments, in file order."""
        found = []
        for _, text in self.comments:
            m = _COMMENT.match(text)
            if m and m.group("key").upper() == key:
                found.append(m.group("body").strip())
        return found

    def value(self, key: str) -> str | None:
        values = self.values(key)
        return values[0] if values else None


@dataclass
class EdlDocument:
    """A parsed EDL: title, FCM, events, and the lines that are none of these."""

    title: str | None = None
    fcm: str | None = None
    events: list[Event] = field(default_factory=list)
    odd: list[tuple[int, str]] = field(default_factory=list)  # not understood: warned about
    splits: list[int] = field(default_factory=list)  # SPLIT lines (ignored, warned about)

    @property
    def drop_frame(self) -> bool:
        if self.fcm and "DROP" in self.fcm.upper() and "NON" not in self.fcm.upper():
            return True
        return any(line.drop_frame for event in self.events for line in event.lines)


def parse(lines: list[tuple[int, str]]) -> EdlDocument:
    """The events of ``lines`` (from :func:`.text.clean_lines`); nothing is refused here."""
    doc = EdlDocument()
    current: Event | None = None
    for number, text in lines:
        upper = text.upper()
        if upper.startswith("TITLE:"):
            if doc.title is None:
                doc.title = text[6:].strip()
            continue
        if upper.startswith("FCM:"):
            doc.fcm = text[4:].strip()
            continue
        if upper.startswith("SPLIT"):
            doc.splits.append(number)
            continue
        m = _EVENT.match(text)
        if m:
            line = EventLine(
                line=number,
                number=int(m.group("num")),
                reel=m.group("reel").strip(),
                channel=m.group("chan").upper(),
                kind=re.sub(r"\s+", " ", m.group("kind").upper()),
                frames=m.group("frames"),
                tcs=tuple(_tc(t) for t in m.group("tcs").split()),  # type: ignore[arg-type]
            )
            same = current is not None and current.number == line.number
            if same and current is not None and len(current.lines) == 1:
                current.lines.append(line)  # a transition's incoming side
            else:
                current = Event(lines=[line])
                doc.events.append(current)
            continue
        if text[0].isdigit():
            doc.odd.append((number, text))  # an event line we cannot read
            continue
        if current is None:
            continue  # header notes before the first event say nothing about it
        m2 = _M2.match(text)
        if m2:
            current.m2.append((number, m2.group("reel"), m2.group("speed"), _tc(m2.group("tc"))))
            continue
        resolve = _RESOLVE.match(text)
        if resolve:
            current.markers.append(
                ResolveMarker(
                    line=number,
                    color=resolve.group("color").strip(),
                    name=resolve.group("name").strip(),
                    note=resolve.group("note").lstrip("*").strip(),
                    frames=int(resolve.group("frames")),
                )
            )
            continue
        current.comments.append((number, text))
    return doc
