"""Colour management with OpenColorIO, checked against OCIO applied directly to the same pixels.

Test plates are made here: a synthetic scene-linear picture (a neutral ramp over 16 stops,
chart-like patches at three exposures, a hue sweep, a specular highlight at 40x diffuse white)
encoded to ARRI LogC3 or kept as ACEScg by OCIO itself, never downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
import PyOpenColorIO as ocio
import pytest
from edits import write_marked_clip

from aleph_otio.config import ColourSettings, PlanSettings
from aleph_otio.errors import ConfigError
from aleph_otio.media import extract_still, prepare_shot, probe
from aleph_otio.media.colour import ColourStep, exact_processor
from aleph_otio.media.colour.config import config_source, load_config
from aleph_otio.media.colour.returns import return_to_source
from aleph_otio.pipeline import plan_file
from aleph_otio.shots import ShotColour, SourceSegment, TaskOptions, shot_id

STUDIO = "ocio://studio-config-latest"
LOGC = "ARRI LogC3 (EI800)"
DISPLAY = "Rec.1886 Rec.709 - Display"
VIEW = "ACES 2.0 - SDR 100 nits (Rec.709)"
#: Linear sRGB values of chart-like patches (about a ColorChecker's), exposed 1x, 2x, 3x.
PATCHES = [
    (0.17, 0.09, 0.06), (0.55, 0.32, 0.23), (0.12, 0.19, 0.33), (0.10, 0.15, 0.06),
    (0.24, 0.22, 0.43), (0.13, 0.51, 0.41), (0.68, 0.20, 0.03), (0.07, 0.10, 0.39),
    (0.53, 0.08, 0.12), (0.10, 0.04, 0.14), (0.34, 0.50, 0.04), (0.75, 0.37, 0.02),
    (0.88, 0.88, 0.85), (0.58, 0.59, 0.59), (0.36, 0.36, 0.36), (0.19, 0.19, 0.19),
    (0.09, 0.09, 0.09), (0.03, 0.03, 0.03),
]  # fmt: skip


def scene(height: int, width: int) -> np.ndarray:
    """Scene-linear Rec.709 RGB: ramp, patches, hue sweep, highlight."""
    img = np.zeros((height, width, 3), np.float32)
    x = np.linspace(0, 1, width, dtype=np.float32)
    q = height // 4
    img[:q] = (2.0 ** (x * 16 - 10))[None, :, None]
    ph, pw = q * 2 // 3, width // 6
    for i, patch in enumerate(PATCHES):
        row, col = divmod(i, 6)
        img[q + row * ph : q + (row + 1) * ph, col * pw : (col + 1) * pw] = np.multiply(
            patch, 1 + col % 3
        )
    hue = x * 2 * np.pi
    sweep = np.stack([np.cos(hue), np.cos(hue - 2.1), np.cos(hue + 2.1)], -1)
    img[3 * q :] = (0.18 * (1 + 0.6 * sweep))[None]
    img[3 * q : 3 * q + q // 2, width // 3 : width // 3 + width // 8] = (40.0, 36.0, 30.0)
    return img


def plate(space: str, height: int = 270, width: int = 480) -> np.ndarray:
    """The scene in ``space`` as OCIO encodes it; log plates kept to 0-1, as a file holds them."""
    pixels = scene(height, width)
    config = load_config(STUDIO)
    config.getProcessor("Linear Rec.709 (sRGB)", space).getDefaultCPUProcessor().applyRGB(pixels)
    return pixels if space == "ACEScg" else np.clip(pixels, 0.0, 1.0)


def colour(space: str = LOGC, **extra: object) -> ShotColour:
    fields: dict[str, object] = {
        "config": STUDIO,
        "config_id": load_config(STUDIO).getName(),
        "input_colorspace": space,
        "working_colorspace": space,
        "display": DISPLAY,
        "view": VIEW,
    }
    fields.update(extra)
    return ShotColour(**fields)  # type: ignore[arg-type]


def exact(pipeline: ShotColour, pixels: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(pixels, np.float32).copy()
    exact_processor(pipeline).applyRGB(out)
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((np.clip(a, 0, 1) - np.clip(b, 0, 1)) ** 2)))


# --- the transform is OCIO's -----------------------------------------------------------------


def test_the_pipeline_is_ocios_own_display_view_on_a_logc_plate() -> None:
    pixels = plate(LOGC)
    direct = pixels.copy()
    config = load_config(STUDIO)
    config.getProcessor(
        LOGC, DISPLAY, VIEW, ocio.TRANSFORM_DIR_FORWARD
    ).getDefaultCPUProcessor().applyRGB(direct)
    assert np.array_equal(exact(colour(), pixels), direct)
    # And it is a real change: log mid-grey (about 0.39) comes out near display mid-grey.
    assert not np.allclose(direct, pixels, atol=0.05)


@pytest.mark.parametrize(("space", "floor_db"), [(LOGC, 60.0), ("ACEScg", 55.0)])
def test_the_baked_lut_matches_the_exact_processor(space: str, floor_db: float) -> None:
    """The fast path against OCIO's exact CPU processor, same pixels: far above 45 dB."""
    pixels = plate(space)
    if space == "ACEScg":
        assert pixels.max() > 30.0  # the highlight really is far above 1.0
    pipeline = colour(space)
    fast = ColourStep(pipeline, pixels.shape[1], pixels.shape[0]).apply_array(pixels)
    reference = exact(pipeline, pixels)
    assert psnr(fast, reference) >= max(45.0, floor_db)
    # Worst pixel within 2.5 code values of 8-bit video: invisible once encoded for Aleph.
    assert np.abs(np.clip(fast, 0, 1) - np.clip(reference, 0, 1)).max() < 2.5 / 255


def test_the_cdl_is_applied_in_the_working_space_before_the_view(tmp_path: Path) -> None:
    ccc = tmp_path / "grade.ccc"
    ccc.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ColorCorrectionCollection xmlns="urn:ASC:CDL:v1.01">\n'
        ' <ColorCorrection id="A010C004">\n'
        "  <SOPNode><Slope>1.2 1.0 0.8</Slope><Offset>0.02 0 -0.01</Offset>"
        "<Power>1.1 1.0 0.9</Power></SOPNode>\n"
        "  <SatNode><Saturation>0.8</Saturation></SatNode>\n"
        " </ColorCorrection>\n"
        ' <ColorCorrection id="B020C001">\n'
        "  <SOPNode><Slope>1 1 1</Slope><Offset>0 0 0</Offset><Power>1 1 1</Power></SOPNode>\n"
        " </ColorCorrection>\n"
        "</ColorCorrectionCollection>\n"
    )
    # Log code values 0.07-0.8: the grade stays inside 0-1, where clamping or not is moot.
    pixels = plate(LOGC, 60, 96) * np.float32(0.8)
    graded = colour(cdl=str(ccc), cdl_id="A010C004")
    # The ASC CDL by hand: slope, offset, power, then saturation with Rec.709 weights.
    sop = (pixels * [1.2, 1.0, 0.8] + [0.02, 0.0, -0.01]) ** [1.1, 1.0, 0.9]
    luma = (sop * [0.2126, 0.7152, 0.0722]).sum(-1, keepdims=True)
    by_hand = (luma + 0.8 * (sop - luma)).astype(np.float32)
    assert np.allclose(exact(graded, pixels), exact(colour(), by_hand), atol=2e-4)
    # After the view it would be another picture: the order is not a detail.
    after_view = exact(colour(), pixels)
    ocio_cdl = ocio.CDLTransform.CreateFromFile(str(ccc), "A010C004")
    load_config(STUDIO).getProcessor(ocio_cdl).getDefaultCPUProcessor().applyRGB(after_view)
    assert np.abs(after_view - exact(graded, pixels)).max() > 0.02


# --- which config ---------------------------------------------------------------------------

#: A user's own OCIO v2 config: scene-linear reference, a gamma 2.2 display.
USER_CONFIG = """ocio_profile_version: 2
roles:
  default: lin
  scene_linear: lin
file_rules:
  - !<Rule> {name: Default, colorspace: default}
displays:
  Monitor:
    - !<View> {name: Gamma, colorspace: gamma22}
active_displays: []
active_views: []
colorspaces:
  - !<ColorSpace>
    name: lin
    encoding: scene-linear
  - !<ColorSpace>
    name: gamma22
    encoding: sdr-video
    from_scene_reference: !<ExponentTransform> {value: 2.2, direction: inverse}
"""


def user_pipeline(path: str) -> ShotColour:
    return ShotColour(
        config=path,
        config_id="test",
        input_colorspace="lin",
        working_colorspace="lin",
        display="Monitor",
        view="Gamma",
    )


def test_a_users_own_config_file_is_used(tmp_path: Path) -> None:
    path = tmp_path / "show.ocio"
    path.write_text(USER_CONFIG)
    pixels = scene(90, 160)
    fast = ColourStep(user_pipeline(str(path)), 160, 90).apply_array(pixels)
    by_hand = np.clip(pixels, 0, None) ** (1 / 2.2)
    assert psnr(fast, by_hand) >= 45.0


def test_dollar_ocio_is_the_config_when_none_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "show.ocio"
    path.write_text(USER_CONFIG)
    monkeypatch.setenv("OCIO", str(path))
    assert config_source(None) == str(path)
    assert config_source("ocio://cg-config-latest") == "ocio://cg-config-latest"
    monkeypatch.delenv("OCIO")
    assert config_source(None) == STUDIO


def test_an_unknown_colour_space_is_one_line_naming_close_ones(
    tmp_path: Path, logc_movie: Path
) -> None:
    timeline = write_otio(tmp_path, logc_movie)
    settings = PlanSettings(colour=ColourSettings(input_colorspace="LogC3"))
    _, plan = plan_file(timeline, settings)
    assert plan.shots == []
    (line,) = plan.errors
    assert "\n" not in line
    assert "no colour space 'LogC3'" in line and "'ARRI LogC3 (EI800)'" in line


def test_a_missing_config_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="OCIO config not found"):
        load_config(str(tmp_path / "nope.ocio"))


# --- plans and shot ids ---------------------------------------------------------------------


def test_no_colour_keeps_the_shot_id_hashed_as_before() -> None:
    seg = SourceSegment(
        clip_name="A",
        track_name="V1",
        track_index=0,
        clip_index=0,
        media_path="/m/A.mov",
        media_rate=24,
        available_start=0,
        media_start_frame=10,
        media_frame_count=48,
        record_start=0,
        record_duration=48,
        record_rate=24,
        clip_source_start=10,
        clip_source_duration=48,
        clip_source_rate=24,
        source_tc_in="00:00:00:10",
        source_tc_out="00:00:02:10",
        record_tc_in="01:00:00:00",
    )
    options = TaskOptions()
    # The payload exactly as ledgers written before colour hashed it.
    before = {
        "prompt": "snow",
        "segments": [["/m/A.mov", 10, 48, 1.0]],
        "guides": [],
        "handles": [0, 0],
        "options": options.model_dump(),
    }
    old = hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:12]
    assert shot_id("snow", [seg], [], 0, 0, options) == old
    coloured = shot_id("snow", [seg], [], 0, 0, options, colour())
    assert coloured != old
    assert shot_id("snow", [seg], [], 0, 0, options, colour(input_from="a rule")) == coloured
    assert shot_id("snow", [seg], [], 0, 0, options, colour(cdl_sha256="ab")) != coloured


FRAMES, RATE, SIZE = 48, 24, (192, 108)


@pytest.fixture(scope="module")
def logc_movie(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s of a LogC3 plate, 16-bit RGB, lossless (FFV1): exactly the pixels OCIO encoded."""
    path = tmp_path_factory.mktemp("plates") / "A010C004_LOGC.mkv"
    pixels = plate(LOGC, SIZE[1], SIZE[0])
    codes = np.rint(pixels * 65535).astype(np.uint16)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = *SIZE, "gbrp16le"
        for index in range(FRAMES):
            frame = av.VideoFrame.from_ndarray(codes, format="gbrp16le")
            frame.pts, frame.time_base = index, Fraction(1, RATE)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def write_otio(folder: Path, media: Path, metadata: dict[str, str] | None = None) -> Path:
    """A one-clip timeline with an aleph marker over the whole 2 s clip, as OTIO writes it."""
    rng = otio.opentime.TimeRange(
        otio.opentime.RationalTime(0, RATE), otio.opentime.RationalTime(FRAMES, RATE)
    )
    ref = otio.schema.ExternalReference(target_url=str(media), available_range=rng)
    ref.metadata.update(metadata or {})
    return write_marked_clip(folder / "cut.otio", ref, rng, clip="A010C004", prompt="make it snow")


def test_hieros_ayon_metadata_names_the_input_space_and_a_rule_beats_it(
    tmp_path: Path, logc_movie: Path
) -> None:
    timeline = write_otio(tmp_path, logc_movie, {"ayon.source.colourtransform": LOGC})
    _, plain = plan_file(timeline, PlanSettings())
    _, managed = plan_file(timeline, PlanSettings(colour=ColourSettings()))
    (before,), (shot,) = plain.shots, managed.shots
    assert before.colour is None
    assert shot.colour is not None and shot.colour.input_colorspace == LOGC
    assert shot.colour.input_from == "media reference metadata ayon.source.colourtransform"
    assert (shot.colour.display, shot.colour.view) == (DISPLAY, VIEW)
    assert shot.id != before.id
    assert "ARRI LogC3 (EI800) -> Rec.1886 Rec.709 - Display / ACES 2.0" in shot.colour.describe()
    ruled = ColourSettings(rules=((r"_LOGC\b", "ACEScct"),), input_colorspace="ACEScg")
    _, by_rule = plan_file(timeline, PlanSettings(colour=ruled))
    assert by_rule.shots[0].colour is not None
    assert by_rule.shots[0].colour.input_colorspace == "ACEScct"


def test_a_cut_through_colour_decodes_to_what_ocio_makes(tmp_path: Path, logc_movie: Path) -> None:
    timeline = write_otio(tmp_path, logc_movie, {"ayon.source.colourtransform": LOGC})
    _, plan = plan_file(timeline, PlanSettings(colour=ColourSettings()))
    (shot,) = plan.shots
    assert shot.colour is not None
    clip = prepare_shot(shot, tmp_path / "clip.mp4")
    assert clip.frame_count == FRAMES
    info = probe(Path(clip.path))
    assert (info.color_primaries, info.color_trc, info.colorspace) == (1, 1, 1)
    expected = np.clip(exact(shot.colour, plate(LOGC, SIZE[1], SIZE[0])), 0, 1)
    got = decoded_rgb(Path(clip.path), 20)
    # H.264 4:2:0 in 8 bits costs the patches' sharp edges a little; inside them it is exact.
    assert psnr(got, expected) >= 30.0
    inside = np.s_[30:42, 6:26]  # the first patch, away from its edges
    assert np.abs(got[inside] - expected[inside]).mean() < 2 / 255
    # Without colour the clip is the flat log picture: what a user would see as grey.
    plain = shot.model_copy(update={"colour": None})
    flat = decoded_rgb(prepare_shot(plain, tmp_path / "flat.mp4").path, 20)
    assert psnr(flat, expected) < 22.0
    still = extract_still(logc_movie, 0, tmp_path / "still.png", colour=shot.colour)
    assert psnr(decoded_rgb(still, 0), expected) >= 40.0


def decoded_rgb(path: Path | str, index: int) -> np.ndarray:
    with av.open(str(path)) as container:
        for number, frame in enumerate(container.decode(video=0)):
            if number == index:
                rgb = frame.reformat(format="rgb24", src_colorspace=1, src_color_range=1)
                return rgb.to_ndarray().astype(np.float32) / 255.0
    raise AssertionError(f"{path}: no frame {index}")


def test_the_inverse_brings_the_display_picture_back_to_log() -> None:
    """``--return-colorspace source``: the measured round trip (quoted in the README)."""
    pixels = plate(LOGC)
    pipeline = colour(return_colorspace="source")
    display = exact(pipeline, pixels)
    back = display.copy()
    exact_processor(pipeline, inverse=True).applyRGB(back)
    # Where the view does not clip (the display picture inside 0-1 with room), the round trip
    # is exact to float precision; clipped highlights come back at the display's white.
    shown = (display > 0.02).all(-1) & (display < 0.98).all(-1)
    assert shown.mean() > 0.5
    assert np.abs(back - pixels)[shown].max() < 1e-3


# --- the command line -----------------------------------------------------------------------


def cli(*args: str) -> tuple[int, str, str]:
    """The installed command line, as a user runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "aleph_otio", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    return done.returncode, done.stdout, done.stderr


def test_plan_shows_each_shots_colour_pipeline_and_the_json_holds_it(
    tmp_path: Path, logc_movie: Path
) -> None:
    timeline = write_otio(tmp_path, logc_movie)
    code, out, _ = cli("plan", str(timeline), "--input-colorspace", "arri_logc3_ei800")
    assert code == 0, out
    assert (
        "colour: ARRI LogC3 (EI800) -> Rec.1886 Rec.709 - Display / ACES 2.0 - SDR 100 nits"
        " (Rec.709) [--input-colorspace]; return: display-referred" in " ".join(out.split())
    )
    code, out, _ = cli(
        "plan", str(timeline), "--json", "--input-colorspace", LOGC, "--view", "sRGB - Display"
    )
    assert code == 0
    (shot,) = json.loads(out)["shots"]
    assert shot["colour"]["display"] == "sRGB - Display"
    assert shot["colour"]["view"] == VIEW  # the display's default view
    code, _, err = cli("plan", str(timeline), "--colorspace-rule", "nothing")
    assert code == 2 and "use REGEX=SPACE" in err


def test_stills_go_through_the_shots_colour(tmp_path: Path, logc_movie: Path) -> None:
    timeline = write_otio(tmp_path, logc_movie)
    code, out, _ = cli(
        "stills", str(timeline), "-o", str(tmp_path / "stills"), "--input-colorspace", LOGC
    )
    assert code == 0, out
    (png,) = (tmp_path / "stills").glob("*.png")
    expected = np.clip(exact(colour(), plate(LOGC, SIZE[1], SIZE[0])), 0, 1)
    assert psnr(decoded_rgb(png, 0), expected) >= 40.0


def test_a_result_returned_to_source_is_the_log_plate_again(
    tmp_path: Path, logc_movie: Path
) -> None:
    """The measured round trip of ``--return-colorspace source`` (quoted in the README): the
    clip sent to Aleph, taken back as if Aleph returned it untouched."""
    timeline = write_otio(tmp_path, logc_movie, {"ayon.source.colourtransform": LOGC})
    settings = ColourSettings(return_colorspace="source")
    _, plan = plan_file(timeline, PlanSettings(colour=settings))
    (shot,) = plan.shots
    assert shot.colour is not None and "converted back to ARRI LogC3" in shot.colour.describe()
    result = Path(prepare_shot(shot, tmp_path / "result.mp4").path)
    return_to_source(result, shot.colour)
    info = probe(result)
    assert (info.frame_count, info.width, info.height) == (FRAMES, *SIZE)
    assert info.pix_fmt == "yuv444p10le" and info.color_trc == 2
    with av.open(str(result)) as container:
        frame = next(container.decode(video=0))
        back = frame.reformat(format="gbrp16le", src_colorspace=1, src_color_range=1)
    log = back.to_ndarray().astype(np.float32) / 65535
    original = plate(LOGC, SIZE[1], SIZE[0])
    display = exact(shot.colour, original)
    shown = (display > 0.05).all(-1) & (display < 0.95).all(-1)  # not clipped by the view
    error = np.abs(log - original)[shown] * 1023
    # In 10-bit log code values, through H.264 4:2:0 to Aleph and 4:4:4 back.
    assert np.median(error) < 3.0
    # Measured: median 1.4, 95th percentile 17, 99th 47 (patch edges, where 4:2:0 halved the
    # chroma, and deep shadows, where 8-bit display codes are few per log step).
    assert np.percentile(error, 95) < 25.0
    inside = np.abs(log - original)[30:42, 6:26] * 1023  # a patch, away from its edges
    assert inside.mean() < 4.0
    # Scene-linear plates cannot come back in a movie: refused in the plan, by name.
    linear = ColourSettings(input_colorspace="ACEScg", return_colorspace="source")
    _, refused = plan_file(write_otio(tmp_path, logc_movie), PlanSettings(colour=linear))
    assert refused.shots == [] and "ACEScg is scene-linear" in refused.errors[0]


def test_a_run_sends_display_referred_and_returns_log_through_the_emulator(
    tmp_path: Path, logc_movie: Path
) -> None:
    import asyncio

    from aleph_otio.api.client import AlephClient
    from aleph_otio.config import APISettings
    from aleph_otio.emulator import Emulator, EmulatorConfig
    from aleph_otio.pipeline import RunConfig, run_pipeline

    key = "test-key-not-secret-colour"
    timeline = write_otio(tmp_path, logc_movie)
    colour_settings = ColourSettings(input_colorspace=LOGC, return_colorspace="source")
    config = EmulatorConfig(latency=0.2, concurrency=2, storage_dir=tmp_path / "emu", api_key=key)
    with Emulator(config) as emu:
        api = APISettings(base_url=emu.base_url, poll_interval=0.05, poll_max_interval=0.2)
        run = RunConfig(
            timeline=timeline,
            output=tmp_path / "out.otio",
            work_dir=tmp_path / "work",
            api_settings=api,
            plan_settings=PlanSettings(colour=colour_settings),
        )

        async def go():  # type: ignore[no-untyped-def]
            async with AlephClient(api_key=key, settings=api) as client:
                return await run_pipeline(run, client)

        summary = asyncio.run(go())
    assert summary.exit_code == 0, [(s.name, s.state, s.reason) for s in summary.shots]
    sent = next((tmp_path / "work" / "clips").glob("*.mp4"))
    assert probe(sent).color_trc == 1  # Aleph got display-referred Rec.709
    (result,) = (tmp_path / "work" / "results").glob("*.mp4")
    info = probe(result)
    assert info.pix_fmt == "yuv444p10le" and info.color_trc == 2 and info.timecode
    relinked = otio.adapters.read_from_file(str(tmp_path / "out.otio"))
    (returned,) = [c for c in relinked.find_clips() if result.name in c.media_reference.target_url]
    # The conform sees what the pictures are: the plates' own space.
    assert returned.metadata["aleph_otio"]["colorspace"] == LOGC


CC = (
    '<ColorCorrection id="{id}" xmlns="urn:ASC:CDL:v1.01">'
    "<SOPNode><Slope>{s} {s} {s}</Slope><Offset>0 0 0</Offset><Power>1 1 1</Power></SOPNode>"
    "</ColorCorrection>\n"
)


def test_cdls_are_matched_by_clip_name_and_a_show_lut_replaces_the_view(
    tmp_path: Path, logc_movie: Path
) -> None:
    grades = tmp_path / "grades"
    grades.mkdir()
    (grades / "A010C004.cc").write_text(CC.format(id="A010C004", s="1.1"))
    (grades / "B020C001.cc").write_text(CC.format(id="B020C001", s="0.9"))
    # A show LUT as a colourist exports it: 2-point .cube that squares each channel's code value
    # is too coarse, so 17 points of x**0.8, red fastest.
    axis = np.linspace(0, 1, 17)
    rows = [f"{r**0.8:.6f} {g**0.8:.6f} {b**0.8:.6f}" for b in axis for g in axis for r in axis]
    lut = tmp_path / "show.cube"
    lut.write_text("LUT_3D_SIZE 17\n" + "\n".join(rows) + "\n")
    timeline = write_otio(tmp_path, logc_movie)
    settings = ColourSettings(input_colorspace=LOGC, cdl=str(grades), lut=str(lut))
    _, plan = plan_file(timeline, PlanSettings(colour=settings))
    (shot,) = plan.shots
    assert shot.colour is not None
    assert (Path(shot.colour.cdl or "").name, shot.colour.cdl_id) == ("A010C004.cc", "A010C004")
    assert shot.colour.view is None and shot.colour.lut_sha256
    pixels = plate(LOGC, 60, 96) * np.float32(0.8)
    by_hand = np.clip(pixels * 1.1, 0, 1) ** 0.8  # the CDL, then the LUT
    assert np.allclose(exact(shot.colour, pixels), by_hand, atol=2e-3)
    # A CDL folder with no grade for the clip: planned without one, and the plan says so.
    (grades / "A010C004.cc").unlink()
    _, ungraded = plan_file(timeline, PlanSettings(colour=settings))
    assert ungraded.shots[0].colour is not None and ungraded.shots[0].colour.cdl is None
    assert any("no CDL in" in w for w in ungraded.shots[0].warnings)
