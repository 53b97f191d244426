"""The work-folder lock, between real processes: one run holds a folder, a second is told who.

The holder is a separate Python process (as a second terminal would be); it is also killed with
SIGKILL, after which the lock must be free at once: the OS drops it with the process, so there
is never a stale lock to delete by hand.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aleph_otio.errors import AlephOtioError, WorkFolderBusyError
from aleph_otio.ledger.lock import LOCK_NAME, WorkFolderLock

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")

_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from aleph_otio.ledger.lock import WorkFolderLock

    lock = WorkFolderLock(Path(sys.argv[1])).acquire()
    print("held", flush=True)
    time.sleep(120)
    """
)

_CONTENDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from aleph_otio.errors import AlephOtioError
    from aleph_otio.ledger.lock import WorkFolderLock

    try:
        with WorkFolderLock(Path(sys.argv[1])):
            print("acquired", flush=True)
    except AlephOtioError as exc:
        print(exc, file=sys.stderr)
        sys.exit(exc.exit_code)
    """
)


def start_holder(work: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(work)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def contend(work: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CONTENDER, str(work)], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    proc = start_holder(tmp_path / "work")
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_a_second_process_is_told_which_process_and_host_hold_the_folder(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    done = contend(tmp_path / "work")
    assert done.returncode == WorkFolderBusyError.exit_code == 6
    assert done.returncode not in {
        cls.exit_code for cls in _all_subclasses(AlephOtioError) if cls is not WorkFolderBusyError
    }
    assert done.stdout == ""
    message = done.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert f"process {holder.pid} on host {socket.gethostname()}" in message
    assert str(tmp_path / "work") in message
    # The holder's note is in the folder, readable while it is locked.
    note = json.loads((tmp_path / "work" / LOCK_NAME).read_text())
    assert note["pid"] == holder.pid and note["host"] == socket.gethostname()


def test_the_lock_dies_with_a_sigkilled_holder(
    tmp_path: Path, holder: subprocess.Popen[str]
) -> None:
    assert contend(tmp_path / "work").returncode == 6
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    # Nothing cleaned up after the killed holder: its note is still there, yet the folder is free.
    assert json.loads((tmp_path / "work" / LOCK_NAME).read_text())["pid"] == holder.pid
    done = contend(tmp_path / "work")
    assert (done.returncode, done.stdout.strip()) == (0, "acquired")


def test_the_lock_is_free_after_a_clean_release_and_excludes_a_second_lock_in_one_process(
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    with WorkFolderLock(work) as lock:
        assert lock.held
        with pytest.raises(WorkFolderBusyError, match=f"process {os.getpid()} "):
            WorkFolderLock(work).acquire()
        assert contend(work).returncode == 6
    assert not lock.held
    assert contend(work).returncode == 0
    # A folder held by nobody, with an unreadable note left in it, is simply taken.
    (work / LOCK_NAME).write_bytes(b"\xff\xfe garbage")
    with WorkFolderLock(work):
        assert json.loads((work / LOCK_NAME).read_text())["pid"] == os.getpid()


def _all_subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_all_subclasses(sub)]
    return out


def test_two_aleph_otio_runs_on_one_work_folder_the_second_exits_6_naming_the_first(
    tmp_path: Path,
) -> None:
    """The real command twice: the first waits on slow tasks, the second is turned away without
    touching anything; once the first is SIGKILLed, a third run takes the folder and resumes."""
    from tests.test_crash_consistency import make_tiny_project

    project = make_tiny_project(tmp_path / "proj", shots=2)
    work, out = tmp_path / "work", tmp_path / "out.otio"
    command = [sys.executable, "-m", "aleph_otio", "run", str(project.timeline), "-o", str(out)]
    command += ["--emulator", "--work-dir", str(work)]
    first = subprocess.Popen(
        [*command, "--emulator-latency", "60"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lock = work / LOCK_NAME
        for _ in range(600):
            if lock.is_file() and lock.read_text().strip():
                break
            time.sleep(0.05)
        assert json.loads(lock.read_text())["pid"] == first.pid
        second = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert second.returncode == 6, second.stderr
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: work folder")
        assert f"process {first.pid} on host {socket.gethostname()}" in lines[0]
        assert not out.exists()
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    # The folder is free at once. (The killed run's tasks died with its emulator, so this
    # rehearsal finds them unknown; the run after it sends them again and finishes.)
    for _ in range(2):
        again = subprocess.run(
            [*command, "--emulator-latency", "0.2"], capture_output=True, text=True, timeout=300
        )
        assert again.returncode != 6 and "in use by" not in again.stderr, again.stderr
    assert again.returncode == 0, again.stderr
    assert out.is_file()
