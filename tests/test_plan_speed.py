"""The .otio fast path of read_timeline's time checks refuses exactly what the full walk does.

read_timeline skips walking every item when the JSON text shows only finite numbers and
positive rates; these tests write impossible times the way a hand-edited or foreign file could
spell them and check each is still refused with the walk's message.
"""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio
import pytest

from aleph_otio.errors import TimelineReadError
from aleph_otio.timeline import read_timeline
from aleph_otio.timeline.sanity import json_times_plausible as _json_times_plausible

RT = otio.opentime.RationalTime
TR = otio.opentime.TimeRange


def _clean_text() -> str:
    timeline = otio.schema.Timeline(name="cut")
    track = otio.schema.Track(name="V1")
    clip = otio.schema.Clip(
        name="A001",
        media_reference=otio.schema.ExternalReference(
            target_url="a.mov", available_range=TR(RT(0, 25), RT(500, 25))
        ),
        source_range=TR(RT(10, 25), RT(77, 25)),
    )
    clip.effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))
    track.append(clip)
    timeline.tracks.append(track)
    text = otio.adapters.write_to_string(timeline)
    assert '"value": 77.0' in text and '"rate": 25.0' in text and '"time_scalar": 2.0' in text
    return text


def test_clean_file_takes_the_fast_path(tmp_path: Path) -> None:
    path = tmp_path / "cut.otio"
    path.write_text(_clean_text())
    assert _json_times_plausible(path)
    loaded = read_timeline(path)
    assert loaded.timeline.find_clips()[0].name == "A001"


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        ('"value": 77.0', '"value": NaN', "clip A001 has an impossible time (nan at rate 25)"),
        ('"value": 77.0', '"value": -Infinity', "clip A001 has an impossible time (-inf"),
        ('"value": 77.0', '"value": Inf', "clip A001 has an impossible time (inf"),
        ('"rate": 25.0', '"rate": -0.0', "has an impossible time"),
        ('"rate": 25.0', '"rate": 1e-400', "has an impossible time"),
        ('"rate": 25.0', '"rate": 9223372036854775808', "has an impossible time"),
        ('"rate": 25.0', '"r\\u0061te": 0', "has an impossible time"),
        ('"time_scalar": 2.0', '"time_scalar": NaN', "clip A001 has an impossible speed (nan)"),
        ('"time_scalar": 2.0', '"time_scalar": -Inf', "clip A001 has an impossible speed (-inf)"),
    ],
)
def test_impossible_times_in_json_text_are_still_refused(
    tmp_path: Path, old: str, new: str, expect: str
) -> None:
    path = tmp_path / "cut.otio"
    path.write_text(_clean_text().replace(old, new, 1))
    assert not _json_times_plausible(path)
    with pytest.raises(TimelineReadError) as info:
        read_timeline(path)
    assert "cut.otio: " in str(info.value) and expect in str(info.value)


@pytest.mark.parametrize(
    ("spelling", "plausible"),
    [
        ('"rate":25.0', True),
        ('"rate" :\n 25', True),
        ('"rate": 0.5', True),
        ('"rate": 1234567.0', True),
        ('"rate": 0.0', False),
        ('"rate":-25.0', False),
        ('"rate": 25e-999', False),
        ('"rate": 0e5', False),
    ],
)
def test_rate_spellings_only_skip_the_walk_when_positive(
    tmp_path: Path, spelling: str, plausible: bool
) -> None:
    path = tmp_path / "cut.otio"
    path.write_text(_clean_text().replace('"rate": 25.0', spelling))
    assert _json_times_plausible(path) is plausible


def test_a_name_with_capital_n_or_a_backslash_still_takes_the_fast_path(tmp_path: Path) -> None:
    path = tmp_path / "cut.otio"
    path.write_text(_clean_text().replace('"A001"', '"NIGHT \\\\ EXT"'))
    assert _json_times_plausible(path)
    assert read_timeline(path).timeline.find_clips()[0].name == "NIGHT \\ EXT"
