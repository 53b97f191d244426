"""The fast path: the pipeline baked into a 3D LUT, applied by FFmpeg's ``lut3d`` filter.

Why not OCIO per frame: its exact CPU processor for an ACES 2.0 view costs about a second per
HD frame here (the output transform is evaluated per pixel), so a 30 s shot would spend minutes
in colour. Why not numpy: a vectorised trilinear lookup over an HD frame measured about as slow
(0.9 s: eight gathers per channel over 2 M pixels, memory bound). FFmpeg's ``lut3d`` filter
(tetrahedral, slice-threaded, on planar 16-bit or float RGB) takes about 20 ms per HD frame,
inside PyAV's own libraries, so frames never leave FFmpeg but for a scene-linear shaper.

The LUT is sampled from OCIO's exact processor on a 65^3 lattice. Camera log and display
encodings hold the picture in 0-1, so the lattice spans their code values directly (16-bit
RGB planes in). Scene-linear input (ACEScg, linear EXR) goes far above 1.0 and crowds its
shadows near 0, so it is first put through a log2 shaper (OCIO's LogAffineTransform, exact,
about 20 ms per HD frame on float planes), 2^-14 to 2^8 (256x diffuse white: beyond any
camera's highlights), and the lattice spans the shaper's 0-1. Tests check the baked result
against the exact processor on the same pixels (PSNR >= 45 dB on LogC3 and ACEScg plates).
"""

from __future__ import annotations

import functools
import os
import tempfile
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.filter
import numpy as np
import PyOpenColorIO as ocio
from av.video.frame import VideoFrame

from aleph_otio.media.colour.config import is_scene_linear, load_config
from aleph_otio.media.colour.transform import exact_processor
from aleph_otio.shots import ShotColour

#: Lattice points per axis: 65 is what grading tools bake for ACES output transforms.
LATTICE = 65
#: The shaper's range for scene-linear input, in stops (log2 of linear values).
SHAPER_STOPS = (-14.0, 8.0)


@dataclass(frozen=True)
class BakedLut:
    """A 3D LUT ``table[r, g, b] -> RGB`` over 0-1 of the (shaped) input, and its shaper."""

    table: np.ndarray
    shaper: tuple[float, float] | None

    @property
    def size(self) -> int:
        return int(self.table.shape[0])

    @functools.cached_property
    def cube_text(self) -> bytes:
        """The LUT as a .cube file (red fastest, as the format and FFmpeg read it), made once
        per bake. Values are display code values, clipped to 0-1 (what a display shows) and
        written with 6 decimals (1e-6, far below a 16-bit step) by integer arithmetic: Python's
        float formatting takes over a second for the 275k rows of a 65^3 LUT."""
        rows = self.table.transpose(2, 1, 0, 3).reshape(-1, 3)
        micro = np.rint(np.clip(rows, 0.0, 1.0) * 1_000_000).astype(np.int64)
        # Each value as "D.DDDDDD" then a space (or a newline after blue): 9 bytes.
        text = np.empty((micro.shape[0], 3, 9), np.uint8)
        text[..., 0] = ord("0") + micro // 1_000_000
        text[..., 1] = ord(".")
        for place in range(6):
            text[..., 2 + place] = ord("0") + (micro // 10 ** (5 - place)) % 10
        text[..., 8] = ord(" ")
        text[:, 2, 8] = ord("\n")
        return f"LUT_3D_SIZE {self.size}\n".encode() + text.tobytes()


def shaper_transform(stops: tuple[float, float]) -> ocio.LogAffineTransform:
    """Linear -> 0-1: ``(log2(x + 2^lo) - lo) / (hi - lo)``; 0 maps to 0."""
    lo, hi = stops
    shaper = ocio.LogAffineTransform()
    shaper.setBase(2.0)
    shaper.setLinSideOffsetValue([2.0**lo] * 3)
    shaper.setLogSideSlopeValue([1.0 / (hi - lo)] * 3)
    shaper.setLogSideOffsetValue([-lo / (hi - lo)] * 3)
    return shaper


@functools.lru_cache(maxsize=8)
def _shaper_processor(stops: tuple[float, float], inverse: bool) -> ocio.CPUProcessor:
    direction = ocio.TRANSFORM_DIR_INVERSE if inverse else ocio.TRANSFORM_DIR_FORWARD
    raw = ocio.Config.CreateRaw()
    return raw.getProcessor(shaper_transform(stops), direction).getDefaultCPUProcessor()


@functools.lru_cache(maxsize=16)
def bake(colour: ShotColour, size: int = LATTICE) -> BakedLut:
    """Sample the exact pipeline on a ``size``^3 lattice (about 0.2 s at 65^3)."""
    linear = is_scene_linear(load_config(colour.config), colour.input_colorspace)
    stops = SHAPER_STOPS if linear else None
    axis = np.linspace(0.0, 1.0, size, dtype=np.float32)
    r, g, b = np.meshgrid(axis, axis, axis, indexing="ij")
    lattice = np.ascontiguousarray(np.stack([r, g, b], axis=-1).reshape(-1, 3))
    if stops is not None:
        _shaper_processor(stops, True).applyRGB(lattice)
    exact_processor(colour).applyRGB(lattice)
    return BakedLut(lattice.reshape(size, size, size, 3), stops)


class ColourStep:
    """Applies one shot's baked pipeline to frames of one size, in planar RGB.

    Hand it frames in :attr:`rgb_format` (reformat the decoded frame to it, scaled to the clip's
    size: colour runs on the output pixels, not the camera's); it returns the display-referred
    picture in the same format. Memory: one filter graph and one frame, whatever the shot's
    length.
    """

    def __init__(self, colour: ShotColour, width: int, height: int) -> None:
        self.colour = colour
        self.baked = bake(colour)
        #: 16-bit planes keep 0-1 encodings exact enough (10-bit sources lose nothing); float
        #: planes carry scene-linear values above 1.0 to the shaper.
        self.rgb_format = "gbrpf32le" if self.baked.shaper else "gbrp16le"
        self._graph = _graph_for(self.baked, width, height, self.rgb_format)
        self._shaper = _shaper_processor(self.baked.shaper, False) if self.baked.shaper else None

    def __call__(self, frame: VideoFrame) -> VideoFrame:
        if frame.format.name != self.rgb_format:
            raise ValueError(f"ColourStep takes {self.rgb_format} frames, not {frame.format.name}")
        if self._shaper is not None:
            # gbrp planes are G, B, R; shaped in place, rows may be padded.
            g, b, r = (np.frombuffer(memoryview(plane), np.float32) for plane in frame.planes)
            stride = frame.planes[0].line_size
            self._shaper.apply(
                ocio.PlanarImageDesc(
                    r, g, b, frame.width, frame.height, ocio.BIT_DEPTH_F32, 4, stride
                )
            )
        self._graph.vpush(frame)
        out: VideoFrame = self._graph.vpull()
        return out

    def from_decoded(
        self, frame: VideoFrame, width: int, height: int, **convert: object
    ) -> VideoFrame:
        """A decoded (upright) frame scaled to ``width`` x ``height`` and coloured: the
        display-referred picture in :attr:`rgb_format`. ``convert`` goes to ``reformat``
        (the source's levels and matrix); colour runs after scaling, on the clip's pixels."""
        rgb = frame.reformat(
            width=width,
            height=height,
            format=self.rgb_format,
            interpolation="BICUBIC",
            **convert,  # type: ignore[arg-type]
        )
        return self(rgb)

    def apply_array(self, rgb: np.ndarray) -> np.ndarray:
        """``rgb`` (H, W, 3) float32 through the fast path, for checks against the exact one."""
        if self.rgb_format == "gbrp16le":
            codes = np.clip(np.rint(rgb * 65535.0), 0, 65535).astype(np.uint16)
            out = self(VideoFrame.from_ndarray(codes, format="gbrp16le"))
            return out.to_ndarray().astype(np.float32) / 65535.0
        frame = VideoFrame.from_ndarray(np.ascontiguousarray(rgb, np.float32), format="gbrpf32le")
        return np.asarray(self(frame).to_ndarray(), np.float32)


_GRAPHS = threading.local()
#: Graphs kept per media thread: a run's shots share one or two transforms and sizes, and
#: FFmpeg parses a 65^3 .cube in about 0.3 s.
_GRAPHS_KEPT = 4


def _graph_for(baked: BakedLut, width: int, height: int, pix_fmt: str) -> av.filter.Graph:
    """A lut3d graph for this LUT, size and format, reused by later shots on this thread
    (a filter graph is not shared between threads; lut3d keeps no state between frames)."""
    kept: dict[tuple[int, int, int, str], tuple[BakedLut, av.filter.Graph]] = getattr(
        _GRAPHS, "kept", {}
    )
    _GRAPHS.kept = kept
    key = (id(baked), width, height, pix_fmt)
    found = kept.get(key)
    if found is not None and found[0] is baked:
        return found[1]
    graph = _lut_graph(baked, width, height, pix_fmt)
    if len(kept) >= _GRAPHS_KEPT:
        kept.pop(next(iter(kept)))
    kept[key] = (baked, graph)
    return graph


def _lut_graph(baked: BakedLut, width: int, height: int, pix_fmt: str) -> av.filter.Graph:
    """buffer -> lut3d (tetrahedral, threaded) -> buffersink, for one size and format."""
    graph = av.filter.Graph()
    # One thread per core: the cut runs a shot at a time per media thread, and lut3d's slices
    # are the only colour work; the encoder's own threads overlap with it.
    graph.threads = os.cpu_count() or 1
    source = graph.add_buffer(
        width=width, height=height, format=av.VideoFormat(pix_fmt), time_base=Fraction(1, 1000)
    )
    fd, name = tempfile.mkstemp(prefix="aleph-otio-colour-", suffix=".cube")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(baked.cube_text)
        # FFmpeg reads the file when the graph is configured; it is not needed after.
        lut = graph.add("lut3d", f"file={_filter_path(Path(name))}:interp=tetrahedral")
        sink = graph.add("buffersink")
        source.link_to(lut)
        lut.link_to(sink)
        graph.configure()
    finally:
        os.unlink(name)
    return graph


def _filter_path(path: Path) -> str:
    # Filter option syntax: ':' separates options and '\' escapes; temp paths have neither
    # on POSIX, but a TMPDIR could.
    return str(path).replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")
