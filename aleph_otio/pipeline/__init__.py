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
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import glob
import ipaddress
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar
from urllib.parse import urlsplit

from aleph_otio.api.client import AlephClient, TaskOutcome, WaitTimeoutError
from aleph_otio.api.models import build_task
from aleph_otio.config import APISettings, PlanSettings
from aleph_otio.cost import estimate_cost
from aleph_otio.errors import (
    AlephOtioError,
    APIError,
    DownloadError,
    MediaError,
    MediaVerificationError,
    TaskNotFoundError,
)
from aleph_otio.exports import write_output
from aleph_otio.files import sha256_file
from aleph_otio.ledger import Ledger, ResultRecord
from aleph_otio.media import prepare_guide, prepare_shot, probe, stamp_timecode, verify_result
from aleph_otio.plan import plan_timeline
from aleph_otio.relink import relink_timeline, result_start_frame
from aleph_otio.shots import MediaFacts, Plan, Shot, distinct
from aleph_otio.timeline import LoadedTimeline, read_timeline

RelinkMode = Literal["version", "reference", "replace"]
Stage = Literal[
    "plan", "prepare", "upload", "submit", "generate", "download", "verify", "relink", "write"
]
#: Progress callback: (stage, shot or None, status) where status is "start", "done" or "failed".
EventFn = Callable[[str, Shot | None, str], Any]
P = ParamSpec("P")
T = TypeVar("T")

_EXTENSIONS = {"MP4": ".mp4", "WEBM": ".webm", "MOV": ".mov"}
#: Error codes meaning the server no longer has an upload a task refers to.
_MEDIA_GONE = frozenset({"mediaNotFound", "mediaExpired"})
#: States in which the shot still has to reach the server.
_BEFORE_SUBMIT = ("planned", "prepared", "uploaded", "submitting")
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
    if "://" in path or not Path(path).is_file():
        return None
    return probe(path)


def media_threads(concurrency: int) -> int:
    """Threads a run cuts, probes and verifies on: ``concurrency``, at most one per core."""
    return max(1, min(concurrency, os.cpu_count() or 1))


def plan_file(
    timeline: Path, settings: PlanSettings, *, rate: float | None = None
) -> tuple[LoadedTimeline, Plan]:
    """Read a timeline and plan it against its real media (and its colour, when managed)."""
    loaded = read_timeline(timeline, rate=rate, sequence=settings.sequence)
    plan = plan_timeline(loaded, settings, media_facts=media_facts_from_probe)
    if settings.colour is not None:
        # Imported here: OpenColorIO loads only for runs that manage colour.
        from aleph_otio.media.colour.choose import attach_colour

        plan = attach_colour(loaded, plan, settings.colour)
    return loaded, plan


class Pipeline:
    """One run over one timeline, against one API endpoint (real or emulated)."""

    def __init__(
        self,
        config: RunConfig,
        client: AlephClient,
        *,
        on_event: EventFn | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self._on_event = on_event
        self.work = config.work_dir
        self._budget_spent = 0.0
        self.stopped_by_budget = False
        self._media_pool: ThreadPoolExecutor | None = None

    # --- plumbing ---------------------------------------------------------------------------

    async def _media(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run PyAV work (cut, probe, verify) on the media threads.

        No more of them than cores: the work is CPU-bound and mostly holds the GIL, so extra
        threads add nothing but GIL contention, which starves the event loop that uploads,
        submits and polls (measured: about 0.4 s of 50 shots' preparation, see
        docs/benchmarks.md). ``concurrency`` still caps the shots in flight.
        """
        if self._media_pool is None:
            workers = media_threads(self.config.concurrency)
            self._media_pool = ThreadPoolExecutor(workers, thread_name_prefix="aleph-media")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._media_pool, functools.partial(fn, *args, **kwargs))

    def _emit(self, stage: Stage, shot: Shot | None, status: str) -> None:
        if self._on_event is not None:
            self._on_event(stage, shot, status)

    async def _step(
        self, ledger: Ledger, stage: Stage, shot: Shot, work: Callable[[], Awaitable[None]]
    ) -> bool:
        """Run one step; a user-facing error fails the shot (with its reason), not the run."""
        self._emit(stage, shot, "start")
        try:
            await work()
        except AlephOtioError as exc:
            ledger.fail(shot.id, f"{stage}: {exc}")
            self._emit(stage, shot, "failed")
            return False
        self._emit(stage, shot, "done")
        return True

    # --- the run ----------------------------------------------------------------------------

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
        for sub in ("clips", "guides", "results"):
            (self.work / sub).mkdir(parents=True, exist_ok=True)
        self._sweep_stale()
        with Ledger(cfg.ledger_path) as ledger:
            ledger.bind_endpoint(endpoint_label(self.client.base_url))
            # Uploads persist with the job: a resumed run never sends the same bytes again.
            self.client.upload_cache = ledger.upload_cache()
            # A shot id planned at two places (the same request on a source range cut in
            # twice) is one task: sent, polled and downloaded once, relinked at each place.
            shots = distinct(plan.shots)
            ledger.add_shots(shots, str(loaded.path))
            ids = [s.id for s in shots]
            if cfg.retry_failed:
                self._reopen_failed(ledger, ids)
            self._budget_spent = sum(
                estimate_cost(r.shot, cfg.api_settings.price_per_second)
                for r in ledger.shots()
                if r.shot.id in ids and r.state not in _BEFORE_SUBMIT and r.state != "failed"
            )
            gate = asyncio.Semaphore(max(1, cfg.concurrency))

            async def to_server(shot: Shot) -> None:
                async with gate:
                    await self._to_server(ledger, shot)

            await asyncio.gather(*(to_server(s) for s in shots))
            still_processing = 0
            if not cfg.submit_only:
                still_processing = await self._collect(ledger, shots, gate)
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

    async def _to_server(self, ledger: Ledger, shot: Shot) -> None:
        """Prepare, upload and submit one shot, skipping what the ledger says is done."""
        state = ledger.state(shot.id)
        if state not in _BEFORE_SUBMIT:
            return
        record = ledger.shot(shot.id)
        clip = Path(record.clip_path) if record.clip_path else None
        if state == "planned" or clip is None or not clip.is_file():
            if not await self._step(ledger, "prepare", shot, lambda: self._prepare(ledger, shot)):
                return
            record = ledger.shot(shot.id)
        guides = await self._prepare_guides(ledger, shot)
        if guides is None:
            return
        state = ledger.state(shot.id)
        if state == "prepared" or not record.media_uuid:
            if not await self._step(ledger, "upload", shot, lambda: self._upload(ledger, shot)):
                return
        estimate = estimate_cost(shot, self.config.api_settings.price_per_second)
        budget = self.config.budget
        if budget is not None and self._budget_spent + estimate > budget + 1e-9:
            self.stopped_by_budget = True
            return
        self._budget_spent += estimate
        await self._step(ledger, "submit", shot, lambda: self._submit(ledger, shot, guides))

    async def _prepare(self, ledger: Ledger, shot: Shot) -> None:
        out = self.work / "clips" / f"{shot.id}.mp4"
        prepared = await self._media(prepare_shot, shot, out)
        if prepared.frame_count != shot.frame_count:
            raise MediaError(
                f"{shot.name}: the cut clip has {prepared.frame_count} frames, the plan "
                f"{shot.frame_count}; check the source media {shot.segments[0].media_path}"
            )
        ledger.record_prepared(shot.id, prepared.path, prepared.sha256)

    async def _prepare_guides(self, ledger: Ledger, shot: Shot) -> list[Path] | None:
        paths: list[Path] = []
        for index, guide in enumerate(shot.guides):
            out = self.work / "guides" / f"{shot.id}_{index}.png"
            if not out.is_file():
                try:
                    await self._media(prepare_guide, guide.image, out)
                except AlephOtioError as exc:
                    ledger.fail(shot.id, f"guide {guide.image}: {exc}")
                    self._emit("prepare", shot, "failed")
                    return None
            paths.append(out)
        return paths

    async def _upload(self, ledger: Ledger, shot: Shot) -> None:
        record = ledger.shot(shot.id)
        assert record.clip_path is not None
        uploaded = await self.client.upload_media(Path(record.clip_path))
        ledger.record_uploaded(shot.id, uploaded.ref, uploaded.media_url)

    async def _submit(self, ledger: Ledger, shot: Shot, guides: list[Path]) -> None:
        record = ledger.shot(shot.id)
        # Sent before (a crash after the commit, or retries that ran out without an answer):
        # the server may hold it, so conflictTaskUUID means "accepted", not an error.
        was_sent = record.state == "submitting" or record.attempts > 0
        stills = [await self.client.upload_media(p) for p in guides]
        record = ledger.shot(shot.id)
        assert record.media_uuid is not None
        task_uuid = ledger.mark_submitting(shot.id)
        task = build_task(
            shot,
            video=record.media_uuid,
            frame_images=[s.ref for s in stills],
            task_uuid=task_uuid,
            settings=self.config.api_settings,
        )
        try:
            await self.client.submit(task, assume_sent=was_sent)
        except APIError as exc:
            if exc.code not in _MEDIA_GONE:
                raise
            # The server no longer has an upload (expired, or a new emulator): upload again and
            # resend under the same taskUUID, which the server refused, so nothing was paid.
            if record.clip_sha256:
                self.client.forget_upload(record.clip_sha256)
            for still in stills:
                self.client.forget_upload(still)
            assert record.clip_path is not None
            clip = await self.client.upload_media(Path(record.clip_path))
            ledger.set_state(shot.id, "submitting", media_uuid=clip.ref, media_url=clip.media_url)
            stills = [await self.client.upload_media(p) for p in guides]
            task = build_task(
                shot,
                video=clip.ref,
                frame_images=[s.ref for s in stills],
                task_uuid=task_uuid,
                settings=self.config.api_settings,
            )
            await self.client.submit(task, assume_sent=was_sent)
        ledger.mark_submitted(shot.id)

    # --- results ----------------------------------------------------------------------------

    async def _collect(self, ledger: Ledger, shots: list[Shot], gate: asyncio.Semaphore) -> int:
        """Poll submitted tasks, download and verify every result; returns tasks still running."""
        by_task = {ledger.shot(s.id).task_uuid: s for s in shots}
        waiting = [
            u for u, s in by_task.items() if ledger.state(s.id) in ("submitting", "submitted")
        ]
        downloads: list[asyncio.Task[None]] = []

        def fetch(shot: Shot) -> None:
            async def job() -> None:
                async with gate:
                    await self._download_all(ledger, shot)

            downloads.append(asyncio.create_task(job()))

        for shot in shots:
            if ledger.state(shot.id) in ("succeeded", "downloaded"):
                fetch(shot)

        def on_update(outcome: TaskOutcome) -> None:
            shot = by_task[outcome.task_uuid]
            self._record_outcome(ledger, shot, outcome)
            if outcome.done and ledger.state(shot.id) == "succeeded":
                self._emit("generate", shot, "done")
                fetch(shot)
            elif outcome.done and ledger.state(shot.id) == "failed":
                self._emit("generate", shot, "failed")

        still = 0
        if waiting:
            for uuid in waiting:
                self._emit("generate", by_task[uuid], "start")
            try:
                await self.client.wait(
                    waiting,
                    expected={u: by_task[u].options.number_results for u in waiting},
                    on_update=on_update,
                )
            except WaitTimeoutError as exc:
                still = sum(1 for o in exc.outcomes.values() if not o.done)
            except AlephOtioError as exc:
                # The poll failed, not the tasks: they are still on the server. The shots stay
                # submitted so that the next run polls them again instead of paying again.
                for uuid in waiting:
                    shot = by_task[uuid]
                    state = ledger.state(shot.id)
                    if state in ("submitting", "submitted"):
                        ledger.set_state(
                            shot.id,
                            state,
                            reason=f"generate: could not poll; the task is kept on the "
                            f"server and not paid again: {exc}",
                        )
                        self._emit("generate", shot, "failed")
                        still += 1
        if downloads:
            await asyncio.gather(*downloads)
        return still

    def _record_outcome(self, ledger: Ledger, shot: Shot, outcome: TaskOutcome) -> None:
        if outcome.not_found:
            reason = outcome.failures[0].message if outcome.failures else "unknown task"
            ledger.mark_task_failed(outcome.task_uuid, f"taskNotFound: {reason}")
            return
        for index, result in enumerate(outcome.successes):
            ledger.record_result(
                outcome.task_uuid,
                index,
                status="success",
                video_uuid=result.video_uuid,
                video_url=result.video_url,
                seed=result.seed,
                cost=result.cost,
            )
        if outcome.done and outcome.failures and outcome.successes:
            # Some variations failed, others did not: the successes were paid for and are
            # relinked; the failures are reported. Nothing is resubmitted (that pays again).
            ledger.finish_partial(
                outcome.task_uuid, [f"{f.code}: {f.message}" for f in outcome.failures]
            )
        elif outcome.done and outcome.failures:
            # Every generation failed: the task failed; a retry submits the shot again under
            # a new taskUUID (failed generations are not billed).
            first = outcome.failures[0]
            ledger.record_result(
                outcome.task_uuid,
                len(outcome.successes),
                status="error",
                error=f"{first.code}: {first.message}",
            )

    async def _download_all(self, ledger: Ledger, shot: Shot) -> None:
        ext = _EXTENSIONS[shot.options.output_format]
        for result in ledger.results(shot.id):
            if result.status != "success" or not result.video_url:
                continue
            dest = (
                self.work
                / "results"
                / f"{shot.id}_{result.task_uuid[:8]}_{result.result_index}{ext}"
            )

            async def download(result: Any = result, dest: Path = dest) -> None:
                if result.path is None or not Path(result.path).is_file():
                    await self._download_result(ledger, result, dest)
                    if shot.colour is not None and shot.colour.return_colorspace == "source":
                        from aleph_otio.media.colour.returns import return_to_source

                        await self._media(return_to_source, dest, shot.colour)
                    # Before it is recorded: a crash here leaves an unrecorded file, which the
                    # next run downloads again, so a recorded result is always stamped.
                    await self._media(
                        stamp_timecode, dest, result_start_frame(shot), shot.media_rate
                    )
                    sha = await self._media(sha256_file, dest)
                    ledger.record_download(result.task_uuid, result.result_index, str(dest), sha)

            if not await self._step(ledger, "download", shot, download):
                return
        clip = ledger.shot(shot.id).clip_path
        width = height = None
        if clip and Path(clip).is_file():
            info = await self._media(probe, clip)
            width, height = info.width, info.height
        for result in ledger.results(shot.id):
            if result.status != "success" or result.path is None or result.verified:
                continue

            async def verify(result: Any = result) -> None:
                try:
                    info = await self._media(
                        verify_result,
                        Path(result.path),
                        expected_frames=shot.frame_count,
                        rate=shot.media_rate,
                        width=width,
                        height=height,
                    )
                except MediaVerificationError:
                    # Keep the file for inspection but never relink it; the next run downloads
                    # it again (a truncated transfer is the usual cause).
                    Path(result.path).replace(Path(result.path + ".rejected"))
                    raise
                ledger.mark_verified(
                    result.task_uuid,
                    result.result_index,
                    frame_count=info.frame_count,
                    rate=info.rate,
                    width=info.width,
                    height=info.height,
                )

            if not await self._step(ledger, "verify", shot, verify):
                return

    async def _download_result(self, ledger: Ledger, result: ResultRecord, dest: Path) -> None:
        """Download one result; on 404/410 ask getResponse for a fresh URL before giving up."""
        assert result.video_url is not None
        try:
            await self.client.download(result.video_url, dest)
            return
        except DownloadError as exc:
            if exc.status_code not in (404, 410):
                raise
            gone = exc.status_code
        fresh = await self._fresh_url(ledger, result)
        if fresh is not None:
            try:
                await self.client.download(fresh, dest)
                return
            except DownloadError as exc:
                if exc.status_code not in (404, 410):
                    raise
        raise DownloadError(
            f"{EXPIRED_REASON}: result #{result.result_index} of task {result.task_uuid} is "
            f"gone from the server (HTTP {gone}, and getResponse offers no other URL); run the "
            "same command with --resubmit-expired to submit the shot again under a new "
            "taskUUID (it is paid again)",
            code="resultExpired",
            task_uuid=result.task_uuid,
            status_code=gone,
        )

    async def _fresh_url(self, ledger: Ledger, result: ResultRecord) -> str | None:
        """The result's URL as getResponse reports it now, when it differs from the dead one."""
        try:
            polled = await self.client.get_responses([result.task_uuid])
        except TaskNotFoundError:
            return None
        for item in polled.get(result.task_uuid, []):
            if item.status != "success" or not item.video_url:
                continue
            if item.video_uuid != result.video_uuid or item.video_url == result.video_url:
                continue
            ledger.record_result(
                result.task_uuid,
                result.result_index,
                status="success",
                video_uuid=item.video_uuid,
                video_url=item.video_url,
                seed=item.seed,
                cost=item.cost,
            )
            return item.video_url
        return None

    # --- relink -----------------------------------------------------------------------------

    async def _relink(self, ledger: Ledger, loaded: LoadedTimeline, shots: list[Shot]) -> None:
        assert self.config.output is not None
        places: dict[str, list[Shot]] = {}
        for shot in shots:
            places.setdefault(shot.id, []).append(shot)
        # Each result goes to every place its shot was planned at (the plan's placement, which
        # the ledger keeps only once per shot id).
        results = [
            dataclasses.replace(r, shot=place)
            for r in ledger.relink_results()
            for place in places.get(r.shot.id, [])
        ]
        if not results:
            return  # nothing to conform: an unchanged copy of the input would only mislead
        self._emit("relink", None, "start")
        relinked = relink_timeline(loaded.timeline, results, mode=self.config.relink_mode)
        self._emit("write", None, "start")
        await asyncio.to_thread(
            write_output, relinked, self.config.output, media_base=loaded.folder
        )
        for shot_id in dict.fromkeys(r.shot.id for r in results):
            if ledger.state(shot_id) == "verified":
                ledger.mark_relinked(shot_id)
        self._emit("write", None, "done")

    def _summary(self, ledger: Ledger, plan: Plan, still_processing: int) -> RunSummary:
        reports = []
        price = self.config.api_settings.price_per_second
        reported: set[str] = set()
        for shot in plan.shots:
            # A shot id placed twice is paid once: its estimate and cost are on the first place.
            again = shot.id in reported
            reported.add(shot.id)
            record = ledger.shot(shot.id)
            results = ledger.results(shot.id)
            costs = [r.cost for r in results if r.cost is not None]
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
                    results=[r.path for r in results if r.path and r.verified],
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
    client: AlephClient,
    *,
    on_event: EventFn | None = None,
    planned: tuple[LoadedTimeline, Plan] | None = None,
) -> RunSummary:
    """Run (or resume) the whole job for one timeline."""
    return await Pipeline(config, client, on_event=on_event).run(planned)
