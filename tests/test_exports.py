"""NLE-ready outputs: every format written from a real relinked timeline and read back with OTIO.

One real run (sample project, emulator over real sockets, two variations per shot) gives a
relinked timeline with two version tracks and a shot split across a cut. Each format is then
written and read back; every version clip must sit at its original record time and show the
same frames of the same result file as in the relinked timeline (checked on the decoded frames'
code strips where it matters).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import av
import opentimelineio as otio
import pytest

from aleph_otio.api.client import AlephClient
from aleph_otio.config import APISettings, PlanSettings
from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.errors import AlephOtioError, TimelineWriteError
from aleph_otio.exports import edl_paths, reel_names, write_output, write_outputs
from aleph_otio.exports.edl import ReelSource
from aleph_otio.ledger import Ledger
from aleph_otio.media import probe
from aleph_otio.pipeline import RunConfig, run_pipeline
from aleph_otio.relink import relink_timeline
from aleph_otio.sample import make_sample_project
from aleph_otio.synth import decode_index
from aleph_otio.timeline import media_path, read_timeline

KEY = "test-key-not-secret-exports"
RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


@dataclass(frozen=True)
class Run:
    project: Path  # the sample project's folder (relative media paths resolve here)
    relinked: otio.schema.Timeline  # as the pipeline relinked it, before any export fix-up
    work: Path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("exports")
    project = make_sample_project(root / "proj")
    out = root / "out" / "relinked.otio"
    out.parent.mkdir()
    settings = APISettings(base_url="", poll_interval=0.05, poll_max_interval=0.2)
    with Emulator(
        EmulatorConfig(latency=0.2, concurrency=4, storage_dir=root / "emu", api_key=KEY)
    ) as emu:
        settings = APISettings(base_url=emu.base_url, poll_interval=0.05, poll_max_interval=0.2)
        config = RunConfig(
            timeline=project.timeline,
            output=out,
            work_dir=root / "work",
            api_settings=settings,
            plan_settings=PlanSettings(number_results=2),
        )

        async def go() -> int:
            async with AlephClient(api_key=KEY, settings=settings) as client:
                return (await run_pipeline(config, client)).exit_code

        assert asyncio.run(go()) == 0
    # Read the pipeline's own .otio (written into another folder than the project, so its
    # relative source paths are relative to the project: what write_output's media_base is for).
    relinked = otio.adapters.read_from_file(str(out))
    return Run(project=project.folder, relinked=relinked, work=root / "work")


# --- helpers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """What one version clip shows: where (record frames from the timeline start) and what."""

    record_start: int
    record_frames: int
    file: str
    file_first: int  # first frame of the file it shows (0-based)


def _record(clip: otio.schema.Clip, timeline: otio.schema.Timeline) -> otio.opentime.TimeRange:
    # Stack time: for an EDL read this already includes the record start timecode.
    return clip.transformed_time_range(clip.trimmed_range(), timeline.tracks)


def _path(url: str, folder: Path) -> str:
    return os.path.realpath(media_path(url, folder))


def _file_first(clip: otio.schema.Clip, file: str) -> int:
    ref = clip.media_reference
    origin = ref.available_range.start_time if ref.available_range else None
    if origin is None:  # EDL: source timecode counts in the file's own timecode
        origin = RT(probe(file).start_frame, clip.source_range.start_time.rate)
    return round((clip.source_range.start_time - origin).value)


def _version_clips(timeline: otio.schema.Timeline) -> list[otio.schema.Clip]:
    return [c for c in timeline.find_clips() if "_aleph_v" in c.name]


def _shown(timeline: otio.schema.Timeline, folder: Path, *, record_offset: int = 0) -> list[Shown]:
    out = []
    for clip in _version_clips(timeline):
        record = _record(clip, timeline)
        file = _path(clip.media_reference.target_url, folder)
        out.append(
            Shown(
                round(record.start_time.value) - record_offset,
                round(record.duration.value),
                file,
                _file_first(clip, file),
            )
        )
    return sorted(out, key=lambda s: (s.record_start, s.file))


def _expected(run: Run) -> list[Shown]:
    shown = _shown(run.relinked, run.project)
    assert len(shown) == 8, "two variations of four version pieces expected"
    return shown


def _codes(file: str, first: int, count: int) -> list[int]:
    with av.open(file) as container:
        frames = [f for i, f in enumerate(container.decode(video=0)) if first <= i < first + count]
    return [decode_index(f.to_ndarray(format="rgb24")) for f in frames]


def _serialized(timeline: otio.schema.Timeline) -> str:
    return otio.adapters.write_to_string(timeline, "otio_json")


def _global_start(run: Run) -> int:
    return round(run.relinked.global_start_time.value)


# --- OTIO --------------------------------------------------------------------------------------


def test_otio_keeps_everything_and_its_paths_still_resolve_elsewhere(
    run: Run, tmp_path: Path
) -> None:
    before = _serialized(run.relinked)
    out = write_output(run.relinked, tmp_path / "deep" / ".." / "cut.otio", media_base=run.project)
    assert _serialized(run.relinked) == before, "write_output modified its input"
    back = otio.adapters.read_from_file(str(out))
    # Relative source paths were rebased onto the output's folder, and still relative.
    sources = [c.media_reference.target_url for c in back.video_tracks()[0].find_clips()]
    assert all(not os.path.isabs(u) for u in sources), sources
    for clip in back.find_clips():
        assert os.path.isfile(_path(clip.media_reference.target_url, out.parent)), clip.name
    assert _shown(back, out.parent) == _expected(run)
    # OTIO keeps the relink convention: version clips carry the original source range.
    originals = {c.name: c for c in run.relinked.video_tracks()[0].find_clips()}
    for clip in _version_clips(back):
        original = originals[clip.metadata["aleph_otio"]["source_clip"]]
        assert original.source_range.contains(clip.source_range.start_time)
        assert clip.metadata["aleph_otio"]["task_uuid"]


def test_otioz_bundle_opens_from_another_folder(run: Run, tmp_path: Path) -> None:
    out = write_output(run.relinked, tmp_path / "cut.otioz", media_base=run.project)
    moved = tmp_path / "elsewhere" / "cut.otioz"
    moved.parent.mkdir()
    shutil.move(out, moved)
    extracted = tmp_path / "unpacked"
    extracted.mkdir()
    back = otio.adapters.read_from_file(str(moved), extract_to_directory=str(extracted))
    clips = list(back.find_clips())
    assert len(clips) == 4 + 8 + 1  # sources, version pieces, the guide still
    for clip in clips:
        local = _path(clip.media_reference.target_url, extracted)
        assert local.startswith(os.path.realpath(extracted)), f"{clip.name} not bundled"
        assert os.path.isfile(local)
    # Same pictures: the bundled copies decode to the frames the originals show.
    bundled = _shown(back, extracted)
    for want, got in zip(_expected(run), bundled, strict=True):
        assert (got.record_start, got.record_frames, got.file_first) == (
            want.record_start,
            want.record_frames,
            want.file_first,
        )
        assert os.path.basename(got.file) == os.path.basename(want.file)
        assert _codes(got.file, got.file_first, 3) == _codes(want.file, want.file_first, 3)


def test_otioz_refuses_missing_media_naming_the_clip(run: Run, tmp_path: Path) -> None:
    broken = run.relinked.deepcopy()
    clip = next(iter(broken.video_tracks()[0].find_clips()))
    clip.media_reference.target_url = str(tmp_path / "gone.mp4")
    with pytest.raises(TimelineWriteError, match=r"A010C004.*gone\.mp4.*does not exist"):
        write_output(broken, tmp_path / "cut.otioz", media_base=run.project)
    assert not list(tmp_path.iterdir()), "a partial bundle was left behind"


# --- FCP 7 XML ---------------------------------------------------------------------------------


def test_fcp7_xml_imports_with_file_urls_named_tracks_and_right_frames(
    run: Run, tmp_path: Path
) -> None:
    out = write_output(run.relinked, tmp_path / "cut.xml", media_base=run.project)
    root = ET.parse(out).getroot()
    files: dict[str, str | None] = {}
    for file_e in root.iter("file"):
        if file_e.find("pathurl") is None:
            continue  # a back-reference to a <file> written earlier
        url = file_e.findtext("pathurl") or ""
        assert url.startswith("file://localhost/"), url
        assert os.path.isfile(otio.url_utils.filepath_from_url(url)), url
        assert file_e.get("id") not in files.values(), "duplicate file id"
        assert url not in files, "one <file> per media file"
        files[url] = file_e.get("id")
        if "/results/" in url:
            # The <file> timecode is the one the NLE reads from the result file itself.
            tc = file_e.findtext("timecode/frame") or ""
            assert int(tc) == probe(otio.url_utils.filepath_from_url(url)).start_frame
            # What the file holds: picture of the result's size, no audio stream to look for.
            assert file_e.find("media/audio") is None
            assert file_e.findtext("media/video/samplecharacteristics/width") == "320"
    assert len(files) == 4 + 6 + 1  # sources, result files (one per shot and variation), guide
    # The sequence is made in the footage's size, not Premiere's default.
    size = root.find("./project/children/sequence/media/video/format/samplecharacteristics")
    assert size is not None and (size.findtext("width"), size.findtext("height")) == ("320", "180")
    tracks = root.findall("./project/children/sequence/media/video/track")
    names = [t.findtext("name") for t in tracks]
    assert names == ["V1", "ALEPH v001a", "ALEPH v001b", "ALEPH GUIDES"]
    enabled = {t.findtext("name"): t.findtext("enabled") for t in tracks}
    assert enabled["ALEPH GUIDES"] == "FALSE", "the guide stills would cover the results"
    assert enabled["ALEPH v001a"] != "FALSE"

    back = otio.adapters.read_from_file(str(out))
    shown = _shown(back, out.parent)
    assert [(s.record_start, s.record_frames) for s in shown] == [
        (s.record_start, s.record_frames) for s in _expected(run)
    ]
    for got, want in zip(shown, _expected(run), strict=True):
        assert got.file == want.file
        assert _codes(got.file, got.file_first, got.record_frames) == _codes(
            want.file, want.file_first, want.record_frames
        ), "the XML shows other frames than the relinked timeline"


# --- EDL ---------------------------------------------------------------------------------------


_EVENT = re.compile(
    r"^(\d{3})\s+(\S+)\s+V\s+C\s+(\S+) (\S+) (\S+) (\S+)$",
)


def test_edl_one_file_per_version_with_record_tcs_reels_and_conform_comments(
    run: Run, tmp_path: Path
) -> None:
    written = write_outputs(run.relinked, tmp_path / "cut.edl", media_base=run.project)
    assert written == [tmp_path / "cut.edl", tmp_path / "cut_v001b.edl"]
    assert edl_paths(tmp_path / "cut.edl", ["v001a", "v001b"]) == written
    expected = _expected(run)
    start = _global_start(run)
    reels_by_file: dict[str, set[str]] = {}
    for path, variant in zip(written, ("a", "b"), strict=True):
        text = path.read_text()
        assert f"ALEPH v001{variant}" in text.splitlines()[0]
        assert text.splitlines()[1] == "FCM: NON-DROP FRAME"
        events = [line for line in text.splitlines() if _EVENT.match(line)]
        assert len(events) == 4, text
        # Every event carries the conform comments right after it.
        blocks = re.split(r"\n(?=\d{3}\s)", text.split("\n\n", 1)[1].strip())
        for block in blocks:
            lines = block.splitlines()
            reel = _EVENT.match(lines[0]).group(2)
            assert len(reel) <= 8
            name = next(x for x in lines if x.startswith("* FROM CLIP NAME:"))
            assert f"_aleph_v001{variant}" in name
            file = next(x for x in lines if x.startswith("* FROM CLIP:")).split(":", 1)[1].strip()
            assert os.path.isfile(file)
            source = next(x for x in lines if x.startswith("* SOURCE FILE:"))
            assert source == f"* SOURCE FILE: {os.path.basename(file)}"
            aleph = next(x for x in lines if x.startswith("* ALEPH SOURCE:"))
            assert re.fullmatch(r"\* ALEPH SOURCE: [A-D]0\d0C00\d \S+ \S+", aleph), aleph
            reels_by_file.setdefault(file, set()).add(reel)
            assert any(x.startswith("* ALEPH TASK:") for x in lines)
        back = otio.adapters.read_from_file(str(path), rate=24)
        mine = [s for s in expected if s.file.endswith(f"_aleph_v001{variant}.mp4")]
        # Record timecodes are the original ranges', timeline start included.
        assert _shown(back, tmp_path, record_offset=start) == mine
    # One reel per result file, unique across both EDLs.
    assert all(len(r) == 1 for r in reels_by_file.values()), reels_by_file
    all_reels = [next(iter(r)) for r in reels_by_file.values()]
    assert len(set(all_reels)) == len(all_reels) == 6


def test_an_earlier_runs_extra_version_edls_are_removed_but_not_other_files(
    run: Run, tmp_path: Path
) -> None:
    # An earlier run with three variations wrote cut_v001c.edl; this one has two.
    first = write_outputs(run.relinked, tmp_path / "cut.edl", media_base=run.project)
    stale = tmp_path / "cut_v001c.edl"
    stale.write_text(first[1].read_text())
    foreign = tmp_path / "cut_v002.edl"  # same naming, not written by aleph-otio
    foreign.write_text("TITLE: someone else's\n")
    other = tmp_path / "other_v001c.edl"
    other.write_text(first[1].read_text())
    again = write_outputs(run.relinked, tmp_path / "cut.edl", media_base=run.project)
    assert again == first
    assert not stale.exists()
    assert foreign.read_text() == "TITLE: someone else's\n"
    assert other.exists()


def test_line_breaks_in_names_cannot_forge_edl_lines(run: Run, tmp_path: Path) -> None:
    forged = "999  EVIL     V     C        00:00:00:00 00:00:01:00 00:00:00:00 00:00:01:00"
    timeline = run.relinked.deepcopy()
    timeline.name = f"cut\n{forged}"
    clip = _version_clips(timeline)[0]
    clip.name = f"A\r\n{forged}\n* x"
    clip.metadata["aleph_otio"]["prompt"] = f"swap\n{forged}"
    clip.markers.append(otio.schema.Marker(name=f"m\n{forged}", marked_range=clip.source_range))
    for path in write_outputs(timeline, tmp_path / "cut.edl", media_base=run.project):
        lines = path.read_text().splitlines()
        assert not [x for x in lines if x.startswith("999")], path.read_text()
        assert len([x for x in lines if _EVENT.match(x)]) == 4
    # A media path with a line break cannot be written at all: refused, naming the clip.
    clip.media_reference.target_url = str(tmp_path / "a\nb.mp4")
    with pytest.raises(TimelineWriteError, match=r"line break"):
        write_outputs(timeline, tmp_path / "bad.edl", media_base=run.project)
    assert not list(tmp_path.glob("bad*"))


def test_reel_names_are_short_unique_and_keep_variation_numbers() -> None:
    names = reel_names(
        ["/r/711a86b3f691_36536da9_0.mp4", "/r/711a86b3f691_36536da9_1.mp4", "/s/A010C004.mov"]
    )
    assert names == {
        "/r/711a86b3f691_36536da9_0.mp4": "711a86b0",
        "/r/711a86b3f691_36536da9_1.mp4": "711a86b1",
        "/s/A010C004.mov": "A010C004",
    }
    many = reel_names([f"/x/{d}/take.mp4" for d in range(12)])
    assert len(set(many.values())) == 12 and all(len(n) <= 8 for n in many.values())


def test_result_reels_come_from_shot_names_and_two_shots_never_share_one() -> None:
    shots = {
        "/r/x1.mp4": ReelSource("SQ010_SH020", 1, 0),
        "/r/x2.mp4": ReelSource("SQ020_SH020", 1, 0),  # the same end as the first: SH020
        "/r/x3.mp4": ReelSource("SQ010_SH020", 2, 0),
        "/r/x4.mp4": ReelSource("sh010", 1, 1),
        "/r/x5.mp4": ReelSource("SQ030_SH040", 1, 0),
        "/r/x6.mp4": ReelSource("LONG_NAME_SH050", 3, 2),
    }
    files = [*shots, "/s/A010C004.mov", "/s/SH040v1a.mov"]
    names = reel_names(files, shots=shots)
    assert names == {
        "/r/x1.mp4": "SQ010v1a",
        "/r/x2.mp4": "SQ020v1a",
        "/r/x3.mp4": "SQ010v2a",  # every version of a shot keeps the same form
        "/r/x4.mp4": "sh010v1b",
        "/r/x5.mp4": "H040v1a1",  # a camera file already has SH040v1a: the result gives way
        "/r/x6.mp4": "SH050v3c",
        "/s/A010C004.mov": "A010C004",
        "/s/SH040v1a.mov": "SH040v1a",
    }
    assert all(len(n) <= 8 for n in names.values())
    assert len(set(names.values())) == len(names)
    # Many shots whose names end alike: still one reel each.
    many = {f"/r/{i}.mp4": ReelSource(f"SEQ{i:02d}_SH010", 1, 0) for i in range(30)}
    reels = reel_names(list(many), shots=many)
    assert len(set(reels.values())) == 30 and all(len(n) <= 8 for n in reels.values())


# --- reference / replace relinks ---------------------------------------------------------------


def _picture(
    timeline: otio.schema.Timeline, track_names: list[str], folder: Path, record_offset: int
) -> list[tuple[str, int]]:
    """(file, file frame) shown at each record frame, the first listed track that has a clip."""
    out: dict[int, tuple[str, int]] = {}
    for track in timeline.video_tracks():
        if track.name not in track_names:
            continue
        for clip in track.find_clips():
            record = _record(clip, timeline)
            file = _path(clip.media_reference.target_url, folder)
            first = _file_first(clip, file)
            start = round(record.start_time.value) - record_offset
            for i in range(round(record.duration.value)):
                out.setdefault(start + i, (file, first + i))
        if out:
            break
    return [out[f] for f in sorted(out)]


@pytest.mark.parametrize("mode", ["reference", "replace"])
@pytest.mark.parametrize("suffix", ["edl", "xml"])
def test_reference_and_replace_relinks_split_clips_around_the_result(
    run: Run, tmp_path: Path, mode: str, suffix: str
) -> None:
    # Relink the same results in place on V1: a clip then shows the result over the marked
    # range only, and one file per clip needs it split into original / result / original.
    source = read_timeline(run.project / "sample.otio")
    with Ledger(run.work / "ledger.sqlite") as ledger:
        results = ledger.relink_results()
    relinked = relink_timeline(source.timeline, results, mode=mode)  # type: ignore[arg-type]
    out = write_output(relinked, tmp_path / f"cut.{suffix}", media_base=run.project)
    back = otio.adapters.read_from_file(str(out), **({"rate": 24} if suffix == "edl" else {}))
    offset = _global_start(run) if suffix == "edl" else 0
    got = _picture(back, [back.video_tracks()[0].name], tmp_path, offset)
    # The same picture as the version relink: v001a over V1, frame for frame.
    want_top = {f: v for f, v in enumerate(_picture(run.relinked, ["V1"], run.project, 0))}
    version = {}
    for clip in run.relinked.find_clips():
        if clip.name.endswith("_aleph_v001a"):
            record = _record(clip, run.relinked)
            file = _path(clip.media_reference.target_url, run.project)
            first = _file_first(clip, file)
            for i in range(round(record.duration.value)):
                version[round(record.start_time.value) + i] = (file, first + i)
    want = [version.get(f, want_top[f]) for f in sorted(want_top)]
    assert len(got) == len(want) == 360
    assert got == want
    assert len(version) == 72 + 84 + 72


# --- FCPXML and AAF ----------------------------------------------------------------------------


def _only_timeline(obj: object) -> otio.schema.Timeline:
    if isinstance(obj, otio.schema.Timeline):
        return obj
    found = [t for t in obj.find_children() if isinstance(t, otio.schema.Timeline)]  # type: ignore[attr-defined]
    assert len(found) == 1
    return found[0]


@pytest.mark.parametrize("suffix", ["fcpxml", "aaf"])
def test_fcpxml_and_aaf_read_back_with_every_version_in_place(
    run: Run, tmp_path: Path, suffix: str
) -> None:
    out = write_output(run.relinked, tmp_path / f"cut.{suffix}", media_base=run.project)
    back = _only_timeline(otio.adapters.read_from_file(str(out)))
    got = _shown(back, tmp_path)
    want = _expected(run)
    assert [(s.record_start, s.record_frames, s.file, s.file_first) for s in got] == [
        (s.record_start, s.record_frames, s.file, s.file_first) for s in want
    ]
    starts = set()
    for clip in _version_clips(back):
        # Result references carry the result file's own timecode: the source timecode the
        # pipeline stamped into it (so an NLE linking the file by timecode lands on the frames).
        file = _path(clip.media_reference.target_url, tmp_path)
        start = clip.media_reference.available_range.start_time.value
        assert start == probe(file).start_frame
        starts.add(start)
    assert 0 not in starts
    if suffix == "aaf":
        import aaf2

        with aaf2.open(str(out), "r") as f:
            masters = list(f.content.mastermobs())
        # 4 sources + 6 result files + 1 guide still: one master clip per file (the shot
        # across a cut shares its result file between two pieces).
        assert len(masters) == 11


def test_fcpxml_at_23976_is_refused_with_what_to_use_instead(tmp_path: Path) -> None:
    rate = 24000 / 1001
    timeline = otio.schema.Timeline(name="ntsc")
    track = otio.schema.Track(name="V1")
    timeline.tracks.append(track)
    track.append(
        otio.schema.Clip(
            name="A001",
            media_reference=otio.schema.ExternalReference(
                target_url=str(tmp_path / "a.mov"), available_range=TR(RT(0, rate), RT(96, rate))
            ),
            source_range=TR(RT(0, rate), RT(48, rate)),
        )
    )
    with pytest.raises(TimelineWriteError, match=r"23\.976 fps.*A001.*\.xml"):
        write_output(timeline, tmp_path / "cut.fcpxml")
    assert not list(tmp_path.glob("*cut*")), "a partial file was left behind"
    # The same timeline is fine as FCP 7 XML.
    assert write_output(timeline, tmp_path / "cut.xml").is_file()


def test_unknown_suffix_is_a_user_error(run: Run, tmp_path: Path) -> None:
    with pytest.raises(AlephOtioError, match=r"\.mov.*no timeline adapter"):
        write_output(run.relinked, tmp_path / "cut.mov")
