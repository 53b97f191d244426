"""Human shot names and result file names. Pure: no file I/O.

A shot's *name* is what people call it (``SQ010_SH020``); its *id* (``shots.shot_id``) is what
the ledger keys on and stays a content hash. A name comes from, in a configurable order:

- ``marker``: the marker's own id, i.e. a marker name that is not the request itself (Avid,
  Premiere and Resolve markers carry a name and a comment: name ``SH020``, comment
  ``aleph: remove the sign``);
- ``regex``: ``--shot-regex`` searched in the clip name (group ``shot``, else group 1, else the
  match);
- ``template``: ``--shot-template`` with ``{sequence}``, ``{track}``, ``{clip}``, ``{reel}``,
  ``{marker}`` and ``{index}`` (the request's place counted in steps of 10: ``010``, ``020``).

Names are made safe as file names on macOS, Windows and Linux, and compared without case (two
of the three file systems ignore it), because result files are named after them.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aleph_otio.errors import ConfigError

NAME_SOURCES = ("marker", "regex", "template")
DEFAULT_NAME_ORDER: tuple[str, ...] = NAME_SOURCES
DEFAULT_SHOT_TEMPLATE = "sh{index}"
TEMPLATE_TOKENS = ("sequence", "track", "clip", "reel", "marker", "index")
DEFAULT_RESULT_TEMPLATE = "{shot}_aleph_v{version:03}{variation}"
RESULT_TOKENS = ("shot", "version", "variation", "id", "task")
#: Longest name kept (bytes of UTF-8): room for ``_aleph_v001a.webm`` under 255.
MAX_NAME_BYTES = 120

#: Characters no Windows file name may hold; ``/`` ends a name everywhere.
_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)
#: Names NLEs give markers by default: not an id anyone chose.
_DEFAULT_MARKER = re.compile(r"^(marker|untitled|locator)?[\s_-]*\d*$", re.IGNORECASE)


@dataclass(frozen=True)
class NameFields:
    """What a shot name can be built from, for one edit request."""

    sequence: str
    track: str
    clip: str
    reel: str
    marker: str
    index: int  # 1-based place of the request in the plan


def safe_name(text: str) -> str:
    """``text`` as a file name every desktop system takes ('' when nothing is left).

    Spaces and forbidden characters become ``_``; leading dots (hidden files), trailing dots
    and spaces (Windows drops them) and Windows device names (``CON``, ``LPT1``) are avoided.
    """
    text = unicodedata.normalize("NFC", text)
    text = _FORBIDDEN.sub("_", text)
    text = re.sub(r"\s+", "_", text)
    text = re.sub(r"_+", "_", text).strip("._- ")
    encoded = text.encode()
    if len(encoded) > MAX_NAME_BYTES:
        text = encoded[:MAX_NAME_BYTES].decode(errors="ignore").rstrip("._- ")
    if _RESERVED.match(text):
        text = f"_{text}"
    return text


def marker_id(marker_name: str, prompt: str, prefix: str) -> str:
    """The marker's own name when it is an id, not the request ('' otherwise).

    An id is one word with a digit in it (``SH020``, ``SQ010_SH020``, ``VFX-0231``): a name
    that carries the prefix or the prompt is the request, ``Marker 1`` is an NLE's default,
    and words (``VFX``, ``sky``, ``see notes``, Avid's user name) are labels many markers share.
    """
    name = marker_name.strip()
    if not name or _DEFAULT_MARKER.match(name):
        return ""
    if any(ch.isspace() for ch in name) or not any(ch.isdigit() for ch in name):
        return ""
    if prefix and name.lower().startswith(prefix.lower()):
        return ""
    if name == " ".join(prompt.split()):
        return ""
    return safe_name(name)


def index_token(index: int) -> str:
    """``{index}``: the request's place in steps of 10, zero-padded (1 -> ``010``)."""
    return f"{index * 10:03d}"


def check_shot_template(template: str) -> str:
    """``template`` when it formats with the known tokens, else a ConfigError saying which."""
    _check_template(template, TEMPLATE_TOKENS, "--shot-template")
    return template


def check_result_template(template: str) -> str:
    _check_template(template, RESULT_TOKENS, "--result-template")
    if "{shot" not in template:
        raise ConfigError(
            f"--result-template {template!r}: must hold {{shot}} (result files of two shots "
            "would share a name)"
        )
    return template


def _check_template(template: str, tokens: Iterable[str], option: str) -> None:
    known = ", ".join(f"{{{t}}}" for t in tokens)
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ConfigError(f"{option} {template!r}: {exc}; tokens are {known}") from None
    for field in fields:
        if field not in tokens:
            raise ConfigError(f"{option} {template!r}: unknown token {{{field}}}; use {known}")


def check_regex(pattern: str | None) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(
            f"--shot-regex {pattern!r}: {exc}; give a Python regular expression"
        ) from None


def check_order(order: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(o.strip().lower() for o in order if o.strip()))
    bad = [o for o in chosen if o not in NAME_SOURCES]
    if bad or not chosen:
        raise ConfigError(
            f"--shot-names {','.join(chosen)!r}: use some of {','.join(NAME_SOURCES)} in the "
            "order to try them"
        )
    return chosen


def _from_regex(pattern: re.Pattern[str] | None, clip: str) -> str:
    if pattern is None:
        return ""
    match = pattern.search(clip)
    if match is None:
        return ""
    if "shot" in pattern.groupindex:
        found = match.group("shot") or ""
    elif pattern.groups:
        found = match.group(1) or ""
    else:
        found = match.group(0)
    return safe_name(found)


def _from_template(template: str, fields: NameFields) -> str:
    values: Mapping[str, Any] = {
        "sequence": safe_name(fields.sequence),
        "track": safe_name(fields.track),
        "clip": safe_name(fields.clip),
        "reel": safe_name(fields.reel),
        "marker": fields.marker,
        "index": index_token(fields.index),
    }
    return safe_name(template.format_map(values))


def shot_name(
    fields: NameFields,
    *,
    order: Iterable[str] = DEFAULT_NAME_ORDER,
    regex: str | None = None,
    template: str = DEFAULT_SHOT_TEMPLATE,
) -> str:
    """The first name the sources in ``order`` give; ``sh{index}`` when none gives one."""
    pattern = check_regex(regex)
    for source in order:
        if source == "marker":
            name = fields.marker
        elif source == "regex":
            name = _from_regex(pattern, fields.clip)
        else:
            name = _from_template(template, fields)
        if name:
            return name
    return _from_template(DEFAULT_SHOT_TEMPLATE, fields)


def part_name(name: str, part: int, parts: int) -> str:
    """A split shot's part: ``SH020_p1`` (parts are separate tasks, so separate files)."""
    return name if parts <= 1 else f"{name}_p{part}"


@dataclass(frozen=True)
class Named:
    """What :func:`refuse_clashes` needs of a shot."""

    id: str
    name: str
    location: str


def refuse_clashes(shots: Iterable[Named]) -> tuple[set[str], list[str]]:
    """(names given to more than one request, one error line per clash naming both places).

    One request planned at two places (one id) may share its name; two requests may not, or
    their results would overwrite each other. Names compare without case, as on macOS/Windows.
    """
    first: dict[str, Named] = {}
    clashing: set[str] = set()
    errors: list[str] = []
    for shot in shots:
        key = shot.name.casefold()
        seen = first.setdefault(key, shot)
        if seen.id == shot.id:
            continue
        clashing.add(key)
        errors.append(
            f"shot name {shot.name!r} is given to two different requests: {seen.location} and "
            f"{shot.location}; give one of the markers another name (or change --shot-regex/"
            "--shot-template) so that each shot has its own"
        )
    return clashing, errors


def result_file_name(
    shot: str,
    *,
    version: int,
    variant: int,
    ext: str,
    template: str = DEFAULT_RESULT_TEMPLATE,
    shot_id: str = "",
    task: str = "",
) -> str:
    """A result's file name: ``SH020_aleph_v001a.mp4`` (variation ``a`` is result 0)."""
    stem = template.format_map(
        {
            "shot": shot,
            "version": version,
            "variation": variation_letter(variant),
            "id": shot_id,
            "task": task[:8],
        }
    )
    return f"{safe_name(stem) or shot}.{ext.lstrip('.').lower()}"


def variation_letter(variant: int) -> str:
    """``a`` for result 0, ``b`` for result 1 (Aleph gives at most four)."""
    return string.ascii_lowercase[variant % 26]
