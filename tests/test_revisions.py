"""Cut revisions: each pair of cuts classified, what is paid, what the trimmed relink uses."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import av
import opentimelineio as otio
import pytest

from aleph_otio.config import APISettings, PlanSettings
from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.plan import plan_timeline
from aleph_otio.revisions import Change, Prior, classify, revised_shots
from aleph_otio.sample import SampleProject, make_sample_project
from aleph_otio.scripting import revise_file, run_timeline
from aleph_otio.shots import Shot
from aleph_otio.synth import decode_index
from aleph_otio.timeline import read_timeline, write_timeline

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
HOUR = 86400  # 01:00:00:00 at 24 fps
HANDLES = 8
KEY = "test-key-revisions-not-secret"


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


# --- end to end: a second cut run against the first one's work folder ---------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUNWARE_API_KEY": KEY}
    return subprocess.run(
        [sys.executable, "-m", "aleph_otio", *args],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _tasks(ledger: Path) -> int:
    with sqlite3.connect(ledger) as db:
        return int(
            db.execute("SELECT count(*) FROM tasks WHERE submitted_at IS NOT NULL").fetchone()[0]
        )


def _frame_codes(path: str, first: int, count: int) -> list[int]:
    """Code-strip indices of media frames ``first .. first+count`` of a file."""
    out: list[int] = []
    with av.open(path) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i >= first + count:
                break
            if i >= first:
                out.append(decode_index(frame.to_ndarray(format="rgb24")))
    return out


def _shown(clip: otio.schema.Clip) -> tuple[str, int, int]:
    """(file, first media frame, count) a clip shows."""
    ref = clip.media_reference
    start = ref.available_range.start_time
    first = round((clip.source_range.start_time - start).rescaled_to(start.rate).value)
    return ref.target_url, first, round(clip.source_range.duration.rescaled_to(start.rate).value)


def _second_cut(project: SampleProject) -> Path:
    """The sample re-cut: a second of black in front (everything ripples 24 frames later, the
    guide track too); A's marker 8 frames shorter at its tail (inside the 8 handles received);
    clip B 14 frames longer at its tail (6 past what was received, whose file ends 4 frames
    later; C and D ripple 14 more);
    a new marker on clip D after the boom-mic range."""
    tl = otio.adapters.read_from_file(str(project.timeline))
    v1, guides = tl.tracks[0], tl.tracks[1]
    for track in (v1, guides):
        track.insert(0, otio.schema.Gap(source_range=tr(0, 24)))
    a, b, d = (
        next(c for c in v1.find_clips() if c.name == n)
        for n in ("A010C004", "B020C001", "D040C003")
    )
    swap = a.markers[0]
    swap.marked_range = TR(
        swap.marked_range.start_time, RT(swap.marked_range.duration.value - 8, 24)
    )
    b.source_range = TR(b.source_range.start_time, RT(b.source_range.duration.value + 14, 24))
    boom = v1.markers[0]
    boom.marked_range = TR(boom.marked_range.start_time + RT(38, 24), boom.marked_range.duration)
    d.markers.append(
        otio.schema.Marker(
            name="aleph: add rain",
            marked_range=TR(d.source_range.start_time + RT(42, 24), RT(24, 24)),
        )
    )
    path = project.folder / "cut_v2.otio"
    otio.adapters.write_to_file(tl, str(path))
    return path


@pytest.fixture()
def emu(tmp_path: Path) -> Iterator[Emulator]:
    """One emulator for every run of the test, as one service would be (a run cut short after
    submitting is collected by the next against the same server)."""
    config = EmulatorConfig(latency=0.1, concurrency=4, storage_dir=tmp_path / "emu", api_key=KEY)
    with Emulator(config) as server:
        yield server


def test_a_second_cut_pays_only_for_what_changed(tmp_path: Path, emu: Emulator) -> None:
    project = make_sample_project(tmp_path / "proj")
    work = tmp_path / "work"
    common = ["--base-url", emu.base_url, "--poll-interval", "0.05", "--handles", str(HANDLES)]
    first = _cli(
        "run",
        str(project.timeline),
        "-o",
        str(tmp_path / "v1.otio"),
        "--work-dir",
        str(work),
        *common,
    )
    assert first.returncode == 0, first.stderr
    ledger = work / "ledger.sqlite"
    assert _tasks(ledger) == 3
    cut2 = _second_cut(project)

    planned = _cli("plan", str(cut2), "--against", str(work), "--handles", str(HANDLES), "--json")
    assert planned.returncode == 0, planned.stderr
    diff = json.loads(planned.stdout)
    rows = [(c["kind"], c["shot"]) for c in diff["changes"]]
    assert rows == [
        ("trimmed", "sh010"),
        ("extended", "sh020"),
        ("moved", "sh030"),
        ("new", "sh040"),
    ]
    by_shot = {c["shot"]: c for c in diff["changes"]}
    assert (
        by_shot["sh020"]["detail"] == "extended by 6 frame(s) at the tail past the frames received"
    )
    # Only the paid rows cost: B is 98 frames + 8 handles before and the 4 its file has after;
    # the new 1 s shot is 8 + 24 + 8 frames, widened to Aleph's 2 s: (110 + 48) / 24 x $0.28.
    assert [c["paid"] for c in diff["changes"]] == [False, True, False, True]
    assert by_shot["sh010"]["estimate_usd"] == 0 and by_shot["sh030"]["estimate_usd"] == 0
    assert diff["estimate_usd"] == pytest.approx((110 + 48) / 24 * 0.28, abs=0.01)
    assert _tasks(ledger) == 3  # plan pays nothing

    out = tmp_path / "v2.otio"
    # Stopped after submitting (as a run cut short would be), then run again: the second
    # invocation finds the two new tasks in the ledger and pays for nothing more.
    second = _cli(
        "run", str(cut2), "-o", str(out), "--against", str(work), "--submit-only", *common
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    assert "trimmed" in second.stderr and "2 shot(s) to pay" in second.stderr
    assert _tasks(ledger) == 5  # B's new version and the new shot, nothing else
    second = _cli("run", str(cut2), "-o", str(out), "--against", str(work), *common)
    assert second.returncode == 0, second.stderr
    assert "0 shot(s) to pay" in second.stderr
    assert _tasks(ledger) == 5
    submitted = [t["taskUUID"] for t in emu.received if t.get("taskType") == "videoInference"]
    assert len(submitted) == len(set(submitted)) == 5  # no task sent twice
    results = {p.name for p in (work / "results").iterdir()}
    assert {"sh010_aleph_v001a.mp4", "sh020_aleph_v001a.mp4", "sh020_aleph_v002a.mp4",
            "sh030_aleph_v001a.mp4", "sh040_aleph_v001a.mp4"} == results  # fmt: skip

    # The trimmed shot is the first cut's result, relinked as a sub-range of it: decoded, its
    # frames are the source frames under it in the new cut, frame for frame.
    written = otio.adapters.read_from_file(str(out))
    versions = [
        c for t in written.video_tracks() if t.name.startswith("ALEPH v") for c in t.find_clips()
    ]
    swap = next(c for c in versions if c.name == "sh010_aleph_v001a")
    file, first_frame, count = _shown(swap)
    assert count == 64 and first_frame == HANDLES  # 72 - 8 frames, after the 8 head handles
    record = swap.range_in_parent()
    under = next(
        c
        for c in written.video_tracks()[0].find_clips()
        if c.range_in_parent().contains(record.start_time)
    )
    src = under.media_reference.target_url
    src_path = src if os.path.isabs(src) else str(out.parent / src)
    src_first = round(
        (under.source_range.start_time - under.media_reference.available_range.start_time).value
        + (record.start_time - under.range_in_parent().start_time).value
    )
    assert _frame_codes(file, first_frame, count) == _frame_codes(src_path, src_first, count)
    # Every version clip sits over its own source frames (B's v002 too).
    assert {c.name for c in versions} >= {
        "sh020_aleph_v002a",
        "sh040_aleph_v001a",
        "sh030_aleph_v001a",
    }

    # A third cut drops B; a fourth brings it back: reinstated, nothing paid.
    tl = otio.adapters.read_from_file(str(cut2))
    for clip in tl.tracks[0].find_clips():
        if clip.name == "B020C001":
            clip.markers.pop()
    cut3 = project.folder / "cut_v3.otio"
    otio.adapters.write_to_file(tl, str(cut3))
    # This time through the Python API: the diff, then the run.
    revision = revise_file(cut3, PlanSettings(handles=HANDLES), work)
    assert [(c.kind, c.name) for c in revision.changes] == [
        ("unchanged", "sh010"),
        ("unchanged", "sh030"),
        ("unchanged", "sh040"),
        ("omitted", "sh020"),
    ]
    assert revision.total == 0
    api = APISettings(base_url=emu.base_url, api_key=KEY, poll_interval=0.05)
    third = run_timeline(cut3, output=tmp_path / "v3.otio", api=api, against=work, handles=HANDLES)
    assert third.summary.exit_code == 0
    fourth = _cli("plan", str(cut2), "--against", str(work), "--handles", str(HANDLES), "--json")
    kinds4 = {c["shot"]: c["kind"] for c in json.loads(fourth.stdout)["changes"]}
    assert kinds4["sh020"] == "reinstated" and json.loads(fourth.stdout)["paid"] == 0
    assert _tasks(ledger) == 5


def test_a_trim_run_once_is_unchanged_in_the_next_cut(tmp_path: Path, before: list[Shot]) -> None:
    trimmed_cut = [shot_clip("B020", 104, 44, "SH020", "make it snow")]
    second = plan(tmp_path, trimmed_cut, "v2")
    changes = classify(second, priors(before[1:2]))
    assert kinds(changes) == [("trimmed", "SH020")]
    # What the ledger holds after that run: the prior id with the trimmed range.
    ledger = revised_shots(changes, second)
    third = classify(plan(tmp_path, trimmed_cut, "v3"), priors(ledger))
    assert kinds(third) == [("unchanged", "SH020")]
    assert third[0].shot is not None and third[0].shot.id == before[1].id
    # Trimmed again, further in: still inside the first cut's received frames.
    fourth = classify(
        plan(tmp_path, [shot_clip("B020", 110, 30, "SH020", "make it snow")], "v4"), priors(ledger)
    )
    assert kinds(fourth) == [("trimmed", "SH020")]
    assert fourth[0].shot is not None
    assert (fourth[0].shot.head_frames, fourth[0].shot.tail_frames) == (18, 16)


@pytest.mark.parametrize("cut2_was", ["planned", "run"])
def test_a_shot_dropped_in_cut_two_and_back_in_cut_three_is_reinstated(
    tmp_path: Path, emu: Emulator, cut2_was: str
) -> None:
    project = make_sample_project(tmp_path / "proj")
    work = tmp_path / "work"
    common = ["--base-url", emu.base_url, "--poll-interval", "0.05", "--handles", str(HANDLES)]
    first = _cli("run", str(project.timeline), "-o", str(tmp_path / "v1.otio"),
                 "--work-dir", str(work), *common)  # fmt: skip
    assert first.returncode == 0, first.stderr
    ledger = work / "ledger.sqlite"
    assert _tasks(ledger) == 3
    # Cut 2 drops B's request; cut 3 has it back, everything a second later.
    tl = otio.adapters.read_from_file(str(project.timeline))
    next(c for c in tl.tracks[0].find_clips() if c.name == "B020C001").markers.pop()
    cut2 = project.folder / "cut_v2.otio"
    otio.adapters.write_to_file(tl, str(cut2))
    tl = otio.adapters.read_from_file(str(project.timeline))
    for track in tl.tracks:
        track.insert(0, otio.schema.Gap(source_range=tr(0, 24)))
    boom = tl.tracks[0].markers[0]  # a track marker: in track time, so it moves with the cut
    boom.marked_range = TR(boom.marked_range.start_time + RT(24, 24), boom.marked_range.duration)
    cut3 = project.folder / "cut_v3.otio"
    otio.adapters.write_to_file(tl, str(cut3))

    if cut2_was == "planned":
        done = _cli("plan", str(cut2), "--against", str(work), "--handles", str(HANDLES), "--json")
    else:
        done = _cli("run", str(cut2), "-o", str(tmp_path / "v2.otio"), "--against", str(work),
                    *common)  # fmt: skip
    assert done.returncode == 0, done.stderr
    planned = _cli("plan", str(cut3), "--against", str(work), "--handles", str(HANDLES), "--json")
    assert planned.returncode == 0, planned.stderr
    diff = json.loads(planned.stdout)
    assert [(c["kind"], c["shot"]) for c in diff["changes"]] == [
        ("moved", "sh010"),
        ("reinstated", "sh020"),
        ("moved", "sh030"),
    ]
    assert diff["paid"] == 0 and diff["estimate_usd"] == 0
    # Planned twice, cut 3 is still measured against cut 2 (not against itself).
    again = _cli("plan", str(cut3), "--against", str(work), "--handles", str(HANDLES), "--json")
    assert json.loads(again.stdout)["changes"] == diff["changes"]

    out = tmp_path / "v3.otio"
    third = _cli("run", str(cut3), "-o", str(out), "--against", str(work), *common)
    assert third.returncode == 0, third.stderr
    assert "0 shot(s) to pay" in third.stderr
    assert _tasks(ledger) == 3  # nothing paid after cut 1
    # sh020 is relinked from the ledger at its new place, one second later, on its own frames.
    written = otio.adapters.read_from_file(str(out))
    relight = next(
        c for t in written.video_tracks() if t.name.startswith("ALEPH v")
        for c in t.find_clips() if c.name == "sh020_aleph_v001a"
    )  # fmt: skip
    file, first_frame, count = _shown(relight)
    record = relight.range_in_parent()
    under = next(
        c
        for c in written.video_tracks()[0].find_clips()
        if c.range_in_parent().contains(record.start_time)
    )
    assert under.name == "B020C001"
    src = under.media_reference.target_url
    src_path = src if os.path.isabs(src) else str(out.parent / src)
    src_first = round(
        (under.source_range.start_time - under.media_reference.available_range.start_time).value
        + (record.start_time - under.range_in_parent().start_time).value
    )
    assert _frame_codes(file, first_frame, count) == _frame_codes(src_path, src_first, count)


def test_a_trim_of_a_shot_still_rendering_waits_for_its_task(tmp_path: Path) -> None:
    # A slow service: each task takes 4 s, every answer 50 ms late.
    config = EmulatorConfig(latency=4.0, concurrency=4, storage_dir=tmp_path / "emu", api_key=KEY)
    with Emulator(config) as emu:
        emu.faults.slow_response = 0.05
        project = make_sample_project(tmp_path / "proj")
        work = tmp_path / "work"
        common = ["--base-url", emu.base_url, "--poll-interval", "0.05", "--handles", str(HANDLES)]
        first = _cli("run", str(project.timeline), "-o", str(tmp_path / "v1.otio"),
                     "--work-dir", str(work), "--submit-only", *common)  # fmt: skip
        assert first.returncode == 0, first.stderr
        ledger = work / "ledger.sqlite"
        assert _tasks(ledger) == 3
        # Cut 2 while the three are rendering: A's marker 8 frames shorter at its tail.
        tl = otio.adapters.read_from_file(str(project.timeline))
        swap = next(c for c in tl.tracks[0].find_clips() if c.name == "A010C004").markers[0]
        swap.marked_range = TR(swap.marked_range.start_time, swap.marked_range.duration - RT(8, 24))
        cut2 = project.folder / "cut_v2.otio"
        otio.adapters.write_to_file(tl, str(cut2))
        planned = _cli("plan", str(cut2), "--against", str(work), "--handles", str(HANDLES),
                       "--json")  # fmt: skip
        diff = json.loads(planned.stdout)
        rows = {c["shot"]: (c["kind"], c["detail"]) for c in diff["changes"]}
        assert rows["sh010"][0] == "trimmed" and "being rendered" in rows["sh010"][1]
        assert diff["paid"] == 0

        # The run of cut 2 is killed while it waits for the tasks, then run again.
        out = tmp_path / "v2.otio"
        env = {**os.environ, "RUNWARE_API_KEY": KEY}
        args = [sys.executable, "-m", "aleph_otio", "run", str(cut2), "-o", str(out),
                "--against", str(work), *common]  # fmt: skip
        killed = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        polled = len(emu.received)
        deadline = time.monotonic() + 60
        while len(emu.received) < polled + 3 and time.monotonic() < deadline:
            time.sleep(0.05)  # until it polls the tasks it attached to
        assert killed.poll() is None, "the run must still be waiting for the tasks"
        killed.kill()
        killed.wait(timeout=30)
        assert not out.exists()
        again = _cli(*args[3:])
        assert again.returncode == 0, again.stderr
        assert "0 shot(s) to pay" in again.stderr
    assert _tasks(ledger) == 3
    submitted = [t["taskUUID"] for t in emu.received if t.get("taskType") == "videoInference"]
    assert len(submitted) == len(set(submitted)) == 3  # the trim never sent a task of its own
    # The trimmed shot is the first cut's task's result, shown as a sub-range of it.
    written = otio.adapters.read_from_file(str(out))
    swap_v = next(
        c for t in written.video_tracks() if t.name.startswith("ALEPH v")
        for c in t.find_clips() if c.name == "sh010_aleph_v001a"
    )  # fmt: skip
    file, first_frame, count = _shown(swap_v)
    assert count == 64 and first_frame == HANDLES
    record = swap_v.range_in_parent()
    under = written.video_tracks()[0][0]
    assert under.name == "A010C004"
    src = under.media_reference.target_url
    src_path = src if os.path.isabs(src) else str(out.parent / src)
    src_first = round(
        (under.source_range.start_time - under.media_reference.available_range.start_time).value
        + (record.start_time - under.range_in_parent().start_time).value
    )
    assert _frame_codes(file, first_frame, count) == _frame_codes(src_path, src_first, count)


def test_a_shot_across_a_cut_trimmed_at_its_ends_is_free_a_moved_cut_point_is_not(
    tmp_path: Path,
) -> None:
    project = make_sample_project(tmp_path / "proj")
    shots = plan_timeline(read_timeline(project.timeline), PlanSettings(handles=HANDLES)).shots
    boom = next(s for s in shots if len(s.segments) == 2)
    first, last = boom.segments

    def cut(head: int, inner_tail: int, inner_head: int, tail: int) -> Shot:
        a = first.model_copy(
            update={
                "media_start_frame": first.media_start_frame + head,
                "media_frame_count": first.media_frame_count - head - inner_tail,
            }
        )
        b = last.model_copy(
            update={
                "media_start_frame": last.media_start_frame + inner_head,
                "media_frame_count": last.media_frame_count - inner_head - tail,
            }
        )
        return boom.model_copy(update={"id": "recut", "segments": [a, b]})

    prior = [Prior(shot=boom, received=True)]
    # Both outer ends in (and one into the handles): the received result, as sub-ranges.
    for head, tail in ((4, 6), (-HANDLES, 2)):
        (change,) = [c for c in classify([cut(head, 0, 0, tail)], prior) if c.kind != "omitted"]
        assert change.kind == "trimmed" and change.shot is not None
        assert change.shot.id == boom.id
        assert (change.shot.head_frames, change.shot.tail_frames) == (
            HANDLES + head,
            HANDLES + tail,
        )
        assert change.shot.frame_count == boom.frame_count  # result frame i is still frame i
    # Past the head handles, or the cut point inside moved: rendered again, and said why.
    (past,) = classify([cut(-HANDLES - 1, 0, 0, 0)], prior)
    assert past.kind == "extended"
    (moved,) = classify([cut(0, 3, 0, 0)], prior)
    assert moved.kind == "extended" and "cut point inside the shot moved" in moved.detail
