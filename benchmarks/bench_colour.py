"""Benchmark: preparing a shot through colour (LogC3 -> ACES 2.0 SDR Rec.709) for Aleph.

Targets (issue 15, item 6): the colour step adds at most 50% to the same decode + encode with
no colour step, and is far faster than decode + OCIO's exact CPU processor + encode; peak
memory flat in the shot's length.

Source: a 10 s ARRI LogC3 plate at 24 fps, UHD (3840x2160) by default: an EXR sequence (half
float, zip1, numbered from 1001, as a VFX pull delivers log plates; ``--plate exr``, the
default) or a ProRes 4444 movie (``--plate mov``: prores_aw, yuv444p10le, BT.709 matrix), its
frames a synthetic scene (16-stop ramp, chart patches, hue sweep, a 40x highlight) encoded to
LogC3 by OCIO and panned frame to frame. Generated once, cached under
``$TMPDIR/aleph-otio-bench``.

Cases, in one run, interleaved, best of ``--repeats``:
- plain: ``prepare_shot`` with no colour (decode, scale, yuv420p, x264);
- colour: ``prepare_shot`` through the shot's pipeline, the bake included (caches cleared);
- exact: decode + OCIO's exact processor per frame + encode. The exact processor is timed on
  ``--exact-frames`` frames at the clip's size and extrapolated to the shot: plain time +
  frames x (its time per frame + the RGB conversions). Said so in the output.
Peak RSS of the colour case is measured in child processes for a quarter and the whole shot.

    python benchmarks/bench_colour.py [--plate exr|mov] [--seconds 10] [--size 3840x2160]
        [--repeats 2] [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

from common import best_of, machine, peak_rss_mb, run_child

RATE = 24
LOGC = "ARRI LogC3 (EI800)"


def make_plate(path: Path, *, frames: int, size: tuple[int, int]) -> Path:
    """A LogC3 ProRes 4444 movie of the synthetic scene, panned a few pixels per frame."""
    import av
    import numpy as np

    from aleph_otio.media.colour.config import load_config

    if path.exists():
        return path
    width, height = size
    pixels = _scene(height, width)
    config = load_config("ocio://studio-config-latest")
    config.getProcessor("Linear Rec.709 (sRGB)", LOGC).getDefaultCPUProcessor().applyRGB(pixels)
    codes = np.rint(np.clip(pixels, 0, 1) * 65535).astype(np.uint16)
    tmp = path.with_suffix(".part.mov")
    with av.open(str(tmp), "w", format="mov") as out:
        # prores_aw: FFmpeg's fast ProRes encoder (prores_ks takes seconds per 2K 4444 frame).
        stream = out.add_stream("prores_aw", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv444p10le"
        stream.options = {"profile": "4"}
        ctx = stream.codec_context
        ctx.thread_type = "AUTO"
        ctx.color_primaries, ctx.color_trc, ctx.colorspace = 1, 1, 1  # as cameras tag LogC
        for index in range(frames):
            rgb = av.VideoFrame.from_ndarray(np.roll(codes, 4 * index, axis=1), format="gbrp16le")
            frame = rgb.reformat(format="yuv444p10le", dst_colorspace=1, dst_color_range=1)
            frame.pts, frame.time_base = index, Fraction(1, RATE)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    tmp.replace(path)
    return path


def make_exr_plate(folder: Path, *, frames: int, size: tuple[int, int]) -> str:
    """The same LogC3 plate as half-float EXRs ``plate.1001.exr`` ...; the sequence's path."""
    import av
    import numpy as np

    from aleph_otio.media.colour.config import load_config
    from aleph_otio.timeline.sequences import SequencePattern

    pattern = SequencePattern(str(folder), "plate.", ".exr", 4, 1001, 1000 + frames, Fraction(RATE))
    if (folder / "complete").exists():
        return str(pattern)
    folder.mkdir(parents=True, exist_ok=True)
    width, height = size
    pixels = _scene(height, width)
    config = load_config("ocio://studio-config-latest")
    config.getProcessor("Linear Rec.709 (sRGB)", LOGC).getDefaultCPUProcessor().applyRGB(pixels)
    log = np.clip(pixels, 0, 1).astype(np.float32)
    for index in range(frames):
        frame = av.VideoFrame.from_ndarray(np.roll(log, 4 * index, axis=1), format="gbrpf32le")
        with av.open(str(pattern.file_for(index)), "w", format="image2") as out:
            stream = out.add_stream("exr", rate=RATE)
            stream.width, stream.height, stream.pix_fmt = width, height, "gbrpf32le"
            stream.options = {"format": "half", "compression": "zip1"}
            out.mux(stream.encode(frame))
            out.mux(stream.encode())
    (folder / "complete").touch()
    return str(pattern)


def _scene(height: int, width: int):  # type: ignore[no-untyped-def]
    import numpy as np

    img = np.zeros((height, width, 3), np.float32)
    x = np.linspace(0, 1, width, dtype=np.float32)
    q = height // 4
    img[:q] = (2.0 ** (x * 16 - 10))[None, :, None]
    rng = np.random.default_rng(7)
    patches = rng.uniform(0.03, 0.8, (18, 3)).astype(np.float32)
    ph, pw = q * 2 // 3, width // 6
    for i, patch in enumerate(patches):
        row, col = divmod(i, 6)
        img[q + row * ph : q + (row + 1) * ph, col * pw : (col + 1) * pw] = patch
    hue = x * 2 * np.pi
    sweep = np.stack([np.cos(hue), np.cos(hue - 2.1), np.cos(hue + 2.1)], -1)
    img[3 * q :] = (0.18 * (1 + 0.6 * sweep))[None]
    img[3 * q : 3 * q + q // 2, width // 3 : width // 3 + width // 8] = (40.0, 36.0, 30.0)
    return img


def make_shot(src: Path | str, count: int, coloured: bool):  # type: ignore[no-untyped-def]
    from aleph_otio.config import ColourSettings, PlanSettings  # noqa: F401
    from aleph_otio.media.colour.config import load_config
    from aleph_otio.shots import Shot, ShotColour, SourceSegment

    seg = SourceSegment(
        clip_name="A010C004",
        track_name="V1",
        track_index=0,
        clip_index=0,
        media_path=str(src),
        media_rate=RATE,
        available_start=0,
        media_start_frame=0,
        media_frame_count=count,
        record_start=0,
        record_duration=count,
        record_rate=RATE,
        clip_source_start=0,
        clip_source_duration=count,
        clip_source_rate=RATE,
        source_tc_in="00:00:00:00",
        source_tc_out="00:00:00:00",
        record_tc_in="00:00:00:00",
    )
    colour = None
    if coloured:
        studio = "ocio://studio-config-latest"
        colour = ShotColour(
            config=studio,
            config_id=load_config(studio).getName(),
            input_colorspace=LOGC,
            working_colorspace=LOGC,
            display="Rec.1886 Rec.709 - Display",
            view="ACES 2.0 - SDR 100 nits (Rec.709)",
        )
    return Shot(id="bench", name="bench", prompt="bench", segments=[seg], colour=colour)


def prepare(src: Path, count: int, coloured: bool, out: Path) -> int:
    """One cut, cold: the bake is redone as a new shot's first use would."""
    from aleph_otio.media import prepare_shot
    from aleph_otio.media.colour import apply, transform

    apply.bake.cache_clear()
    transform._processor.cache_clear()
    return prepare_shot(make_shot(src, count, coloured), out).frame_count


def exact_per_frame(src: Path, frames: int) -> tuple[float, int, int]:
    """Seconds per frame of OCIO's exact processor (and the RGB conversions) at clip size."""
    import numpy as np

    from aleph_otio.media import iter_frames, output_size
    from aleph_otio.media.colour import exact_processor

    shot = make_shot(src, frames, True)
    cpu = exact_processor(shot.colour)
    total = 0.0
    width = height = 0
    for frame in iter_frames(src, 0, frames):
        width, height = output_size(frame.width, frame.height)
        began = time.perf_counter()
        rgb = frame.reformat(width=width, height=height, format="gbrpf32le", src_colorspace=1)
        pixels = np.ascontiguousarray(rgb.to_ndarray(), np.float32)
        cpu.applyRGB(pixels)
        import av

        back = av.VideoFrame.from_ndarray(np.clip(pixels, 0, 1), format="gbrpf32le")
        back.reformat(format="yuv420p", dst_colorspace=1, dst_color_range=1)
        total += time.perf_counter() - began
    return total / frames, width, height


def child(argv: list[str]) -> None:
    src, count, out = argv
    began = time.perf_counter()
    frames = prepare(Path(src), int(count), True, Path(out))
    wall = time.perf_counter() - began
    print(json.dumps({"frames": frames, "call": wall, "rss": peak_rss_mb()}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="shot length")
    parser.add_argument("--plate", choices=("exr", "mov"), default="exr", help="source kind")
    parser.add_argument("--size", default="3840x2160", help="plate size WxH (2K: 2048x1080)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per case (best is kept)")
    parser.add_argument("--exact-frames", type=int, default=3, help="frames timed exactly")
    parser.add_argument("--quick", action="store_true", help="tiny run: 1 s at 320x180")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "aleph-otio-bench"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.size, args.repeats, args.exact_frames = 1.0, "320x180", 1, 2
    width, height = (int(v) for v in args.size.lower().split("x"))
    count = int(round(args.seconds * RATE))
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.plate == "exr":
        folder = args.cache / f"logc3_exr_half_{width}x{height}_{count}"
        src: Path = Path(make_exr_plate(folder, frames=count, size=(width, height)))
        kind = "half-float EXR sequence"
    else:
        name = f"logc3_prores4444_{width}x{height}_{count}.mov"
        src = make_plate(args.cache / name, frames=count, size=(width, height))
        kind = "ProRes 4444"
    print(f"# {machine()}")
    print(f"# source: {src.name}: {args.seconds:g} s LogC3 {kind} {width}x{height}@{RATE}")
    with tempfile.TemporaryDirectory() as work:
        out = Path(work)
        plain_runs: list[float] = []
        colour_runs: list[float] = []
        for _ in range(args.repeats):  # interleaved: load from others hits both alike
            plain_runs.append(best_of(lambda: prepare(src, count, False, out / "p.mp4"), 1)[0])
            colour_runs.append(best_of(lambda: prepare(src, count, True, out / "c.mp4"), 1)[0])
        plain, coloured = min(plain_runs), min(colour_runs)
        per_frame, cw, ch = exact_per_frame(src, min(args.exact_frames, count))
        exact = plain + per_frame * count
        print("| case | wall s | vs plain | note |")
        print("|---|---|---|---|")
        print(f"| plain decode + encode | {plain:.2f} | 1.00 | no colour step, {cw}x{ch} clip |")
        print(
            f"| colour (baked LUT, lut3d) | {coloured:.2f} | {coloured / plain:.2f} |"
            f" colour adds {100 * (coloured / plain - 1):.0f}% (target <= 50%) |"
        )
        print(
            f"| exact OCIO processor | {exact:.2f} | {exact / plain:.2f} |"
            f" extrapolated from {args.exact_frames} frames: {per_frame:.3f} s/frame |"
        )
        print(f"speed-up of the colour step over the exact processor: {exact / coloured:.1f}x")
        script = str(Path(__file__).resolve())
        for frames in (max(1, count // 4), count):
            _, text = run_child(
                [sys.executable, script, "--child", str(src), str(frames), str(out / "m.mp4")],
                timeout=1800,
            )
            got = json.loads(text.strip().splitlines()[-1])
            print(
                f"peak RSS, colour, {frames} frames: {got['rss']:.0f} MB"
                f" ({got['frames']} frames cut in {got['call']:.2f} s)"
            )
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        raise SystemExit(main())
