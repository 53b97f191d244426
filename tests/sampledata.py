"""Sample timelines from the OTIO adapters' own sdists, fetched from PyPI at test time.

Nothing from the sdists is committed: :func:`sample_data` runs ``pip download`` once into a cache
(``$ALEPH_OTIO_TEST_CACHE`` or ``~/.cache/aleph-otio/sample-data``), checks the archive's
SHA-256, extracts only ``*/tests/sample_data/*`` and returns that folder. When PyPI cannot be
reached the calling test is skipped with the reason; any other failure fails the test.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

#: (distribution, version) -> SHA-256 of its sdist (as published on PyPI).
SDISTS: dict[tuple[str, str], str] = {
    ("otio-cmx3600-adapter", "1.0.0"): (
        "a10cca794617795bbc147d784ec33e6381a57eb6157e87d2b74b65b02516b621"
    ),
    ("otio-fcp-adapter", "1.0.0"): (
        "38544c1064cc85e169428c8c3436bd7c36b90bad99a253851db130d9d7298ce6"
    ),
    ("otio-fcpx-xml-adapter", "1.0.0"): (
        "78919c194f078f57ce9a6464c1c607a494499aaab3d8c35159ce5e71d5fcd235"
    ),
    ("otio-aaf-adapter", "2.0.0"): (  # 16 MB: real Avid Media Composer exports
        "e7712161e08fcf891ea7aa75e5d86efb96eee5a767253f73bc8165c4236443ca"
    ),
}

#: pip output that means "the index could not be reached", as opposed to a real failure.
_OFFLINE_SIGNS = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "Connection refused",
    "ConnectTimeoutError",
    "Read timed out",
    "ProxyError",
    "Could not fetch URL",
    "No route to host",
)

#: Skip reasons of fetches that already failed for lack of network in this run.
_UNREACHABLE: dict[str, str] = {}


def cache_dir() -> Path:
    """Where fetched sample data is kept between runs."""
    configured = os.environ.get("ALEPH_OTIO_TEST_CACHE")
    base = Path(configured) if configured else Path.home() / ".cache" / "aleph-otio" / "sample-data"
    base.mkdir(parents=True, exist_ok=True)
    return base


def sample_data(distribution: str, version: str) -> Path:
    """The ``tests/sample_data`` folder of ``distribution==version``'s sdist (fetched once)."""
    expected = SDISTS[(distribution, version)]
    target = cache_dir() / f"{distribution}-{version}-{expected[:8]}"
    if (target / ".complete").is_file():
        return target
    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix=".fetch-") as scratch:
        archive = _download(distribution, version, Path(scratch))
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        if digest != expected:
            raise AssertionError(
                f"{archive.name}: SHA-256 {digest} differs from the pinned {expected}; "
                "the index served a different file"
            )
        staging = Path(scratch) / "sample_data"
        _extract_sample_data(archive, staging)
        (staging / ".complete").write_text(f"{distribution}=={version} {digest}\n")
        if target.exists():  # a half-finished earlier attempt
            shutil.rmtree(target)
        os.replace(staging, target)
    return target


def _download(distribution: str, version: str, into: Path) -> Path:
    if distribution in _UNREACHABLE:  # do not wait for the index again in the same run
        pytest.skip(_UNREACHABLE[distribution])
    command = [
        sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
        "--disable-pip-version-check", "--retries", "1", "--timeout", "20",
        f"{distribution}=={version}", "-d", str(into),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip(f"PyPI did not answer within 300 s; cannot fetch {distribution}=={version}")
    output = done.stdout + done.stderr
    if done.returncode != 0:
        signs = [sign for sign in _OFFLINE_SIGNS if sign in output]
        if signs:
            _UNREACHABLE[distribution] = (
                f"PyPI unreachable ({signs[0]}); cannot fetch {distribution}=={version} sample data"
            )
            pytest.skip(_UNREACHABLE[distribution])
        raise AssertionError(f"pip download {distribution}=={version} failed:\n{output[-2000:]}")
    archives = sorted(into.glob("*.tar.gz"))
    if len(archives) != 1:
        raise AssertionError(
            f"pip download {distribution}=={version} gave {archives}, not one sdist"
        )
    return archives[0]


def _extract_sample_data(archive: Path, into: Path) -> None:
    """Extract only ``<root>/tests/sample_data/**`` regular files, flattened below ``into``."""
    into.mkdir(parents=True)
    count = 0
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if not member.isfile() or len(parts) < 4 or parts[1:3] != ("tests", "sample_data"):
                continue
            relative = Path(*parts[3:])
            if ".." in relative.parts or relative.is_absolute():
                continue
            source = tar.extractfile(member)
            assert source is not None
            destination = into / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(source.read())
            count += 1
    if count == 0:
        raise AssertionError(f"{archive.name} holds no tests/sample_data files")
