"""The protocol's error objects (Runware's §2) as the emulator sends them, with their docs links."""

from __future__ import annotations

from typing import Any

MODEL_ID = "runway:aleph@2.0"
MODEL_DOC = "https://runware.ai/docs/models/runway-aleph-2-0"
PLATFORM_DOC = "https://runware.ai/docs/platform"


class TaskError(Exception):
    """One error object of the protocol (§2), with the HTTP status it implies."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        parameter: str | None = None,
        status: int = 400,
        type_: str | None = None,
        allowed: list[Any] | None = None,
        task_type: str | None = None,
        task_uuid: str | None = None,
        documentation: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.parameter = parameter
        self.status = status
        self.type_ = type_
        self.allowed = allowed
        self.task_type = task_type
        self.task_uuid = task_uuid
        self.documentation = documentation
        self.extra = extra or {}

    def to_dict(self) -> dict[str, Any]:
        """The error object as sent on the wire (absent fields omitted)."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.parameter is not None:
            out["parameter"] = self.parameter
        if self.type_ is not None:
            out["type"] = self.type_
        if self.allowed is not None:
            out["allowedValues"] = self.allowed
        if self.task_type is not None:
            out["taskType"] = self.task_type
        if self.task_uuid is not None:
            out["taskUUID"] = self.task_uuid
        out["documentation"] = self.documentation or _doc_for(self.task_type, self.parameter)
        out.update(self.extra)
        return out


def _doc_for(task_type: str | None, parameter: str | None) -> str:
    if task_type == "videoInference":
        if parameter:
            return f"{MODEL_DOC}#request-{parameter.replace('.', '-').lower()}"
        return MODEL_DOC
    pages = {
        "authentication": "authentication",
        "getResponse": "task-polling",
        "mediaStorage": "media-storage",
        "getTaskDetails": "task-details",
    }
    if task_type == "imageUpload":
        return "https://runware.ai/docs/utilities/image-upload"
    return f"{PLATFORM_DOC}/{pages.get(task_type or '', 'errors')}"


def missing(parameter: str) -> TaskError:
    """missingParameter for a (dotted) parameter."""
    return TaskError(
        "missingParameter", f"Missing required parameter: '{parameter}'.", parameter=parameter
    )


def conflict(task_uuid: str) -> TaskError:
    """conflictTaskUUID: the taskUUID was used before (a replay, or a reused UUID)."""
    return TaskError(
        "conflictTaskUUID",
        f"taskUUID {task_uuid} was already used by an earlier task; poll it with getResponse "
        "instead of submitting it again.",
        parameter="taskUUID",
        type_="string",
    )
