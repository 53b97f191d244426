"""The work-folder lock: one run at a time submits from a work folder.

Two runs on one folder (two terminals, two editors on a shared disk) would both read the ledger
before either wrote "submitted", and both pay for the same shots. A run therefore holds an OS
lock on ``<work>/.aleph-otio.lock`` for as long as its ledger is open: ``fcntl.flock`` on POSIX,
``msvcrt.locking`` on Windows. The operating system drops the lock when the process ends, however
it ends (SIGKILL, a crash, a power cut on the holder's side of a network share), so a lock is
never stale and nobody has to delete anything. The file itself stays: removing it would let a
later run lock a new file while an older one still holds the removed one.

The holder writes its pid, host and start time into the file, so a second run can say who holds
the folder. The lock is advisory: only aleph-otio runs honour it.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from aleph_otio.errors import WorkFolderBusyError

LOCK_NAME = ".aleph-otio.lock"

#: Windows locks byte ranges, and a locked range cannot be read: the lock covers one byte far
#: past the holder's note, which other processes can then still read.
_WINDOWS_LOCK_OFFSET = 1 << 20


def _try_lock(fd: int) -> bool:
    """Take the lock without waiting; False when another open file holds it."""
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)


def holder_note(path: Path) -> dict[str, object]:
    """What the holder wrote into the lock file (empty when unreadable or not written yet)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(4096).split(b"\0", 1)[0]
        note = json.loads(raw.decode("utf-8", "replace").strip() or "{}")
    except (OSError, ValueError):
        return {}
    return note if isinstance(note, dict) else {}


def _describe(note: dict[str, object]) -> str:
    pid, host, since = note.get("pid"), note.get("host"), note.get("since")
    if pid is None:
        return "another aleph-otio run (it has not said which yet)"
    started = ""
    if isinstance(since, int | float):
        started = time.strftime(", started %Y-%m-%d %H:%M:%S UTC", time.gmtime(since))
    return f"aleph-otio process {pid} on host {host or 'unknown'}{started}"


class WorkFolderLock:
    """Hold a work folder for one run: ``with WorkFolderLock(work): ...``.

    Raises :class:`~aleph_otio.errors.WorkFolderBusyError` when another process holds it. The
    lock is taken on an open file description, so it also excludes a second lock in the same
    process, and it is not inherited by child processes (Python opens files non-inheritable).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> Self:
        if self._fd is not None:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            os.close(fd)
            holder = _describe(holder_note(self.path))
            raise WorkFolderBusyError(
                f"work folder {self.folder} is in use by {holder}; wait for that run to finish "
                "(or stop it), then run the same command again; a second run on one folder "
                "could pay for the same shots twice"
            )
        note = {"pid": os.getpid(), "host": socket.gethostname(), "since": round(time.time(), 3)}
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(note) + "\n").encode())
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            _unlock(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> Self:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def check_free(folder: Path) -> None:
    """WorkFolderBusyError now if another process holds ``folder`` (nothing is created).

    For the command line, to say so before it starts anything (a rehearsal's emulator); the run
    itself still takes the lock, which is what protects the folder.
    """
    if (Path(folder) / LOCK_NAME).is_file():
        WorkFolderLock(folder).acquire().release()
