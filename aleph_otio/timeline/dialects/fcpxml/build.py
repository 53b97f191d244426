"""A flattened FCPXML story as an OTIO timeline: lanes as tracks, markers in clip space.

Tracks, bottom to top: connected lanes below the storyline, the primary storyline, lanes above
it (as Final Cut Pro stacks them), then audio. Connected clips of different parents that
overlap on one lane get a track of their own above it. A clip's source range is in its media's
time at the media's rate; speed (retime, rate conform) is a ``LinearTimeWarp``. What the planner
must know of a marker (FCP kind, note, why it cannot be planned) is in its ``fcpxml`` metadata.
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from typing import Any

import opentimelineio as otio

from aleph_otio.timeline.dialects.fcpxml.story import Leaf, Mark, Story, Transition
from aleph_otio.timeline.rates import same_rate, timecode_of

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange

#: FCP's marker kinds and the colours Final Cut Pro shows them in.
MARKER_COLORS = {
    "standard": otio.schema.MarkerColor.BLUE,
    "todo": otio.schema.MarkerColor.RED,
    "completed": otio.schema.MarkerColor.GREEN,
    "chapter": otio.schema.MarkerColor.ORANGE,
}
_NOTHING = {
    "title": "a title",
    "generator": "a generator",
    "caption": "a caption",
    "audio": "audio only",
}


def _rt(seconds: Fraction, rate: Fraction) -> otio.opentime.RationalTime:
    return RT(float(seconds * rate), float(rate))


def marker_kind(element: Any) -> str:
    if element.tag == "chapter-marker":
        return "chapter"
    completed = element.get("completed")
    if completed is None:
        return "standard"
    return "completed" if completed == "1" else "todo"


def _note(element: Any) -> str:
    note = element.get("note") or ""
    child = element.find("note")
    if not note and child is not None and child.text:
        note = child.text
    return note.strip()


class TimelineBuilder:
    def __init__(self, rate: Fraction, tc_start: Fraction) -> None:
        self.rate = rate
        self.tc_start = tc_start

    def _tc(self, record: Fraction) -> str:
        return timecode_of(float((record + self.tc_start) * self.rate), float(self.rate))

    def marker(self, mark: Mark, start: Fraction, rate: Fraction, facts: dict[str, str]) -> Any:
        kind = marker_kind(mark.element)
        note = _note(mark.element)
        meta: dict[str, Any] = {"kind": kind, **facts}
        if note:
            meta["note"] = note
        marker = otio.schema.Marker(
            name=mark.element.get("value") or "",
            marked_range=TR(_rt(start, rate), _rt(mark.duration, rate)),
            color=MARKER_COLORS[kind],
            metadata={"fcpxml": meta},
        )
        if note:
            marker.comment = note
        return marker

    def _facts(self, leaf: Leaf, mark: Mark) -> dict[str, str]:
        on = mark.on
        if leaf.kind in _NOTHING:
            what = _NOTHING[leaf.kind]
            where = on if leaf.kind != "audio" else f"{on} ({what})"
            return {
                "ignored": f"marker(s) on {where} at {self._tc(mark.start)}: nothing to edit "
                "here; put the marker on the video clip under it"
            }
        if leaf.refusal:
            return {"refused": leaf.refusal}
        return {}

    def clip(self, leaf: Leaf) -> Any:
        if leaf.kind == "gap":
            gap = otio.schema.Gap(
                source_range=TR(_rt(Fraction(0), self.rate), _rt(leaf.duration, self.rate))
            )
            for mark in leaf.markers:
                gap.markers.append(self.marker(mark, mark.start - leaf.start, self.rate, {}))
            return gap
        asset = leaf.asset
        media_rate = asset.rate if asset is not None and asset.rate else self.rate
        # Clip times at the media's rate where it counts the sequence's frames (24 media in a
        # 23.976 sequence), else at the sequence's: the planner takes record frames from them.
        rate = media_rate if same_rate(float(media_rate), float(self.rate)) else self.rate
        ref: Any
        if leaf.kind in ("title", "generator", "caption"):
            ref = otio.schema.GeneratorReference(
                name=leaf.name, generator_kind=f"fcpxml {leaf.kind}"
            )
            origin = Fraction(0)
        elif asset is not None and asset.src:
            avail = None
            if asset.duration > 0:
                avail = TR(_rt(asset.start, media_rate), _rt(asset.duration, media_rate))
            ref = otio.schema.ExternalReference(target_url=asset.src, available_range=avail)
            origin = leaf.media_start
        else:
            ref = otio.schema.MissingReference(name=asset.name if asset else leaf.name)
            origin = leaf.media_start
        clip = otio.schema.Clip(
            name=leaf.name,
            media_reference=ref,
            source_range=TR(_rt(origin, rate), _rt(leaf.duration, rate)),
        )
        if leaf.speed_problem:
            clip.effects.append(
                otio.schema.TimeEffect(name=leaf.speed_problem, effect_name="FCPXML timeMap")
            )
        elif leaf.speed == 0:
            clip.effects.append(otio.schema.FreezeFrame())
        elif leaf.speed != 1:
            clip.effects.append(otio.schema.LinearTimeWarp(time_scalar=float(leaf.speed)))
        for mark in leaf.markers:
            # Clip space: the source start plus record time into the clip (OTIO's convention,
            # the time warp scales it into media frames).
            start = origin + (mark.start - leaf.start)
            clip.markers.append(self.marker(mark, start, rate, self._facts(leaf, mark)))
        return clip

    def track(self, name: str, kind: str, leaves: list[Leaf], transitions: list[Transition]) -> Any:
        track = otio.schema.Track(name=name, kind=kind)
        cursor = Fraction(0)
        spans: list[tuple[Fraction, Fraction, Any]] = []
        for leaf in leaves:
            if leaf.start > cursor:
                track.append(
                    otio.schema.Gap(
                        source_range=TR(
                            _rt(Fraction(0), self.rate), _rt(leaf.start - cursor, self.rate)
                        )
                    )
                )
            item = self.clip(leaf)
            track.append(item)
            spans.append((leaf.start, leaf.start + leaf.duration, item))
            cursor = leaf.start + leaf.duration
        # A transition sits across a cut: it overlaps the clips on both sides of it.
        for transition in sorted(transitions, key=lambda t: t.start, reverse=True):
            end = transition.start + transition.duration
            for (_, cut, left), (begin, _, right) in zip(spans, spans[1:], strict=False):
                if (
                    cut == begin
                    and transition.start <= cut <= end
                    and isinstance(left, otio.schema.Clip)
                    and isinstance(right, otio.schema.Clip)
                ):
                    track.insert(
                        track.index(right),
                        otio.schema.Transition(
                            name=transition.name,
                            in_offset=_rt(cut - transition.start, self.rate),
                            out_offset=_rt(end - cut, self.rate),
                        ),
                    )
                    break
        return track

    def timeline(self, name: str, story: Story, metadata: dict[str, Any]) -> otio.schema.Timeline:
        rows: dict[tuple[bool, int], list[Leaf]] = defaultdict(list)
        for leaf in story.leaves:
            if leaf.duration <= 0 or (leaf.kind == "gap" and not leaf.markers):
                continue
            if leaf.start < 0:  # before the sequence's first frame: FCP shows none of it
                cut = -leaf.start
                if cut >= leaf.duration:
                    continue
                leaf.media_start += cut * leaf.speed
                leaf.start, leaf.duration = Fraction(0), leaf.duration - cut
            rows[(leaf.kind == "audio", leaf.lane)].append(leaf)
        for lane in {lane for lane, _, _ in story.orphans}:
            rows.setdefault((False, lane), [])
        timeline = otio.schema.Timeline(
            name=name,
            global_start_time=_rt(self.tc_start, self.rate),
            metadata={"fcpxml": metadata},
        )
        order = sorted(rows, key=lambda key: (key[0], key[1] if not key[0] else -key[1]))
        for audio, lane in order:
            stacked: list[list[Leaf]] = []
            for leaf in sorted(rows[(audio, lane)], key=lambda leaf: leaf.start):
                row = next((r for r in stacked if r[-1].start + r[-1].duration <= leaf.start), None)
                if row is None:
                    row = []
                    stacked.append(row)
                row.append(leaf)
            for index, row in enumerate(stacked or [[]]):
                name = _track_name(audio, lane) + (f" ({index + 1})" if index else "")
                kind = otio.schema.TrackKind.Audio if audio else otio.schema.TrackKind.Video
                moves = (
                    [t for t in story.transitions if t.lane == lane]
                    if index == 0 and not audio
                    else []
                )
                track = self.track(name, kind, row, moves)
                if index == 0 and not audio:
                    for orphan_lane, mark, why in story.orphans:
                        if orphan_lane == lane:
                            track.markers.append(
                                self.marker(mark, mark.start, self.rate, {"refused": why})
                            )
                timeline.tracks.append(track)
        return timeline


def _track_name(audio: bool, lane: int) -> str:
    if audio:
        return "Audio (storyline)" if lane == 0 else f"Audio (lane {lane})"
    return "Primary storyline" if lane == 0 else f"Lane {lane}"
