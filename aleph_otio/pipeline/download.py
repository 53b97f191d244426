"""Results home: download each one (a fresh URL when the old one expired), then verify it.

Runway's ``png_sequence`` comes as a zip: unpacked safely into a folder named as the result
(frames numbered from its source frame), the zip removed, the folder verified frame by frame;
``sdr_rec709_10bit`` is verified as 10-bit Rec.709 HEVC as well.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aleph_otio.errors import (
    DownloadError,
    MediaVerificationError,
    TaskNotFoundError,
)
from aleph_otio.files import sha256_file
from aleph_otio.ledger import Ledger, ResultRecord
from aleph_otio.media import (
    check_sdr10,
    probe,
    stamp_timecode,
    unzip_frames,
    verify_frames,
    verify_result,
)
from aleph_otio.naming import result_file_name
from aleph_otio.pipeline.deliver import DeliverStages
from aleph_otio.pipeline.model import EXPIRED_REASON
from aleph_otio.relink import result_start_frame
from aleph_otio.shots import Shot

_EXTENSIONS = {"MP4": ".mp4", "WEBM": ".webm", "MOV": ".mov"}
#: What Runway returns per output format (png_sequence: a zip, unpacked into a folder).
_RUNWAY_EXTENSIONS = {"mp4": ".mp4", "prores": ".mov", "png_sequence": ".zip"}
_RUNWAY_EXTENSIONS["sdr_rec709_10bit"] = ".mp4"


class DownloadStages(DeliverStages):
    """Download, verify and stamp every result of a shot that succeeded, then deliver it."""

    def _result_extension(self, shot: Shot) -> str:
        api = self.config.api_settings
        if api.backend == "runway":
            return _RUNWAY_EXTENSIONS[api.output_format_runway]
        return _EXTENSIONS[shot.options.output_format]

    async def _download_all(self, ledger: Ledger, shot: Shot) -> None:
        ext = self._result_extension(shot)
        for result in ledger.results(shot.id):
            if result.status != "success" or not result.video_url:
                continue
            # Named for people (SH020_aleph_v001a.mp4); a result downloaded under an older
            # name keeps its recorded path, so existing work folders are not renamed.
            dest = (
                self.work
                / "results"
                / result_file_name(
                    shot.name,
                    version=ledger.version(shot.id),
                    variant=result.result_index,
                    ext=ext,
                    template=self.config.plan_settings.result_template,
                    shot_id=shot.id,
                    task=result.task_uuid,
                )
            )

            async def download(result: Any = result, dest: Path = dest) -> None:
                if result.path is None or not Path(result.path).exists():
                    await self._download_result(ledger, result, dest)
                    if dest.suffix == ".zip":
                        await self._unpack(ledger, shot, result, dest)
                        return
                    if shot.colour is not None and shot.colour.return_colorspace == "source":
                        # Imported here: OpenColorIO loads only for runs that manage colour.
                        from aleph_otio.media.colour.returns import return_to_source

                        await self._media(return_to_source, dest, shot.colour)
                    # Before it is recorded: a crash here leaves an unrecorded file, which the
                    # next run downloads again, so a recorded result is always stamped.
                    # A half-rate result is stamped at its own rate (where the start is a
                    # whole frame of it); delivery restores the source rate and its time code.
                    await self._media(
                        stamp_timecode,
                        dest,
                        result_start_frame(shot) / shot.send_step,
                        shot.sent_rate,
                    )
                    sha = await self._media(sha256_file, dest)
                    ledger.record_download(result.task_uuid, result.result_index, str(dest), sha)

            if not await self._step(ledger, "download", shot, download):
                return
        ledger.catch_up(shot.id)  # every file already home (a retried delivery): move on
        clip = ledger.shot(shot.id).clip_path
        width = height = None
        if clip and Path(clip).is_file():
            info = await self._media(probe, clip)
            width, height = info.width, info.height
        for result in ledger.results(shot.id):
            if result.status != "success" or result.path is None or result.verified:
                continue

            async def verify(result: Any = result) -> None:
                if Path(result.path).is_dir():
                    await self._verify_frames(ledger, shot, result, width, height)
                    return
                try:
                    info = await self._media(
                        verify_result,
                        Path(result.path),
                        expected_frames=shot.sent_frame_count,
                        rate=shot.sent_rate,
                        width=width,
                        height=height,
                    )
                    if self._result_extension(shot) == ".mp4" and self._sdr10():
                        check_sdr10(info, Path(result.path))
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
        await self._deliver_all(ledger, shot)

    def _sdr10(self) -> bool:
        api = self.config.api_settings
        return api.backend == "runway" and api.output_format_runway == "sdr_rec709_10bit"

    async def _unpack(self, ledger: Ledger, shot: Shot, result: ResultRecord, dest: Path) -> None:
        """The downloaded zip of PNG frames into its folder; the folder is what is recorded."""
        folder = dest.with_suffix("")
        sha = await self._media(sha256_file, dest)
        start = round(result_start_frame(shot))
        await self._media(unzip_frames, dest, folder, start)
        dest.unlink()
        ledger.record_download(result.task_uuid, result.result_index, str(folder), sha)

    async def _verify_frames(
        self,
        ledger: Ledger,
        shot: Shot,
        result: ResultRecord,
        width: int | None,
        height: int | None,
    ) -> None:
        assert result.path is not None
        folder = Path(result.path)
        try:
            seen = await self._media(
                verify_frames,
                folder,
                expected_frames=shot.frame_count,
                start_frame=round(result_start_frame(shot)),
                width=width,
                height=height,
            )
        except MediaVerificationError:
            # Kept for inspection, never relinked; the next run downloads it again.
            folder.replace(folder.with_name(folder.name + ".rejected"))
            raise
        ledger.mark_verified(
            result.task_uuid,
            result.result_index,
            frame_count=seen.frame_count,
            rate=shot.media_rate,
            width=seen.width,
            height=seen.height,
        )

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
