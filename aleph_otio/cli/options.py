"""Command-line options shared by several commands (one definition, one help text)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aleph_otio.config import DEFAULT_PRICE_PER_SECOND, RUNWAY_ONLY_FORMATS

MarkerColor = Annotated[
    str | None,
    typer.Option(help="Also treat markers of this colour as edit requests (e.g. purple)."),
]
Prefix = Annotated[str, typer.Option(help="Marker text prefix of an edit request.")]
GuideTrack = Annotated[str, typer.Option(help="Name of the video track holding guide stills.")]
Handles = Annotated[int, typer.Option(help="Extra frames each side, clipped to the media.")]
DEFAULT_MAX_FPS = 30.0
MaxFps = Annotated[
    float,
    typer.Option(
        help="Highest frame rate sent to Aleph (Runway's stated input limit). Sources up to "
        "twice this go at half rate (every second frame) and come back at their own rate.",
    ),
]
NumberResults = Annotated[int, typer.Option(help="Variations per shot (1-4).")]
OutputFormat = Annotated[
    str,
    typer.Option(
        help="Result container: MP4, WEBM or MOV (Runware); mp4, prores, png_sequence (a folder "
        "of PNG frames) or sdr_rec709_10bit (10-bit Rec.709 HEVC) with --backend runway."
    ),
]
Upscale = Annotated[
    str | None,
    typer.Option(
        help="Runway: upscale every result with Runway's upscaler (a paid step of its own) to "
        "4k (3840 px on the long side), 2k (2560) or 1k (1920); results already that large "
        "are kept as they are."
    ),
]
UpscalePrice = Annotated[
    float | None,
    typer.Option(min=0.0, help="USD per second upscaled (default: Runway's 2 credits, $0.02)."),
]


def split_output_format(value: str) -> tuple[str, str | None]:
    """``--output-format`` as (the plan's container, Runway's format or None).

    A Runway-only format plans as MP4 (what the task model carries) and is asked of Runway.
    """
    lowered = value.lower()
    if lowered in RUNWAY_ONLY_FORMATS:
        return "MP4", lowered
    return value, None


OutputQuality = Annotated[int, typer.Option(help="Result quality (20-99).")]
Rate = Annotated[
    str | None,
    typer.Option(help="Frame rate for EDLs (24, 25, 24000/1001, ...); default 24."),
]
Sequence = Annotated[
    str | None,
    typer.Option(help="The sequence to use when the file holds several (FCPXML, Premiere XML)."),
]
MediaMap = Annotated[
    list[str] | None,
    typer.Option(
        help="Media moved: FROM=TO replaces the start of its paths, e.g. "
        "/Volumes/RAID=/mnt/raid (repeatable).",
    ),
]
MediaSearch = Annotated[
    list[Path] | None,
    typer.Option(
        help="Folder searched (with its subfolders) for media not where the timeline says, by "
        "file name; camera raw (R3D, BRAW, ARRIRAW) by a movie of the same name (repeatable).",
    ),
]
OcioConfig = Annotated[
    str | None,
    typer.Option(
        help="OCIO config file or ocio:// URI for colour (default: $OCIO, else the built-in "
        "ocio://studio-config-latest, which has the camera log spaces)."
    ),
]
InputColorspace = Annotated[
    str | None,
    typer.Option(
        help="Colour space of the sources, e.g. 'ARRI LogC3 (EI800)', 'S-Log3 S-Gamut3.Cine', "
        "ACEScg: turns colour management on (clips are sent display-referred Rec.709)."
    ),
]
ColorspaceRule = Annotated[
    list[str] | None,
    typer.Option(
        help="REGEX=SPACE: clips whose clip or file name matches REGEX are in SPACE (first "
        "match wins; beats clip metadata and --input-colorspace; repeatable).",
    ),
]
View = Annotated[
    str | None,
    typer.Option(
        help="DISPLAY or DISPLAY/VIEW Aleph's clip is made for (default 'Rec.1886 Rec.709 - "
        "Display' with the config's default view)."
    ),
]
Lut = Annotated[
    Path | None,
    typer.Option(help="Show LUT (.cube, .3dl, .clf, ...) applied instead of the view."),
]
Cdl = Annotated[
    Path | None,
    typer.Option(
        help="CDL (.cdl/.cc/.ccc) or a folder of them, matched to shots by clip, file or "
        "marker name; applied in the source's space, before the LUT or view."
    ),
]
ReturnColorspace = Annotated[
    str,
    typer.Option(
        help="display: results come back display-referred Rec.709 (tagged so); source: "
        "converted back through the inverse (approximate)."
    ),
]
Price = Annotated[float, typer.Option(min=0.0, help="USD per second of input video, per result.")]
DELIVER_KINDS = ("as-returned", "prores-422hq", "prores-4444", "dnxhr-hqx", "exr", "dpx")
Deliver = Annotated[
    str,
    typer.Option(
        help="What results are delivered as: the result itself, ProRes 422 HQ/4444 or DNxHR HQX "
        "(.mov), or an EXR (half) / DPX (10-bit) sequence numbered from the plate's frames; at "
        "the plate's time code, rate and (--deliver-size) size.",
    ),
]
DeliverSize = Annotated[
    str,
    typer.Option(
        help="source: at the size of the clip each result replaces (Lanczos, aspect kept); "
        "returned: as Aleph returned it.",
    ),
]

#: How ``run`` and ``relink`` bring results in (``--relink``).
RELINK_MODES = ("version", "reference", "replace")
DEFAULT_PREFIX = "aleph:"
DEFAULT_GUIDE_TRACK = "ALEPH GUIDES"
DEFAULT_PRICE = DEFAULT_PRICE_PER_SECOND

Emulator = Annotated[
    bool, typer.Option("--emulator", help="Use a local emulator it starts itself (offline, free).")
]
Concurrency = Annotated[
    int,
    typer.Option(
        min=1,
        max=64,
        help="Shots cut, uploaded or downloaded at once (the service queues the tasks).",
    ),
]
Budget = Annotated[
    str | None,
    typer.Option(
        help="Stop submitting once the estimate would pass this: USD (20, $20) or, with "
        "--backend runway, credits (2000 credits)."
    ),
]
BaseUrl = Annotated[str | None, typer.Option(help="API endpoint (default Runware's).")]

# Shot and result names (aleph_otio/naming.py).
ShotNames = Annotated[
    str,
    typer.Option(
        help="Where shot names come from, first that gives one: marker (the marker's own name, "
        "when it is not the request), regex (--shot-regex on clip names), template.",
    ),
]
ShotRegex = Annotated[
    str | None,
    typer.Option(
        help="Regular expression finding the shot name in clip names (group 'shot', else group "
        r"1, else the match), e.g. '(?P<shot>SQ\d+_SH\d+)'.",
    ),
]
ShotTemplate = Annotated[
    str,
    typer.Option(
        help="Shot name from tokens {sequence} {track} {clip} {reel} {marker} {index} "
        "({index}: 010, 020, ...).",
    ),
]
ResultTemplate = Annotated[
    str,
    typer.Option(
        help="Result file name (before the extension) from {shot} {version} {variation} {id} "
        "{task}.",
    ),
]
DEFAULT_SHOT_NAMES = "marker,regex,template"
DEFAULT_SHOT_TEMPLATE = "sh{index}"
DEFAULT_RESULT_TEMPLATE = "{shot}_aleph_v{version:03}{variation}"
Against = Annotated[
    Path | None,
    typer.Option(
        help="The work folder of a run of an earlier cut: classify this cut against it "
        "(unchanged, moved, trimmed, extended, changed, reinstated, new, omitted) and pay only "
        "for what changed.",
    ),
]
