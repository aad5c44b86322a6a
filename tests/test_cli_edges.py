"""Command-line edges an operator meets (issue 18), through the installed ``reolink`` command.

* Ctrl-C (SIGINT) and SIGTERM end a one-shot command at once, also while its request is in
  flight to a device that never answers: exit 130 / 143, one line on stderr. (The command runs
  with ``--timeout 30000``: an exit well before that is the point, not a speed figure; the time
  measured is in the report of issue 18.)
* ``watch --zones`` beyond the channel count exits 2 naming the count;
* after ``disconnect()``, ``command()`` and ``connect()`` say the same thing: create a new driver;
  and ``disconnect()`` keeps its bound with a command's request in flight.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from typing import Iterator, List

import pytest
from conftest import (
    CLI_TIMEOUT,
    ROOT,
    cli_env,
    http_driver,
    memory_driver,
    reaped,
    reolink_cmd,
    run_cli_inprocess,
    wait_requests,
    wait_until,
    with_sigint_default,
)
from rawserver import RawServer, read_request

from reolink import NotConnected, ReolinkError
from reolink.driver.device import DISCONNECTED
from reolink.emulator import Emulator, Fault

PASSWORD = "Edges-pw-41"
class Silent:
    """A loopback server that reads each request and never answers."""

    def __init__(self) -> None:
        self.got_request = threading.Event()
        self.server = RawServer(self._script)

    def _script(self, conn: socket.socket, stop: threading.Event) -> None:
        if read_request(conn):
            self.got_request.set()
        stop.wait(CLI_TIMEOUT)


@pytest.fixture
def silent() -> Iterator[Silent]:
    server = Silent()
    try:
        yield server
    finally:
        server.server.close()


#: Runs ARGV with SIGINT at its default: a shell's background job starts with SIGINT ignored,
#: and Python keeps it so; the test must see the command's own Ctrl-C handling.
@pytest.mark.parametrize(
    ("sig", "status", "line"),
    [(signal.SIGINT, 130, "reolink: interrupted"), (signal.SIGTERM, 143, "reolink: terminated")],
)
@pytest.mark.parametrize("command", [["get_dev_info"], ["get_motion", "0"], ["siren", "0"]])
def test_a_signal_ends_a_one_shot_command_with_a_request_in_flight(
    silent: Silent, sig: int, status: int, line: str, command: List[str]
) -> None:
    argv = [*command, "--ip", "127.0.0.1", "--port", str(silent.server.port), "--timeout", "30000"]
    proc = subprocess.Popen(
        with_sigint_default(reolink_cmd(*argv)),
        env=cli_env(PASSWORD),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    with reaped(proc):
        assert silent.got_request.wait(CLI_TIMEOUT), "the command never sent its Login"
        sent = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)  # request_timeout is 30 s
        took = time.monotonic() - sent
    assert proc.returncode == status, err
    assert err.splitlines() == [line], err
    assert out == ""
    assert took < 10


# --- watch --zones beyond the channel count -------------------------------------------------------


def test_watch_zones_beyond_the_channel_count_exits_2_naming_the_count() -> None:
    with Emulator(profile="nvr", password=PASSWORD) as nvr:  # 8 channels
        result = run_cli_inprocess(
            "watch", "--zones", "0,9", "--json", "--seconds", "20", "--no-push",
            port=nvr.port, password=PASSWORD,
        )
        assert nvr.sessions == []  # logged out on the way out
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert lines == ["reolink: watch: --zones 9: the device has 8 channel(s), addresses 0..7"]
    assert '"offline"' not in result.stdout and "summary" not in result.stdout


# --- what disconnect() promises -----------------------------------------------------------------


def test_after_disconnect_command_and_connect_give_the_same_fix() -> None:
    with Emulator(profile="camera") as camera:
        driver = memory_driver(camera, {"0": {}}, lambda event: None)
        assert driver.connect()
        driver.disconnect()
        with pytest.raises(NotConnected) as by_command:
            driver.command("get_motion", {"address": "0"})
        with pytest.raises(NotConnected) as by_connect:
            driver.connect()
    for error in (by_command.value, by_connect.value):
        assert DISCONNECTED in str(error), error
    assert "call connect() first" not in str(by_command.value)
    assert driver.with_zones({"0": {}}) is not driver  # the fix it names exists


def test_disconnect_with_a_command_in_flight_keeps_its_bound() -> None:
    """A command's request stalls on the device; disconnect() ends within request_timeout
    + 1 s (it raises past that bound) and the thread is gone."""
    with Emulator(profile="camera", password=PASSWORD) as camera:
        driver = http_driver(
            camera, {"0": {}}, lambda event: None, password=PASSWORD, request_timeout="500"
        )
        assert driver.connect()
        camera.add_fault(Fault("stall", cmd="AudioAlarmPlay"))
        outcome: List[BaseException] = []

        def siren() -> None:
            try:
                driver.command("siren", {"address": "0"})
            except ReolinkError as error:
                outcome.append(error)

        thread = threading.Thread(target=siren)
        thread.start()
        assert wait_requests(
            camera, lambda: any("AudioAlarmPlay" in r.cmds for r in camera.requests)
        )
        driver.disconnect()  # raises ReolinkError past request_timeout + 1 s
        thread.join(CLI_TIMEOUT)
        assert not driver.running
        assert len(outcome) == 1 and isinstance(outcome[0], ReolinkError)


@pytest.mark.skipif(
    not hasattr(signal, "pthread_sigmask"), reason="the platform has no per-thread signal masks"
)
def test_the_driver_threads_leave_ctrl_c_and_sigterm_to_the_host() -> None:
    """The device thread blocks SIGINT and SIGTERM, so the kernel hands
    them to the host's thread, whose wait (connect(), command()) they interrupt at once.

    A signal one of our threads took would run its handler only when the main thread next ran
    Python code: a one-shot command's SIGTERM waited out its 30 s timeout in one CI run.
    """
    masks: List[object] = []

    def callback(_event: object) -> None:
        # Runs on the device thread: its own signal mask.
        masks.append(signal.pthread_sigmask(signal.SIG_BLOCK, set()))

    emulator = Emulator(profile="camera")
    driver = memory_driver(emulator, {"0": {}}, callback, push="off")
    try:
        assert driver.connect()
        assert wait_until(lambda: bool(masks))
    finally:
        driver.disconnect()
    assert {signal.SIGINT, signal.SIGTERM} <= set(masks[0])  # type: ignore[call-overload]
    # The host's own thread is untouched.
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())
