"""Benchmark: ``prepare_shot`` against the ffmpeg CLI doing the same frame-accurate cut.

Target (issue): prepare_shot takes at most 1.1x the wall time of

    ffmpeg -ss <start> -i <src> -frames:v N -c:v libx264 -crf 17 -preset <same> \
           -pix_fmt yuv420p -an out.mp4

with the identical frame count, and peak memory that does not grow with the source length.

Sources (1080p H.264 and ProRes 422, a few minutes at 24 fps) are generated once and cached
under ``$TMPDIR/aleph-otio-bench``. Each measurement runs in its own subprocess; wall time and
peak RSS (``os.wait4`` rusage) are taken per process, and prepare_shot's own call time is
reported beside its process time (the difference is Python start-up and imports).

    python benchmarks/bench_prepare.py [--minutes 3] [--repeats 2] [--preset fast]

Needs the ``ffmpeg`` executable (Debian/Ubuntu: ``apt-get install -y ffmpeg``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

RATE = 24
SIZE = (1920, 1080)


@dataclass
class Run:
    wall: float
    cpu: float
    call: float | None
    peak_rss_mb: float
    frames: int
    first_index: int


def make_source(
    path: Path, *, frames: int, codec: str, pix_fmt: str, options: dict[str, str]
) -> Path:
    """A 1080p clip whose frames carry their index (synth code strip); cheap to draw."""
    import av
    import numpy as np

    from aleph_otio import synth

    if path.exists():
        return path
    width, height = SIZE
    base = synth.draw_frame(0, width, height)
    tmp = path.with_suffix(".part" + path.suffix)
    with av.open(str(tmp), "w", format="mov" if path.suffix == ".mov" else "mp4") as out:
        stream = out.add_stream(codec, rate=RATE)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.options = options
        for i in range(frames):
            # Shift the picture so every frame differs (motion for the encoder), then stamp it.
            image = np.roll(base, shift=(i * 7) % width, axis=1)
            synth.encode_index(image, i)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            if i % 500 == 0:
                print(f"  {path.name}: {i}/{frames} frames", file=sys.stderr, flush=True)
        out.mux(stream.encode())
    os.replace(tmp, path)
    return path


def measure(cmd: list[str]) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds, peak RSS MB, stdout) of one subprocess."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    assert proc.stdout is not None and proc.stderr is not None
    stdout, stderr = proc.stdout.read().decode(), proc.stderr.read().decode()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{stderr}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout


def first_index_and_count(path: Path) -> tuple[int, int]:
    import av

    from aleph_otio import synth

    with av.open(str(path)) as container:
        count, first = 0, -1
        for frame in container.decode(video=0):
            if count == 0:
                first = synth.decode_index(frame.to_ndarray(format="rgb24"))
            count += 1
    return first, count


def run_prepare(src: Path, start: int, count: int, out: Path, preset: str, crf: int) -> Run:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        str(src),
        str(start),
        str(count),
        str(out),
        preset,
        str(crf),
    ]
    wall, cpu, rss, stdout = measure(cmd)
    first, frames = first_index_and_count(out)
    return Run(wall, cpu, json.loads(stdout)["call"], rss, frames, first)


def run_ffmpeg(src: Path, start: int, count: int, out: Path, preset: str, crf: int) -> Run:
    seconds = Fraction(start, RATE)
    cmd = [
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        "-y",
        "-ss",
        f"{float(seconds):.6f}",
        "-i",
        str(src),
        "-frames:v",
        str(count),
        "-c:v",
        "libx264",
        "-crf",
        str(crf),
        "-preset",
        preset,
        "-pix_fmt",
        "yuv420p",
        "-an",
        str(out),
    ]
    wall, cpu, rss, _ = measure(cmd)
    first, frames = first_index_and_count(out)
    return Run(wall, cpu, None, rss, frames, first)


def child(argv: list[str]) -> None:
    """Run one prepare_shot in this process and print its call time as JSON."""
    src, start, count, out, preset, crf = argv
    from aleph_otio.media import prepare_shot
    from aleph_otio.shots import Shot, SourceSegment

    seg = SourceSegment(
        clip_name="bench",
        track_name="V1",
        track_index=0,
        clip_index=0,
        media_path=src,
        media_rate=RATE,
        available_start=0,
        media_start_frame=int(start),
        media_frame_count=int(count),
        record_start=0,
        record_duration=int(count),
        record_rate=RATE,
        clip_source_start=int(start),
        clip_source_duration=int(count),
        clip_source_rate=RATE,
        source_tc_in="00:00:00:00",
        source_tc_out="00:00:00:00",
        record_tc_in="00:00:00:00",
    )
    shot = Shot(id="bench", name="bench", prompt="bench", segments=[seg])
    began = time.perf_counter()
    prepare_shot(shot, Path(out), crf=int(crf), preset=preset)
    print(json.dumps({"call": time.perf_counter() - began}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="source length")
    parser.add_argument("--repeats", type=int, default=2, help="runs per case (best is kept)")
    parser.add_argument("--preset", default="fast", help="x264 preset used by both sides")
    parser.add_argument("--crf", type=int, default=17)
    parser.add_argument("--ranges", default="10,30", help="range lengths in seconds")
    parser.add_argument("--sources", default="h264,prores")
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "aleph-otio-bench"
    )
    args = parser.parse_args()
    if shutil.which("ffmpeg") is None:
        raise SystemExit(
            "ffmpeg not found: the baseline needs the ffmpeg CLI "
            "(Debian/Ubuntu: sudo apt-get install -y ffmpeg; macOS: brew install ffmpeg)"
        )
    args.cache.mkdir(parents=True, exist_ok=True)
    frames = int(args.minutes * 60 * RATE)
    makers = {
        "h264": (f"h264_{frames}.mp4", "libx264", "yuv420p", {"preset": "veryfast", "crf": "18"}),
        "prores": (f"prores_{frames}.mov", "prores_ks", "yuv422p10le", {"profile": "2"}),
    }
    sources = {}
    for name in args.sources.split(","):
        file, codec, pix_fmt, options = makers[name]
        print(f"source {name}: {args.cache / file}", file=sys.stderr, flush=True)
        sources[name] = make_source(
            args.cache / file, frames=frames, codec=codec, pix_fmt=pix_fmt, options=options
        )
    version = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True).stdout
    print(
        f"# {version.splitlines()[0]}; preset={args.preset} crf={args.crf};"
        f" sources {args.minutes:g} min 1080p{RATE}; cpus={os.cpu_count()}"
    )
    print(
        "| source | frames (start+count) | ffmpeg wall s | prepare wall s | prepare call s"
        " | wall ratio | call ratio | CPU ratio | ffmpeg RSS MB | prepare RSS MB | check |"
    )
    print("|" + "---|" * 11)
    with tempfile.TemporaryDirectory() as work:
        out = Path(work)
        for name, src in sources.items():
            for seconds in (float(s) for s in args.ranges.split(",")):
                count = int(seconds * RATE)
                # Near the end of the source: a cutter that decodes from the start loses here.
                start = frames - count - 5 * RATE - 7
                ffs: list[Run] = []
                pys: list[Run] = []
                for _ in range(args.repeats):
                    # Interleaved, so that load from other processes hits both sides alike.
                    ffs.append(run_ffmpeg(src, start, count, out / "ff.mp4", args.preset, args.crf))
                    pys.append(
                        run_prepare(src, start, count, out / "py.mp4", args.preset, args.crf)
                    )
                ff = min(ffs, key=lambda r: r.wall)
                py = min(pys, key=lambda r: r.wall)
                ff_cpu = min(r.cpu for r in ffs)
                py_cpu = min(r.cpu for r in pys)
                call = min(r.call or 0.0 for r in pys)
                same = py.frames == ff.frames == count
                check = (
                    f"{py.frames} frames {'= ffmpeg' if same else f'!= ffmpeg {ff.frames}'}, "
                    f"first {'exact' if py.first_index == start else py.first_index}"
                    + ("" if ff.first_index == start else f" (ffmpeg first {ff.first_index})")
                )
                print(
                    f"| {name} | {start}+{count} | {ff.wall:.2f} | {py.wall:.2f} | {call:.2f}"
                    f" | {py.wall / ff.wall:.2f} | {call / ff.wall:.2f} | {py_cpu / ff_cpu:.2f}"
                    f" | {ff.peak_rss_mb:.0f} | {py.peak_rss_mb:.0f} | {check} |",
                    flush=True,
                )
            # Memory must not depend on the source length or position: a 10 s cut at the start.
            count = 10 * RATE
            head = run_prepare(src, 0, count, out / "py.mp4", args.preset, args.crf)
            print(
                f"| {name} | 0+{count} | | {head.wall:.2f} | {head.call or 0:.2f} | | | |"
                f" | {head.peak_rss_mb:.0f} | {head.frames} frames (start of file) |",
                flush=True,
            )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2:])
    else:
        main()
