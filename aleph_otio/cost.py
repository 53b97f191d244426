"""What a plan costs before anything is sent: price x seconds of input video x results.

The price per second is the chosen backend's (:func:`backend_pricing`): Runware's USD figure, or
Runway's credits per second for the output format plus, with ``--upscale``, the upscale's,
converted to USD (the unit ``--budget`` takes) and shown in credits beside it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from aleph_otio.config import (
    DEFAULT_PRICE_PER_SECOND,
    RUNWAY_CREDIT_USD,
    RUNWAY_CREDITS_PER_SECOND,
    RUNWAY_FORMAT_SURCHARGE,
    RUNWAY_UPSCALE_CREDITS_PER_SECOND,
    APISettings,
)
from aleph_otio.errors import ConfigError
from aleph_otio.shots import Shot, distinct


def estimate_cost(shot: Shot, price_per_second: float) -> float:
    """Expected USD: price x seconds of input video x numberResults."""
    return round(price_per_second * shot.duration_seconds * shot.options.number_results, 4)


@dataclass(frozen=True)
class ShotCost:
    """Expected cost of one shot: price x seconds of input video x number of results."""

    shot_id: str
    name: str
    prompt: str
    seconds: float
    results: int
    usd: float


@dataclass(frozen=True)
class CostEstimate:
    """Expected cost of a plan, per shot and in total (USD, before anything is submitted)."""

    shots: list[ShotCost]
    price_per_second: float

    @property
    def total(self) -> float:
        """Sum of the shots' estimates (the figure ``run --budget`` compares against)."""
        return round(sum(s.usd for s in self.shots), 4)

    @property
    def seconds(self) -> float:
        """Seconds of input video sent (each shot once, whatever its number of results)."""
        return round(sum(s.seconds for s in self.shots), 3)

    @property
    def results(self) -> int:
        return sum(s.results for s in self.shots)

    def __str__(self) -> str:
        return (
            f"{len(self.shots)} shot(s), {self.seconds:.2f} s of input video, "
            f"{self.results} result(s): ${self.total:.2f} "
            f"at ${self.price_per_second:.2f}/s per result"
        )


@dataclass(frozen=True)
class Pricing:
    """One backend's price per second of input video, per result, by paid step."""

    backend: str
    #: (what is paid for, USD per second), in the order they are paid.
    steps: tuple[tuple[str, float], ...]
    #: Runway bills credits: USD per credit (None: the backend bills USD).
    credit_usd: float | None = None

    @property
    def per_second(self) -> float:
        """USD per second of every step: what the estimate and ``--budget`` count."""
        return round(sum(usd for _, usd in self.steps), 6)

    def credits(self, usd: float) -> float | None:
        """``usd`` in the backend's credits (None when it bills USD)."""
        return None if self.credit_usd is None else round(usd / self.credit_usd, 2)

    def __str__(self) -> str:
        def one(usd: float) -> str:
            credits = self.credits(usd)
            return f"{credits:g} credits" if credits is not None else f"${usd:.2f}"

        parts = " + ".join(f"{what} {one(usd)}" for what, usd in self.steps)
        total = f"${self.per_second:.2f}"
        if self.credit_usd is not None:
            total = f"{self.credits(self.per_second):g} credits = {total}"
        if len(self.steps) > 1 or self.credit_usd is not None:
            return f"{self.backend}: {parts} = {total} per second of input video, per result"
        return f"{self.backend}: {total} per second of input video, per result"


def backend_pricing(
    backend: str = "runware",
    *,
    output_format: str = "mp4",
    upscale: str | None = None,
    price: float | None = None,
    upscale_price: float | None = None,
) -> Pricing:
    """The price a run with these options pays (``price``: ``--price``, which wins).

    Runway's figures are credits per second (see ``RUNWAY_CREDITS_PER_SECOND`` in config, with
    their dates): aleph2 by output format, plus the upscale's with ``upscale``.
    """
    if backend != "runway":
        usd = check_price(DEFAULT_PRICE_PER_SECOND if price is None else price)
        return Pricing("Runware", (("Aleph 2.0", usd),))
    credits = RUNWAY_CREDITS_PER_SECOND + RUNWAY_FORMAT_SURCHARGE.get(output_format, 0)
    aleph = credits * RUNWAY_CREDIT_USD if price is None else check_price(price)
    steps = [(f"aleph2 {output_format}", round(aleph, 6))]
    if upscale is not None:
        usd = RUNWAY_UPSCALE_CREDITS_PER_SECOND * RUNWAY_CREDIT_USD
        usd = usd if upscale_price is None else check_price(upscale_price)
        steps.append((f"upscale {upscale}", round(usd, 6)))
    return Pricing("Runway", tuple(steps), credit_usd=RUNWAY_CREDIT_USD)


def settings_pricing(settings: APISettings) -> Pricing:
    """The pricing of resolved API settings (their price already the backend's or --price)."""
    return backend_pricing(
        settings.backend,
        output_format=settings.output_format_runway,
        upscale=settings.upscale,
        price=settings.price_per_second,
        upscale_price=settings.upscale_price_per_second,
    )


def check_price(price_per_second: float) -> float:
    if not price_per_second >= 0:  # also refuses NaN
        raise ConfigError(
            f"price {price_per_second!r}: give USD per second of input video, e.g. 0.28"
        )
    return float(price_per_second)


def estimate_shots(
    shots: Iterable[Shot], price_per_second: float = DEFAULT_PRICE_PER_SECOND
) -> CostEstimate:
    """The cost estimate of some planned shots (the pipeline's own per-shot formula)."""
    price = check_price(price_per_second)
    return CostEstimate(
        shots=[
            ShotCost(
                shot_id=s.id,
                name=s.name,
                prompt=s.prompt,
                seconds=round(s.duration_seconds, 3),
                results=s.options.number_results,
                usd=estimate_cost(s, price),
            )
            for s in distinct(shots)
        ],
        price_per_second=price,
    )


_AMOUNT = r"(\d+(?:\.\d*)?|\.\d+)"
_USD = re.compile(rf"^\$?\s*{_AMOUNT}\s*(?:usd)?$")
_CREDITS = re.compile(rf"^{_AMOUNT}\s*(?:credits?|cr)$")


def parse_budget(text: str | float | None, backend: str = "runware") -> float | None:
    """``--budget`` in USD (``20``, ``$20``, ``20 usd``) or, for Runway, credits (``2000
    credits``, ``2000cr``), as the USD the estimate is compared with."""
    if text is None:
        return None
    if isinstance(text, int | float):
        value = float(text)
        if not value >= 0:
            raise ConfigError(f"--budget {text!r}: give the most USD to spend, e.g. 20")
        return value
    spoken = text.strip().lower()
    usd = _USD.match(spoken)
    if usd:
        return float(usd.group(1))
    credits = _CREDITS.match(spoken)
    if credits and backend == "runway":
        return round(float(credits.group(1)) * RUNWAY_CREDIT_USD, 6)
    if credits:
        raise ConfigError(
            f"--budget {text}: credits are Runway's unit; give USD (e.g. --budget 20) for "
            "--backend runware, or add --backend runway"
        )
    raise ConfigError(
        f"--budget {text!r}: give the most USD to spend (20, $20) or, with --backend runway, "
        "credits (2000 credits)"
    )
