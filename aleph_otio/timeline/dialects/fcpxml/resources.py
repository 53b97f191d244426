"""FCPXML ``<resources>``: formats (frame rates), assets (media files), effects, media."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from xml.etree.ElementTree import Element

from aleph_otio.timeline.dialects.fcpxml.times import attr_time, rate_of_frame_duration


@dataclass(frozen=True)
class Asset:
    """One ``<asset>``: a media file, where its first frame sits (``start``) and how long."""

    id: str
    name: str
    src: str  # "" when the asset names no media at all
    start: Fraction
    duration: Fraction
    rate: Fraction | None
    has_video: bool
    has_audio: bool
    proxy_only: bool = False


@dataclass
class Resources:
    formats: dict[str, Fraction | None] = field(default_factory=dict)
    assets: dict[str, Asset] = field(default_factory=dict)
    effects: dict[str, str] = field(default_factory=dict)
    media: dict[str, Element] = field(default_factory=dict)

    def rate(self, format_id: str | None) -> Fraction | None:
        return self.formats.get(format_id or "")


def _media_src(asset: Element) -> tuple[str, bool]:
    """(the file an asset plays, True when only its proxy is named).

    FCPXML 1.9+ names media in ``<media-rep kind="original-media" src=...>`` (original media
    preferred: proxies are smaller and would be sent instead); 1.8 and older in ``asset@src``.
    """
    reps = {
        rep.get("kind", "original-media"): rep.get("src", "") for rep in asset.iter("media-rep")
    }
    if reps.get("original-media"):
        return reps["original-media"], False
    if asset.get("src"):
        return str(asset.get("src")), False
    if reps.get("proxy-media"):
        return reps["proxy-media"], True
    return "", False


def read_resources(root: Element) -> Resources:
    """Every resource of the document (those of nested ``<resources>`` too)."""
    found = Resources()
    for res in root.iter("resources"):
        for child in res:
            rid = child.get("id")
            if not rid:
                continue
            if child.tag == "format":
                found.formats[rid] = rate_of_frame_duration(child.get("frameDuration"))
            elif child.tag == "effect":
                found.effects[rid] = child.get("name") or child.get("uid") or rid
            elif child.tag == "media":
                found.media[rid] = child
    for res in root.iter("resources"):
        for child in res:
            if child.tag == "asset" and child.get("id"):
                src, proxy_only = _media_src(child)
                has_video = child.get("hasVideo", "0") == "1"
                found.assets[str(child.get("id"))] = Asset(
                    id=str(child.get("id")),
                    name=child.get("name") or "",
                    src=src,
                    start=attr_time(child, "start", Fraction(0)),
                    duration=attr_time(child, "duration", Fraction(0)),
                    rate=found.rate(child.get("format")) if has_video else None,
                    has_video=has_video,
                    has_audio=child.get("hasAudio", "0") == "1",
                    proxy_only=proxy_only,
                )
    return found
