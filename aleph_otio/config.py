"""Settings, resolved once: explicit argument > environment > config file > defaults.

The API key is held as a :class:`pydantic.SecretStr`; it is read from ``RUNWARE_API_KEY`` or from
a config file that only its owner may read (mode 0600), and it is never printed.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from aleph_otio.errors import ConfigError

DEFAULT_BASE_URL = "https://api.runware.ai/v1"
MODEL_ID = "runway:aleph@2.0"
#: Documented price of Aleph 2.0 on Runware, USD per second of input video, per result.
DEFAULT_PRICE_PER_SECOND = 0.28
#: Runway bills aleph2 in credits of USD 0.01 (Runway's API setup guide): 28 credits per second
#: of mp4 output as published on Runway's API pricing page (read 2026-09), plus a surcharge per
#: second for other formats (the runwayml 5.24 SDK's docs of outputFormat); 40 instead of 20 for
#: sdr_rec709_10bit above 4 megapixels. Override with --price (USD per second).
RUNWAY_CREDIT_USD = 0.01
RUNWAY_CREDITS_PER_SECOND = 28
RUNWAY_FORMAT_SURCHARGE = {"mp4": 0, "prores": 5, "png_sequence": 5, "sdr_rec709_10bit": 20}
#: Runway's video upscale, credits per second of video upscaled: 2, the figure Runway's API
#: pricing page published for its upscaler (upscale_v1, read 2025-06); the runwayml 5.24 SDK's
#: upscaler (magnific_video_upscaler_creative) publishes none, so check the pricing page and
#: override with --upscale-price (USD per second) when it differs.
RUNWAY_UPSCALE_CREDITS_PER_SECOND = 2
#: Runway's upscaler and what ``--upscale`` asks of it: the long side of the output per
#: ``resolution`` (the aspect ratio is kept). The SDK documents only "from 720p to 4k"; these are
#: the 720p/HD/QHD/UHD classes of a 16:9 picture (4k: 3840x2160, 2k: 2560x1440, 1k: 1920x1080).
RUNWAY_UPSCALE_MODEL = "magnific_video_upscaler_creative"
RUNWAY_UPSCALE_LONG_SIDE = {"720p": 1280, "1k": 1920, "2k": 2560, "4k": 3840}
API_KEY_ENV = "RUNWARE_API_KEY"
#: The Runway backend's key and endpoint, as the official runwayml SDK reads them.
RUNWAY_KEY_ENV = "RUNWAYML_API_SECRET"
RUNWAY_BASE_URL_ENV = "RUNWAYML_BASE_URL"
DEFAULT_RUNWAY_BASE_URL = "https://api.dev.runwayml.com"
CONFIG_ENV = "ALEPH_OTIO_CONFIG"

OutputFormat = Literal["MP4", "WEBM", "MOV"]
RunwayFormat = Literal["mp4", "prores", "png_sequence", "sdr_rec709_10bit"]
#: ``--output-format`` values only Runway returns (mp4 both do).
RUNWAY_ONLY_FORMATS: tuple[str, ...] = ("prores", "png_sequence", "sdr_rec709_10bit")
UpscaleResolution = Literal["1k", "2k", "4k"]
SafetyMode = Literal["none", "fast", "full"]
ReturnColorspace = Literal["display", "source"]
#: What a result is delivered as (VFX returns): itself, or the plate's kind of media.
DeliverKind = Literal["as-returned", "prores-422hq", "prores-4444", "dnxhr-hqx", "exr", "dpx"]
#: The size a result is delivered at: the plate's, or as Aleph returned it.
DeliverSize = Literal["source", "returned"]

#: The OCIO config used when none is given and ``$OCIO`` is unset: OCIO's built-in studio
#: config, the one that has the camera log spaces ("ARRI LogC3 (EI800)", "S-Log3 S-Gamut3", ...).
DEFAULT_OCIO_CONFIG = "ocio://studio-config-latest"
#: "Display-referred Rec.709", the picture Aleph receives: a Rec.709 display with BT.1886 (2.4
#: gamma), as a grading suite's reference monitor shows HD video, through the config's default
#: view for it (ACES 2.0 SDR 100 nits in the studio config). Candidates (sRGB display, gamma 2.2,
#: the un-tone-mapped view) differ by far more than compression, so this one is named and settable.
DEFAULT_DISPLAY = "Rec.1886 Rec.709 - Display"


def default_config_path() -> Path:
    """``$ALEPH_OTIO_CONFIG`` or ``$XDG_CONFIG_HOME/aleph-otio/config.toml``."""
    if os.environ.get(CONFIG_ENV):
        return Path(os.environ[CONFIG_ENV])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "aleph-otio" / "config.toml"


class ColourSettings(BaseModel):
    """How source pictures become the display-referred clip Aleph receives (OpenColorIO).

    Input colour space, first that applies: a ``rules`` regex on the clip or file name, the
    clip's OTIO metadata (Hiero through AYON/OpenPype), ``input_colorspace`` for the run, the
    media's own tags. Explicit beats inferred: camera ProRes is often tagged BT.709 while it
    holds log. Then, in the ``working_colorspace`` (default: the input space, where on-set CDLs
    and camera show LUTs are made), the shot's CDL, then the show LUT or the view transform.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    ocio_config: str | None = Field(
        default=None,
        description=f"config file or ocio:// URI; None: $OCIO, else {DEFAULT_OCIO_CONFIG}",
    )
    input_colorspace: str | None = None
    rules: tuple[tuple[str, str], ...] = Field(
        default=(), description="(REGEX, COLOURSPACE) on clip or file names, first match wins"
    )
    display: str = DEFAULT_DISPLAY
    view: str | None = Field(default=None, description="None: the config's default view")
    lut: str | None = Field(default=None, description="show LUT (.cube, ...) replacing the view")
    cdl: str | None = Field(default=None, description=".cdl/.cc/.ccc file or a folder of them")
    working_colorspace: str | None = None
    return_colorspace: ReturnColorspace = "display"


class PlanSettings(BaseModel):
    """How markers become shots. Every field has a CLI option of the same name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prefix: str = "aleph:"
    marker_color: str | None = None
    guide_track: str = "ALEPH GUIDES"
    handles: int = Field(default=0, ge=0, description="extra frames each side, clipped to media")
    min_seconds: float = 2.0
    max_fps: float = Field(
        default=30.0,
        gt=0,
        description="highest frame rate sent (Runway's stated Aleph input limit: 30 fps); a "
        "source up to twice this is sent at half rate, every second frame",
    )
    max_seconds: float = 30.0
    split_long: bool = True
    number_results: int = Field(default=1, ge=1, le=4)
    output_format: OutputFormat = "MP4"
    output_quality: int = Field(default=95, ge=20, le=99)
    sequence: str | None = Field(
        default=None, description="the sequence to plan in a file that holds several"
    )
    media_map: tuple[tuple[str, str], ...] = Field(
        default=(), description="(FROM, TO) path prefixes: media moved from FROM to TO"
    )
    media_search: tuple[str, ...] = Field(
        default=(), description="folders searched by file name for media not where it was"
    )
    shot_names: tuple[str, ...] = Field(
        default=("marker", "regex", "template"),
        description="where a shot's name comes from, first that gives one (see naming.py)",
    )
    shot_regex: str | None = Field(default=None, description="shot name found in clip names")
    shot_template: str = Field(default="sh{index}", description="shot name from tokens")
    deliver: DeliverKind = Field(
        default="as-returned",
        description="what results are delivered as: themselves, ProRes, DNxHR or EXR/DPX",
    )
    deliver_size: DeliverSize = Field(
        default="source", description="results at the size of the clip they replace, or as returned"
    )
    result_template: str = Field(
        default="{shot}_aleph_v{version:03}{variation}", description="result file stem"
    )
    colour: ColourSettings | None = Field(
        default=None, description="colour management; None sends the media's pictures as they are"
    )


class APISettings(BaseModel):
    """Where and how tasks are sent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = DEFAULT_BASE_URL
    api_key: SecretStr | None = None
    ttl: int | None = Field(default=None, ge=60)
    include_cost: bool = True
    webhook_url: str | None = None
    upload_endpoint: str | None = None
    safety_mode: SafetyMode | None = None
    poll_interval: float = 2.0
    poll_max_interval: float = 15.0
    deadline_seconds: float = 3600.0
    price_per_second: float = DEFAULT_PRICE_PER_SECOND
    #: Which API runs the tasks: Runware's task API, or Runway's own ("runway").
    backend: Literal["runware", "runway"] = "runware"
    #: Runway only: the first result's seed (result i gets seed + i).
    seed: int | None = Field(default=None, ge=0, le=4294967295)
    #: Runway only: return ProRes in this profile ("422 HQ", "4444", ...).
    prores_profile: str | None = None
    #: Runway only: send again a create whose answer was lost (after checking Runway's list).
    resubmit_uncertain: bool = False
    #: Runway only: the output format (mp4, prores, png_sequence, sdr_rec709_10bit); None: mp4,
    #: or prores when ``prores_profile`` is given.
    runway_format: RunwayFormat | None = None
    #: Runway only: upscale every result to this resolution (1k, 2k, 4k) with Runway's upscaler.
    upscale: UpscaleResolution | None = None
    #: USD per second of video upscaled (Runway bills credits; see RUNWAY_UPSCALE_CREDITS_...).
    upscale_price_per_second: float = Field(
        default=RUNWAY_UPSCALE_CREDITS_PER_SECOND * RUNWAY_CREDIT_USD, ge=0
    )

    @property
    def estimate_per_second(self) -> float:
        """USD per second of input video, per result, of every paid step: what the estimate
        and ``--budget`` count (the task's price, plus the upscale's with ``--upscale``)."""
        extra = self.upscale_price_per_second if self.upscale is not None else 0.0
        return round(self.price_per_second + extra, 6)

    @property
    def output_format_runway(self) -> RunwayFormat:
        """The format the Runway backend asks for."""
        if self.runway_format is not None:
            return self.runway_format
        return "prores" if self.prores_profile else "mp4"

    def require_key(self) -> SecretStr:
        """The API key, or a ConfigError that says where to put it."""
        if self.api_key is None or not self.api_key.get_secret_value():
            if self.backend == "runway":
                raise ConfigError(
                    f"no Runway API key: set {RUNWAY_KEY_ENV}, or put runway_api_key = "
                    f'"..." in {default_config_path()} (mode 0600); or use --emulator to '
                    "rehearse offline"
                )
            raise ConfigError(
                f'no Runware API key: set {API_KEY_ENV}, or put api_key = "..." in '
                f"{default_config_path()} (mode 0600); or use --emulator to rehearse offline"
            )
        return self.api_key


def read_config_file(path: Path | None = None) -> dict[str, object]:
    """Read the TOML config file; refuse it when others can read it and it holds a key."""
    path = path or default_config_path()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable TOML config file ({exc})") from None
    if "api_key" in data or "runway_api_key" in data:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(
                f"{path}: holds an API key but is readable by others (mode {mode:o}); "
                f"run: chmod 600 {path}"
            )
    return data


def resolve_api_key(
    explicit: str | None = None, config_path: Path | None = None
) -> SecretStr | None:
    """Explicit value > ``RUNWARE_API_KEY`` > config file > None."""
    if explicit:
        return SecretStr(explicit)
    if os.environ.get(API_KEY_ENV):
        return SecretStr(os.environ[API_KEY_ENV])
    value = read_config_file(config_path).get("api_key")
    if isinstance(value, str) and value:
        return SecretStr(value)
    return None


def resolve_runway_key(
    explicit: str | None = None, config_path: Path | None = None
) -> SecretStr | None:
    """Explicit value > ``RUNWAYML_API_SECRET`` > config file ``runway_api_key`` > None."""
    if explicit:
        return SecretStr(explicit)
    if os.environ.get(RUNWAY_KEY_ENV):
        return SecretStr(os.environ[RUNWAY_KEY_ENV])
    value = read_config_file(config_path).get("runway_api_key")
    if isinstance(value, str) and value:
        return SecretStr(value)
    return None


def resolve_runway_base_url(explicit: str | None = None, config_path: Path | None = None) -> str:
    """Explicit value > ``RUNWAYML_BASE_URL`` > config file ``runway_base_url`` > Runway's API."""
    if explicit:
        return explicit
    if os.environ.get(RUNWAY_BASE_URL_ENV):
        return os.environ[RUNWAY_BASE_URL_ENV]
    value = read_config_file(config_path).get("runway_base_url")
    return value if isinstance(value, str) and value else DEFAULT_RUNWAY_BASE_URL


def resolve_base_url(explicit: str | None = None, config_path: Path | None = None) -> str:
    """Explicit value > ``RUNWARE_BASE_URL`` > config file ``base_url`` > the public endpoint."""
    if explicit:
        return explicit
    if os.environ.get("RUNWARE_BASE_URL"):
        return os.environ["RUNWARE_BASE_URL"]
    value = read_config_file(config_path).get("base_url")
    return value if isinstance(value, str) and value else DEFAULT_BASE_URL


# --- a run's settings from the caller's options (CLI, scripting and Resolve alike) --------------

#: Key the built-in emulator is addressed with (it accepts any non-empty key).
EMULATOR_KEY = "emulator-local-key"
#: Polls against an emulator: 0.25 s apart at first (``run --emulator``), at most 1 s apart.
EMULATOR_POLL_INTERVAL = 0.25
EMULATOR_POLL_MAX_INTERVAL = 1.0


def default_work_dir(output: Path | None, timeline: Path, *, rehearsal: bool = False) -> Path:
    """``<output stem>.aleph-work`` next to the output (else next to the timeline).

    A rehearsal against the emulator gets its own ``.aleph-rehearsal`` folder: its uploads and
    tasks mean nothing to the real service, so a real run must never resume from them.
    """
    anchor = output if output is not None else timeline
    stem = anchor.name.split(".")[0] or "aleph"
    return anchor.parent / f"{stem}.aleph-{'rehearsal' if rehearsal else 'work'}"


def resolve_api_settings(
    *,
    emulator_url: str | None = None,
    base_url: str | None = None,
    ttl: int | None = None,
    include_cost: bool = True,
    webhook_url: str | None = None,
    upload_endpoint: str | None = None,
    safety: str | None = None,
    price: float = DEFAULT_PRICE_PER_SECOND,
    poll_interval: float | None = None,
    backend: str = "runware",
    seed: int | None = None,
    prores_profile: str | None = None,
    resubmit_uncertain: bool = False,
    runway_format: str | None = None,
    upscale: str | None = None,
    upscale_price: float | None = None,
) -> APISettings:
    """APISettings from options; the key from the environment or config file (never printed).

    ``emulator_url`` points the run at a local emulator (its own key, quicker polls). With
    ``backend="runway"`` the key is Runway's (``RUNWAYML_API_SECRET`` or ``runway_api_key``).
    """
    if backend not in ("runware", "runway"):
        raise ConfigError(f"--backend {backend!r}: use runware or runway")
    check_runway_only(backend, runway_format=runway_format, upscale=upscale)
    if backend == "runway" and price == DEFAULT_PRICE_PER_SECOND:
        # Runway's own figure for the chosen format, unless --price says otherwise.
        price = runway_price_per_second(runway_format or ("prores" if prores_profile else "mp4"))
    upscaling: dict[str, object] = {}
    if upscale_price is not None:
        upscaling["upscale_price_per_second"] = upscale_price
    if emulator_url is not None:
        key = resolve_api_key(EMULATOR_KEY)
        url = emulator_url
    elif backend == "runway":
        key = resolve_runway_key()
        url = resolve_runway_base_url(base_url)
    else:
        key = resolve_api_key()
        url = resolve_base_url(base_url)
    if safety is not None and safety not in ("none", "fast", "full"):
        raise ConfigError(f"--safety {safety!r}: use none, fast or full")
    mode: SafetyMode | None = safety  # type: ignore[assignment]
    poll: dict[str, float] = {}
    if poll_interval is not None:
        poll["poll_interval"] = poll_interval
    if emulator_url is not None:
        # Emulated tasks take seconds, not minutes: a result waits at most this long unseen.
        poll["poll_max_interval"] = max(EMULATOR_POLL_MAX_INTERVAL, poll_interval or 0.0)
    try:
        settings = APISettings(
            base_url=url,
            api_key=key,
            ttl=ttl,
            include_cost=include_cost,
            webhook_url=webhook_url,
            upload_endpoint=upload_endpoint,
            safety_mode=mode,
            price_per_second=price,
            backend=backend,  # type: ignore[arg-type]
            seed=seed,
            prores_profile=prores_profile,
            resubmit_uncertain=resubmit_uncertain,
            runway_format=runway_format,  # type: ignore[arg-type]
            upscale=upscale,  # type: ignore[arg-type]
            **upscaling,  # type: ignore[arg-type]
            **poll,
        )
    except ValueError as exc:
        raise ConfigError(f"invalid option: {exc}".splitlines()[0]) from None
    settings.require_key()
    return settings


def runway_price_per_second(output_format: str = "mp4") -> float:
    """USD per second of aleph2 output on Runway's API, per result (see RUNWAY_CREDITS_...)."""
    credits = RUNWAY_CREDITS_PER_SECOND + RUNWAY_FORMAT_SURCHARGE.get(output_format, 0)
    return round(credits * RUNWAY_CREDIT_USD, 4)


def check_runway_only(
    backend: str, *, runway_format: str | None = None, upscale: str | None = None
) -> None:
    """ConfigError for a Runway-only output format or ``--upscale`` on another backend."""
    if upscale is not None and upscale not in ("1k", "2k", "4k"):
        raise ConfigError(
            f"--upscale {upscale!r}: use 4k, 2k or 1k (the long side 3840, 2560, 1920)"
        )
    if runway_format is not None and runway_format not in ("mp4", *RUNWAY_ONLY_FORMATS):
        raise ConfigError(
            f"--output-format {runway_format!r}: Runway returns mp4, "
            + ", ".join(RUNWAY_ONLY_FORMATS)
        )
    if upscale is not None and runway_format == "png_sequence":
        raise ConfigError(
            f"--upscale {upscale} with --output-format png_sequence: Runway's upscaler takes a "
            "video; choose mp4, prores or sdr_rec709_10bit, or drop --upscale"
        )
    if backend == "runway":
        return
    if upscale is not None:
        raise ConfigError(
            f"--upscale {upscale} is a Runway option (Runway's video upscaler): add --backend "
            "runway, or drop --upscale"
        )
    if runway_format in RUNWAY_ONLY_FORMATS:
        raise ConfigError(
            f"--output-format {runway_format} is a Runway format: add --backend runway "
            "(Runware returns MP4, WEBM or MOV)"
        )
