"""Which OCIO config, and the names in it: loaded once per source, names checked with hints.

The default is OCIO's built-in *studio* config (``ocio://studio-config-latest``) because the
camera log spaces (ARRI LogC3/LogC4, S-Log3, V-Log, ...) are in it and not in the CG config;
``$OCIO`` wins over it, an explicit file or URI over both, as every OCIO application does.
"""

from __future__ import annotations

import difflib
import functools
import os
from pathlib import Path

import PyOpenColorIO as ocio

from aleph_otio.config import DEFAULT_OCIO_CONFIG
from aleph_otio.errors import ConfigError
from aleph_otio.files import sha256_file


def config_source(explicit: str | None) -> str:
    """The config to use: ``explicit`` > ``$OCIO`` > the built-in studio config.

    Files are made absolute, so a plan names the same config wherever it is run from.
    """
    chosen = explicit or os.environ.get("OCIO") or DEFAULT_OCIO_CONFIG
    if chosen.startswith("ocio://"):
        return chosen
    return str(Path(chosen).expanduser().resolve())


@functools.lru_cache(maxsize=8)
def load_config(source: str) -> ocio.Config:
    """The OCIO config at ``source`` (a file or an ``ocio://`` URI), checked; cached."""
    if not source.startswith("ocio://") and not Path(source).is_file():
        raise ConfigError(
            f"{source}: OCIO config not found; pass --ocio-config FILE (or set $OCIO), or leave"
            f" both unset for the built-in {DEFAULT_OCIO_CONFIG}"
        )
    try:
        config = ocio.Config.CreateFromFile(source)
        config.validate()
    except ocio.Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{source}: not a usable OCIO config ({first})") from None
    return config


def config_id(source: str) -> str:
    """What identifies the config's content: a built-in's versioned name, a file's sha256.

    ``ocio://studio-config-latest`` names another config in a later OCIO; its versioned name
    (``studio-config-v5.0.0_aces-v2.1_ocio-v2.6``) changes with it, so shot ids do too.
    """
    if source.startswith("ocio://"):
        return load_config(source).getName() or source
    return sha256_file(Path(source))


def _names(config: ocio.Config) -> list[str]:
    names: list[str] = []
    for space in config.getColorSpaces():
        names.append(space.getName())
        names.extend(space.getAliases())
    return names


def colorspace(config: ocio.Config, source: str, name: str, what: str) -> str:
    """The canonical name of colour space ``name`` (an alias or role is accepted), or a
    one-line ConfigError listing the closest names in the config."""
    space = config.getColorSpace(name)
    if space is not None:
        return str(space.getName())
    names = _names(config)
    lowered = name.lower()
    close = [n for n in names if lowered in n.lower()]
    close += [n for n in difflib.get_close_matches(name, names, n=5, cutoff=0.4) if n not in close]
    canonical = list(dict.fromkeys(str(config.getColorSpace(n).getName()) for n in close))[:5]
    hint = ", ".join(repr(n) for n in canonical) if canonical else "none close"
    raise ConfigError(f"{what}: no colour space {name!r} in OCIO config {source}; closest: {hint}")


def display_view(
    config: ocio.Config, source: str, display: str, view: str | None
) -> tuple[str, str]:
    """``(display, view)`` checked against the config; ``view`` None is its default view."""
    displays = list(config.getDisplays())
    if display not in displays:
        raise ConfigError(
            f"--view: no display {display!r} in OCIO config {source}; displays: "
            + ", ".join(repr(d) for d in displays)
        )
    views = list(config.getViews(display))
    chosen = view or config.getDefaultView(display)
    if chosen not in views:
        raise ConfigError(
            f"--view: display {display!r} has no view {chosen!r} in OCIO config {source}; views: "
            + ", ".join(repr(v) for v in views)
        )
    return display, chosen


def is_scene_linear(config: ocio.Config, name: str) -> bool:
    """Whether a colour space holds scene-linear values (far above 1.0 in highlights).

    OCIO 2 configs say so in ``encoding``; OCIO 1 configs only by a log2 allocation.
    """
    space = config.getColorSpace(name)
    if space is None:
        return False
    encoding = space.getEncoding()
    if encoding:
        return bool(encoding == "scene-linear")
    return bool(space.getAllocation() == ocio.ALLOCATION_LG2)
