"""A plate's image sequence at a path relative to its timeline still resolves from the output.

Hiero and AYON write plates as ``ImageSequenceReference`` with a folder (``target_url_base``)
that may be relative to the timeline (``plates/SH010/``). An ``.otio`` written elsewhere must
keep it relative but to its own folder, and NLE formats (which hold one file per clip) get the
absolute path of the first file, like every other relative media path.
"""

from __future__ import annotations

import os
from pathlib import Path

import opentimelineio as otio
from plates import write_sequence

from aleph_otio.exports import write_output

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


def _cut(project: Path) -> otio.schema.Timeline:
    write_sequence(project / "plates" / "SH010", "SH010_plate", 1001, 48)
    seq = otio.schema.ImageSequenceReference(
        target_url_base="plates/SH010/",
        name_prefix="SH010_plate.",
        name_suffix=".exr",
        start_frame=1001,
        frame_zero_padding=4,
        rate=24,
        available_range=TR(RT(86400, 24), RT(48, 24)),
    )
    clip = otio.schema.Clip(
        name="SH010", media_reference=seq, source_range=TR(RT(86400, 24), RT(48, 24))
    )
    timeline = otio.schema.Timeline(name="plates")
    timeline.tracks.append(otio.schema.Track(name="V1", children=[clip]))
    return timeline


def _first_file(ref: otio.schema.ImageSequenceReference, folder: Path) -> Path:
    url = ref.target_url_for_image_number(0)  # the first file (1001)
    local = otio.url_utils.filepath_from_url(url) if url.startswith("file:") else url
    return Path(local) if os.path.isabs(local) else folder / local


def test_otio_elsewhere_keeps_the_sequence_relative_to_itself(tmp_path: Path) -> None:
    project = tmp_path / "show" / "edit"
    timeline = _cut(project)
    (tmp_path / "conform" / "v2").mkdir(parents=True)
    out = write_output(timeline, tmp_path / "conform" / "v2" / "cut.otio", media_base=project)
    (clip,) = otio.adapters.read_from_file(str(out)).find_clips()
    ref = clip.media_reference
    assert isinstance(ref, otio.schema.ImageSequenceReference)
    assert ref.target_url_base == "../../show/edit/plates/SH010/"
    assert _first_file(ref, out.parent).resolve() == (
        project / "plates" / "SH010" / "SH010_plate.1001.exr"
    )
    # The input timeline is not touched.
    (original,) = timeline.find_clips()
    assert original.media_reference.target_url_base == "plates/SH010/"


def test_fcp7_xml_names_the_first_file_by_its_absolute_path(tmp_path: Path) -> None:
    project = tmp_path / "show" / "edit"
    (tmp_path / "conform").mkdir()
    out = write_output(_cut(project), tmp_path / "conform" / "cut.xml", media_base=project)
    (clip,) = otio.adapters.read_from_file(str(out)).find_clips()
    url = clip.media_reference.target_url
    assert otio.url_utils.filepath_from_url(url) == str(
        project / "plates" / "SH010" / "SH010_plate.1001.exr"
    )
