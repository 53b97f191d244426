"""The backend seam: what the pipeline asks of an API serving Aleph, and choosing one.

Two backends answer these calls: Runware's task API (:class:`~aleph_otio.api.AlephClient`) and
Runway's own API (:class:`~aleph_otio.api.runway.RunwayBackend`). The pipeline plans, cuts, keeps
its ledger and relinks the same way for both; only these calls differ underneath.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Literal, Protocol, Self, runtime_checkable

from aleph_otio.api.models import VideoInferenceTask, VideoResult
from aleph_otio.api.outcomes import TaskOutcome, UpdateFn, UploadedMedia
from aleph_otio.config import RUNWAY_UPSCALE_LONG_SIDE, APISettings, check_runway_only
from aleph_otio.errors import ConfigError

BackendName = Literal["runware", "runway"]
BACKENDS: tuple[str, ...] = ("runware", "runway")


class Backend(Protocol):
    """Upload, submit, poll, download: one API's way of running Aleph tasks."""

    #: What the ledger records per task ("runware", "runway").
    name: str
    base_url: str
    #: content sha256 -> (reference, URL); the ledger passes a persistent one.
    upload_cache: MutableMapping[str, tuple[str, str]]

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc_info: object) -> None: ...

    async def upload_media(self, path: str | Path) -> UploadedMedia: ...

    def forget_upload(self, sha256_or_media: str | UploadedMedia) -> None: ...

    async def submit(self, task: VideoInferenceTask, *, assume_sent: bool = False) -> None: ...

    async def wait(
        self,
        task_uuids: Sequence[str],
        *,
        expected: Mapping[str, int] | None = None,
        deadline: float | None = None,
        on_update: UpdateFn | None = None,
    ) -> dict[str, TaskOutcome]: ...

    async def get_responses(self, task_uuids: Sequence[str]) -> dict[str, list[VideoResult]]: ...

    async def download(self, url: str, dest: Path, *, expected_size: int | None = None) -> Path: ...


def upscale_long_side(resolution: str) -> int:
    """The long side, in pixels, an upscale to ``resolution`` comes back at (aspect kept)."""
    return RUNWAY_UPSCALE_LONG_SIDE[resolution]


def upscale_pointless(width: int, height: int, resolution: str) -> str | None:
    """Why a result of this size is not upscaled to ``resolution`` (None: it is)."""
    target = upscale_long_side(resolution)
    if max(width, height) >= target:
        return (
            f"not upscaled: already {width}x{height}, at or above {resolution} "
            f"({target} px on the long side); nothing was sent or paid"
        )
    return None


@runtime_checkable
class UpscalingBackend(Backend, Protocol):
    """A backend that can also upscale a result (Runway): each upscale created at most once."""

    #: ``"<taskUUID>#<result index>" -> (remote_id, seed, sent_at)``; the ledger passes its own.
    upscale_tasks: MutableMapping[str, tuple[str | None, int, str]]

    async def upscale(
        self, key: str, video: UploadedMedia, resolution: str, *, task_uuid: str
    ) -> str: ...

    async def wait_upscale(
        self, key: str, *, task_uuid: str, deadline: float | None = None
    ) -> VideoResult: ...


def open_backend(settings: APISettings) -> Backend:
    """The backend ``settings.backend`` names, configured from ``settings``."""
    if settings.backend == "runway":
        # Imported here for start-up time: the runwayml SDK is only needed for this backend.
        from aleph_otio.api.runway import RunwayBackend, RunwayOptions, refuse_runware_only

        refuse_runware_only(settings)
        options = RunwayOptions(
            output_format=settings.output_format_runway,
            prores_profile=settings.prores_profile,  # type: ignore[arg-type]
            seed=settings.seed,
        )
        return RunwayBackend(
            api_key=settings.api_key,
            base_url=settings.base_url,
            settings=settings,
            options=options,
            resubmit_uncertain=settings.resubmit_uncertain,
        )
    check_runway_only(
        settings.backend, runway_format=settings.runway_format, upscale=settings.upscale
    )
    if settings.seed is not None:
        raise ConfigError(
            "--seed: Runware's Aleph route takes no seed; use --backend runway "
            "(Runway's own API, key in RUNWAYML_API_SECRET) for seeded, reproducible versions"
        )
    if settings.prores_profile is not None:
        raise ConfigError(
            "--prores-profile is a Runway option: use --backend runway for ProRes "
            "(Runware returns MP4, WEBM or MOV as --output-format)"
        )
    from aleph_otio.api.client import AlephClient

    return AlephClient(settings=settings)
