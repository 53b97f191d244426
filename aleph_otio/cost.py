"""What a plan costs before anything is sent: price x seconds of input video x results."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aleph_otio.config import DEFAULT_PRICE_PER_SECOND
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
