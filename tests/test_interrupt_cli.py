"""Ctrl-C stops `aleph-otio run` at once, whichever thread the OS hands the signal to.

Python raises SIGINT in the main thread, where the command's event loop runs; a signal that
lands on another thread (macOS does that freely) used to take effect only when the loop next
woke up, i.e. at the next poll, up to ``poll_max_interval`` (15 s) later. Here the run waits for
tasks that take a minute, polling every 15 s, and a thread of the command's own process
interrupts itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from aleph_otio.emulator import Emulator, EmulatorConfig
from tests.test_crash_consistency import make_tiny_project

KEY = "test-key-not-secret-interrupt-cli"

_HARNESS = textwrap.dedent(
    """
    import signal, sqlite3, sys, threading, time
    from aleph_otio.cli import main

    ledger, shots = sys.argv[1], int(sys.argv[2])

    def interrupt_from_this_thread():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                db = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)
                done = db.execute(
                    "SELECT count(*) FROM shots WHERE state = 'submitted'"
                ).fetchone()[0]
                db.close()
            except sqlite3.Error:
                done = 0
            if done >= shots:
                time.sleep(1.0)  # the loop is now asleep until its next poll
                print(f"SIGINT {time.monotonic()}", file=sys.stderr, flush=True)
                signal.pthread_kill(threading.get_ident(), signal.SIGINT)
                return
            time.sleep(0.05)

    threading.Thread(target=interrupt_from_this_thread, daemon=True).start()
    sys.argv = ["aleph-otio", *sys.argv[3:]]
    main()
    """
)


def test_ctrl_c_on_another_thread_stops_a_waiting_run_at_once(tmp_path: Path) -> None:
    project = make_tiny_project(tmp_path / "proj", shots=2)
    harness = tmp_path / "harness.py"
    harness.write_text(_HARNESS)
    work = tmp_path / "work"
    out = tmp_path / "out.otio"
    with Emulator(
        EmulatorConfig(latency=60, concurrency=4, storage_dir=tmp_path / "emu", api_key=KEY)
    ) as emu:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(harness),
                str(work / "ledger.sqlite"),
                "2",
                "run",
                str(project.timeline),
                "-o",
                str(out),
                "--work-dir",
                str(work),
                "--base-url",
                emu.base_url,
                "--poll-interval",
                "15",
            ],  # fmt: skip
            env={**os.environ, "RUNWARE_API_KEY": KEY},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=Path(__file__).resolve().parent.parent,
        )
        _, err = proc.communicate(timeout=120)
        ended = time.monotonic()
    text = err.decode()
    assert proc.returncode == 130, text[-2000:]
    sent = float(next(line for line in text.splitlines() if line.startswith("SIGINT ")).split()[1])
    # At once, not at the next poll 15 s later (process start-up and shutdown included).
    assert ended - sent < 6, f"stopped {ended - sent:.1f} s after the SIGINT"
    assert "Traceback" not in text
    assert not out.exists()
