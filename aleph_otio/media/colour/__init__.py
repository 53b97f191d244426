"""Colour management with OpenColorIO: which config and spaces, the shot's pipeline as one
OCIO transform, and its fast application (a baked 3D LUT) in the cut."""

from aleph_otio.media.colour.apply import BakedLut, ColourStep, bake
from aleph_otio.media.colour.transform import exact_processor, group_transform, is_identity

__all__ = ["BakedLut", "ColourStep", "bake", "exact_processor", "group_transform", "is_identity"]
