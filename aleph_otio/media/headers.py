"""What EXR and DPX headers say about time: the frame rate and the start timecode.

Read by hand because FFmpeg's image decoders do not hand them over: its EXR decoder reads
``framesPerSecond`` into a context PyAV does not expose per image and ignores ``timeCode``, and
image sequences open through the image2 demuxer at its default 25 fps. Both headers are small,
fixed layouts (OpenEXR's file layout document; SMPTE 268M for DPX), so only the fields needed
are read, and a header that is not what it claims to be is simply not believed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

_EXR_MAGIC = 20000630
#: Bytes read: far more than any header of ours holds (attributes first, pixels after).
_HEADER_BYTES = 64 * 1024
_DPX_UNDEFINED = 0xFFFFFFFF


@dataclass(frozen=True)
class ImageHeader:
    """Time facts of one image file; None where the header says nothing."""

    kind: str  # "exr", "dpx"
    rate: Fraction | None = None
    timecode: str | None = None
    drop_frame: bool = False
    channels: tuple[str, ...] = field(default_factory=tuple)
    bit_depth: int | None = None
    multipart: bool = False


def _bcd(value: int) -> int:
    return (value >> 4) * 10 + (value & 0xF)


def _exr_timecode(time_and_flags: int, rate: Fraction | None) -> tuple[str, bool]:
    """SMPTE 12M packed time (OpenEXR's ``timecode`` attribute) as text and drop flag.

    Above 30 fps SMPTE 12M counts frame pairs, the field-phase bit telling which of the two.
    """
    frames = _bcd(time_and_flags & 0x3F)
    if rate is not None and rate > 31:
        frames = 2 * frames + (time_and_flags >> 15 & 1)
    drop = bool(time_and_flags & 0x40)
    seconds = _bcd((time_and_flags >> 8) & 0x7F)
    minutes = _bcd((time_and_flags >> 16) & 0x7F)
    hours = _bcd((time_and_flags >> 24) & 0x3F)
    sep = ";" if drop else ":"
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{sep}{frames:02d}", drop


def read_exr_header(path: Path) -> ImageHeader | None:
    """The first part's rate, timecode and channels of an OpenEXR file; None if not EXR."""
    with open(path, "rb") as handle:
        data = handle.read(_HEADER_BYTES)
    if len(data) < 8 or struct.unpack_from("<i", data, 0)[0] != _EXR_MAGIC:
        return None
    flags = struct.unpack_from("<I", data, 4)[0]
    pos = 8
    rate: Fraction | None = None
    packed_time: int | None = None
    channels: list[str] = []
    try:
        while True:
            end = data.index(b"\0", pos)
            name = data[pos:end].decode("latin-1")
            pos = end + 1
            if not name:
                break
            end = data.index(b"\0", pos)
            kind = data[pos:end].decode("latin-1")
            pos = end + 1
            (size,) = struct.unpack_from("<i", data, pos)
            pos += 4
            value = data[pos : pos + size]
            pos += size
            if name == "framesPerSecond" and kind == "rational" and size == 8:
                num, den = struct.unpack("<iI", value)
                if num > 0 and den > 0:
                    rate = Fraction(num, den)
            elif name == "timeCode" and kind == "timecode" and size == 8:
                packed_time = struct.unpack("<II", value)[0]
            elif name == "channels" and kind == "chlist":
                at = 0
                while at < len(value) and value[at] != 0:
                    stop = value.index(b"\0", at)
                    channels.append(value[at:stop].decode("latin-1"))
                    at = stop + 1 + 16  # pixel type, pLinear + reserved, x and y sampling
    except (ValueError, struct.error):
        return None  # a header cut short: nothing in it is believed
    timecode, drop = _exr_timecode(packed_time, rate) if packed_time is not None else (None, False)
    return ImageHeader(
        kind="exr",
        rate=rate,
        timecode=timecode,
        drop_frame=drop,
        channels=tuple(channels),
        multipart=bool(flags & 0x1000),
    )


def read_dpx_header(path: Path) -> ImageHeader | None:
    """Rate, timecode and bit depth of a DPX file (SMPTE 268M); None if not DPX."""
    with open(path, "rb") as handle:
        data = handle.read(2048)
    if len(data) < 808:
        return None
    if data[:4] == b"SDPX":
        order = ">"
    elif data[:4] == b"XPDS":
        order = "<"
    else:
        return None
    data = data.ljust(2048, b"\0")
    # Writers may stop the header after the generic part (FFmpeg's 1664 bytes): the film and
    # TV headers are there only when the pixels start after them.
    (data_offset,) = struct.unpack_from(order + "I", data, 4)
    (tc,) = (
        struct.unpack_from(order + "I", data, 1920) if data_offset >= 1924 else (_DPX_UNDEFINED,)
    )
    timecode = None
    if tc != _DPX_UNDEFINED:
        digits = [(tc >> shift) & 0xFF for shift in (24, 16, 8, 0)]
        if all((d >> 4) < 10 and (d & 0xF) < 10 for d in digits):
            hh, mm, ss, ff = (_bcd(d) for d in digits)
            timecode = f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}"
    rate = None
    # The TV header's temporal sampling rate, else the film header's frame rate.
    for offset in (1940, 1724):
        if data_offset < offset + 4:
            continue
        (value,) = struct.unpack_from(order + "f", data, offset)
        if value == value and 1 <= value <= 1000:  # NaN (undefined) fails the first test
            rate = Fraction(value).limit_denominator(1001)
            break
    return ImageHeader(kind="dpx", rate=rate, timecode=timecode, bit_depth=data[803])


def read_image_header(path: Path) -> ImageHeader | None:
    """The time facts of an EXR or DPX file; None for other files or unreadable headers."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".exr":
            return read_exr_header(path)
        if suffix == ".dpx":
            return read_dpx_header(path)
    except OSError:
        return None
    return None


#: Scanlines per chunk of each EXR compression (OpenEXR "File Layout"): the offset table holds
#: one entry per chunk.
_EXR_LINES_PER_CHUNK = {0: 1, 1: 1, 2: 1, 3: 16, 4: 32, 5: 16, 6: 32, 7: 32, 8: 32, 9: 256}


def _bcd_pack(timecode: str) -> tuple[int, int, int, int]:
    fields = [int(p) for p in timecode.replace(";", ":").split(":")]
    hh, mm, ss, ff = ((v // 10) << 4 | v % 10 for v in fields)
    return hh, mm, ss, ff


def exr_with_timecode(data: bytes, timecode: str, rate: float) -> bytes:
    """A single-part scanline EXR with a ``timeCode`` attribute (FFmpeg's encoder writes
    none): inserted at the end of the header, the offset table moved by its length."""
    pos = 8
    compression = 0
    ymin = ymax = 0
    while data[pos] != 0:
        end = data.index(b"\0", pos)
        name = data[pos:end]
        pos = data.index(b"\0", end + 1) + 1
        (size,) = struct.unpack_from("<i", data, pos)
        pos += 4
        if name == b"compression":
            compression = data[pos]
        elif name == b"dataWindow":
            _, ymin, _, ymax = struct.unpack_from("<iiii", data, pos)
        pos += size
    fields = [int(p) for p in timecode.replace(";", ":").split(":")]
    phase = 0
    if rate > 31:  # frame pairs, the field-phase bit for the second of each (SMPTE 12M)
        fields[3], phase = divmod(fields[3], 2)
    hh, mm, ss, ff = ((v // 10) << 4 | v % 10 for v in fields)
    packed = ff | ss << 8 | mm << 16 | hh << 24 | phase << 15 | (0x40 if ";" in timecode else 0)
    attribute = b"timeCode\0timecode\0" + struct.pack("<iII", 8, packed, 0)
    chunks = -(-(ymax - ymin + 1) // _EXR_LINES_PER_CHUNK.get(compression, 1))
    table = struct.unpack_from(f"<{chunks}Q", data, pos + 1)
    moved = struct.pack(f"<{chunks}Q", *(o + len(attribute) for o in table))
    end = pos + 1 + 8 * chunks
    return data[:pos] + attribute + b"\0" + moved + data[end:]


def dpx_with_timecode(image: bytes, timecode: str, rate: float) -> bytes:
    """A DPX file with the film and television headers (SMPTE 268M) holding its time code and
    frame rate: FFmpeg's encoder stops after the 1664-byte generic header."""
    data = bytearray(image)
    order = ">" if data[:4] == b"SDPX" else "<"
    (offset,) = struct.unpack_from(order + "I", data, 4)
    if offset < 2048:
        pixels = data[offset:]
        header = data[:offset] + b"\xff" * (2048 - offset)  # undefined fields are all ones
        struct.pack_into(order + "I", header, 4, 2048)  # offset to image data
        struct.pack_into(order + "I", header, 16, 2048 + len(pixels))  # file size
        struct.pack_into(order + "I", header, 808, 2048)  # image element 1: data offset
        data = header + pixels
    hh, mm, ss, ff = _bcd_pack(timecode)
    struct.pack_into(order + "I", data, 1920, hh << 24 | mm << 16 | ss << 8 | ff)
    struct.pack_into(order + "f", data, 1724, rate)  # film header: frame rate
    struct.pack_into(order + "f", data, 1940, rate)  # TV header: temporal sampling rate
    return bytes(data)
