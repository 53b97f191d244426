"""The API key never leaves the process: not in any file, output stream or log line.

A whole job runs with a distinctive key (from ``RUNWARE_API_KEY`` and from a 0600 config
file) against the emulator over real sockets: ``run``, ``status``, ``relink``, ``plan --json``
and ``-o``, the HTML report, ``demo`` with a key in the environment, a run with a wrong key,
and the emulator itself, with every logger at DEBUG. Then every file written (ledger sqlite
and its journal, timelines, report, batch JSON, logs, emulator storage), every captured
stdout/stderr and every log record is searched for the key, in plain text, base64 (at any
alignment) and URL-encoded. A config file holding a key that others can read is refused.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from corpus_gen import Outcome
from corpus_gen import cli as run_cli

from aleph_otio.api.client import AlephClient
from aleph_otio.config import APISettings
from aleph_otio.emulator import Emulator, EmulatorConfig
from aleph_otio.errors import AuthenticationError
from aleph_otio.report import write_report
from aleph_otio.sample import SampleProject, make_sample_project

KEY = "rwk-Q7zX3vLp9TzK2mN8sFh4cJd6WbYe1UoGa-secret"
WRONG_KEY = "rwk-WRONG-k3y-h8Jq2Lx9Vt5Nc4Rb7Md1Pz6Wf0Se-secret"


def encodings(secret: str) -> list[bytes]:
    """The key as it could appear in a file: plain, URL-encoded, and base64 at each alignment.

    Inside a larger base64 blob (a data URI, a Basic auth header) the key's encoding depends on
    its offset modulo 3, so each of the three alignments is searched, minus edge characters.
    """
    raw = secret.encode()
    forms = {raw, urllib.parse.quote(secret, safe="").encode()}
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + raw)
        forms.add(encoded[(pad * 4 + 2) // 3 + 1 : -4])
        forms.add(base64.urlsafe_b64encode(b"\0" * pad + raw)[(pad * 4 + 2) // 3 + 1 : -4])
    forms.add(base64.b64encode(raw))
    forms.add(base64.b64encode(f"Bearer {secret}".encode()))
    return sorted(forms)


def leaks(data: bytes, secret: str = KEY) -> list[bytes]:
    return [form for form in encodings(secret) if form in data]


def test_the_search_finds_the_key_in_every_form() -> None:
    """The scanner itself: a key hidden in any of these forms is found."""
    for prefix in (b"", b"x", b"xy"):
        blob = base64.b64encode(prefix + b"Authorization: Bearer " + KEY.encode() + b"\n")
        assert leaks(b"data:text/plain;base64," + blob)
    assert leaks(urllib.parse.quote(f"key={KEY}").encode())
    assert not leaks(b"nothing to see " * 100)


def all_files(*roots: Path) -> Iterator[Path]:
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for name in files:
                yield Path(dirpath) / name


def assert_no_key_in_files(*roots: Path, config: Path | None = None) -> int:
    """Search every file under ``roots`` but the config file; return how many were searched."""
    count = 0
    for path in all_files(*roots):
        if path == config:
            continue  # where the user put the key
        count += 1
        found = leaks(path.read_bytes())
        assert not found, f"API key written to {path} as {found[0][:20]!r}..."
    return count


def assert_no_key_in_text(text: str, what: str) -> None:
    found = leaks(text.encode())
    assert not found, f"API key in {what}"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> SampleProject:
    return make_sample_project(tmp_path_factory.mktemp("secrets") / "proj")


@pytest.fixture()
def debug_log(tmp_path: Path) -> Iterator[Path]:
    """Every logger at DEBUG into a file (httpx, httpcore, the client, the emulator, ...)."""
    path = tmp_path / "logs" / "debug.log"
    path.parent.mkdir()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


def cli(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "aleph_otio", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert_no_key_in_text(proc.stdout, f"stdout of aleph-otio {args[0]}")
    assert_no_key_in_text(proc.stderr, f"stderr of aleph-otio {args[0]}")
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment without any real key or config, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("RUNWARE_API_KEY", "ALEPH_OTIO_CONFIG", "RUNWARE_BASE_URL")
    }
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")  # never the user's own config file
    env.update(extra)
    return env


def inprocess(*args: str) -> Outcome:
    """``aleph-otio ARGS`` in this process (so its log records reach the DEBUG handler)."""
    done = run_cli(*args)
    assert_no_key_in_text(done.stdout, f"stdout of aleph-otio {args[0]}")
    assert_no_key_in_text(done.stderr, f"stderr of aleph-otio {args[0]}")
    return done


@contextlib.contextmanager
def emulator_process(storage: Path, env: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """``aleph-otio emulator --api-key KEY -v`` in its own process; yields (URL, its log file)."""
    logs = storage.parent / "emulator-cli.log"
    with logs.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aleph_otio", "emulator", "--port", "0", "--api-key", KEY,
             "--storage", str(storage), "--latency", "0.05", "--verbose"],
            env=env, stdout=subprocess.PIPE, stderr=err,
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            line = proc.stdout.readline().decode() if ready else ""
            assert line.startswith("RUNWARE_BASE_URL="), f"emulator did not start: {line!r}"
            yield line.strip().split("=", 1)[1], logs
        finally:
            proc.terminate()  # SIGTERM: it stops like Ctrl-C
            rest, _ = proc.communicate(timeout=30)
    (storage.parent / "emulator-cli.out").write_bytes(line.encode() + rest)


@pytest.mark.timeout(240)
def test_key_never_written_logged_or_printed(
    sample: SampleProject,
    tmp_path: Path,
    debug_log: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emu_dir = tmp_path / "emulator"
    out = tmp_path / "out"
    out.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(f'api_key = "{KEY}"\n', encoding="utf-8")
    config.chmod(0o600)
    monkeypatch.chdir(out)
    for name in ("RUNWARE_API_KEY", "ALEPH_OTIO_CONFIG", "RUNWARE_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    with Emulator(
        EmulatorConfig(latency=0.05, concurrency=4, storage_dir=emu_dir, api_key=KEY)
    ) as emu:
        base = ["--base-url", emu.base_url]
        # 1. The whole job from the command line, key from the environment, loggers at DEBUG.
        monkeypatch.setenv("RUNWARE_API_KEY", KEY)
        ran = inprocess("run", str(sample.timeline), "-o", str(out / "cut.otio"), *base)
        assert ran.code == 0, ran.stderr[-3000:]
        work = out / "cut.aleph-work"
        monkeypatch.delenv("RUNWARE_API_KEY")
        # 2. status, relink, plan --json -o, the report: what a user runs next.
        status = inprocess("status", str(work))
        assert status.code == 0 and "relinked" in status.stdout
        relinked = inprocess(
            "relink", str(sample.timeline), "-o", str(out / "relinked.xml"),
            "--ledger", str(work / "ledger.sqlite"),
        )  # fmt: skip
        assert relinked.code == 0 and (out / "relinked.xml").is_file(), relinked.stderr
        planned = inprocess(
            "plan", "--json", "-o", str(out / "cut.aleph.json"), str(sample.timeline)
        )
        assert len(json.loads(planned.stdout)["shots"]) == 3
        report = write_report(work / "ledger.sqlite", out / "report.html")
        assert "<html" in report.read_text(encoding="utf-8")

        # 3. Real processes: ``aleph-otio emulator --api-key KEY -v`` (logging every request)
        #    and a new job from the batch manifest, key from a 0600 config file.
        env = clean_env(tmp_path, ALEPH_OTIO_CONFIG=str(config))
        with emulator_process(tmp_path / "emulator-cli", env) as (server_url, server_logs):
            again = cli(
                ["run", str(out / "cut.aleph.json"), "-o", str(out / "cfg.otio"),
                 "--base-url", server_url],
                env, out,
            )  # fmt: skip
            assert again.returncode == 0, again.stderr[-3000:]
        assert "POST" in server_logs.read_text() or "task" in server_logs.read_text()

        # 4. A wrong key: refused by the server, and the message does not echo it.
        async def upload_with_wrong_key() -> str:
            async with AlephClient(
                api_key=WRONG_KEY, settings=APISettings(base_url=emu.base_url)
            ) as client:
                assert WRONG_KEY not in repr(client)
                with pytest.raises(AuthenticationError) as refused:
                    await client.upload_media(sample.guides[0])
                return str(refused.value)

        message = asyncio.run(upload_with_wrong_key())
        assert "key" in message.lower() and not leaks(message.encode(), WRONG_KEY)
        received = json.dumps(emu.received)

    assert_no_key_in_text(received, "the emulator's record of received tasks")
    captured = capsys.readouterr()
    assert_no_key_in_text(captured.out + captured.err, "the test process's output")
    log_text = debug_log.read_text(encoding="utf-8")
    assert "httpx" in log_text and "aleph_otio" in log_text, "DEBUG logging captured nothing"
    searched = assert_no_key_in_files(tmp_path, config=config)
    # the ledgers, timelines, report, batch, results, uploads, log: all searched
    assert searched > 20
    wanted_files = (
        "ledger.sqlite", "report.html", "cut.aleph.json", "debug.log", "cfg.otio",
        "emulator-cli.log", "emulator-cli.out",
    )  # fmt: skip
    for wanted in wanted_files:
        assert any(p.name == wanted for p in all_files(tmp_path)), wanted
    assert not any(leaks(p.read_bytes(), WRONG_KEY) for p in all_files(tmp_path))
    assert leaks(config.read_bytes()), "the scan would not have seen the key"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_demo_with_a_key_in_the_environment(tmp_path: Path) -> None:
    """The offline demo never touches the user's key, and writes none of it anywhere."""
    env = clean_env(tmp_path, RUNWARE_API_KEY=KEY)
    demo = cli(["demo", str(tmp_path / "demo"), "--latency", "0.05"], env, tmp_path)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert (tmp_path / "demo" / "report.html").is_file()
    assert assert_no_key_in_files(tmp_path) > 10


@pytest.mark.timeout(60)
def test_config_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'api_key = "{KEY}"\n', encoding="utf-8")
    config.chmod(0o644)
    sample_timeline = tmp_path / "cut.otio"
    sample_timeline.write_text("{}")  # never read: the key check comes first
    env = clean_env(tmp_path, ALEPH_OTIO_CONFIG=str(config))
    refused = cli(
        ["run", str(sample_timeline), "-o", str(tmp_path / "o.otio"), "--base-url",
         "http://127.0.0.1:9/v1"],
        env, tmp_path, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2
    (line,) = [x for x in refused.stderr.splitlines() if x.startswith("error:")]
    assert str(config) in line and "644" in line and f"chmod 600 {config}" in line
    assert not (tmp_path / "o.otio").exists()


@pytest.mark.timeout(60)
def test_broken_config_file_error_does_not_quote_the_key(tmp_path: Path) -> None:
    """A key written without quotes is a TOML error; the message names the file, not the key."""
    config = tmp_path / "config.toml"
    config.write_text(f"api_key = {KEY}\n", encoding="utf-8")
    config.chmod(0o600)
    env = clean_env(tmp_path, ALEPH_OTIO_CONFIG=str(config))
    broken = cli(
        ["run", str(tmp_path / "cut.otio"), "-o", str(tmp_path / "o.otio"), "--base-url",
         "http://127.0.0.1:9/v1"],
        env, tmp_path, timeout=60,
    )  # fmt: skip
    assert broken.returncode == 2
    (line,) = [x for x in broken.stderr.splitlines() if x.startswith("error:")]
    assert str(config) in line and "TOML" in line
