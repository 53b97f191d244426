"""Image-sequence plates written the way VFX pipelines write them, for the sequence tests.

EXR and DPX files come from FFmpeg's own encoders (through PyAV); what those encoders leave out
and real plates carry is added byte by byte, following the formats' published layouts:
- an EXR ``timeCode`` attribute (OpenEXR "File Layout": attributes are name, type, size, value;
  the header ends with a null byte, then the offset table of absolute file positions, which
  therefore moves by the inserted length);
- the DPX film and television headers (SMPTE 268M: FFmpeg writes only the 1664-byte generic
  header; the TV header's time code at byte 1920 is BCD HHMMSSFF, its frame rate at 1940);
- a multi-channel EXR (beauty R, G, B, A plus Z and a ``diffuse`` layer), uncompressed, as
  renderers write AOVs, which no FFmpeg encoder makes.
Every frame carries its file number in the code strip (:mod:`aleph_otio.synth`), so a decoded
clip tells which files it was cut from.
"""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from aleph_otio.synth import draw_frame

SIZE = (160, 96)


def picture(number: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """Float RGB 0-1 with ``number`` in the code strip."""
    return draw_frame(number, *size).astype(np.float32) / 255.0


def _encode(path: Path, codec: str, pix_fmt: str, frame: av.VideoFrame, **options: str) -> None:
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream(codec, rate=24)
        stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, pix_fmt
        stream.options = options
        out.mux(stream.encode(frame))
        out.mux(stream.encode())


def smpte_bcd(timecode: str) -> int:
    """``01:02:03:04`` as the BCD digits SMPTE 12M packs (each field two nibbles)."""
    value = 0
    for part in timecode.replace(";", ":").split(":"):
        value = (value << 8) | (int(part) // 10) << 4 | int(part) % 10
    return value


def exr_timecode_attribute(timecode: str) -> bytes:
    """An OpenEXR ``timeCode`` attribute: timeAndFlags (hours in bits 24-29) and user data."""
    hh, mm, ss, ff = (smpte_bcd(p) for p in timecode.split(":"))
    packed = ff | ss << 8 | mm << 16 | hh << 24
    return b"timeCode\0timecode\0" + struct.pack("<iII", 8, packed, 0)


def add_exr_attribute(path: Path, attribute: bytes, lines_per_block: int = 1) -> None:
    """Insert ``attribute`` at the end of a single-part scanline EXR header."""
    data = path.read_bytes()
    pos = 8
    while data[pos] != 0:  # attribute names until the empty one
        pos = data.index(b"\0", pos) + 1  # name
        pos = data.index(b"\0", pos) + 1  # type
        (size,) = struct.unpack_from("<i", data, pos)
        pos += 4 + size
    height = _exr_height(data)
    blocks = -(-height // lines_per_block)
    table = struct.unpack_from(f"<{blocks}Q", data, pos + 1)
    moved = struct.pack(f"<{blocks}Q", *(o + len(attribute) for o in table))
    end = pos + 1 + 8 * blocks
    path.write_bytes(data[:pos] + attribute + b"\0" + moved + data[end:])


def _exr_height(data: bytes) -> int:
    at = data.index(b"dataWindow\0box2i\0") + len(b"dataWindow\0box2i\0") + 4
    _, ymin, _, ymax = struct.unpack_from("<iiii", data, at)
    return int(ymax - ymin + 1)


def write_exr(path: Path, number: int, *, half: bool = True, timecode: str | None = None) -> None:
    """One frame of an EXR plate (zip1, one scanline per block, as Nuke writes by default)."""
    rgb = picture(number)
    frame = av.VideoFrame.from_ndarray(rgb, format="gbrpf32le")
    _encode(path, "exr", "gbrpf32le", frame, format="half" if half else "float", compression="zip1")
    if timecode is not None:
        add_exr_attribute(path, exr_timecode_attribute(timecode))


def write_dpx(path: Path, number: int, *, timecode: str | None = None, rate: float = 24.0) -> None:
    """One frame of a 10-bit DPX plate, with the film and TV headers a scanner writes."""
    rgb16 = np.rint(picture(number) * 65535).astype(np.uint16)
    frame = av.VideoFrame.from_ndarray(rgb16, format="rgb48le").reformat(format="gbrp10le")
    _encode(path, "dpx", "gbrp10le", frame)
    data = bytearray(path.read_bytes())
    order = ">" if data[:4] == b"SDPX" else "<"
    (offset,) = struct.unpack_from(order + "I", data, 4)
    extra = 2048 - offset  # film header (1664-1919) and TV header (1920-2047)
    tail = bytearray(b"\xff" * extra)
    struct.pack_into(order + "f", tail, 1724 - offset, rate)  # film header frame rate
    code = smpte_bcd(timecode) if timecode else 0xFFFFFFFF  # all ones: undefined
    struct.pack_into(order + "I", tail, 1920 - offset, code)
    struct.pack_into(order + "f", tail, 1940 - offset, rate)  # TV temporal sampling rate
    header, pixels = data[:offset], data[offset:]
    struct.pack_into(order + "I", header, 4, 2048)  # offset to image data
    struct.pack_into(order + "I", header, 16, 2048 + len(pixels))  # file size
    struct.pack_into(order + "I", header, 808, 2048)  # image element 1: data offset
    path.write_bytes(bytes(header + tail + pixels))


def write_layered_exr(path: Path, number: int) -> None:
    """An uncompressed half-float EXR with R, G, B, A, Z and diffuse.{R,G,B} channels."""
    rgb = picture(number)
    height, width = rgb.shape[:2]
    planes = {
        "A": np.ones((height, width), np.float32),
        "B": rgb[..., 2],
        "G": rgb[..., 1],
        "R": rgb[..., 0],
        "Z": np.full((height, width), 12.5, np.float32),
        "diffuse.B": 1 - rgb[..., 2],
        "diffuse.G": 1 - rgb[..., 1],
        "diffuse.R": 1 - rgb[..., 0],
    }
    names = sorted(planes)
    chlist = b"".join(n.encode() + b"\0" + struct.pack("<iB3xii", 1, 0, 1, 1) for n in names)
    box = struct.pack("<iiii", 0, 0, width - 1, height - 1)

    def attr(name: str, kind: str, value: bytes) -> bytes:
        return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value

    header = b"".join(
        [
            struct.pack("<iI", 20000630, 2),
            attr("channels", "chlist", chlist + b"\0"),
            attr("compression", "compression", b"\0"),
            attr("dataWindow", "box2i", box),
            attr("displayWindow", "box2i", box),
            attr("lineOrder", "lineOrder", b"\0"),
            attr("pixelAspectRatio", "float", struct.pack("<f", 1.0)),
            attr("screenWindowCenter", "v2f", struct.pack("<ff", 0, 0)),
            attr("screenWindowWidth", "float", struct.pack("<f", 1.0)),
            b"\0",
        ]
    )
    line_size = 8 + len(names) * width * 2
    first = len(header) + 8 * height
    table = struct.pack(f"<{height}Q", *(first + y * line_size for y in range(height)))
    lines = b"".join(
        struct.pack("<ii", y, len(names) * width * 2)
        + b"".join(planes[n][y].astype("<f2").tobytes() for n in names)
        for y in range(height)
    )
    path.write_bytes(header + table + lines)


def write_sequence(
    folder: Path,
    name: str,
    first: int,
    count: int,
    kind: str = "exr",
    *,
    missing: tuple[int, ...] = (),
    timecode: str | None = None,
    rate: Fraction = Fraction(24),
    **options: bool,
) -> Path:
    """Files ``name.FFFF.kind`` numbered ``first..first+count-1`` (``missing`` left out); the
    first file carries ``timecode`` (each file its own, counted on at ``rate``)."""
    folder.mkdir(parents=True, exist_ok=True)
    nominal = round(rate)
    for i in range(count):
        number = first + i
        if number in missing:
            continue
        tc = None
        if timecode is not None:
            hh, mm, ss, ff = (int(p) for p in timecode.split(":"))
            total = ((hh * 60 + mm) * 60 + ss) * nominal + ff + i
            tc = (
                f"{total // (3600 * nominal):02d}:{total // (60 * nominal) % 60:02d}:"
                f"{total // nominal % 60:02d}:{total % nominal:02d}"
            )
        path = folder / f"{name}.{number:04d}.{kind}"
        if kind == "exr":
            write_exr(path, number, timecode=tc, **options)
        elif kind == "dpx":
            write_dpx(path, number, timecode=tc, rate=float(rate))
        elif kind == "layered":
            write_layered_exr(folder / f"{name}.{number:04d}.exr", number)
        else:
            raise ValueError(kind)
    return folder
