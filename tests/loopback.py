"""Loopback servers for the transport tests that close at once.

:class:`RawServer` (tests/rawserver.py) polls its listener every 50 ms, so closing one waits up
to 50 ms; at one server per test that was seconds per file. :class:`QuickRawServer` wakes the
acceptor by shutting the listening socket down first (Linux: the blocked ``accept`` fails at
once; elsewhere the shutdown may be refused and the 50 ms poll ends it as before).

:class:`QuickHTTPServer` is pytest-httpserver's server whose thread checks for ``stop()`` every
20 ms instead of werkzeug's 0.5 s.
"""

from __future__ import annotations

import socket

from pytest_httpserver import HTTPServer
from rawserver import RawServer

__all__ = ["QuickHTTPServer", "QuickRawServer"]


class QuickRawServer(RawServer):
    """A :class:`RawServer` whose :meth:`close` returns as soon as its threads end."""

    def close(self) -> None:
        self.stop.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # not on every platform: the acceptor's 50 ms poll ends it then
        super().close()


class QuickHTTPServer(HTTPServer):
    """pytest-httpserver's HTTPServer, stopped within 20 ms."""

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.02)
