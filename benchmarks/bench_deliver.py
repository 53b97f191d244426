"""Benchmark: delivering a result as a UHD EXR sequence, against a plain PyAV write.

Target (issue 15, item 6): delivering a 10 s result as a UHD EXR sequence costs at most 1.2x a
plain PyAV write of the same frames (decode the result, scale it to UHD with the same Lanczos
scaler, encode each frame as a half-float zip1 EXR through FFmpeg's image2 muxer). What the
delivery adds on top: the time code written into every header, each file written once and
whole, the sequence made in a hidden folder and renamed into place, and its verification
(every file's number on disk, the first header read).

Source: a 10 s 1920x1080 H.264 result at 24 fps (what Aleph returns for a UHD plate), frames
carrying their index (aleph_otio.synth). Generated once, cached under ``$TMPDIR/aleph-otio-bench``.
Cases, in one run, interleaved, best of ``--repeats``.

    python benchmarks/bench_deliver.py [--seconds 10] [--size 3840x2160] [--repeats 2] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

from common import best_of, machine

RATE = 24


def make_result(path: Path, frames: int, size: tuple[int, int]) -> Path:
    from aleph_otio.synth import make_video

    if not path.exists():
        tmp = path.with_suffix(".part.mp4")
        make_video(tmp, frames=frames, rate=RATE, size=size)
        tmp.replace(path)
    return path


def plain(result: Path, out: Path, frames: int, size: tuple[int, int]) -> int:
    """The baseline: decode, scale, encode each frame as an EXR file, nothing else."""
    import av
    from av.video.reformatter import ColorRange, Colorspace

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    written = 0
    with av.open(str(out / "plate.%04d.exr"), "w", format="image2") as sink:
        stream = sink.add_stream("exr", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = *size, "gbrpf32le"
        stream.options = {"format": "half", "compression": "zip1", "start_number": "1001"}
        with av.open(str(result)) as source:
            for frame in source.decode(video=0):
                picture = frame.reformat(
                    width=size[0],
                    height=size[1],
                    format="gbrpf32le",
                    src_colorspace=Colorspace.ITU709,
                    src_color_range=ColorRange.MPEG,
                    dst_color_range=ColorRange.JPEG,
                    interpolation="LANCZOS",
                )
                picture.pts = written
                sink.mux(stream.encode(picture))
                written += 1
        sink.mux(stream.encode())
    return written


def delivered(result: Path, out: Path, frames: int, size: tuple[int, int]) -> int:
    """aleph-otio's delivery, verification included."""
    from aleph_otio.media.deliver import DeliverySpec, deliver
    from aleph_otio.media.verify import verify_delivered

    spec = DeliverySpec("exr", frames, 1, Fraction(RATE), size, 86400, 1001)
    made = deliver(result, out, spec)
    verify_delivered(
        made.path,
        expected_frames=frames,
        rate=RATE,
        width=size[0],
        height=size[1],
        timecode=made.timecode,
    )
    return made.frame_count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="result length")
    parser.add_argument("--size", default="3840x2160", help="delivered size WxH")
    parser.add_argument("--repeats", type=int, default=2, help="runs per case (best is kept)")
    parser.add_argument("--quick", action="store_true", help="tiny run: 1 s, 640x360")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "aleph-otio-bench"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.size, args.repeats = 1.0, "640x360", 1
    width, height = (int(v) for v in args.size.lower().split("x"))
    frames = int(round(args.seconds * RATE))
    source_size = (max(2, width // 2), max(2, height // 2))
    args.cache.mkdir(parents=True, exist_ok=True)
    result = make_result(
        args.cache / f"result_{source_size[0]}x{source_size[1]}_{frames}.mp4",
        frames,
        source_size,
    )
    print(f"# {machine()}")
    print(
        f"# result: {source_size[0]}x{source_size[1]} H.264, {frames} frames at {RATE} fps;"
        f" delivered as half-float EXR {width}x{height}"
    )
    with tempfile.TemporaryDirectory(dir=args.cache) as work:
        base = Path(work)
        plain_runs: list[float] = []
        ours: list[float] = []
        counts: set[int] = set()
        for _ in range(args.repeats):  # interleaved: load from others hits both alike
            seconds, n = best_of(lambda: plain(result, base / "plain", frames, (width, height)), 1)
            plain_runs.append(seconds)
            counts.add(n)
            seconds, n = best_of(
                lambda: delivered(result, base / "delivered", frames, (width, height)), 1
            )
            ours.append(seconds)
            counts.add(n)
        best_plain, best_ours = min(plain_runs), min(ours)
        print("| case | wall s | vs plain | note |")
        print("|---|---|---|---|")
        print(f"| plain PyAV EXR write | {best_plain:.2f} | 1.00 | decode, scale, encode |")
        print(
            f"| aleph-otio delivery | {best_ours:.2f} | {best_ours / best_plain:.2f} |"
            " time code per file, atomic folder, verified (target <= 1.20) |"
        )
        print(f"frames per case: {sorted(counts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
