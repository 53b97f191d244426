"""Benchmark 4: downloads. A 1 GB result streamed from the emulator by ``AlephClient.download``.

The emulator (in this process, serving on 127.0.0.1) serves a sparse 1 GB file (100 MB with
``--quick``), registered as stored media through a small hook in this script (the emulator has
no public way to serve an arbitrary file). Each download runs in its own subprocess, which
reports the transfer time and its peak RSS, so that the figures are the download's alone.

Baseline, in the same run on the same URL: a plain httpx streaming loop
(``AsyncClient.stream`` + ``aiter_bytes`` written to a file). Reported: throughput of both, the
ratio client / plain, and peak RSS of the client's process (target: under 150 MB, i.e. the
download streams rather than buffers). Runs alternate between the two, best of ``--repeats``.

    python benchmarks/bench_download.py [--quick] [--mb 1024] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, peak_rss_mb, run_child

KEY = "bench-key-not-secret"


def serve_file(emu: object, size: int) -> str:
    """Make a sparse ``size``-byte file in the emulator's storage and return its URL.

    Test-support hook: registers the file the way a mediaStorage upload would (the emulator's
    private media table), because uploading 1 GB as base64 would measure the upload instead.
    """
    from aleph_otio.emulator import Emulator
    from aleph_otio.emulator.state import StoredMedia

    assert isinstance(emu, Emulator)
    media_uuid = str(uuid.uuid4())
    path = emu.storage / "media" / f"{media_uuid}.mp4"
    with path.open("wb") as fh:
        fh.truncate(size)  # sparse: no disk writes, reads return zeros at page-cache speed
    url = f"{emu.base_url}/media/{path.name}"
    with emu._lock:  # noqa: SLF001 - see the docstring
        emu._media[media_uuid] = StoredMedia(uuid=media_uuid, path=path, ext="mp4", url=url)  # noqa: SLF001
    return url


async def _client_download(url: str, dest: Path) -> None:
    from aleph_otio.api.client import AlephClient

    async with AlephClient(api_key=KEY, base_url=url.rsplit("/media/", 1)[0]) as client:
        await client.download(url, dest)


async def _plain_download(url: str, dest: Path) -> None:
    import httpx

    async with (
        httpx.AsyncClient(timeout=120) as client,
        client.stream("GET", url, headers={"Accept-Encoding": "identity"}) as response,
    ):
        response.raise_for_status()
        with dest.open("wb") as fh:
            async for chunk in response.aiter_bytes():
                fh.write(chunk)


def child(kind: str, url: str, dest: str) -> None:
    """Download once in this process; print seconds, bytes and RSS (before and peak) as JSON."""
    if kind == "client":
        import aleph_otio.api.client  # noqa: F401 - imports are not the download's memory

        fn = _client_download
    else:
        import httpx  # noqa: F401

        fn = _plain_download
    before = peak_rss_mb()
    start = time.perf_counter()
    asyncio.run(fn(url, Path(dest)))
    seconds = time.perf_counter() - start
    size = Path(dest).stat().st_size
    print(
        json.dumps(
            {"seconds": seconds, "bytes": size, "rss_before": before, "rss_peak": peak_rss_mb()}
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 MB instead of 1 GB")
    parser.add_argument("--mb", type=int, default=None, help="result size in MiB (1024; 100)")
    parser.add_argument("--repeats", type=int, default=3, help="downloads per side (best kept)")
    parser.add_argument("--rss-target", type=float, default=150.0, help="MB")
    args = parser.parse_args(argv)
    from aleph_otio.emulator import Emulator, EmulatorConfig

    mib = args.mb or (100 if args.quick else 1024)
    size = mib << 20
    print(f"# bench_download: {machine()}; {mib} MiB result, best of {args.repeats}")
    results: dict[str, list[dict[str, float]]] = {"client": [], "plain": []}
    with tempfile.TemporaryDirectory(prefix="aleph-bench-dl-") as tmp:
        folder = Path(tmp)
        config = EmulatorConfig(storage_dir=folder / "emulator", api_key=KEY, concurrency=1)
        with Emulator(config) as emu:
            url = serve_file(emu, size)
            for _ in range(args.repeats):
                for kind in ("plain", "client"):  # alternated: background load hits both alike
                    dest = folder / f"{kind}.mp4"
                    _, out = run_child(
                        [sys.executable, __file__, "--child", kind, url, str(dest)],
                        timeout=60 + size / (5 << 20),  # at worst 5 MB/s
                    )
                    run = json.loads(out)
                    if run["bytes"] != size:
                        raise SystemExit(f"{kind}: got {run['bytes']} bytes of {size}")
                    dest.unlink()
                    results[kind].append(run)
    best = {k: min(v, key=lambda r: r["seconds"]) for k, v in results.items()}
    mbps = {k: size / r["seconds"] / (1 << 20) for k, r in best.items()}
    rss = max(r["rss_peak"] for r in results["client"])
    print("| download | best s | MiB/s | peak RSS MB (before the download) |")
    print("|---|---|---|---|")
    for kind, label in (("plain", "plain httpx stream loop"), ("client", "AlephClient.download")):
        r = best[kind]
        print(
            f"| {label} | {r['seconds']:.2f} | {mbps[kind]:.0f} | "
            f"{max(x['rss_peak'] for x in results[kind]):.0f} ({r['rss_before']:.0f}) |"
        )
    verdict = "meets" if rss < args.rss_target else "misses"
    print(
        f"\nthroughput AlephClient.download / plain httpx: {mbps['client'] / mbps['plain']:.2f}; "
        f"client peak RSS {rss:.0f} MB ({verdict} the {args.rss_target:.0f} MB target)"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
    else:
        sys.exit(main())
