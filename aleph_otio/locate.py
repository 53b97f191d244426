"""Find media that moved: path prefixes mapped to new ones, and folders searched by file name.

A timeline names files as the machine it was exported on saw them (``/Volumes/RAID/...`` on the
editor's Mac, ``D:\\Footage\\...`` on a Windows box), and Resolve timelines often name camera
originals FFmpeg cannot decode (R3D, BRAW, ARRIRAW) while transcodes or proxies of them sit in
another folder. :class:`MediaLocator` does what an NLE's relink does: ``--media-map FROM=TO``
rewrites the start of a path, ``--media-search DIR`` finds a file by its name under DIR, and a
camera original by a movie of the same name (its transcode). The timeline itself is not changed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from aleph_otio.config import PlanSettings
from aleph_otio.errors import ConfigError

#: Camera raw formats FFmpeg cannot decode, by suffix.
CAMERA_RAW = {
    ".r3d": "RED R3D",
    ".braw": "Blackmagic RAW",
    ".ari": "ARRIRAW",
    ".arx": "ARRIRAW HDE",
    ".crm": "Canon Cinema RAW Light",
    ".nev": "Nikon N-RAW",
}
#: Movie files a transcode or proxy of a camera original may be.
MOVIE_SUFFIXES = frozenset(
    {".mov", ".mp4", ".m4v", ".mxf", ".mkv", ".avi", ".webm", ".mts", ".m2ts"}
)


def camera_raw(path: str | Path) -> str | None:
    """The camera raw format ``path`` is in (by suffix), None for other files."""
    return CAMERA_RAW.get(Path(str(path)).suffix.lower())


def parse_media_map(values: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """``FROM=TO`` option values as pairs; a ConfigError names a malformed one."""
    pairs = []
    for value in values:
        source, sep, target = value.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise ConfigError(
                f"--media-map {value!r}: write it as FROM=TO, e.g. /Volumes/RAID=/mnt/raid"
            )
        pairs.append((source.strip(), target.strip()))
    return tuple(pairs)


def _slashes(path: str) -> str:
    return path.replace("\\", "/")


def written_path(url: str) -> str:
    """A media URL as the path its machine wrote, with forward slashes (``file://`` decoded)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        local = unquote(parsed.path)
        if parsed.netloc and parsed.netloc != "localhost":
            local = f"//{parsed.netloc}{local}"
        # file:///D:/Footage/a.mov names a Windows drive: drop the slash before the letter.
        if len(local) > 2 and local[0] == "/" and local[2] == ":" and local[1].isalpha():
            local = local[1:]
        return _slashes(local)
    return _slashes(url)


@dataclass(frozen=True)
class Located:
    """Where a file named by the timeline was found; ``note`` says so when it is another file."""

    path: str
    note: str | None = None


@dataclass
class MediaLocator:
    """Maps and searches media paths (see the module docstring). Searching reads each folder
    tree once, on the first file that is not where the timeline says."""

    maps: Sequence[tuple[str, str]] = ()
    search: Sequence[Path] = ()
    _by_name: dict[str, list[Path]] | None = field(default=None, repr=False)
    _by_stem: dict[str, list[Path]] = field(default_factory=dict, repr=False)

    @property
    def active(self) -> bool:
        return bool(self.maps or self.search)

    def locate(self, url: str, path: str) -> Located:
        """The file to use for media ``url`` (resolved by the timeline to ``path``).

        In order: the first ``--media-map`` whose FROM starts the path (whole folder names); the
        path itself; a file of the same name under a search folder; for camera raw, or when no
        file has the name, a movie of the same name without its suffix (a transcode), which
        comes with a note. A usable file must exist and not be camera raw. When a name matches
        several files the result is a :class:`ConfigError` listing them; when nothing matches,
        ``path`` comes back unchanged and the caller reports it missing.
        """
        written = written_path(url)
        for source, target in self.maps:
            prefix = _slashes(source).rstrip("/")
            if written == prefix or written.startswith(prefix + "/"):
                rest = written[len(prefix) :].lstrip("/")
                mapped = os.path.normpath(Path(target).expanduser() / rest) if rest else target
                if _usable(mapped):
                    return Located(mapped)
                path = mapped  # reported missing as mapped, which the user asked for
                break
        if _usable(path):
            return Located(path)
        if not self.search:
            return Located(path)
        name = PurePosixPath(written).name
        by_name, by_stem = self._index()
        if not camera_raw(name):
            found = self._unique(by_name.get(name.lower(), []), name)
            if found is not None:
                return Located(str(found))
        stem = PurePosixPath(name).stem.lower()
        movies = [p for p in by_stem.get(stem, []) if p.suffix.lower() in MOVIE_SUFFIXES]
        found = self._unique(movies, f"{PurePosixPath(name).stem}.*")
        if found is None:
            return Located(path)
        kind = camera_raw(name)
        why = f"{kind} cannot be decoded" if kind else "not found where the timeline says"
        return Located(
            str(found),
            f"cut from {found} in place of {name} ({why}); it must be a transcode with the "
            "same frames and timecode",
        )

    def find_named(
        self,
        names: Sequence[tuple[str, str]],
        holds: Callable[[Path], bool | None] | None = None,
    ) -> Located | None:
        """The file for a clip that names no path, by the names it has (best first).

        ``names`` are (name, where it came from), e.g. ``("A001C003", "reel name")``; a name
        finds a file of that name or of that stem with a movie suffix (case ignored). When
        several files share a name, ``holds(path)`` (True when the file's own timecode holds
        the clip's source range, None when unknown) picks the one; a tie is a
        :class:`ConfigError` listing them. None when no name finds a file.
        """
        if not self.search:
            return None
        by_name, by_stem = self._index()
        for name, where in names:
            stem = PurePosixPath(name).stem if PurePosixPath(name).suffix else name
            found = [] if camera_raw(name) else by_name.get(name.lower(), [])
            movies = [
                p for p in by_stem.get(stem.lower(), []) if p.suffix.lower() in MOVIE_SUFFIXES
            ]
            candidates = sorted({p for p in [*found, *movies] if not camera_raw(p)})
            if not candidates:
                continue
            if len(candidates) > 1 and holds is not None:
                held = [p for p in candidates if holds(p)]
                if len(held) == 1:
                    others = len(candidates) - 1
                    return Located(
                        str(held[0]),
                        f"matched to {held[0]} by {where} (its timecode holds the clip's "
                        f"source; {others} other file(s) of that name do not)",
                    )
                if not held:
                    shown = ", ".join(str(p) for p in candidates[:4])
                    raise ConfigError(
                        f"{name}: {len(candidates)} files of that name under {self.searched()} "
                        f"({shown}) and none holds the clip's source timecode; relink the clip "
                        "or search the folder of the right take"
                    )
                candidates = held
            if len(candidates) > 1:
                self._unique(candidates, name)  # raises, naming them
            return Located(str(candidates[0]), f"matched to {candidates[0]} by {where}")
        return None

    def searched(self) -> str:
        """The search folders, for messages."""
        return ", ".join(str(folder) for folder in self.search)

    def _unique(self, candidates: list[Path], name: str) -> Path | None:
        usable = sorted({p for p in candidates if not camera_raw(p)})
        if len(usable) > 1:
            shown = ", ".join(str(p) for p in usable[:4])
            raise ConfigError(
                f"{name}: {len(usable)} files match under {self.searched()} ({shown}); "
                "search a narrower folder or map the path with --media-map"
            )
        return usable[0] if usable else None

    def _index(self) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
        """Files under the search folders by lower-case name and by lower-case stem."""
        if self._by_name is None:
            self._by_name = {}
            for folder in self.search:
                for root, dirs, files in os.walk(Path(folder).expanduser()):
                    dirs[:] = [d for d in dirs if not d.startswith(".")]
                    for file in files:
                        if file.startswith("."):
                            continue
                        found = Path(root) / file
                        self._by_name.setdefault(file.lower(), []).append(found)
                        self._by_stem.setdefault(found.stem.lower(), []).append(found)
        return self._by_name, self._by_stem


def _usable(path: str) -> bool:
    return camera_raw(path) is None and Path(path).is_file()


def media_locator(settings: PlanSettings) -> MediaLocator:
    """The locator ``settings.media_map`` and ``settings.media_search`` ask for."""
    return MediaLocator(settings.media_map, [Path(p) for p in settings.media_search])
