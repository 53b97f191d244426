"""A manifest back as OTIO: a timeline of its planned shots, one clip per source segment."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aleph_otio.batch.manifest import Batch

if TYPE_CHECKING:
    import opentimelineio as otio


def _media_extents(batch: Batch) -> dict[str, tuple[float, float, int]]:
    """path -> (available_start, rate, frames known to exist) over every shot using it."""
    extents: dict[str, tuple[float, float, int]] = {}
    for shot in batch.shots:
        last = len(shot.segments) - 1
        for i, seg in enumerate(shot.segments):
            tail = shot.tail_frames if i == last else 0
            end = seg.media_start_frame + seg.media_frame_count + tail
            known = extents.get(seg.media_path)
            frames = max(end, known[2]) if known else end
            extents[seg.media_path] = (seg.available_start, seg.media_rate, frames)
    return extents


def batch_to_timeline(batch: Batch) -> otio.schema.Timeline:
    """A timeline of the planned shots: one video track, one clip per source segment.

    Shots follow one another; each carries a track marker ``aleph: <prompt>`` over its clips
    (metadata ``aleph`` holds the prompt, options and guides), so planning this timeline again
    asks for the same edits. Media references keep their file timecode; their available range
    covers the frames the batch knows to exist.
    """
    import opentimelineio as otio

    rt, tr = otio.opentime.RationalTime, otio.opentime.TimeRange
    extents = _media_extents(batch)
    timeline = otio.schema.Timeline(
        name=f"{batch.timeline_name or Path(batch.timeline).stem} (aleph batch)",
        metadata={"aleph_otio": {"batch": {"timeline": batch.timeline, "created": batch.created}}},
    )
    track = otio.schema.Track(name="ALEPH BATCH", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for shot in batch.shots:
        shot_start = track.duration()
        for seg in shot.segments:
            available_start, media_rate, frames = extents[seg.media_path]
            reference = otio.schema.ExternalReference(
                target_url=seg.media_path,
                available_range=tr(rt(available_start, media_rate), rt(frames, media_rate)),
            )
            clip = otio.schema.Clip(
                name=seg.clip_name,
                media_reference=reference,
                source_range=tr(
                    rt(seg.clip_source_start, seg.clip_source_rate),
                    rt(seg.clip_source_duration, seg.clip_source_rate),
                ),
                metadata={
                    "aleph_otio": {
                        "shot_id": shot.id,
                        "track": seg.track_name,
                        "track_index": seg.track_index,
                        "clip_index": seg.clip_index,
                        "record_tc_in": seg.record_tc_in,
                    }
                },
            )
            if seg.time_scalar != 1.0:
                clip.effects.append(otio.schema.LinearTimeWarp(time_scalar=seg.time_scalar))
            track.append(clip)
        duration = track.duration() - shot_start
        guides = [
            g.model_dump(include={"image", "frame", "timestamp"}, exclude_none=True)
            for g in shot.guides
        ]
        track.markers.append(
            otio.schema.Marker(
                name=f"aleph: {shot.prompt}",
                marked_range=tr(shot_start, duration),
                color=otio.schema.MarkerColor.PURPLE,
                metadata={
                    "aleph": {
                        "prompt": shot.prompt,
                        "numberResults": shot.options.number_results,
                        "outputFormat": shot.options.output_format,
                        "outputQuality": shot.options.output_quality,
                        "guides": guides,
                    },
                    "aleph_otio": {
                        "shot_id": shot.id,
                        "shot_name": shot.name,
                        "marker_location": shot.marker_location,
                        "part": shot.part,
                        "parts": shot.parts,
                        "head_frames": shot.head_frames,
                        "tail_frames": shot.tail_frames,
                    },
                },
            )
        )
    return timeline
