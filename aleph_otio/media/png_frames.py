"""Image-sequence results (Runway's ``png_sequence``): a zip of PNG frames unpacked safely into
a folder named as the result, its frames renamed to source frame numbers, and checked.

The frames are named ``<folder>.<frame>.png`` with the frame number padded to
:data:`FRAME_PADDING` digits, counting from the result's first source frame (its time code), so
an OTIO ``ImageSequenceReference`` (and any NLE) finds each at its source time. Unpacking never
writes outside the folder: a member with an absolute path, ``..``, a drive, or a link is refused
(the whole result is), and the folder appears only complete (unpacked beside it, then renamed).
"""

from __future__ import annotations

import shutil
import stat
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from aleph_otio.errors import MediaError, MediaVerificationError

FRAME_PADDING = 7
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class FrameFolder:
    """What :func:`verify_frames` saw: how many frames, and their size."""

    frame_count: int
    width: int
    height: int


def frame_name(folder: Path, frame: int) -> str:
    return f"{folder.name}.{frame:0{FRAME_PADDING}d}.png"


def _unsafe(member: zipfile.ZipInfo) -> str | None:
    name = member.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (parts and ":" in parts[0]) or ".." in parts:
        return f"member {member.filename!r} points outside the folder"
    if stat.S_ISLNK(member.external_attr >> 16):
        return f"member {member.filename!r} is a link"
    return None


def unzip_frames(archive: Path, folder: Path, start_frame: int) -> Path:
    """Unpack the PNG frames of ``archive`` into ``folder`` (named ``<folder>.<frame>.png`` from
    ``start_frame``, in the archive's name order); other members (a .wav) are left out.

    Raises MediaVerificationError for an unsafe or empty archive; ``folder`` is then not made.
    """
    scratch = folder.with_name(f".{folder.name}.unzip")
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = [m for m in zipped.infolist() if not m.is_dir()]
            for member in members:
                problem = _unsafe(member)
                if problem is not None:
                    raise MediaVerificationError(
                        f"result {archive.name}: {problem}; refused (nothing was unpacked)"
                    )
            frames = sorted(
                (m for m in members if m.filename.lower().endswith(".png")),
                key=lambda m: m.filename,
            )
            if not frames:
                raise MediaVerificationError(f"result {archive.name}: the zip holds no PNG frames")
            scratch.mkdir(parents=True)
            for offset, member in enumerate(frames):
                target = scratch / frame_name(folder, start_frame + offset)
                with zipped.open(member) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
    except zipfile.BadZipFile as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise MediaVerificationError(
            f"result {archive.name}: not a readable zip ({exc}); download it again"
        ) from None
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    shutil.rmtree(folder, ignore_errors=True)
    scratch.replace(folder)
    return folder


def _png_size(path: Path) -> tuple[int, int]:
    with path.open("rb") as handle:
        head = handle.read(24)
    if len(head) < 24 or not head.startswith(_PNG_SIGNATURE) or head[12:16] != b"IHDR":
        raise MediaVerificationError(f"frame {path.name} is not a PNG image")
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def verify_frames(
    folder: Path,
    *,
    expected_frames: int,
    start_frame: int,
    width: int | None = None,
    height: int | None = None,
) -> FrameFolder:
    """Check an unpacked sequence: every frame there, numbered from ``start_frame``, PNGs of one
    size whose aspect ratio is the clip's (``width`` x ``height``, within 1%)."""
    if not folder.is_dir():
        raise MediaError(f"{folder}: the result's frame folder is missing; download it again")
    names = sorted(p.name for p in folder.glob(f"{folder.name}.*.png"))
    wanted = [frame_name(folder, start_frame + i) for i in range(expected_frames)]
    if names != wanted:
        raise MediaVerificationError(
            f"result {folder.name}: {len(names)} frames, expected {expected_frames} numbered "
            f"from {start_frame}; download it again"
        )
    sizes = {_png_size(folder / name) for name in names}
    if len(sizes) != 1:
        raise MediaVerificationError(f"result {folder.name}: frames of {len(sizes)} sizes")
    ((w, h),) = sizes
    if width and height and abs(w / h - width / height) > 0.01 * (width / height):
        raise MediaVerificationError(
            f"result {folder.name}: frames are {w}x{h}, not the {width}x{height} clip's shape"
        )
    return FrameFolder(frame_count=len(names), width=w, height=h)
