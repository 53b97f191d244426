"""Versions kept side by side, and a shot across a cut trimmed inside what was received.

One sample project, run twice against one emulator: the second cut changes the swap shot's
prompt (its v002, paid) and trims the boom-mic shot across the C/D cut at both outer ends
(inside the frames received: relinked as sub-ranges, nothing paid). Every written format is read
back: v001 stays beside v002, each on the source frames under it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import opentimelineio as otio
import pytest

from aleph_otio.config import APISettings, PlanSettings
from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.exports import write_outputs
from aleph_otio.media import probe
from aleph_otio.sample import make_sample_project
from aleph_otio.scripting import revise_file, run_timeline
from aleph_otio.synth import decode_index
from aleph_otio.timeline import media_path

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange
KEY = "test-key-versions-not-secret"
HANDLES = 8
NEW_PROMPT = "swap the can for a green bottle"


@dataclass(frozen=True)
class Runs:
    project: Path
    work: Path
    cut2: Path
    out: Path  # the second run's .otio
    tasks_after_first: int
    tasks_after_second: int
    kinds: dict[str, str]


def _tasks(ledger: Path) -> int:
    with sqlite3.connect(ledger) as db:
        return int(
            db.execute("SELECT count(*) FROM tasks WHERE submitted_at IS NOT NULL").fetchone()[0]
        )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    root = tmp_path_factory.mktemp("versions")
    project = make_sample_project(root / "proj")
    work = root / "work"
    config = EmulatorConfig(latency=0.1, concurrency=4, storage_dir=root / "emu", api_key=KEY)
    with Emulator(config) as emu:
        api = APISettings(base_url=emu.base_url, api_key=KEY, poll_interval=0.05)
        first = run_timeline(
            project.timeline, output=root / "v1.otio", api=api, work_dir=work, handles=HANDLES
        )
        assert first.summary.exit_code == 0
        after_first = _tasks(work / "ledger.sqlite")
        tl = otio.adapters.read_from_file(str(project.timeline))
        v1 = tl.tracks[0]
        swap = next(c for c in v1.find_clips() if c.name == "A010C004").markers[0]
        swap.name = f"aleph: {NEW_PROMPT}"
        boom = v1.markers[0]
        # 4 frames off the head of clip C's part, 6 off the tail of clip D's: inside.
        boom.marked_range = TR(
            boom.marked_range.start_time + RT(4, 24), boom.marked_range.duration - RT(10, 24)
        )
        cut2 = project.folder / "cut_v2.otio"
        otio.adapters.write_to_file(tl, str(cut2))
        revision = revise_file(cut2, PlanSettings(handles=HANDLES), work)
        kinds = {c.name: c.kind for c in revision.changes}
        out = root / "v2.otio"
        second = run_timeline(cut2, output=out, api=api, against=work, handles=HANDLES)
        assert second.summary.exit_code == 0
        yield Runs(
            project=project.folder,
            work=work,
            cut2=cut2,
            out=out,
            tasks_after_first=after_first,
            tasks_after_second=_tasks(work / "ledger.sqlite"),
            kinds=kinds,
        )


def _codes(file: str, first: int, count: int) -> list[int]:
    with av.open(file) as container:
        frames = [f for i, f in enumerate(container.decode(video=0)) if first <= i < first + count]
    return [decode_index(f.to_ndarray(format="rgb24")) for f in frames]


def _file(url: str, folder: Path) -> str:
    return os.path.realpath(media_path(url, folder))


def _first_frame(clip: otio.schema.Clip, file: str) -> int:
    """The file's frame (0-based) a clip starts on."""
    ref = clip.media_reference
    origin = ref.available_range.start_time if ref.available_range else None
    if origin is None:  # EDL: source timecode counts in the file's own timecode
        origin = RT(probe(file).start_frame, clip.source_range.start_time.rate)
    return round((clip.source_range.start_time - origin).rescaled_to(origin.rate).value)


@dataclass(frozen=True)
class Shown:
    track: str
    name: str
    record_start: int
    frames: int
    file: str
    first: int


def _shown(timeline: otio.schema.Timeline, folder: Path, offset: int = 0) -> list[Shown]:
    out = []
    for track in timeline.video_tracks():
        for clip in track.find_clips():
            if "_aleph_v" not in clip.name:
                continue
            record = clip.transformed_time_range(clip.trimmed_range(), timeline.tracks)
            file = _file(clip.media_reference.target_url, folder)
            out.append(
                Shown(
                    track.name,
                    clip.name,
                    round(record.start_time.value) - offset,
                    round(record.duration.value),
                    file,
                    _first_frame(clip, file),
                )
            )
    return sorted(out, key=lambda s: (s.name, s.record_start))


def _source_codes(timeline: otio.schema.Timeline, folder: Path, at: int, count: int) -> list[int]:
    """Code-strip indices of the source frames V1 shows from record frame ``at``."""
    codes: list[int] = []
    v1 = timeline.video_tracks()[0]
    for frame in range(at, at + count):
        clip = next(
            c
            for c in v1.find_clips()
            if c.range_in_parent().start_time.value
            <= frame
            < c.range_in_parent().end_time_exclusive().value
        )
        file = _file(clip.media_reference.target_url, folder)
        into = frame - round(clip.range_in_parent().start_time.value)
        codes += _codes(file, _first_frame(clip, file) + into, 1)
    return codes


def test_second_cut_pays_only_the_new_version_and_trims_the_shot_across_the_cut(
    runs: Runs,
) -> None:
    assert runs.kinds == {"sh010": "changed", "sh020": "unchanged", "sh030": "trimmed"}
    assert runs.tasks_after_first == 3
    assert runs.tasks_after_second == 4  # sh010's v002 only; the trim across the cut is free
    written = otio.adapters.read_from_file(str(runs.out))
    tracks = [t.name for t in written.video_tracks()]
    assert tracks[:3] == ["V1", "ALEPH v001", "ALEPH v002"]
    shown = _shown(written, runs.out.parent)
    swap = [s for s in shown if s.name.startswith("sh010")]
    # v001 kept beside v002: one track each, at the same record place, on the same frames.
    assert [(s.track, s.name) for s in swap] == [
        ("ALEPH v001", "sh010_aleph_v001a"),
        ("ALEPH v002", "sh010_aleph_v002a"),
    ]
    assert len({(s.record_start, s.frames, s.first) for s in swap}) == 1
    # Every piece shows, decoded, the source frames under it: the trimmed shot across the cut
    # (two pieces of one file) too, 4 + 6 frames shorter than the first cut's 72.
    boom = [s for s in shown if s.name.startswith("sh030")]
    assert len(boom) == 2 and sum(s.frames for s in boom) == 72 - 10
    assert boom[0].first == HANDLES + 4  # the head handles grew by the 4 frames trimmed
    for s in shown:
        assert _codes(s.file, s.first, s.frames) == _source_codes(
            written, runs.out.parent, s.record_start, s.frames
        ), s


@pytest.mark.parametrize("suffix", ["xml", "fcpxml", "aaf", "otioz"])
def test_every_version_track_survives_each_format(runs: Runs, tmp_path: Path, suffix: str) -> None:
    relinked = otio.adapters.read_from_file(str(runs.out))
    want = [
        (s.track, s.name, s.record_start, s.frames, s.first)
        for s in _shown(relinked, runs.out.parent)
    ]
    (path,) = write_outputs(relinked, tmp_path / f"cut.{suffix}", media_base=runs.out.parent)
    (tmp_path / "x").mkdir()
    kwargs = {"extract_to_directory": str(tmp_path / "x")} if suffix == "otioz" else {}
    back = otio.adapters.read_from_file(str(path), **kwargs)
    if not isinstance(back, otio.schema.Timeline):
        back = next(t for t in back.find_children() if isinstance(t, otio.schema.Timeline))
    folder = tmp_path / "x" if suffix == "otioz" else tmp_path
    got = _shown(back, folder)
    # FCPXML and AAF do not carry track names: the version is in the clip (file) name.
    named = suffix in ("xml", "otioz")
    assert [(s.track if named else "", s.name, s.record_start, s.frames, s.first) for s in got] == [
        (t if named else "", n, r, f, first) for t, n, r, f, first in want
    ]
    assert {Path(s.file).name for s in got} >= {"sh010_aleph_v001a.mp4", "sh010_aleph_v002a.mp4"}


def test_edl_writes_one_file_per_version(runs: Runs, tmp_path: Path) -> None:
    relinked = otio.adapters.read_from_file(str(runs.out))
    written = write_outputs(relinked, tmp_path / "cut.edl", media_base=runs.out.parent)
    assert [p.name for p in written] == ["cut.edl", "cut_v002.edl"]
    start = round(relinked.global_start_time.value)
    v1, v2 = (otio.adapters.read_from_file(str(p), rate=24) for p in written)
    one = [s for s in _shown(v1, tmp_path, start) if s.name.startswith("sh010")]
    two = [s for s in _shown(v2, tmp_path, start) if s.name.startswith("sh010")]
    assert [Path(s.file).name for s in one] == ["sh010_aleph_v001a.mp4"]
    assert [Path(s.file).name for s in two] == ["sh010_aleph_v002a.mp4"]
    # Reels are the shot's name, version and variation (CMX 3600: 8 characters), one per file:
    # the shot across the cut is two events of one reel.
    reels = {
        p.name: [line.split()[1] for line in p.read_text().splitlines() if line[:3].isdigit()]
        for p in written
    }
    assert reels["cut_v002.edl"] == ["sh010v2a"]
    assert reels["cut.edl"] == ["sh010v1a", "sh020v1a", "sh030v1a", "sh030v1a"]
    assert (one[0].record_start, one[0].frames, one[0].first) == (
        two[0].record_start,
        two[0].frames,
        two[0].first,
    )


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aleph_otio", *args], capture_output=True, text=True, timeout=300
    )


def test_reference_mode_keeps_each_version_as_a_reference_and_replace_keeps_one(
    runs: Runs, tmp_path: Path
) -> None:
    ledger = runs.work / "ledger.sqlite"

    def swap_clip(path: Path) -> otio.schema.Clip:
        written = otio.adapters.read_from_file(str(path))
        return next(c for c in written.tracks[0].find_clips() if c.name == "A010C004")

    out = tmp_path / "ref.otio"
    done = _cli("relink", str(runs.cut2), "-o", str(out), "--ledger", str(ledger), "--relink",
                "reference")  # fmt: skip
    assert done.returncode == 0, done.stderr
    clip = swap_clip(out)
    refs = clip.media_references()
    assert {k for k in refs if k.startswith("aleph_")} == {"aleph_v001", "aleph_v002"}
    assert clip.active_media_reference_key == "aleph_v002"  # the latest
    assert Path(refs["aleph_v001"].target_url).name == "sh010_aleph_v001a.mp4"
    assert refs["aleph_v001"].available_range == refs["aleph_v002"].available_range

    done = _cli("relink", str(runs.cut2), "-o", str(out), "--ledger", str(ledger), "--relink",
                "reference", "--version", "1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert swap_clip(out).active_media_reference_key == "aleph_v001"
    # An NLE file holds one file per clip: the active version.
    xml = tmp_path / "ref.xml"
    done = _cli("relink", str(runs.cut2), "-o", str(xml), "--ledger", str(ledger), "--relink",
                "reference", "--version", "1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = xml.read_text()
    assert "sh010_aleph_v001a.mp4" in text and "sh010_aleph_v002a.mp4" not in text

    for version, kept, dropped in (("2", "v002", "v001"), ("1", "v001", "v002")):
        rep = tmp_path / f"rep{version}.otio"
        done = _cli("relink", str(runs.cut2), "-o", str(rep), "--ledger", str(ledger),
                    "--relink", "replace", "--version", version)  # fmt: skip
        assert done.returncode == 0, done.stderr
        clip = swap_clip(rep)
        assert Path(clip.media_reference.target_url).name == f"sh010_aleph_{kept}a.mp4"
        assert dropped not in str(clip.media_references().keys())
        assert clip.metadata["aleph_otio"]["other_versions"][0].endswith(f"{dropped}a.mp4")
    assert _tasks(ledger) == runs.tasks_after_second  # relinking never pays
