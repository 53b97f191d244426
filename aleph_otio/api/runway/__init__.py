"""The Runway backend: Runway's own API for aleph2 through the official ``runwayml`` SDK."""

from aleph_otio.api.runway.backend import RemoteTask, RunwayBackend, remote_key
from aleph_otio.api.runway.translate import RunwayOptions, create_arguments, refuse_runware_only

__all__ = [
    "RemoteTask",
    "RunwayBackend",
    "RunwayOptions",
    "create_arguments",
    "refuse_runware_only",
    "remote_key",
]
