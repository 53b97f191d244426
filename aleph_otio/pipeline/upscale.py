"""Upscale (``--upscale``, Runway): each verified result sent to Runway's upscaler, its own paid
step, then downloaded, verified and relinked in place of the result.

Per result, in the ledger's ``upscales`` table: a result already at or above the target size is
skipped (a note, nothing paid); else the row is planned, the verified result file uploaded, and
the create sent once (the backend's marker before it; a lost answer is uncertain until
``--resubmit-uncertain``); a resumed run polls the task it made rather than paying again. The
upscale must keep the result's frames, rate and aspect ratio and come back at the long side the
resolution names. A shot whose upscale is not done stays ``verified`` with the reason, and is
relinked once it is; an upscale Runway failed (not billed) is made again by the next run.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from aleph_otio.api.backend import UpscalingBackend, upscale_long_side, upscale_pointless
from aleph_otio.errors import AlephOtioError, MediaVerificationError
from aleph_otio.files import sha256_file
from aleph_otio.ledger import Ledger, ResultRecord, UpscaleRecord, upscale_key
from aleph_otio.media import stamp_timecode, verify_result
from aleph_otio.pipeline.base import PipelineBase
from aleph_otio.relink import RelinkResult, result_start_frame
from aleph_otio.shots import Shot


def upscale_done(record: UpscaleRecord | None) -> bool:
    """The result's upscale is settled: skipped, or verified with its file there."""
    if record is None:
        return False
    if record.status == "skipped":
        return True
    return record.verified and record.path is not None and Path(record.path).is_file()


class UpscaleStages(PipelineBase):
    """Upscale every verified result of the run's shots (only with ``--upscale``)."""

    async def _upscale_all(
        self, ledger: Ledger, shots: list[Shot], gate: asyncio.Semaphore
    ) -> None:
        resolution = self.config.api_settings.upscale
        if resolution is None:
            return
        client = self.client
        if not isinstance(client, UpscalingBackend):
            return  # open_backend refuses --upscale without --backend runway

        async def one(shot: Shot) -> None:
            async with gate:
                await self._upscale_shot(ledger, client, shot, resolution)

        if self.config.retry_failed:
            # An upscale Runway failed was not billed: this run makes it again, once.
            for shot in shots:
                for record in ledger.upscales(ledger.shot(shot.id).task_uuid):
                    if record.status == "failed":
                        ledger.replan_upscale(record.key)

        await asyncio.gather(*(one(s) for s in shots if ledger.state(s.id) == "verified"))

    async def _upscale_shot(
        self, ledger: Ledger, client: UpscalingBackend, shot: Shot, resolution: str
    ) -> None:
        todo = [
            r
            for r in ledger.results(shot.id)
            if r.status == "success"
            and r.verified
            and r.path is not None
            and not upscale_done(ledger.upscale(r.task_uuid, r.result_index))
        ]
        if not todo:
            return
        self._emit("upscale", shot, "start")
        for result in todo:
            try:
                await self._upscale_result(ledger, client, shot, result, resolution)
            except AlephOtioError as exc:
                # The shot keeps its verified result and is not relinked until the upscale is
                # done; what was paid is in the ledger, so the next run resumes, never repays.
                ledger.set_state(shot.id, "verified", reason=f"upscale: {exc}")
                self._emit("upscale", shot, "failed")
                return
        ledger.set_state(shot.id, "verified", reason=None)
        self._emit("upscale", shot, "done")

    async def _upscale_result(
        self,
        ledger: Ledger,
        client: UpscalingBackend,
        shot: Shot,
        result: ResultRecord,
        resolution: str,
    ) -> None:
        assert result.path is not None
        task_uuid, index = result.task_uuid, result.result_index
        key = upscale_key(task_uuid, index)
        record = ledger.upscale(task_uuid, index)
        if record is None:
            skip = upscale_pointless(result.width or 0, result.height or 0, resolution)
            if Path(result.path).is_dir():
                skip = "not upscaled: a png_sequence result is frames, the upscaler takes a video"
            record = ledger.plan_upscale(task_uuid, index, resolution, skip=skip)
            if record.status == "skipped":
                return
        if record.status in ("planned", "sent", "created"):
            if record.remote_id is None:
                media = await client.upload_media(Path(result.path))
                await client.upscale(key, media, record.resolution, task_uuid=task_uuid)
            outcome = await client.wait_upscale(key, task_uuid=task_uuid)
            if outcome.status != "success" or not outcome.video_url:
                error = f"{outcome.error_code or 'FAILED'}: {outcome.error_message or ''}"
                ledger.record_upscale_outcome(key, status="failed", error=error)
            else:
                ledger.record_upscale_outcome(
                    key, status="succeeded", output_url=outcome.video_url, cost=outcome.cost
                )
            record = ledger.upscale(task_uuid, index)
            assert record is not None
        if record.status == "failed":
            raise MediaVerificationError(
                f"Runway's upscale of {Path(result.path).name} failed ({record.error}; not "
                "billed); the result is kept un-upscaled and not relinked: run again to try "
                "the upscale once more, or without --upscale to relink the result as it is"
            )
        assert record.output_url is not None
        dest = Path(result.path).with_name(f"{Path(result.path).stem}_up{record.resolution}.mp4")
        if record.path is None or not Path(record.path).is_file():
            await client.download(record.output_url, dest)
            await self._media(stamp_timecode, dest, result_start_frame(shot), shot.media_rate)
            ledger.record_upscale_download(key, str(dest), await self._media(sha256_file, dest))
            record = ledger.upscale(task_uuid, index)
            assert record is not None and record.path is not None
        await self._verify_upscale(ledger, key, result, record)

    async def _verify_upscale(
        self, ledger: Ledger, key: str, result: ResultRecord, record: UpscaleRecord
    ) -> None:
        """Frames and rate of the result it came from, its aspect ratio, the target size."""
        assert record.path is not None
        path = Path(record.path)
        try:
            info = await self._media(
                verify_result,
                path,
                expected_frames=result.frame_count or 0,
                rate=result.rate or 0.0,
                width=result.width,
                height=result.height,
            )
            target = upscale_long_side(record.resolution)
            if max(info.width, info.height) < target - 2:
                raise MediaVerificationError(
                    f"upscale {path.name} is {info.width}x{info.height}; {record.resolution} "
                    f"means {target} px on the long side"
                )
        except MediaVerificationError:
            path.replace(path.with_name(path.name + ".rejected"))
            raise
        ledger.mark_upscale_verified(
            key, frame_count=info.frame_count, rate=info.rate, width=info.width, height=info.height
        )


def upscaled_results(ledger: Ledger, results: list[RelinkResult]) -> list[RelinkResult]:
    """Each result in place of its verified upscale (its task id, cost and size recorded); a
    result skipped keeps its file with the note. A shot with any upscale not done is left out:
    it is relinked when the run that finishes its upscale relinks it."""
    out: list[RelinkResult] = []
    waiting: set[str] = set()
    for result in results:
        record = ledger.upscale(result.task_uuid, result.variant)
        if record is None or not upscale_done(record):
            waiting.add(result.shot.id)
            continue
        if record.status == "skipped":
            facts: dict[str, object] = {"resolution": record.resolution, "skipped": record.note}
            out.append(replace(result, extra={**result.extra, "upscale": facts}))
            continue
        assert record.path is not None
        delivered = "deliver" in result.extra  # made from this upscale: it replaces the plate
        facts = {
            "resolution": record.resolution,
            "task_id": record.remote_id,
            "cost": record.cost,
            "width": record.width,
            "height": record.height,
            "from_result": result.path,
        }
        out.append(
            replace(result, extra={**result.extra, "upscale": facts})
            if delivered
            else replace(
                result,
                path=record.path,
                width=record.width or 0,
                height=record.height or 0,
                extra={**result.extra, "upscale": facts},
            )
        )
    return [r for r in out if r.shot.id not in waiting]
