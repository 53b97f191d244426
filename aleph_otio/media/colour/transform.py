"""A shot's colour pipeline as one OCIO transform, and OCIO's exact CPU processor for it.

Order: input space -> working space (when they differ) -> the shot's CDL -> the show LUT, or
the display/view transform. The CDL comes first because that is where ASC CDLs are made: on
set or in dailies, on the camera's log picture (or ACEScct), under the show LUT; a CDL applied
after the view would grade a tone-mapped picture with numbers meant for log.

The inverse (``--return-colorspace source``) is OCIO's inverse of the same group. It is
approximate: a view clips what the display cannot show (highlights above 100 nits, colours
out of Rec.709) and a LUT that is not one-to-one has no exact inverse; what Aleph returns in
range comes back close (tests measure the round trip), what was clipped stays clipped.
"""

from __future__ import annotations

import functools
from pathlib import Path

import PyOpenColorIO as ocio

from aleph_otio.errors import ConfigError
from aleph_otio.media.colour.config import load_config
from aleph_otio.shots import ShotColour

#: OCIO's file transforms pick the LUT format from the extension; these are the common ones.
LUT_SUFFIXES = (".cube", ".3dl", ".csp", ".spi3d", ".spi1d", ".lut", ".clf", ".ctf", ".cub")
CDL_SUFFIXES = (".cdl", ".cc", ".ccc")


def group_transform(colour: ShotColour) -> ocio.GroupTransform:
    """The whole pipeline, source pixels to the display-referred picture, as one group."""
    config = load_config(colour.config)
    group = ocio.GroupTransform()
    if colour.working_colorspace != colour.input_colorspace:
        group.appendTransform(
            ocio.ColorSpaceTransform(src=colour.input_colorspace, dst=colour.working_colorspace)
        )
    if colour.cdl:
        group.appendTransform(cdl_transform(colour.cdl, colour.cdl_id))
    if colour.lut:
        lut = ocio.FileTransform(
            src=colour.lut, interpolation=ocio.INTERP_BEST, direction=ocio.TRANSFORM_DIR_FORWARD
        )
        group.appendTransform(lut)
    else:
        assert colour.view is not None
        working = config.getColorSpace(colour.working_colorspace)
        if working is not None and working.getReferenceSpaceType() == (
            ocio.REFERENCE_SPACE_DISPLAY
        ):
            # Already display-referred (a Rec.709 or PQ video): convert to the display's space,
            # no view: a view would tone-map a picture that was tone-mapped when it was made.
            target = config.getDisplayViewColorSpaceName(colour.display, colour.view)
            if target == "<USE_DISPLAY_NAME>":
                target = colour.display
            group.appendTransform(
                ocio.ColorSpaceTransform(src=colour.working_colorspace, dst=target)
            )
        else:
            group.appendTransform(
                ocio.DisplayViewTransform(
                    src=colour.working_colorspace, display=colour.display, view=colour.view
                )
            )
    return group


def cdl_transform(path: str, cdl_id: str | None) -> ocio.Transform:
    """The CDL ``cdl_id`` (or the only one) of a ``.cdl``/``.cc``/``.ccc`` file."""
    try:
        return ocio.CDLTransform.CreateFromFile(path, cdl_id or "")
    except ocio.Exception as exc:
        raise ConfigError(f"{path}: not a readable CDL ({_first_line(exc)})") from None


def cdl_ids(path: str) -> list[str]:
    """The ColorCorrection ids in a CDL file, in file order ('' for one without an id)."""
    try:
        group = ocio.CDLTransform.CreateGroupFromFile(path)
    except ocio.Exception as exc:
        raise ConfigError(f"{path}: not a readable CDL ({_first_line(exc)})") from None
    return [str(cdl.getID()) for cdl in group]


@functools.lru_cache(maxsize=32)
def _processor(colour: ShotColour, inverse: bool) -> ocio.Processor:
    config = load_config(colour.config)
    direction = ocio.TRANSFORM_DIR_INVERSE if inverse else ocio.TRANSFORM_DIR_FORWARD
    try:
        return config.getProcessor(group_transform(colour), direction)
    except ocio.Exception as exc:
        what = "inverse of " if inverse else ""
        raise ConfigError(
            f"{colour.config}: OCIO cannot build the {what}colour pipeline "
            f"{colour.describe()!r} ({_first_line(exc)})"
        ) from None


def exact_processor(colour: ShotColour, *, inverse: bool = False) -> ocio.CPUProcessor:
    """OCIO's exact CPU processor for the pipeline (or its inverse): the reference result.

    Slow for ACES 2.0 views (about a second per HD frame): used to bake and to check, not per
    frame (see :mod:`aleph_otio.media.colour.apply`).
    """
    return _processor(colour, inverse).getDefaultCPUProcessor()


def is_identity(colour: ShotColour) -> bool:
    """Whether the pipeline changes nothing (a Rec.709 video to the Rec.709 display)."""
    return bool(_processor(colour, False).isNoOp())


def lut_file(path: str) -> Path:
    """A show LUT path, checked: exists and is a format OCIO reads."""
    lut = Path(path).expanduser().resolve()
    if not lut.is_file():
        raise ConfigError(f"{lut}: show LUT not found; check --lut")
    if lut.suffix.lower() not in LUT_SUFFIXES:
        raise ConfigError(
            f"{lut}: not a LUT format OCIO reads by its extension ({', '.join(LUT_SUFFIXES)})"
        )
    return lut


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
