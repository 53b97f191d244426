"""EDL bytes as clean lines: any line ends, no BOM, no trailing ^Z or other control bytes.

Avid on old Windows builds ends files with ^Z (0x1A), classic Mac tools write CR-only line
ends, Windows tools CRLF and sometimes a UTF-8 BOM; reel and clip names may be Latin-1 (Avid's
Mac Roman exports). None of it changes an event, so none of it may refuse a file.
"""

from __future__ import annotations

import re

#: Control characters other than tab: dropped from every line (^Z, NUL, form feeds...).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def decode(raw: bytes) -> str:
    """The file's text: UTF-8 (with or without BOM), else Latin-1 (which never fails)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def clean_lines(raw: bytes) -> list[tuple[int, str]]:
    """(1-based line number, text) of every non-blank line, stripped of control bytes.

    CR, LF and CRLF all end a line; tabs become spaces (odd spacing is the parser's concern).
    """
    text = decode(raw).replace("\r\n", "\n").replace("\r", "\n")
    lines = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = _CONTROL.sub("", line).replace("\t", " ").strip()
        if line:
            lines.append((number, line))
    return lines
