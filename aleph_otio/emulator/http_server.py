"""The HTTP server both emulators (Runware's API and Runway's) answer on."""

from __future__ import annotations

import logging
import sys
from http.server import ThreadingHTTPServer
from typing import Any

log = logging.getLogger("aleph_otio.emulator")


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A threading server on loopback whose clients may hang up at any time."""

    daemon_threads = True
    # socketserver's default backlog of 5 resets connections when a batch of clients connects
    # at once (the client then retries); a real service accepts them.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer (a killed or cancelled run) is normal here: one
        debug line, not socketserver's traceback on stderr (where it would land in the
        terminal, or in the output of a run in the same process). Anything else is logged in
        full."""
        exc = sys.exc_info()[1]
        if isinstance(exc, BrokenPipeError | ConnectionResetError | ConnectionAbortedError):
            log.debug("client %s hung up: %s", client_address[0], exc)
            return
        log.exception("error while answering %s", client_address[0])
