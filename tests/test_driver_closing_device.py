"""The whole driver against a device that closes after every reply (issue 17).

A proxy in front of the emulator answers each connection's first request, then closes it, with
no ``Connection: close`` header: the way some firmware behaves. The driver polls at 50 ms
meanwhile. 50 ``ptz_preset`` commands: none fails with a spurious "may have executed", and
the device ran exactly 50 PtzCtrl (none lost, none sent twice).
"""

from __future__ import annotations

import socket
import threading
from typing import List

from conftest import Recorder, http_driver
from rawserver import RawServer, read_request

from reolink.emulator import Emulator
from reolink.errors import ReolinkError

COMMANDS = 50


def test_fifty_commands_through_a_device_that_closes_after_every_reply(
    recorder: Recorder,
) -> None:
    with Emulator(profile="ptz") as ptz:

        def closing_proxy(conn: socket.socket, stop: threading.Event) -> None:
            request = read_request(conn)
            if not request:
                return
            with socket.create_connection((ptz.host, ptz.port), timeout=5) as upstream:
                upstream.sendall(request)
                reply = read_request(upstream)  # head + Content-Length body: a whole reply
            conn.sendall(reply)  # then the connection closes, unannounced

        proxy = RawServer(closing_proxy)
        driver = http_driver(ptz, {"0": {}}, recorder, port=str(proxy.port))
        failures: List[str] = []
        try:
            assert driver.connect(5)
            for _ in range(COMMANDS):
                try:
                    driver.command("ptz_preset", {"address": "0", "preset": "1"})
                except ReolinkError as err:
                    failures.append(str(err))
        finally:
            driver.disconnect()
            proxy.close()
        moves = [r for r in ptz.requests if r.cmds == ["PtzCtrl"]]
    assert failures == []
    assert len(moves) == COMMANDS
