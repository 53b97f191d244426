"""To the server: prepare (cut) each shot and its guides, upload them, submit the task."""

from __future__ import annotations

from pathlib import Path

from aleph_otio.api.models import build_task
from aleph_otio.cost import estimate_cost
from aleph_otio.errors import (
    AlephOtioError,
    APIError,
    MediaError,
)
from aleph_otio.ledger import Ledger
from aleph_otio.media import prepare_guide, prepare_shot
from aleph_otio.pipeline.base import PipelineBase
from aleph_otio.pipeline.model import BEFORE_SUBMIT
from aleph_otio.shots import Shot

#: Error codes meaning the server no longer has an upload a task refers to.
_MEDIA_GONE = frozenset({"mediaNotFound", "mediaExpired"})


class SendStages(PipelineBase):
    """Prepare, upload and submit, each shot once (the ledger says what is done)."""

    async def _to_server(self, ledger: Ledger, shot: Shot) -> None:
        """Prepare, upload and submit one shot, skipping what the ledger says is done."""
        state = ledger.state(shot.id)
        if state not in BEFORE_SUBMIT:
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
        estimate = estimate_cost(shot, self.config.api_settings.estimate_per_second)
        budget = self.config.budget
        if budget is not None and self._budget_spent + estimate > budget + 1e-9:
            self.stopped_by_budget = True
            return
        self._budget_spent += estimate
        await self._step(ledger, "submit", shot, lambda: self._submit(ledger, shot, guides))

    async def _prepare(self, ledger: Ledger, shot: Shot) -> None:
        out = self.work / "clips" / f"{shot.id}.mp4"
        prepared = await self._media(prepare_shot, shot, out)
        if prepared.frame_count != shot.sent_frame_count:
            raise MediaError(
                f"{shot.name}: the cut clip has {prepared.frame_count} frames, the plan "
                f"{shot.sent_frame_count}; check the source media {shot.segments[0].media_path}"
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
