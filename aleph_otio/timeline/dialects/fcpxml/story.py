"""An FCPXML story (spine, lanes, compound/multicam/sync clips) flattened into record-time leaves.

Every element's times are in its parent's local time: ``offset`` places it, ``start`` is its own
local time at that point, ``duration`` how long it plays. A ``conform-rate`` (FCP's automatic
speed for close rates, ``scaleEnabled`` 1 by default) plays media frames 1:1 at the sequence
rate; a ``timeMap`` maps the clip's time onto media time. Compound (``ref-clip``), multicam
(``mc-clip``: its active video angle), synchronized (``sync-clip``) and plain ``clip`` containers
are opened, so the clips inside them become leaves where they play in the edit; a marker on a
container goes to the clip inside it under the marker.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from xml.etree.ElementTree import Element

from aleph_otio.timeline.dialects.fcpxml.resources import Asset, Resources
from aleph_otio.timeline.dialects.fcpxml.times import (
    FcpxmlError,
    Linear,
    attr_time,
    same_rate,
    src_frame_rate,
    time_map_of,
)

#: Elements that sit in a storyline or lane.
STORY = frozenset(
    "asset-clip clip video audio title caption gap sync-clip ref-clip mc-clip audition spine "
    "transition".split()
)
MARKERS = ("marker", "chapter-marker")
#: What FCP calls each container, for messages.
WORDS = {
    "sync-clip": "synchronized clip",
    "ref-clip": "compound clip",
    "mc-clip": "multicam clip",
    "clip": "clip",
    "audition": "audition",
    "spine": "storyline",
    "title": "title",
    "caption": "caption",
    "asset-clip": "clip",
    "video": "clip",
    "audio": "audio clip",
    "gap": "gap",
}
ZERO = Fraction(0)


@dataclass
class Mark:
    """A marker in record seconds (0 = the sequence's first frame, its tcStart)."""

    element: Element
    start: Fraction
    duration: Fraction
    on: str  # what the editor put it on, e.g. "the compound clip 'Intro'"


@dataclass
class Leaf:
    """Something that plays at one place in the edit: a media clip, title, generator, gap."""

    kind: str  # video | audio | title | generator | caption | gap
    name: str
    lane: int
    start: Fraction  # record seconds
    duration: Fraction
    asset: Asset | None = None
    media_start: Fraction = ZERO  # media seconds at ``start``
    speed: Fraction = Fraction(1)  # media seconds per record second
    speed_problem: str = ""  # why the speed cannot be mapped to media frames
    refusal: str = ""  # why no marker on it can be planned
    markers: list[Mark] = field(default_factory=list)


@dataclass
class Transition:
    lane: int
    start: Fraction
    duration: Fraction
    name: str


@dataclass
class Story:
    leaves: list[Leaf] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)
    #: Markers on a container with nothing plannable under them: (lane, mark, reason).
    orphans: list[tuple[int, Mark, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Place:
    """Where an element's parent sits: its local time -> record time, what shows of it."""

    to_record: Linear
    window: tuple[Fraction, Fraction] | None  # visible record interval, None = all
    lane: int
    rate: Fraction  # the enclosing sequence's frame rate (what conform-rate conforms to)
    problem: str = ""  # a container's speed that cannot be mapped
    audio_only: bool = False


def _clip(
    window: tuple[Fraction, Fraction] | None, lo: Fraction, hi: Fraction
) -> tuple[Fraction, Fraction]:
    if window is None:
        return lo, hi
    return max(lo, window[0]), min(hi, window[1])


def _name(element: Element, resources: Resources) -> str:
    name = element.get("name")
    if name:
        return name
    ref = element.get("ref", "")
    if ref in resources.assets:
        return resources.assets[ref].name
    return resources.effects.get(ref, "") or element.tag


def describe(element: Element, resources: Resources) -> str:
    """``the compound clip 'Intro'``: an element as FCP's interface names it."""
    word = WORDS.get(element.tag, element.tag)
    if element.tag == "video" and element.get("ref", "") in resources.effects:
        word = "generator"
    return f"the {word} {_name(element, resources)!r}"


def lane_of(element: Element) -> int:
    """The ``lane`` of a connected item (0: in its parent's storyline)."""
    text = (element.get("lane") or "0").strip()
    try:
        return int(text)
    except ValueError:
        raise FcpxmlError(
            f"<{element.tag} {_name(element, Resources())!r}> lane is not a number: {text[:20]!r}"
        ) from None


class StoryReader:
    """Walks one sequence's spine into a :class:`Story`."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self.story = Story()

    def spine(self, spine: Element, place: Place) -> None:
        for child in spine:
            if child.tag in STORY:
                self.visit(child, place)

    def visit(self, element: Element, place: Place) -> None:
        tag = element.tag
        if tag == "transition":
            offset = attr_time(element, "offset", ZERO)
            start = place.to_record(offset)
            duration = attr_time(element, "duration", ZERO) * place.to_record.scale
            name = element.get("name") or "transition"
            self.story.transitions.append(Transition(place.lane, start, duration, name))
            return
        if tag == "spine":  # a storyline in a lane: its clips follow each other
            offset = attr_time(element, "offset", ZERO)
            local = Linear(Fraction(1), offset - attr_time(element, "start", ZERO))
            self.spine(element, replace(place, to_record=local.then(place.to_record)))
            return
        if tag == "audition":  # the first pick is the one in the edit
            picks = [child for child in element if child.tag in STORY]
            if picks:
                self.visit(picks[0], place)
            return
        self._clip_like(element, place)

    def _clip_like(self, element: Element, place: Place) -> None:
        res = self.resources
        tag = element.tag
        asset = (
            res.assets.get(element.get("ref", ""))
            if tag in ("asset-clip", "video", "audio")
            else None
        )
        offset = attr_time(element, "offset", ZERO)
        default_start = asset.start if asset is not None else ZERO
        start = attr_time(element, "start", default_start)
        if element.get("duration") is None and asset is not None:
            duration = max(ZERO, asset.start + asset.duration - start)
        else:
            duration = attr_time(element, "duration")
        if tag in ("video", "audio") and element.get("start") is None and offset == 0:
            # otio-fcpx-xml-adapter writes <clip start=MEDIA TIME><video offset="0s"/> for a
            # clip's media; FCP writes the media's own times there. Read both alike.
            lo0, hi0 = _clip(place.window, place.to_record(offset), place.to_record(duration))
            if hi0 <= lo0:
                offset = start
        scale, problem = self._conform(element, place)
        local = Linear(1 / scale, offset - start / scale).then(place.to_record)
        lo, hi = place.to_record(offset), place.to_record(offset + duration)
        window = _clip(place.window, lo, hi)
        marks = [self._mark(m, local, describe(element, res)) for m in element if m.tag in MARKERS]
        first = len(self.story.leaves)
        leaf_kind = self._leaf_kind(element, asset, place)
        if leaf_kind is not None:
            leaf = Leaf(
                leaf_kind, _name(element, res), place.lane, window[0], window[1] - window[0]
            )
            if tag in ("asset-clip", "video", "audio") and leaf_kind in ("video", "audio"):
                self._media(leaf, element, asset, local, problem or place.problem)
            leaf.markers = marks
            self.story.leaves.append(leaf)
            marks = []
        else:
            inner = self._inner(element, local, problem or place.problem, place, window)
            if inner is not None:
                content, inner_place = inner
                for child in content:
                    if child.tag in STORY and lane_of(child) == 0:
                        self.visit(child, inner_place)
        self._resolve(marks, first, place.lane, element)
        anchored = replace(place, to_record=local)
        for child in element:
            if child.tag in STORY and lane_of(child) != 0:
                self.visit(child, replace(anchored, lane=place.lane + lane_of(child)))

    def _conform(self, element: Element, place: Place) -> tuple[Fraction, str]:
        """(media seconds per parent second from conform-rate, a problem with it or "")."""
        conform = element.find("conform-rate")
        if conform is None or conform.get("scaleEnabled", "1") == "0":
            return Fraction(1), ""  # not conformed: the media plays in real time
        source = src_frame_rate(conform.get("srcFrameRate"))
        if source is None or same_rate(source, place.rate):
            return Fraction(1), ""
        if element.find("timeMap") is not None:
            return Fraction(1), "retime on a rate-conformed clip"
        return place.rate / source, ""

    def _leaf_kind(self, element: Element, asset: Asset | None, place: Place) -> str | None:
        tag = element.tag
        if tag == "asset-clip":
            if place.audio_only or element.get("srcEnable") == "audio":
                return "audio"
            return "audio" if asset is not None and not asset.has_video else "video"
        if tag == "video":
            if element.get("ref", "") in self.resources.effects and asset is None:
                return "generator"
            return "audio" if place.audio_only else "video"
        if tag == "audio":
            return "audio"
        if tag in ("title", "caption", "gap"):
            return tag
        return None

    def _media(
        self, leaf: Leaf, element: Element, asset: Asset | None, local: Linear, problem: str
    ) -> None:
        leaf.asset = asset
        if asset is None:
            ref = element.get("ref", "")
            leaf.refusal = (
                f"{describe(element, self.resources)} refers to asset {ref!r}, which the file's "
                "<resources> do not hold; export the project again from Final Cut Pro"
            )
            return
        at = local.inverse()(leaf.start)  # the clip's own time at its first visible frame
        speed = Fraction(1)
        time_map = time_map_of(element)
        if time_map is not None:
            end = local.inverse()(leaf.start + leaf.duration)
            segment, why = time_map.segment(at, end)
            if segment is None:
                problem = problem or why
            else:
                speed, at = segment.scale, segment(at)
        leaf.media_start = at
        leaf.speed = speed / local.scale
        leaf.speed_problem = problem

    def _inner(
        self,
        element: Element,
        local: Linear,
        problem: str,
        place: Place,
        window: tuple[Fraction, Fraction],
    ) -> tuple[list[Element], Place] | None:
        """A container's content and where it plays (None: nothing to open)."""
        res = self.resources
        tag = element.tag
        audio_only = place.audio_only or element.get("srcEnable") == "audio"
        time_map = time_map_of(element)
        if time_map is not None and not problem:
            segment, why = time_map.segment(local.inverse()(window[0]), local.inverse()(window[1]))
            if segment is None:
                problem = f"{why} on {describe(element, res)}"
            elif segment.scale <= 0:
                problem = f"freeze frame or reverse retime on {describe(element, res)}"
            else:
                local = segment.inverse().then(local)
        inner = Place(local, window, place.lane, place.rate, problem, audio_only)
        if tag in ("clip", "sync-clip"):
            return list(element), inner
        media = res.media.get(element.get("ref", ""))
        if media is None:
            self._refuse(element, place, window, "is not in the file's <resources>; export again")
            return None
        if tag == "ref-clip":
            sequence = media.find("sequence")
            spine = sequence.find("spine") if sequence is not None else None
            if sequence is None or spine is None:
                self._refuse(element, place, window, "holds no sequence; export again")
                return None
            rate = res.rate(sequence.get("format")) or place.rate
            return list(spine), replace(inner, rate=rate)
        if tag == "mc-clip":
            return self._angle(element, media, inner, place, window)
        return None

    def _angle(
        self,
        element: Element,
        media: Element,
        inner: Place,
        place: Place,
        window: tuple[Fraction, Fraction],
    ) -> tuple[list[Element], Place] | None:
        """The active video angle of a multicam clip, in the multicam's time."""
        multicam = media.find("multicam")
        if multicam is None:
            self._refuse(element, place, window, "holds no multicam; export again")
            return None
        sources = [
            s for s in element.findall("mc-source") if s.get("srcEnable", "all") in ("all", "video")
        ]
        if not sources or inner.audio_only:
            self._refuse(
                element, place, window,
                "shows no video angle (its mc-source elements enable audio only); choose a video "
                "angle in Final Cut Pro's angle viewer and export again",
            )  # fmt: skip
            return None
        angle_id = sources[0].get("angleID", "")
        angle = next(
            (a for a in multicam.findall("mc-angle") if a.get("angleID") == angle_id), None
        )
        if angle is None:
            self._refuse(element, place, window, f"names video angle {angle_id!r}, which it lacks")
            return None
        # Angle children count from the multicam's start timecode.
        base = Linear(Fraction(1), attr_time(multicam, "tcStart", ZERO))
        rate = self.resources.rate(multicam.get("format")) or place.rate
        return list(angle), replace(inner, to_record=base.then(inner.to_record), rate=rate)

    def _refuse(
        self, element: Element, place: Place, window: tuple[Fraction, Fraction], why: str
    ) -> None:
        name = _name(element, self.resources)
        leaf = Leaf("video", name, place.lane, window[0], window[1] - window[0])
        leaf.refusal = f"{describe(element, self.resources)} {why}"
        self.story.leaves.append(leaf)

    def _mark(self, marker: Element, local: Linear, on: str) -> Mark:
        start = local(attr_time(marker, "start"))
        duration = attr_time(marker, "duration", ZERO) * local.scale
        return Mark(marker, start, duration, on)

    def _resolve(self, marks: list[Mark], first: int, lane: int, element: Element) -> None:
        """Give each marker of a container to the clip inside it under the marker."""
        content = self.story.leaves[first:]
        for mark in marks:
            under = [
                leaf for leaf in content if leaf.start <= mark.start < leaf.start + leaf.duration
            ]
            # The picture on top is what the editor sees; media clips before titles over them,
            # any picture before sound, sound before a gap.
            under.sort(
                key=lambda leaf: (
                    leaf.kind != "gap",
                    leaf.kind != "audio",
                    leaf.kind == "video" and not leaf.refusal,
                    leaf.lane,
                )
            )
            if under and under[-1].kind != "gap":
                under[-1].markers.append(mark)
            else:
                why = (
                    f"the marker sits on a gap inside {mark.on}"
                    if under
                    else f"no clip inside {mark.on} plays under the marker"
                )
                self.story.orphans.append((lane, mark, f"{why}; move it onto a clip"))
