"""The one place that chains the steps: plan -> prepare -> upload -> submit -> poll -> download
-> verify -> relink -> write. Every step is recorded in the job ledger first, so a second run of
the same command resumes exactly where the first stopped (and never pays twice).

Rule for results that fail verification (wrong frame count, rate or framing): the file is kept
in the work folder, the shot is marked ``failed`` with the reason, and it is NOT relinked; a
later run retries the download (the result may have been truncated in transit).

Faults (see docs/reliability.md): a poll that fails (server down, retries exhausted) leaves the
shots ``submitted`` so the next run polls again without resubmitting; a result URL that answers
404/410 is re-polled for a fresh URL, and when the server has none the shot fails as expired and
is only resubmitted (paid again) with ``resubmit_expired``; a task whose variations partly failed
keeps and relinks the successes and reports the failures. A run killed at any point leaves no
partial file behind once the next run has started: stale ``*.part`` downloads and temporary
clips and outputs of a killed run are swept first.

The stages, one module each, in the order a shot goes through them: ``send`` (prepare, upload,
submit), ``collect`` (poll, record each outcome), ``download`` (download, verify); ``run`` chains
them over the ledger and relinks; ``model`` holds what a run is given and returns, ``base`` what
every stage uses.
"""

from __future__ import annotations

from aleph_otio.cost import estimate_cost
from aleph_otio.pipeline.base import media_threads
from aleph_otio.pipeline.model import (
    EXPIRED_REASON,
    EventFn,
    RelinkMode,
    RunConfig,
    RunSummary,
    ShotReport,
    Stage,
)
from aleph_otio.pipeline.run import (
    Pipeline,
    endpoint_label,
    media_facts_from_probe,
    plan_file,
    run_pipeline,
)

__all__ = [
    "EXPIRED_REASON",
    "EventFn",
    "Pipeline",
    "RelinkMode",
    "RunConfig",
    "RunSummary",
    "ShotReport",
    "Stage",
    "endpoint_label",
    "estimate_cost",
    "media_facts_from_probe",
    "media_threads",
    "plan_file",
    "run_pipeline",
]
