"""A local Runware-compatible server for ``runway:aleph@2.0`` (see docs/emulator.md).

Users run it (``aleph-otio emulator``) to rehearse a batch offline; the test suite runs against
it. It speaks the task protocol over real HTTP, validates tasks against the Aleph 2.0 reference
independently of the client's models, renders real result videos and can inject faults.
"""

from __future__ import annotations

from aleph_otio.emulator.server import Emulator
from aleph_otio.emulator.state import Delivery, EmulatorConfig, Faults, Generation, Job
from aleph_otio.emulator.validate import TaskError

__all__ = ["Delivery", "Emulator", "EmulatorConfig", "Faults", "Generation", "Job", "TaskError"]
