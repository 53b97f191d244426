"""How the Runware API answers: its envelope shapes, and its errors mapped onto the error tree.

Pure: no I/O. Every shape servers and SDKs have used is read (``data``/``errors`` arrays, the
pre-stream ``{"error": ...}`` form, a bare list), and each error object becomes the class of
:mod:`aleph_otio.errors` that tells the user what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError

from aleph_otio.api.models import APIErrorObject
from aleph_otio.api.retry import CAPACITY_STATUSES
from aleph_otio.errors import (
    APIError,
    AuthenticationError,
    InsufficientCreditsError,
    InvalidParameterError,
    RateLimitedError,
    ServerError,
    TaskConflictError,
    TaskNotFoundError,
)


def _code_lower(code: str | None) -> str:
    return (code or "").lower()


def error_class(status_code: int | None, error: APIErrorObject | None) -> type[APIError]:
    code = error.code if error else None
    low = _code_lower(code)
    if status_code in (401, 403) or "apikey" in low or low in ("unauthorized", "forbidden"):
        return AuthenticationError
    if status_code == 402 or any(word in low for word in ("credit", "balance", "quota")):
        return InsufficientCreditsError
    if code == "conflictTaskUUID" or low.startswith("conflict"):
        return TaskConflictError
    if low.startswith("task") and low.endswith(("notfound", "expired")):
        return TaskNotFoundError
    if status_code in CAPACITY_STATUSES or "ratelimit" in low:
        return RateLimitedError
    if status_code is not None and status_code >= 500:
        return ServerError
    if error is not None and error.parameter_name:
        return InvalidParameterError
    if low.startswith(("invalid", "missing", "unsupported")):
        return InvalidParameterError
    return APIError


#: Errors about the whole request (key, balance, capacity), not about one generation.
REQUEST_LEVEL = (
    AuthenticationError,
    InsufficientCreditsError,
    RateLimitedError,
    ServerError,
    TaskConflictError,
)

_ADVICE: dict[type[APIError], str] = {
    AuthenticationError: "check RUNWARE_API_KEY or api_key in the config file",
    InsufficientCreditsError: "top up the Runware account, then run the same command to resume",
    TaskConflictError: "this taskUUID was already submitted; poll it instead of resubmitting",
    TaskNotFoundError: "its results may have expired: submit the shot again",
    RateLimitedError: "the service is at capacity: run the same command later to resume",
    ServerError: "the service failed: run the same command later to resume",
    InvalidParameterError: "fix the task parameter named above",
}


def error_from_api(
    status_code: int | None,
    error: APIErrorObject | None,
    *,
    context: str = "",
    attempts: int = 1,
    scrub: Callable[[str], str] = lambda text: text,
) -> APIError:
    """Map an HTTP status and/or an API error object to the right class of the error tree."""
    cls = error_class(status_code, error)
    parts: list[str] = []
    if context:
        parts.append(context)
    if error is not None and error.task_uuid and error.task_uuid not in context:
        parts.append(f"task {error.task_uuid}")
    if error is not None and error.parameter_name:
        parts.append(error.parameter_name)
    detail = " ".join(str(scrub(error.message or "")).split()) if error else ""
    code = error.code if error else None
    what = f"{code}: {detail}" if code and detail else (code or detail)
    if not what:
        what = f"HTTP {status_code}" if status_code else "no answer"
    elif status_code and status_code != 200:
        what = f"{what} (HTTP {status_code})"
    if error is not None and error.allowed_values:
        what += f"; allowed: {', '.join(map(str, error.allowed_values[:20]))}"
    if attempts > 1:
        what += f"; after {attempts} attempts"
    advice = _ADVICE.get(cls)
    message = ": ".join([*parts, what]) + (f"; {advice}" if advice else "")
    return cls(
        message,
        code=code,
        task_uuid=error.task_uuid if error else None,
        status_code=status_code,
        parameter=error.parameter_name if error else None,
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def split_envelope(body: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(data items, error items) from every envelope shape servers and SDKs have used."""
    if isinstance(body, list):
        return [i for i in body if isinstance(i, dict)], []
    if not isinstance(body, dict):
        return [], []
    data = [i for i in _as_list(body.get("data")) if isinstance(i, dict)]
    errors = [i for i in _as_list(body.get("errors")) if isinstance(i, dict)]
    legacy = body.get("error")
    if isinstance(legacy, dict):
        # Pre-stream HTTP form: {"error": {...}, "taskUUID": ..., "taskType": ...}
        item = dict(legacy)
        for key in ("taskUUID", "taskType"):
            if key in body and key not in item:
                item[key] = body[key]
        errors.append(item)
    elif isinstance(legacy, list):
        errors.extend(i for i in legacy if isinstance(i, dict))
    elif legacy is True and "errorMessage" in body:
        errors.append({"code": "error", "message": body.get("errorMessage")})
    return data, errors


def parse_errors(items: Iterable[dict[str, Any]]) -> list[APIErrorObject]:
    parsed = []
    for item in items:
        try:
            parsed.append(APIErrorObject.model_validate(item))
        except ValidationError:
            parsed.append(APIErrorObject(code="unreadableError", message=str(item)[:200]))
    return parsed
