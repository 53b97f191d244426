"""Benchmark: delivering a result as a UHD EXR sequence (VFX returns) vs a plain PyAV write.

Target (issue 15, item 6): delivering a 10 s result as a UHD EXR sequence takes at most 1.2x
a plain PyAV write of the same frames.

Result: what Aleph returns for a UHD plate, a 10 s 1920x1080 H.264 movie at 24 fps (half the
plate's size at any ``--size``)
(:func:`aleph_otio.synth.make_video`: every frame carries its index in a code strip), generated
once and cached under ``$TMPDIR/aleph-otio-bench``.

Cases, in one run, interleaved, best of ``--repeats``:
- plain: decode the result, scale each frame to 3840x2160 half-float RGB (the same Lanczos
  conversion), and write them through one PyAV ``image2`` muxer as ``plain.%04d.exr`` from 1001
  (half float, zip1): the least any EXR writer on FFmpeg does for these frames;
- deliver: :func:`aleph_otio.media.deliver.deliver` with ``kind="exr"``: the same frames, one
  file per frame, each file's ``timeCode`` written into its header, the sequence made in a
  temporary folder and renamed into place whole.
Checked: both write the same number of files and the first and last files hold the same pixels.
The time to verify the delivery (:func:`aleph_otio.media.verify.verify_delivered`: probe every
file's presence, the first file's header) is shown apart; the pipeline does it after delivering.

    python benchmarks/bench_deliver.py [--seconds 10] [--size 3840x2160] [--repeats 1] [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

from common import best_of, machine

RATE = 24
FIRST = 1001
START_TC = 86400  # 01:00:00:00 at 24 fps


def make_result(path: Path, *, frames: int, size: tuple[int, int]) -> Path:
    from aleph_otio.synth import make_video

    if not path.exists():
        tmp = path.with_suffix(".part.mp4")
        make_video(tmp, frames=frames, rate=RATE, size=size)
        tmp.replace(path)
    return path


def plain(result: Path, folder: Path, count: int, size: tuple[int, int]) -> int:
    """Decode, scale to ``size`` as delivery does, write EXRs through one image2 muxer."""
    import av

    from aleph_otio.media.deliver import _converted
    from aleph_otio.media.frames import iter_frames

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    written = 0
    name = str(folder / "plain.%04d.exr")
    with av.open(name, "w", format="image2", options={"start_number": str(FIRST)}) as out:
        stream = out.add_stream("exr", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = *size, "gbrpf32le"
        stream.options = {"format": "half", "compression": "zip1"}
        for frame in iter_frames(result, 0, count):
            rgb = _converted(frame, size, "gbrpf32le")
            rgb.pts = written
            out.mux(stream.encode(rgb))
            written += 1
        out.mux(stream.encode())
    return written


def delivered(result: Path, folder: Path, count: int, size: tuple[int, int]) -> str:
    from aleph_otio.media.deliver import DeliverySpec, deliver

    shutil.rmtree(folder, ignore_errors=True)
    spec = DeliverySpec("exr", count, 1, Fraction(RATE), size, START_TC, FIRST)
    return deliver(result, folder, spec).path


def same_pixels(a: Path, b: Path) -> bool:
    import av
    import numpy as np

    with av.open(str(a)) as x, av.open(str(b)) as y:
        fa = next(x.decode(video=0)).reformat(format="gbrpf32le").to_ndarray()
        fb = next(y.decode(video=0)).reformat(format="gbrpf32le").to_ndarray()
    return bool(fa.shape == fb.shape and np.array_equal(fa, fb))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="result length")
    parser.add_argument("--size", default="3840x2160", help="plate (delivered) size WxH")
    parser.add_argument("--repeats", type=int, default=1, help="runs per case (best is kept)")
    parser.add_argument("--quick", action="store_true", help="tiny run: 1 s, 320x180 to 640x360")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "aleph-otio-bench"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.size, args.repeats = 1.0, "640x360", 1
    width, height = (int(v) for v in args.size.lower().split("x"))
    from aleph_otio.media.verify import verify_delivered

    # Half the plate's size: what Aleph returns for a UHD plate (sent scaled down whole into
    # 1080p by media/frames.output_size), so delivery scales 2x at any --size.
    returned = (width // 2 - width // 2 % 2, height // 2 - height // 2 % 2)
    count = int(round(args.seconds * RATE))
    args.cache.mkdir(parents=True, exist_ok=True)
    result = make_result(
        args.cache / f"result_h264_{returned[0]}x{returned[1]}_{count}.mp4",
        frames=count,
        size=returned,
    )
    print(f"# {machine()}")
    print(
        f"# result: {result.name}: {args.seconds:g} s H.264 {returned[0]}x{returned[1]}@{RATE}"
        f" -> EXR half zip1 {width}x{height}, {count} files"
    )
    size = (width, height)
    with tempfile.TemporaryDirectory(dir=args.cache) as work:
        out = Path(work)
        plain_runs: list[float] = []
        deliver_runs: list[float] = []
        path = ""
        dest = out / "SH010_aleph_v001a"
        for _ in range(args.repeats):  # interleaved: load from others hits both alike
            plain_runs.append(best_of(lambda: plain(result, out / "plain", count, size), 1)[0])
            wall, path = best_of(lambda: delivered(result, dest, count, size), 1)
            deliver_runs.append(wall)
        base, made = min(plain_runs), min(deliver_runs)
        began = time.perf_counter()
        verify_delivered(
            path, expected_frames=count, rate=RATE, width=width, height=height,
            timecode="01:00:00:00",
        )  # fmt: skip
        checked = time.perf_counter() - began
        plain_files = sorted((out / "plain").glob("*.exr"))
        made_files = sorted(dest.glob("*.exr"))
        if len(plain_files) != count or len(made_files) != count:
            raise SystemExit(f"wrote {len(plain_files)} and {len(made_files)} files, not {count}")
        same = all(same_pixels(plain_files[i], made_files[i]) for i in (0, -1))
        if not same:
            raise SystemExit("the delivered frames differ from the plain write's")
        print("| case | wall s | s/frame | vs plain | note |")
        print("|---|---|---|---|---|")
        print(
            f"| plain PyAV image2 write | {base:.2f} | {base / count:.3f} | 1.00 |"
            f" decode, Lanczos to {width}x{height}, one muxer |"
        )
        print(
            f"| deliver(kind=exr) | {made:.2f} | {made / count:.3f} | {made / base:.2f} |"
            f" + timeCode per file, temp folder renamed (target <= 1.2) |"
        )
        print(f"| verify_delivered | {checked:.2f} | {checked / count:.4f} | | after delivery |")
        print(f"delivered / plain: {made / base:.2f}x; same pixels, first and last file: {same}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
