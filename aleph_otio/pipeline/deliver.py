"""Delivery: each verified result made into the media that replaces its plate (not paid).

Runs after verification, for every result whose own file cannot stand for the plate as the run
asks: a half-rate send (the source's rate restored), a result smaller than the plate
(``--deliver-size source``), or another kind of media (``--deliver prores-422hq|...|exr|dpx``).
The delivered media is verified (frames, rate, size, time code) and recorded before the
relink uses it; a crash before the record makes it again, whole, on the next run.
"""

from __future__ import annotations

import dataclasses
import logging
from fractions import Fraction
from pathlib import Path

from aleph_otio.errors import MediaError
from aleph_otio.ledger import Ledger, ResultRecord
from aleph_otio.media import probe
from aleph_otio.media.deliver import DeliverySpec, deliver, delivery_size, needs_delivery
from aleph_otio.media.info import MediaInfo
from aleph_otio.media.verify import verify_delivered
from aleph_otio.pipeline.base import PipelineBase
from aleph_otio.pipeline.upscale import upscale_done
from aleph_otio.relink import result_start_frame
from aleph_otio.shots import Shot
from aleph_otio.timeline.sequences import exact_rate

log = logging.getLogger(__name__)


class DeliverStages(PipelineBase):
    """Deliver every verified result of a shot as the run asks."""

    async def _deliver_all(self, ledger: Ledger, shot: Shot) -> None:
        settings = self.config.plan_settings
        for result in ledger.results(shot.id):
            if result.status != "success" or result.path is None or not result.verified:
                continue
            if Path(result.path).is_dir():
                continue  # Runway's png_sequence: a folder of frames, relinked as it is
            source = self._delivery_source(ledger, result)
            if source is None:
                continue  # its upscale is not done: delivered from it once it is
            path, made_from = source
            made_as = f"{settings.deliver}/{settings.deliver_size}{made_from}"
            if result.delivered_path is not None and result.delivered_as == made_as:
                continue

            async def work(
                result: ResultRecord = result, path: str = path, made_as: str = made_as
            ) -> None:
                await self._deliver_one(ledger, shot, result, made_as, path)

            if not await self._step(ledger, "deliver", shot, work):
                return

    def _delivery_source(self, ledger: Ledger, result: ResultRecord) -> tuple[str, str] | None:
        """(file, what it is) a result is delivered from: its upscale where ``--upscale`` asks
        for one (None while it is not done), else the result itself."""
        assert result.path is not None
        if self.config.api_settings.upscale is None:
            return result.path, ""
        record = ledger.upscale(result.task_uuid, result.result_index)
        if record is None or not upscale_done(record):
            return None
        if record.status == "skipped" or record.path is None:
            return result.path, ""
        return record.path, f"/upscaled-{record.resolution}"

    async def _deliver_one(
        self, ledger: Ledger, shot: Shot, result: ResultRecord, made_as: str, source: str
    ) -> None:
        settings = self.config.plan_settings
        returned = await self._media(probe, source)
        spec = await self._media(self._spec, shot, returned)
        if source != result.path:
            # An upscale is the size the user chose (--upscale): delivered at its size.
            spec = dataclasses.replace(spec, size=None)
        if not needs_delivery(spec, returned):
            return
        assert result.path is not None
        stem = Path(result.path).stem
        suffix = (
            ""
            if spec.kind in ("exr", "dpx")
            else (Path(result.path).suffix if spec.kind == "as-returned" else ".mov")
        )
        if suffix == ".webm":
            suffix = ".mp4"  # re-encoded in H.264: VP9 at delivery quality is far slower
        dest = self.work / "delivered" / settings.deliver / f"{stem}{suffix}"
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _unwritable(dest, exc) from None
        size = delivery_size(spec, returned)
        if spec.size is not None and size != spec.size:
            log.warning(
                "%s: result %s is %dx%d, another aspect than the plate's %dx%d: delivered at "
                "%dx%d, fitted inside the plate (not stretched); position it in the conform",
                shot.name, result.path, returned.width, returned.height, *spec.size, *size,
            )  # fmt: skip
        try:
            made = await self._media(deliver, Path(source), dest, spec)
        except OSError as exc:  # a full disk, a folder made read-only: the shot, not the run
            raise _unwritable(dest, exc) from None
        await self._media(
            verify_delivered,
            made.path,
            expected_frames=spec.frame_count,
            rate=float(spec.rate),
            width=size[0],
            height=size[1],
            timecode=made.timecode,
        )
        ledger.record_delivery(
            result.task_uuid,
            result.result_index,
            path=made.path,
            made_as=made_as,
            frame_count=made.frame_count,
            width=made.width,
            height=made.height,
        )

    def _spec(self, shot: Shot, returned: MediaInfo) -> DeliverySpec:
        """What the shot's delivered media must be (the plate probed for its size, number)."""
        settings = self.config.plan_settings
        seg = shot.segments[0]
        plate: MediaInfo | None = None
        try:
            plate = probe(seg.media_path, count_frames=False)
        except MediaError:  # a plate that moved since the cut: delivered at the returned size
            plate = None
        size = (
            (plate.width, plate.height)
            if settings.deliver_size == "source" and plate is not None and plate.width
            else None
        )
        first_media_frame = seg.media_start_frame - shot.head_frames
        if plate is not None and plate.first_number is not None:
            first_number = plate.first_number + first_media_frame
        else:
            first_number = 1001  # the VFX convention for a movie plate's frames
        rate = plate.fraction if plate is not None and plate.rate else exact_rate(shot.media_rate)
        return DeliverySpec(
            kind=settings.deliver,
            frame_count=shot.frame_count,
            step=shot.send_step,
            rate=Fraction(rate),
            size=size,
            start_frame=result_start_frame(shot),
            first_number=first_number,
        )


def _unwritable(dest: Path, exc: OSError) -> MediaError:
    reason = exc.strerror or type(exc).__name__
    return MediaError(
        f"cannot write the delivered media {dest} ({reason}): free disk space or fix the work "
        "folder, then run again (the result is kept; nothing is paid again)"
    )
