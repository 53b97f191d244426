"""Cut revisions: each pair of cuts classified, what is paid, what the trimmed relink uses."""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio
import pytest

from aleph_otio.config import PlanSettings
from aleph_otio.plan import plan_timeline
from aleph_otio.revisions import Change, Prior, classify, revised_shots
from aleph_otio.shots import Shot
from aleph_otio.timeline import read_timeline, write_timeline

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
HOUR = 86400  # 01:00:00:00 at 24 fps
HANDLES = 8


def tr(start: float, duration: float) -> otio.opentime.TimeRange:
    return TR(RT(start, 24), RT(duration, 24))


def shot_clip(
    media: str, first: int, frames: int, name: str, prompt: str, *, clip_name: str = ""
) -> otio.schema.Clip:
    """A clip of ``media`` (480 frames from 01:00:00:00) from media frame ``first``, with a
    zero-length marker: the request covers the whole clip, so trimming the clip trims it."""
    ref = otio.schema.ExternalReference(
        target_url=f"/media/{media}.mov", available_range=tr(HOUR, 480)
    )
    clip = otio.schema.Clip(
        name=clip_name or media, media_reference=ref, source_range=tr(HOUR + first, frames)
    )
    marker = otio.schema.Marker(name=name, marked_range=tr(HOUR + first, 0))
    marker.comment = f"aleph: {prompt}"
    clip.markers.append(marker)
    return clip


def gap(frames: int) -> otio.schema.Gap:
    return otio.schema.Gap(source_range=tr(0, frames))


#: The first cut: three shots, 48 frames each from media frame 100.
def first_cut() -> list[otio.schema.Composable]:
    return [
        shot_clip("A010", 100, 48, "SH010", "remove the sign"),
        shot_clip("B020", 100, 48, "SH020", "make it snow"),
        shot_clip("C030", 100, 48, "SH030", "relight to dusk"),
    ]


def plan(tmp_path: Path, children: list[otio.schema.Composable], name: str) -> list[Shot]:
    tl = otio.schema.Timeline(name="REEL1", global_start_time=RT(HOUR, 24))
    tl.tracks.append(otio.schema.Track(name="V1", children=children))
    path = write_timeline(tl, tmp_path / f"{name}.otio")
    planned = plan_timeline(read_timeline(path), PlanSettings(handles=HANDLES))
    assert planned.errors == []
    return planned.shots


def priors(shots: list[Shot], *, received: bool = True, in_last_cut: bool = True) -> list[Prior]:
    return [Prior(shot=s, received=received, in_last_cut=in_last_cut) for s in shots]


def kinds(changes: list[Change]) -> list[tuple[str, str]]:
    return [(c.kind, c.name) for c in changes]


@pytest.fixture()
def before(tmp_path: Path) -> list[Shot]:
    return plan(tmp_path, first_cut(), "v1")


def test_the_same_cut_is_unchanged_and_pays_nothing(tmp_path: Path, before: list[Shot]) -> None:
    changes = classify(plan(tmp_path, first_cut(), "v2"), priors(before))
    assert kinds(changes) == [
        ("unchanged", "SH010"),
        ("unchanged", "SH020"),
        ("unchanged", "SH030"),
    ]
    assert not any(c.paid for c in changes)


def test_ripple_and_reorder_are_moves(tmp_path: Path, before: list[Shot]) -> None:
    a, b, c = first_cut()
    # Ripple: 24 frames of black in front push every shot later. Reorder: C before B.
    after = plan(tmp_path, [gap(24), a, c, b], "v2")
    changes = classify(after, priors(before))
    assert kinds(changes) == [("moved", "SH010"), ("moved", "SH030"), ("moved", "SH020")]
    assert not any(c.paid for c in changes)
    # Same ids: the ledger's results, relinked at the new places.
    assert [c.shot.id for c in changes if c.shot] == [before[0].id, before[2].id, before[1].id]


def test_slip_and_trims_within_handles_reuse_the_result(tmp_path: Path, before: list[Shot]) -> None:
    after = plan(
        tmp_path,
        [
            shot_clip("A010", 101, 48, "SH010", "remove the sign"),  # slipped one frame
            shot_clip("B020", 104, 44, "SH020", "make it snow"),  # head trimmed by 4
            shot_clip("C030", 100, 40, "SH030", "relight to dusk"),  # tail trimmed by 8
        ],
        "v2",
    )
    changes = classify(after, priors(before))
    assert kinds(changes) == [("trimmed", "SH010"), ("trimmed", "SH020"), ("trimmed", "SH030")]
    assert not any(c.paid for c in changes)
    # Run as the received result: its id, and handles that cover the rest of it. The result's
    # frame i is media frame 92 + i (100 - 8 handles): the slipped range 101..148 is frames
    # 9..56 of it, the trimmed B 104..147 frames 12..55, the trimmed C 100..139 frames 8..47.
    run = [c.shot for c in changes]
    assert [s.id for s in run if s] == [s.id for s in before]
    assert [(s.head_frames, s.tail_frames) for s in run if s] == [(9, 7), (12, 8), (8, 16)]
    assert all(s is not None and s.frame_count == 64 for s in run)


def test_trims_beyond_handles_say_how_far_at_which_end(tmp_path: Path, before: list[Shot]) -> None:
    after = plan(
        tmp_path,
        [
            shot_clip("A010", 90, 58, "SH010", "remove the sign"),  # head 10 earlier: 2 past
            shot_clip("B020", 100, 60, "SH020", "make it snow"),  # tail 12 later: 4 past
            shot_clip("C030", 100, 48, "SH030", "relight to dusk"),
        ],
        "v2",
    )
    changes = classify(after, priors(before))
    # SH030 is rippled 22 frames later by the longer shots before it: moved, not paid.
    assert kinds(changes) == [("extended", "SH010"), ("extended", "SH020"), ("moved", "SH030")]
    assert changes[0].detail == "extended by 2 frame(s) at the head past the frames received"
    assert changes[1].detail == "extended by 4 frame(s) at the tail past the frames received"
    assert [c.paid for c in changes] == [True, True, False]


def test_delete_then_re_add(tmp_path: Path, before: list[Shot]) -> None:
    a, b, c = first_cut()
    second = plan(tmp_path, [a, c], "v2")
    changes = classify(second, priors(before))
    assert kinds(changes) == [("unchanged", "SH010"), ("moved", "SH030"), ("omitted", "SH020")]
    assert not any(ch.paid for ch in changes)
    # The third cut brings SH020 back: the ledger has its result, the last cut did not have it.
    last = {s.id for s in second}
    known = [Prior(shot=s, received=True, in_last_cut=s.id in last) for s in before]
    third = classify(plan(tmp_path, first_cut(), "v3"), known)
    assert kinds(third) == [("unchanged", "SH010"), ("reinstated", "SH020"), ("unchanged", "SH030")]
    assert not any(ch.paid for ch in third)


def test_prompt_edit_and_marker_moved_to_another_clip_are_new_versions(
    tmp_path: Path, before: list[Shot]
) -> None:
    after = plan(
        tmp_path,
        [
            shot_clip("A010", 100, 48, "SH010", "remove the sign and the pole"),
            # SH020's marker now sits on another take (D040), not on B020.
            shot_clip("D040", 100, 48, "SH020", "make it snow"),
            shot_clip("C030", 100, 48, "SH030", "relight to dusk"),
            shot_clip("E050", 0, 48, "SH040", "add fog"),
        ],
        "v2",
    )
    changes = classify(after, priors(before))
    assert kinds(changes) == [
        ("changed", "SH010"),
        ("changed", "SH020"),
        ("unchanged", "SH030"),
        ("new", "SH040"),
    ]
    assert changes[0].detail == "prompt changed"
    assert changes[1].detail == "moved to clip D040 (was B020)"
    assert [c.paid for c in changes] == [True, True, False, True]


def test_a_renumbered_index_name_keeps_its_old_name(tmp_path: Path) -> None:
    def unnamed(media: str, first: int) -> otio.schema.Clip:
        clip = shot_clip(media, first, 48, "", "snow")
        clip.markers[0].name = "aleph: snow"
        return clip

    before = plan(tmp_path, [unnamed("A010", 100), unnamed("B020", 100)], "v1")
    assert [s.name for s in before] == ["sh010", "sh020"]
    # A new shot cut in first renumbers the others (sh020, sh030); B is also trimmed by 2.
    after = plan(tmp_path, [unnamed("Z090", 0), unnamed("A010", 100), unnamed("B020", 102)], "v2")
    assert [s.name for s in after] == ["sh010", "sh020", "sh030"]
    changes = classify(after, priors(before))
    # A and B keep their names; Z090 is new and takes the next free one (inserted after sh010).
    assert kinds(changes) == [("new", "sh011"), ("moved", "sh010"), ("trimmed", "sh020")]
    assert [s.name for s in revised_shots(changes, after)] == ["sh011", "sh010", "sh020"]


def test_nothing_received_means_a_trim_is_rendered(tmp_path: Path, before: list[Shot]) -> None:
    after = plan(tmp_path, [shot_clip("A010", 101, 48, "SH010", "remove the sign")], "v2")
    changes = classify(after, priors(before[:1], received=False))
    assert kinds(changes) == [("extended", "SH010")]
    assert changes[0].paid


def test_revised_shots_run_every_place_as_its_prior(tmp_path: Path, before: list[Shot]) -> None:
    trimmed = shot_clip("A010", 104, 40, "SH010", "remove the sign")
    again = shot_clip("A010", 104, 40, "SH010", "remove the sign")  # cut in twice
    after = plan(tmp_path, [trimmed, gap(12), again], "v2")
    assert len(after) == 2 and after[0].id == after[1].id
    changes = classify(after, priors(before[:1]))
    assert kinds(changes) == [("trimmed", "SH010")]
    run = revised_shots(changes, after)
    assert [s.id for s in run] == [before[0].id, before[0].id]
    assert [(s.head_frames, s.tail_frames) for s in run] == [(12, 12), (12, 12)]
    assert run[1].segments == after[1].segments  # each at its own place
