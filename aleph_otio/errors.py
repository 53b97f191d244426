"""The whole exception tree of aleph-otio.

Every error a user can cause or meet derives from :class:`AlephOtioError`; the CLI prints
``str(error)`` as one line and exits non-zero. Messages name the file, track, clip and timecode
where they apply, and say what to do. They never contain the API key.
"""

from __future__ import annotations


class AlephOtioError(Exception):
    """Root of every error aleph-otio raises on purpose."""

    exit_code: int = 1


# --- input: timelines, markers, media, settings -------------------------------------------------


class ConfigError(AlephOtioError):
    """A setting is missing or invalid (API key, config file permissions, option values)."""

    exit_code = 2


class TimelineReadError(AlephOtioError):
    """A file is not a readable timeline (unknown format, corrupt, unreadable)."""

    exit_code = 2


class TimelineWriteError(AlephOtioError):
    """A timeline could not be written in the requested format."""


class PlanError(AlephOtioError):
    """One marked range cannot become a valid Aleph shot (outside its clip, too short, ...)."""

    exit_code = 3


class PlanErrors(PlanError):
    """Several markers failed to plan; ``errors`` holds each one."""

    def __init__(self, errors: list[PlanError]) -> None:
        self.errors = errors
        super().__init__(
            f"{len(errors)} marker(s) could not be planned:\n" + "\n".join(str(e) for e in errors)
        )


class MediaError(AlephOtioError):
    """Source or result media is missing, unreadable or not what it should be."""


class MediaVerificationError(MediaError):
    """A downloaded result does not match its shot (frame count, rate, size)."""


class LedgerError(AlephOtioError):
    """The job ledger is unreadable, from a newer version, or inconsistent."""


class WorkFolderBusyError(AlephOtioError):
    """Another run (its pid and host in the message) holds the work folder's lock."""

    exit_code = 6


class RelinkError(AlephOtioError):
    """Results could not be placed back into the timeline."""


# --- the API ------------------------------------------------------------------------------------


class APIError(AlephOtioError):
    """The Runware API answered with an error or could not be reached.

    ``code`` is the API's own error code (``invalidApiKey``, ``conflictTaskUUID``, ...) when
    the server gave one; ``task_uuid`` the task it concerns.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        task_uuid: str | None = None,
        status_code: int | None = None,
        parameter: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.task_uuid = task_uuid
        self.status_code = status_code
        self.parameter = parameter


class AuthenticationError(APIError):
    """The API key is missing, wrong or lacks permission (401/403)."""


class InsufficientCreditsError(APIError):
    """The account balance cannot pay for the task (402 / insufficientCredits)."""


class RateLimitedError(APIError):
    """The service is at capacity (429/503/504) and retries ran out."""


class InvalidParameterError(APIError):
    """The server rejected a task parameter; ``parameter`` names it."""


class TaskConflictError(APIError):
    """The taskUUID was already used (conflictTaskUUID)."""


class SubmissionUncertainError(APIError):
    """A create request went out and its answer was lost: the task may exist (and be billed).

    Raised by backends without an idempotency key (Runway); sent again only on request.
    """


class TaskNotFoundError(APIError):
    """getResponse does not know the taskUUID (unknown or expired)."""


class TaskFailedError(APIError):
    """A generation ended with status ``error`` (provider timeout, content policy, ...)."""


class ServerError(APIError):
    """The server failed (5xx) and retries ran out."""


class APITimeoutError(APIError):
    """The server did not answer, or a task did not finish, within the deadline."""


class APIConnectionError(APIError):
    """The server could not be reached (connection refused, dropped, DNS)."""


class DownloadError(APIError):
    """A result could not be downloaded completely (truncated, expired URL, 404)."""
