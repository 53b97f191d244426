"""Checks of a Runway ``POST /v1/video_to_video`` body for model ``aleph2``, and of a
``POST /v1/video_upscale`` body (``magnific_video_upscaler_creative``).

The fields, their wire names and their allowed values follow the official ``runwayml`` SDK's
published types (``types/video_to_video_create_params.py``, ``Variant0``); tests/
test_runway_backend.py compares these tables with the installed SDK, so a new SDK that adds or
renames a field fails there first. Errors are raised as :class:`RunwayError` with Runway's body
shape: ``{"error": message, "issues": [{"path": [...], "message": ...}]}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aleph_otio.config import RUNWAY_UPSCALE_LONG_SIDE, RUNWAY_UPSCALE_MODEL

#: The wire names of aleph2's fields (required first).
REQUIRED = ("model", "videoUri")
OPTIONAL = (
    "contentModeration",
    "keyframes",
    "outputFormat",
    "promptText",
    "proresProfile",
    "ratio",
    "seed",
    "targetAspectRatio",
)
OUTPUT_FORMATS = ("mp4", "prores", "png_sequence", "sdr_rec709_10bit")
PRORES_PROFILES = ("422", "4444", "422 Proxy", "422 LT", "422 HQ", "4444 XQ")
TARGET_ASPECT_RATIOS = ("16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "21:9")
PUBLIC_FIGURE_THRESHOLDS = ("auto", "low")
MAX_KEYFRAMES = 5
MAX_SEED = 4294967295


class RunwayError(Exception):
    """An error answer: HTTP status and Runway's error body."""

    def __init__(self, status: int, message: str, issues: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.issues = issues or []

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.message}
        if self.issues:
            out["issues"] = self.issues
        return out


def invalid(path: list[str | int], message: str) -> RunwayError:
    where = ".".join(str(p) for p in path)
    return RunwayError(400, f"Invalid {where}: {message}", [{"path": path, "message": message}])


@dataclass
class Keyframe:
    uri: str
    seconds: float | None = None
    at: float | None = None
    window: tuple[int, int] | None = None


@dataclass
class AlephRequest:
    video_uri: str
    prompt_text: str | None = None
    output_format: str = "mp4"
    prores_profile: str | None = None
    seed: int | None = None
    target_aspect_ratio: str | None = None
    keyframes: list[Keyframe] = field(default_factory=list)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _keyframe(index: int, raw: object) -> Keyframe:
    path: list[str | int] = ["keyframes", index]
    if not isinstance(raw, dict):
        raise invalid(path, "expected an object with uri and seconds or at")
    unknown = sorted(set(raw) - {"uri", "seconds", "at", "range"})
    if unknown:
        raise invalid([*path, unknown[0]], "unrecognized key")
    uri = raw.get("uri")
    if not isinstance(uri, str) or not uri:
        raise invalid([*path, "uri"], "required: an HTTPS URL, runway:// upload URI or data URI")
    if ("seconds" in raw) == ("at" in raw):
        raise invalid(path, "give exactly one of seconds or at")
    frame = Keyframe(uri=uri)
    if "seconds" in raw:
        if not _number(raw["seconds"]) or raw["seconds"] < 0:
            raise invalid([*path, "seconds"], "expected a number of seconds >= 0")
        frame.seconds = float(raw["seconds"])
    else:
        if not _number(raw["at"]) or not 0 <= raw["at"] <= 1:
            raise invalid([*path, "at"], "expected a fraction from 0 to 1")
        frame.at = float(raw["at"])
    if "range" in raw:
        window = raw["range"]
        ok = isinstance(window, dict) and set(window) == {"startSeconds", "endSeconds"}
        start, end = (window.get("startSeconds"), window.get("endSeconds")) if ok else (None, None)
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
            raise invalid([*path, "range"], "expected whole startSeconds < endSeconds, both >= 0")
        frame.window = (start, end)
    return frame


def validate_aleph(body: object) -> AlephRequest:
    """The checked request, or RunwayError naming the first bad field."""
    if not isinstance(body, dict):
        raise RunwayError(400, "The request body must be a JSON object.")
    for name in REQUIRED:
        if name not in body:
            raise invalid([name], "required")
    if body["model"] != "aleph2":
        raise invalid(["model"], f"this emulator serves aleph2, not {body['model']!r}")
    unknown = sorted(set(body) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise invalid([unknown[0]], "unrecognized key for model aleph2")
    video = body["videoUri"]
    if not isinstance(video, str) or not video:
        raise invalid(["videoUri"], "expected an HTTPS URL, runway:// upload URI or data URI")
    req = AlephRequest(video_uri=video)
    prompt = body.get("promptText")
    if prompt is not None and (not isinstance(prompt, str) or not prompt.strip()):
        raise invalid(["promptText"], "expected a non-empty string")
    req.prompt_text = prompt
    fmt = body.get("outputFormat", "mp4")
    if fmt not in OUTPUT_FORMATS:
        raise invalid(["outputFormat"], f"expected one of {', '.join(OUTPUT_FORMATS)}")
    req.output_format = fmt
    if "proresProfile" in body:
        if fmt != "prores":
            raise invalid(["proresProfile"], "only valid when outputFormat is prores")
        if body["proresProfile"] not in PRORES_PROFILES:
            raise invalid(["proresProfile"], f"expected one of {', '.join(PRORES_PROFILES)}")
        req.prores_profile = body["proresProfile"]
    elif fmt == "prores":
        req.prores_profile = "4444"
    if "seed" in body:
        seed = body["seed"]
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
            raise invalid(["seed"], f"expected an integer from 0 to {MAX_SEED}")
        req.seed = seed
    if "targetAspectRatio" in body:
        if body["targetAspectRatio"] not in TARGET_ASPECT_RATIOS:
            raise invalid(
                ["targetAspectRatio"], f"expected one of {', '.join(TARGET_ASPECT_RATIOS)}"
            )
        req.target_aspect_ratio = body["targetAspectRatio"]
    moderation = body.get("contentModeration")
    if moderation is not None:
        if not isinstance(moderation, dict) or set(moderation) - {"publicFigureThreshold"}:
            raise invalid(["contentModeration"], "expected {publicFigureThreshold}")
        if moderation.get("publicFigureThreshold", "auto") not in PUBLIC_FIGURE_THRESHOLDS:
            raise invalid(["contentModeration", "publicFigureThreshold"], "expected auto or low")
    frames = body.get("keyframes", [])
    if not isinstance(frames, list):
        raise invalid(["keyframes"], "expected a list")
    if len(frames) > MAX_KEYFRAMES:
        raise invalid(["keyframes"], f"at most {MAX_KEYFRAMES} keyframes")
    req.keyframes = [_keyframe(i, f) for i, f in enumerate(frames)]
    if len({k.window is None for k in req.keyframes}) > 1:
        raise invalid(["keyframes"], "all keyframes must set a range, or none may")
    return req


# --- POST /v1/video_upscale (types/video_upscale_create_params.py) ------------------------------

#: The upscaler the emulator renders, and the wire names of its fields (required first).
UPSCALE_MODEL = RUNWAY_UPSCALE_MODEL
UPSCALE_REQUIRED = ("model", "videoUri")
UPSCALE_OPTIONAL = ("creativity", "flavor", "fpsBoost", "resolution", "sharpen", "smartGrain")
UPSCALE_RESOLUTIONS = ("720p", "1k", "2k", "4k")
UPSCALE_FLAVORS = ("vivid", "natural")
#: The other model of the route (a frame-rate converter, not an upscaler): refused by name.
FRAME_RATE_MODEL = "enhance_frame_rate"
#: Long side of the output, in pixels, per ``resolution`` (the aspect ratio is kept).
UPSCALE_LONG_SIDE = RUNWAY_UPSCALE_LONG_SIDE


@dataclass
class UpscaleRequest:
    video_uri: str
    resolution: str = "2k"
    fps_boost: bool = False
    creativity: int | None = None
    flavor: str | None = None


def validate_upscale(body: object) -> UpscaleRequest:
    """The checked ``/v1/video_upscale`` request, or RunwayError naming the first bad field."""
    if not isinstance(body, dict):
        raise RunwayError(400, "The request body must be a JSON object.")
    for name in UPSCALE_REQUIRED:
        if name not in body:
            raise invalid([name], "required")
    if body["model"] == FRAME_RATE_MODEL:
        raise invalid(["model"], f"this emulator serves {UPSCALE_MODEL}, not {FRAME_RATE_MODEL}")
    if body["model"] != UPSCALE_MODEL:
        raise invalid(["model"], f"expected {UPSCALE_MODEL} or {FRAME_RATE_MODEL}")
    unknown = sorted(set(body) - set(UPSCALE_REQUIRED) - set(UPSCALE_OPTIONAL))
    if unknown:
        raise invalid([unknown[0]], f"unrecognized key for model {UPSCALE_MODEL}")
    video = body["videoUri"]
    if not isinstance(video, str) or not video:
        raise invalid(["videoUri"], "expected an HTTPS URL, runway:// upload URI or data URI")
    req = UpscaleRequest(video_uri=video)
    resolution = body.get("resolution", "2k")
    if resolution not in UPSCALE_RESOLUTIONS:
        raise invalid(["resolution"], f"expected one of {', '.join(UPSCALE_RESOLUTIONS)}")
    req.resolution = resolution
    if "flavor" in body:
        if body["flavor"] not in UPSCALE_FLAVORS:
            raise invalid(["flavor"], "expected vivid or natural")
        req.flavor = body["flavor"]
    if "fpsBoost" in body:
        if not isinstance(body["fpsBoost"], bool):
            raise invalid(["fpsBoost"], "expected true or false")
        req.fps_boost = body["fpsBoost"]
    for name in ("creativity", "sharpen", "smartGrain"):
        if name in body:
            value = body[name]
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
                raise invalid([name], "expected an integer from 0 to 100")
    req.creativity = body.get("creativity")
    return req


def upscaled_size(width: int, height: int, resolution: str) -> tuple[int, int]:
    """The emulator's output size: the long side of ``resolution``, aspect kept, sizes even."""
    long_side = UPSCALE_LONG_SIDE[resolution]
    scale = long_side / max(width, height)
    return (
        max(2, 2 * round(width * scale / 2)),
        max(2, 2 * round(height * scale / 2)),
    )
