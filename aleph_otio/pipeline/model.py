"""What a run is given (RunConfig) and what it returns (RunSummary, one ShotReport per shot)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aleph_otio.config import APISettings, PlanSettings
from aleph_otio.shots import Shot

RelinkMode = Literal["version", "reference", "replace"]
Stage = Literal[
    "plan",
    "prepare",
    "upload",
    "submit",
    "generate",
    "download",
    "verify",
    "upscale",
    "deliver",
    "relink",
    "write",
]
#: Progress callback: (stage, shot or None, status) where status is "start", "done" or "failed".
EventFn = Callable[[str, Shot | None, str], Any]

#: States in which the shot still has to reach the server.
BEFORE_SUBMIT = ("planned", "prepared", "uploaded", "submitting")
#: Starts the reason of a shot whose result the server no longer has (see ``resubmit_expired``).
EXPIRED_REASON = "result expired"


@dataclass
class RunConfig:
    """What one ``aleph-otio run`` does."""

    timeline: Path
    output: Path | None
    work_dir: Path
    plan_settings: PlanSettings = field(default_factory=PlanSettings)
    api_settings: APISettings = field(default_factory=APISettings)
    relink_mode: RelinkMode = "version"
    concurrency: int = 4
    rate: float | None = None
    budget: float | None = None
    retry_failed: bool = True
    submit_only: bool = False
    #: Submit shots whose results expired on the server again, under a new taskUUID (pays again).
    resubmit_expired: bool = False

    @property
    def ledger_path(self) -> Path:
        return self.work_dir / "ledger.sqlite"


@dataclass
class ShotReport:
    """How one shot ended in this run."""

    shot_id: str
    name: str
    prompt: str
    state: str
    reason: str | None = None
    task_uuid: str = ""
    estimate: float = 0.0
    cost: float | None = None
    results: list[str] = field(default_factory=list)
    clips: str = ""  # the source clip(s), shown beside the shot name


@dataclass
class RunSummary:
    """What a run did; ``exit_code`` is 0 when every marker ended relinked."""

    shots: list[ShotReport]
    plan_errors: list[str]
    output: Path | None
    ledger: Path
    stopped_by_budget: bool = False
    plan_warnings: list[str] = field(default_factory=list)
    still_processing: int = 0

    @property
    def done(self) -> list[ShotReport]:
        return [s for s in self.shots if s.state == "relinked"]

    @property
    def failed(self) -> list[ShotReport]:
        return [s for s in self.shots if s.state == "failed"]

    @property
    def cost(self) -> float:
        return sum(s.cost or 0.0 for s in self.shots)

    @property
    def estimate(self) -> float:
        return sum(s.estimate for s in self.shots)

    @property
    def exit_code(self) -> int:
        if not self.plan_errors and len(self.done) == len(self.shots):
            return 0
        if not self.shots:
            return 3  # every marker was refused at plan time
        return 4 if self.done else 5
