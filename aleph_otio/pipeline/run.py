"""The run itself: plan, then the stages in order over the job ledger, then relink and write."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import glob
import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

from aleph_otio.api.backend import Backend
from aleph_otio.config import PlanSettings
from aleph_otio.cost import estimate_cost
from aleph_otio.exports import write_output
from aleph_otio.ledger import Ledger
from aleph_otio.ledger.lock import WorkFolderLock
from aleph_otio.media import probe
from aleph_otio.media.sequence import present_numbers
from aleph_otio.pipeline.collect import CollectStages
from aleph_otio.pipeline.model import (
    BEFORE_SUBMIT,
    EXPIRED_REASON,
    EventFn,
    RunConfig,
    RunSummary,
    ShotReport,
)
from aleph_otio.pipeline.send import SendStages
from aleph_otio.pipeline.upscale import UpscaleStages, upscaled_results
from aleph_otio.plan import plan_timeline
from aleph_otio.relink import relink_timeline
from aleph_otio.shots import MediaFacts, Plan, Shot, distinct
from aleph_otio.timeline import LoadedTimeline, read_timeline
from aleph_otio.timeline.sequences import parse_sequence


def endpoint_label(base_url: str) -> str:
    """What a ledger is tied to: the API endpoint, with every loopback server as one.

    Emulators started for a rehearsal listen on a new port each time; their work is the same
    rehearsal, while any other host is a service of its own.
    """
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        return "a local emulator (rehearsal)"
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def media_facts_from_probe(path: str) -> MediaFacts | None:
    """The planner's media facts, from the file itself; None when the file is not there.

    An unreadable file raises MediaError, which refuses that marker at plan time (as
    ``aleph-otio plan`` does) instead of failing later at the cut.
    """
    pattern = parse_sequence(path)
    if pattern is not None:
        return probe(path) if present_numbers(pattern) else None
    # os.path.isfile, not Path.is_file: on Python 3.11 the latter raises for a name the OS
    # refuses (ENAMETOOLONG), which is a missing file to the planner, not a crash.
    if "://" in path or not os.path.isfile(path):
        return None
    return probe(path)


def plan_file(
    timeline: Path, settings: PlanSettings, *, rate: float | str | None = None
) -> tuple[LoadedTimeline, Plan]:
    """Read a timeline and plan it against its real media (and its colour, when managed)."""
    loaded = read_timeline(timeline, rate=rate, sequence=settings.sequence)
    plan = plan_timeline(loaded, settings, media_facts=media_facts_from_probe)
    if settings.colour is not None:
        # Imported here: OpenColorIO loads only for runs that manage colour.
        from aleph_otio.media.colour.choose import attach_colour

        plan = attach_colour(loaded, plan, settings.colour)
    return loaded, plan


class Pipeline(SendStages, CollectStages, UpscaleStages):
    """One run over one timeline, against one API endpoint (real or emulated)."""

    async def run(self, planned: tuple[LoadedTimeline, Plan] | None = None) -> RunSummary:
        """Do everything that is not done yet; see the module docstring.

        ``planned`` is the timeline and plan when the caller already made them.
        """
        cfg = self.config
        if planned is None:
            self._emit("plan", None, "start")
            planned = await asyncio.to_thread(
                plan_file, cfg.timeline, cfg.plan_settings, rate=cfg.rate
            )
            self._emit("plan", None, "done")
        loaded, plan = planned
        try:
            return await self._run(loaded, plan)
        finally:
            if self._media_pool is not None:
                # Queued work is dropped; a cut in progress finishes on its own (it is short).
                self._media_pool.shutdown(wait=False, cancel_futures=True)
                self._media_pool = None

    async def _run(self, loaded: LoadedTimeline, plan: Plan) -> RunSummary:
        cfg = self.config
        # One run per work folder, held until the ledger closes: a second run (another
        # terminal, another editor on a shared disk) would submit the same shots again. Taken
        # before the sweep, which would delete a running run's partial files.
        with WorkFolderLock(self.work), Ledger(cfg.ledger_path) as ledger:
            for sub in ("clips", "guides", "results"):
                (self.work / sub).mkdir(parents=True, exist_ok=True)
            self._sweep_stale()
            ledger.bind_endpoint(endpoint_label(self.client.base_url))
            ledger.bind_backend(self.client.name)
            # Uploads persist with the job: a resumed run never sends the same bytes again.
            self.client.upload_cache = ledger.upload_cache()
            if hasattr(self.client, "remote_tasks"):
                # Runway's task ids (and the markers before each create) live in the ledger.
                self.client.remote_tasks = ledger.remote_tasks(self.client.name)
            if hasattr(self.client, "upscale_tasks"):
                # And the marker before each upscale create.
                self.client.upscale_tasks = ledger.upscale_tasks(self.client.name)
            # A shot id planned at two places (the same request on a source range cut in
            # twice) is one task: sent, polled and downloaded once, relinked at each place.
            shots = distinct(plan.shots)
            ledger.add_shots(shots, str(loaded.path))
            ids = [s.id for s in shots]
            if cfg.retry_failed:
                self._reopen_failed(ledger, ids)
            self._budget_spent = sum(
                estimate_cost(r.shot, cfg.api_settings.estimate_per_second)
                for r in ledger.shots()
                if r.shot.id in ids and r.state not in BEFORE_SUBMIT and r.state != "failed"
            )
            gate = asyncio.Semaphore(max(1, cfg.concurrency))

            async def to_server(shot: Shot) -> None:
                async with gate:
                    await self._to_server(ledger, shot)

            await asyncio.gather(*(to_server(s) for s in shots))
            still_processing = 0
            if not cfg.submit_only:
                still_processing = await self._collect(ledger, shots, gate)
                await self._upscale_all(ledger, shots, gate)
                # Then delivered as this run asks (from the upscale where there is one), results
                # verified by an earlier run too.
                await asyncio.gather(
                    *(
                        self._deliver_all(ledger, s)
                        for s in shots
                        if ledger.state(s.id) in ("verified", "relinked")
                    )
                )
                if cfg.output is not None:
                    await self._relink(ledger, loaded, plan.shots)
            return self._summary(ledger, plan, still_processing)

    def _sweep_stale(self) -> None:
        """Remove partial files a killed run left behind (it could not clean up after itself).

        Only names this package writes: ``*.part`` downloads, the hidden temporary files of
        atomic clip/still writes, and the hidden ``.<stem>.*.tmp<suffix>`` of the output.
        One run per work folder is assumed (as for the ledger).
        """
        stale = list((self.work / "results").glob("*.part"))
        for sub in ("clips", "guides"):
            stale.extend(p for p in (self.work / sub).glob(".*") if p.is_file())
        out = self.config.output
        if out is not None:
            out = out.expanduser().resolve()
            if out.parent.is_dir():
                pattern = f".{glob.escape(out.stem)}.*.tmp{glob.escape(out.suffix)}"
                stale.extend(out.parent.glob(pattern))
        for path in stale:
            with contextlib.suppress(OSError):
                path.unlink()

    def _reopen_failed(self, ledger: Ledger, ids: list[str]) -> None:
        """Failed shots of this plan go back to the earliest step that must be redone."""
        for record in ledger.shots(["failed"]):
            if record.shot.id not in ids:
                continue
            task_state = record.task_state
            expired = (record.reason or "").startswith(f"download: {EXPIRED_REASON}")
            if expired and self.config.resubmit_expired and task_state == "succeeded":
                # Asked for explicitly: the old task is over, a new taskUUID is paid again.
                ledger.mark_task_failed(record.task_uuid, f"resultExpired: {record.reason}")
                task_state = "failed"
            if task_state == "failed":
                target = "uploaded" if record.media_uuid else "planned"
            elif task_state == "succeeded":
                target = "succeeded"
            elif task_state == "submitted":
                target = "submitted"
            else:
                # Never acknowledged (e.g. "submitting" when retries ran out): send it again,
                # under the same taskUUID; a conflict then means the first send got through.
                target = "uploaded" if record.media_uuid else "planned"
            ledger.set_state(record.shot.id, target, reason=None)

    async def _relink(self, ledger: Ledger, loaded: LoadedTimeline, shots: list[Shot]) -> None:
        assert self.config.output is not None
        places: dict[str, list[Shot]] = {}
        for shot in shots:
            places.setdefault(shot.id, []).append(shot)
        # Each result goes to every place its shot was planned at (the plan's placement, which
        # the ledger keeps only once per shot id).
        found = ledger.relink_results()
        if self.config.api_settings.upscale is not None:
            # Each result in place of its upscale; a shot whose upscale is not done waits.
            found = upscaled_results(ledger, found)
        results = [
            dataclasses.replace(r, shot=place) for r in found for place in places.get(r.shot.id, [])
        ]
        if not results:
            return  # nothing to conform: an unchanged copy of the input would only mislead
        current = list(dict.fromkeys(r.shot.id for r in results))
        # Earlier versions of these shots stay beside them (a v002 track over v001's).
        results = ledger.with_earlier_versions(results)
        self._emit("relink", None, "start")
        relinked = relink_timeline(loaded.timeline, results, mode=self.config.relink_mode)
        self._emit("write", None, "start")
        await asyncio.to_thread(
            write_output, relinked, self.config.output, media_base=loaded.folder
        )
        for shot_id in current:
            if ledger.state(shot_id) == "verified":
                ledger.mark_relinked(shot_id)
        self._emit("write", None, "done")

    def _summary(self, ledger: Ledger, plan: Plan, still_processing: int) -> RunSummary:
        reports = []
        price = self.config.api_settings.estimate_per_second
        reported: set[str] = set()
        for shot in plan.shots:
            # A shot id placed twice is paid once: its estimate and cost are on the first place.
            again = shot.id in reported
            reported.add(shot.id)
            record = ledger.shot(shot.id)
            results = ledger.results(shot.id)
            costs = [r.cost for r in results if r.cost is not None]
            upscales = ledger.upscales(record.task_uuid)
            costs += [u.cost for u in upscales if u.cost is not None]
            # A verified upscale is the shot's result now.
            upscaled = {u.result_index: u.path for u in upscales if u.verified and u.path}
            reason = record.reason
            failed = [r for r in results if r.status == "error"]
            if failed and record.state != "failed":
                # Variations that failed next to ones that were relinked.
                total = len(failed) + sum(1 for r in results if r.status == "success")
                reason = f"{len(failed)} of {total} variation(s) failed: {failed[0].error}"
            reports.append(
                ShotReport(
                    shot_id=shot.id,
                    name=shot.name,
                    prompt=shot.prompt,
                    state=record.state,
                    reason=reason,
                    task_uuid=record.task_uuid,
                    estimate=0.0 if again else estimate_cost(shot, price),
                    cost=sum(costs) if costs and not again else None,
                    results=[
                        upscaled.get(r.result_index, r.delivered_path or r.path)
                        for r in results
                        if r.path and r.verified
                    ],
                    clips="+".join(dict.fromkeys(s.clip_name for s in shot.segments)),
                )
            )
        return RunSummary(
            shots=reports,
            plan_errors=list(plan.errors),
            plan_warnings=list(plan.warnings),
            output=self.config.output,
            ledger=self.config.ledger_path,
            stopped_by_budget=self.stopped_by_budget,
            still_processing=still_processing,
        )


async def run_pipeline(
    config: RunConfig,
    client: Backend,
    *,
    on_event: EventFn | None = None,
    planned: tuple[LoadedTimeline, Plan] | None = None,
) -> RunSummary:
    """Run (or resume) the whole job for one timeline."""
    return await Pipeline(config, client, on_event=on_event).run(planned)
