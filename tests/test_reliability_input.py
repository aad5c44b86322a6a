"""Bad input from the host, hostile replies from the device.

* Every attribute and every command argument with wrong values (types, ranges, unknown options,
  empty, 1 MB strings, Unicode look-alikes, URL/JSON injection, control characters): refused
  with a ConfigError / ArgumentError that names it, and the emulator sees no request for it.
* A hostile device over real HTTP (the emulator's faults, or a small server in front of the
  emulator for payloads it cannot make): 100 MB replies cut at the cap with bounded memory,
  JSON nested 100 000 deep, numbers as strings, wrong types in every field, HTML for a Snap,
  never-ending and slow-drip bodies. Each gives a clear error within request_timeout + 1 s
  and the driver carries on.
* The parsers, fed every recorded reply with each field replaced by each wrong type, and
  (hypothesis) by arbitrary JSON at an arbitrary place: they parse, or raise
  RemoteProtocolError / ApiError, never anything else.
"""

from __future__ import annotations

import copy
import http.server
import json
import logging
import threading
import tracemalloc
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import attrs
import pytest
from conftest import FAST, Recorder, examples, http_driver, wait_until
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simdevice import SimHarness

from reolink.driver import ReolinkDriver
from reolink.emulator import Emulator, Fault
from reolink.errors import (
    ApiError,
    ArgumentError,
    ConfigError,
    RemoteProtocolError,
    ReolinkError,
    ResponseTooLarge,
    Timeout,
)
from reolink.protocol import (
    CommandReply,
    build_get_ai_state,
    build_get_events,
    build_get_md_state,
    decode_batch,
    parse_ability,
    parse_ai_state,
    parse_channel_status,
    parse_dev_info,
    parse_events,
    parse_login,
    parse_md_state,
    parse_ok,
    parse_ptz_presets,
    parse_white_led,
)
from reolink.transport import Request, Response

INTERVAL = 0.1
TIMEOUT = 0.5
#: How long a test waits for what must happen: a guard against a hang, not a speed bound.
WAIT = 10.0
#: Push off: these tests count the requests a command or a poll sends, and arm faults on every
#: request (the webhook registration after connect would meet them first).
ATTRS = {"status_interval": "10", "request_timeout": "250", "push": "off"}
MB = 1_000_000
BASE = {"ip": "127.0.0.1", "username": "admin", "password": "admin123"}
PASSWORD = "admin123"


def attempt(call: Callable[[], Any]) -> Any:
    """The call's result, or the ReolinkError it raised."""
    try:
        return call()
    except ReolinkError as error:
        return error


def no_driver_errors(caplog: pytest.LogCaptureFixture) -> List[str]:
    """ERROR records from the driver (an unexpected exception in the device loop...)."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# --- bad attributes ------------------------------------------------------------------------

INJECTIONS = [
    "1.2.3.4/x?cmd=Reboot",
    "1.2.3.4?cmd=Reboot",
    "1.2.3.4#x",
    "http://1.2.3.4",
    "1.2.3.4:8080",
    "admin:pw@1.2.3.4",
    "1.2.3.4 /cgi-bin/api.cgi",
    "cam\r\nHost: evil",
    "cam\nlocal",
    "fe80::1%eth0/x",
    "fe80::1%eth0",
    "[::1]:80",
    "../../etc/passwd",
    "cam.local;reboot",
    "$(reboot)",
]
BAD_ATTRIBUTES: List[Tuple[str, Any]] = [
    *[("ip", v) for v in INJECTIONS],
    ("ip", ""),
    ("ip", "   "),
    ("ip", 1.5),
    ("ip", True),
    ("ip", ["1.2.3.4"]),
    ("ip", {"host": "1.2.3.4"}),
    ("ip", b"1.2.3.4"),
    ("ip", "a" * MB),
    ("ip", "1.2.3"),
    ("ip", "256.1.1.1"),
    ("ip", "1.2.3.4.5"),
    ("ip", "-cam.local"),
    ("ip", "cam_1.local"),
    ("ip", "kamera-ü.local"),
    ("ip", "\uff11.\uff12.\uff13.\uff14"),  # full-width digits
    ("ip", "a" * 64 + ".local"),
    ("username", ""),
    ("username", "ad\nmin"),
    ("username", "admin\r\n"),
    ("username", "admin\x00"),
    ("username", "ad\tmin"),
    ("username", "\x7f"),
    ("username", "a" * 32),
    ("username", "a" * MB),
    ("username", 42),
    ("username", None),
    ("username", ["admin"]),
    ("password", ""),
    ("password", "pass\nword"),
    ("password", "pa\x1bss"),
    ("password", "p" * 32),
    ("password", "p" * MB),
    ("password", 1234),
    ("password", None),
    ("port", "0"),
    ("port", "65536"),
    ("port", "-1"),
    ("port", "80a"),
    ("port", "0x50"),
    ("port", "1e3"),
    ("port", "80.0"),
    ("port", "\uff18\uff10"),
    ("port", "9" * 10),
    ("port", "1" * MB),
    ("port", 80.0),
    ("port", True),
    ("port", [80]),
    ("protocol", "ftp"),
    ("protocol", "http://"),
    ("protocol", "htttp"),
    ("protocol", "\uff48\uff54\uff54\uff50"),
    ("protocol", 1),
    ("protocol", "h" * MB),
    ("status_interval", "0"),
    ("status_interval", "-100"),
    ("status_interval", "1.5"),
    ("status_interval", "5s"),
    ("status_interval", "86400001"),
    ("status_interval", "9" * MB),
    ("status_interval", 5.0),
    ("request_timeout", "99"),
    ("request_timeout", "300001"),
    ("request_timeout", "abc"),
    ("request_timeout", "-8000"),
    ("request_timeout", "\uff18\uff10\uff10\uff10"),
    ("request_timeout", False),
    ("tls_fingerprint", "zz" * 32),
    ("tls_fingerprint", "ab" * 31),
    ("tls_fingerprint", "ab" * 33),
    ("tls_fingerprint", "sha256:" + "ab" * 32),
    ("tls_fingerprint", "a" * MB),
    ("tls_verify", "/nonexistent/ca.pem"),
    ("tls_verify", "/tmp"),
    ("tls_verify", "x" * MB),
]


def _attrs_with(name: str, value: Any, port: int) -> Dict[str, Any]:
    attrs: Dict[str, Any] = dict(BASE, port=str(port), **ATTRS)
    if name.startswith("tls_"):
        attrs["protocol"] = "https"
    if value is None:
        attrs.pop(name, None)
    else:
        attrs[name] = value
    return attrs


@pytest.fixture(scope="module")
def idle_emulator() -> Iterator[Emulator]:
    """One emulator every refused configuration points at: it must see no request at all."""
    with Emulator(profile="camera") as emu:
        yield emu


def _check_refusal(error: ReolinkError, name: str, value: Any) -> None:
    message = str(error)
    assert name in message, message
    assert len(message) < 600, "the bad value is echoed in full"
    if name == "password" and isinstance(value, str) and value:
        assert value not in message


@pytest.mark.parametrize(
    ("name", "value"),
    BAD_ATTRIBUTES,
    ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD_ATTRIBUTES)],
)
def test_bad_attribute_refused_before_any_request(
    idle_emulator: Emulator, recorder: Recorder, name: str, value: Any
) -> None:
    with pytest.raises(ConfigError) as info:
        ReolinkDriver(_attrs_with(name, value, idle_emulator.port), {"0": {}}, recorder)
    assert info.value.attribute == name
    _check_refusal(info.value, name, value)
    assert recorder.events == []
    assert idle_emulator.requests == []


def test_fingerprint_or_ca_with_plain_http_refused(idle_emulator: Emulator) -> None:
    for extra in ({"tls_fingerprint": "ab" * 32}, {"tls_verify": __file__}):
        attrs = dict(BASE, port=str(idle_emulator.port), protocol="http", **extra)
        with pytest.raises(ConfigError) as info:
            ReolinkDriver(attrs)
        assert info.value.attribute == "protocol"
    with pytest.raises(ConfigError, match="mapping"):
        ReolinkDriver("ip=127.0.0.1")  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as info:
        ReolinkDriver(dict(BASE), None, 5)  # type: ignore[arg-type]
    assert info.value.attribute == "callback"
    assert idle_emulator.requests == []


BAD_ZONES: List[Tuple[str, Any]] = [
    ("address", {"-1": {}}),
    ("address", {"01": {}}),
    ("address", {"256": {}}),
    ("address", {"a": {}}),
    ("address", {"": {}}),
    ("address", {" 0": {}}),
    ("address", {"0\n": {}}),
    ("address", {"0/../1": {}}),
    ("address", {"1.2.3.4/x?cmd=Reboot": {}}),
    ("address", {"\uff10": {}}),
    ("address", {"9" * MB: {}}),
    ("address", {1.5: {}}),
    ("address", {True: {}}),
    ("address", [("0", {}), ("0", {})]),
    ("ai_types", {"0": {"ai_types": "people,cat"}}),
    ("ai_types", {"0": {"ai_types": "people;vehicle"}}),
    ("ai_types", {"0": {"ai_types": "peoplé"}}),
    ("ai_types", {"0": {"ai_types": "people\nvehicle"}}),
    ("ai_types", {"0": {"ai_types": ["people"]}}),
    ("ai_types", {"0": {"ai_types": 1}}),
    ("ai_types", {"0": {"ai_types": "x" * MB}}),
]


@pytest.mark.parametrize(
    ("name", "zones"), BAD_ZONES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD_ZONES)]
)
def test_bad_zone_refused_before_any_request(
    idle_emulator: Emulator, name: str, zones: Any
) -> None:
    with pytest.raises(ConfigError) as info:
        ReolinkDriver(dict(BASE, port=str(idle_emulator.port)), zones)
    assert info.value.attribute == name
    _check_refusal(info.value, name, zones)
    assert idle_emulator.requests == []


BAD_ZONE_SHAPES: List[Any] = ["0", ["0", "1"], 5, {"0": "people"}, {"0": ["people"]}]


@pytest.mark.parametrize("zones", BAD_ZONE_SHAPES, ids=[str(i) for i in range(5)])
def test_zones_of_the_wrong_shape_refused(idle_emulator: Emulator, zones: Any) -> None:
    with pytest.raises(ConfigError) as info:
        ReolinkDriver(dict(BASE, port=str(idle_emulator.port)), zones)
    assert info.value.attribute in ("zones", "address")
    assert idle_emulator.requests == []


def test_tls_verify_file_that_is_not_a_ca_bundle(
    idle_emulator: Emulator, recorder: Recorder
) -> None:
    attrs = dict(BASE, port=str(idle_emulator.port), protocol="https", tls_verify=__file__)
    try:
        driver = ReolinkDriver(attrs, {"0": {}}, recorder, timing=FAST)
    except ConfigError as error:
        assert error.attribute == "tls_verify"
        return
    try:
        driver.connect(timeout=2.0)
        assert driver.running
        assert "tls_verify" in recorder.value("error") or "CA" in recorder.value("error")
    finally:
        driver.disconnect()


# --- bad command arguments -----------------------------------------------------------------

HUGE = "x" * MB
BAD_COMMANDS: List[Tuple[str, Any, str]] = [
    # (command, args, the argument the error must name)
    ("", {}, "command"),
    ("Reboot", {}, "command"),
    ("reboot; rm -rf /", {}, "command"),
    ("get_dev_info\n", {}, "command"),
    (HUGE, {}, "command"),
    ("get_dev_info", {"x": 1}, "x"),
    ("get_dev_info", {"channel": 0}, "channel"),
    ("snapshot", {}, "address"),
    ("snapshot", {"address": ""}, "address"),
    ("snapshot", {"address": None}, "address"),
    ("snapshot", {"address": "-1"}, "address"),
    ("snapshot", {"address": "01"}, "address"),
    ("snapshot", {"address": "1"}, "address"),  # the camera has one channel
    ("snapshot", {"address": "255"}, "address"),
    ("snapshot", {"address": "256"}, "address"),
    ("snapshot", {"address": "a"}, "address"),
    ("snapshot", {"address": "0\n"}, "address"),
    ("snapshot", {"address": " 0"}, "address"),
    ("snapshot", {"address": "\uff10"}, "address"),
    ("snapshot", {"address": "0&cmd=Reboot"}, "address"),
    ("snapshot", {"address": "1.2.3.4/x?cmd=Reboot"}, "address"),
    ("snapshot", {"address": HUGE}, "address"),
    ("snapshot", {"address": 1.5}, "address"),
    ("snapshot", {"address": True}, "address"),
    ("snapshot", {"address": ["0"]}, "address"),
    ("snapshot", {"address": {"0": 0}}, "address"),
    ("snapshot", {"address": "0", "channel": 0}, "channel"),
    ("get_motion", {"address": "-0"}, "address"),
    ("get_ai_state", {"address": "0x0"}, "address"),
    ("ptz", {"address": "0"}, "op"),
    ("ptz", {"address": "0", "op": "Reboot"}, "op"),
    ("ptz", {"address": "0", "op": "left"}, "op"),
    ("ptz", {"address": "0", "op": "Left\n"}, "op"),
    ("ptz", {"address": "0", "op": "ToPos"}, "op"),
    ("ptz", {"address": "0", "op": 5}, "op"),
    ("ptz", {"address": "0", "op": ["Left"]}, "op"),
    ("ptz", {"address": "0", "op": HUGE}, "op"),
    ("ptz", {"address": "0", "op": "Left", "speed": 0}, "speed"),
    ("ptz", {"address": "0", "op": "Left", "speed": 65}, "speed"),
    ("ptz", {"address": "0", "op": "Left", "speed": -1}, "speed"),
    ("ptz", {"address": "0", "op": "Left", "speed": "fast"}, "speed"),
    ("ptz", {"address": "0", "op": "Left", "speed": True}, "speed"),
    ("ptz", {"address": "0", "op": "Left", "speed": 1.5}, "speed"),
    ("ptz", {"address": "0", "op": "Left", "speed": "²"}, "speed"),
    ("ptz", {"address": "0", "op": "Left", "speed": "1e1"}, "speed"),
    ("ptz", {"address": "0", "op": "Left", "speed": "1" * MB}, "speed"),
    ("ptz", {"address": "0", "op": "Left", "duration": -1}, "duration"),
    ("ptz", {"address": "0", "op": "Left", "duration": 60001}, "duration"),
    ("ptz", {"address": "0", "op": "Left", "duration": "1s"}, "duration"),
    ("ptz", {"address": "0", "op": "Left", "duration": [1]}, "duration"),
    ("ptz", {"address": "0", "op": "Left", "foo": 1}, "foo"),
    ("ptz", {"address": "0", "op": "Left"}, "address"),  # the camera has no PTZ
    ("ptz_preset", {"address": "0"}, "preset"),
    ("ptz_preset", {"address": "0", "preset": -1}, "preset"),
    ("ptz_preset", {"address": "0", "preset": 256}, "preset"),
    ("ptz_preset", {"address": "0", "preset": "one"}, "preset"),
    ("ptz_preset", {"address": "0", "preset": 1, "speed": 99}, "speed"),
    ("spotlight_on", {"address": "0", "state": 1}, "state"),
    ("siren", {"address": "0", "times": 100}, "times"),
    ("reboot", {"force": True}, "force"),
    ("login", {"password": "x"}, "password"),
]


@pytest.fixture(scope="module")
def quiet_camera() -> Iterator[Tuple[Emulator, ReolinkDriver]]:
    """A connected driver that polls once a day: every request after connect is a command's."""
    with Emulator(profile="camera") as emu:
        driver = http_driver(emu, {"0": {}}, Recorder(), status_interval="86400000", push="off")
        assert driver.connect() is True
        assert wait_until(lambda: driver.stats().cycles >= 1, WAIT)
        try:
            yield emu, driver
        finally:
            driver.disconnect()


@pytest.mark.parametrize(
    ("command", "args", "argument"),
    BAD_COMMANDS,
    ids=[f"{c[:20]}-{i}" for i, (c, _, _) in enumerate(BAD_COMMANDS)],
)
def test_bad_command_argument_refused_and_nothing_sent(
    quiet_camera: Tuple[Emulator, ReolinkDriver], command: str, args: Any, argument: str
) -> None:
    emu, driver = quiet_camera
    before = len(emu.requests)
    with pytest.raises(ArgumentError) as info:
        driver.command(command, args)
    assert info.value.argument == argument
    assert argument in str(info.value)
    assert len(str(info.value)) < 600
    assert len(emu.requests) == before
    assert driver.running and driver.online


@pytest.mark.parametrize("args", ["0", ["address", "0"], 5], ids=["str", "list", "int"])
def test_command_args_not_a_mapping(
    quiet_camera: Tuple[Emulator, ReolinkDriver], args: Any
) -> None:
    emu, driver = quiet_camera
    before = len(emu.requests)
    with pytest.raises(ArgumentError):
        driver.command("get_motion", args)
    assert len(emu.requests) == before


def test_good_command_after_the_bad_ones_still_works(
    quiet_camera: Tuple[Emulator, ReolinkDriver],
) -> None:
    emu, driver = quiet_camera
    before = len(emu.requests)
    assert driver.command("get_motion", {"address": "0"}) == {"channel": 0, "motion": False}
    assert len(emu.requests) == before + 1


# --- a hostile device ----------------------------------------------------------------------

Writer = Callable[[http.server.BaseHTTPRequestHandler, bytes], None]


class HostileServer:
    """An HTTP server in front of an emulator: normal requests go to ``emulator.app``; requests
    whose commands match an armed rule get ``writer`` instead, which writes raw bytes."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.rules: List[Tuple[str, Writer]] = []
        self.hits = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()
        hostile = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The head and the body go out in two writes: without TCP_NODELAY the second
            # waits for the client's delayed ACK (40 ms a request on Linux).
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                hostile.handle(self, b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                hostile.handle(self, self.rfile.read(length))

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the client hanging up on a hostile reply is the point

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        # shutdown() waits for the loop's next check: every 50 ms, not the default 0.5 s.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def arm(self, cmd: str, writer: Writer) -> None:
        with self._lock:
            self.rules.append((cmd, writer))

    def disarm(self) -> None:
        with self._lock:
            self.rules.clear()

    def handle(self, handler: http.server.BaseHTTPRequestHandler, body: bytes) -> None:
        cmds: List[str] = []
        try:
            parsed = json.loads(body) if body else []
            cmds = [c.get("cmd") for c in parsed if isinstance(c, dict)]
        except ValueError:
            pass
        if "cmd=Snap" in handler.path:
            cmds = ["Snap"]
        with self._lock:
            writer = next((w for c, w in self.rules if c in cmds or c == "*"), None)
        if writer is not None:
            self.hits += 1
            handler.close_connection = True
            try:
                writer(handler, body)
            except OSError:
                pass
            return
        status, headers, reply = self.emu.app(handler.command, handler.path, {}, body)
        handler.send_response(status)
        for key, value in headers.items():
            if key.lower() != "connection":
                handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(reply)

    def __enter__(self) -> HostileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def head(handler: Any, content_type: str, length: Optional[int], status: int = 200) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    if length is not None:
        handler.send_header("Content-Length", str(length))
    handler.send_header("Connection", "close")
    handler.end_headers()


CHUNK = memoryview(b" " * 65536)


def stream(handler: Any, total: Optional[int], stop: threading.Event) -> None:
    """Write ``total`` bytes (None: forever) from one shared buffer: the server allocates
    nothing per chunk, so memory measured here is the driver's."""
    sent = 0
    while (total is None or sent < total) and not stop.is_set():
        size = len(CHUNK) if total is None else min(len(CHUNK), total - sent)
        handler.wfile.write(CHUNK[:size])
        sent += size


def huge(declared: bool, content_type: str = "text/html", size: int = 100 * MB) -> Any:
    def write(server: HostileServer) -> Writer:
        def writer(handler: Any, request: bytes) -> None:
            head(handler, content_type, size if declared else None)
            handler.wfile.write(b'[{"cmd":"GetEvents","code":0,"value":{"pad":"')
            stream(handler, size, server.stop)

        return writer

    return write


def fixed(body: bytes, content_type: str = "text/html", status: int = 200) -> Any:
    def write(server: HostileServer) -> Writer:
        def writer(handler: Any, request: bytes) -> None:
            head(handler, content_type, len(body), status)
            handler.wfile.write(body)

        return writer

    return write


def never_ending() -> Any:
    def write(server: HostileServer) -> Writer:
        def writer(handler: Any, request: bytes) -> None:
            head(handler, "text/html", None)
            handler.wfile.write(b'[{"cmd":"GetEvents","code":0,"value":')
            while not server.stop.wait(0.01):
                handler.wfile.write(b"[")
                handler.wfile.flush()

        return writer

    return write


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    emu = Emulator(profile="camera")
    with HostileServer(emu) as server:
        yield server


def hostile_driver(server: HostileServer, recorder: Recorder, **extra: str) -> ReolinkDriver:
    attrs = dict(BASE, port=str(server.port), **{**ATTRS, **extra})
    driver = ReolinkDriver(attrs, {"0": {}}, recorder, timing=FAST)
    assert driver.connect() is True
    assert wait_until(lambda: driver.stats().cycles >= 2, WAIT)
    return driver


def carries_on(server: HostileServer, driver: ReolinkDriver, recorder: Recorder) -> None:
    """After the hostile replies stop: online, polling, motion reaches the callback."""
    server.disarm()
    cycles = driver.stats().cycles
    assert wait_until(lambda: driver.online and driver.stats().cycles >= cycles + 2, WAIT)
    server.emu.set_motion(0, True)
    assert recorder.wait_for("motion", 1, "0", timeout=WAIT)
    server.emu.set_motion(0, False)
    assert recorder.wait_for("motion", 0, "0", timeout=WAIT)
    assert driver.running


HOSTILE_REPLIES: Dict[str, Tuple[Any, type, str]] = {
    # name: (writer factory, expected error class, words the message must contain)
    "100MB-declared": (huge(True), ResponseTooLarge, "cap"),
    "100MB-undeclared": (huge(False), ResponseTooLarge, "cap"),
    "never-ending": (never_ending(), Timeout, "within"),
    "deep-json": (fixed(DEEP), RemoteProtocolError, "JSON"),
    "not-json-html": (fixed(b"<html><body>Hello</body></html>"), RemoteProtocolError, "HTML"),
    "json-object": (fixed(b'{"cmd":"GetMdState","code":0}'), RemoteProtocolError, "array"),
    "utf16-garbage": (fixed("[é]".encode("utf-16")), RemoteProtocolError, ""),
    "http-404": (fixed(b"<html>404</html>", status=404), RemoteProtocolError, "404"),
    "http-500-json": (fixed(b"[]", "application/json", 500), RemoteProtocolError, "500"),
}


@pytest.mark.parametrize("name", list(HOSTILE_REPLIES))
def test_hostile_reply_clear_error_then_carries_on(
    hostile: HostileServer, recorder: Recorder, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    caplog.set_level(logging.ERROR, logger="reolink")
    factory, kind, words = HOSTILE_REPLIES[name]
    # A never-ending reply ends at request_timeout: 250 ms left a loaded machine (five
    # processes on two CPUs) too little to start the command in time, which then failed
    # as "busy" (CommandTimeout) instead of with the reply's deadline (seen once).
    extra = {"request_timeout": "1000"} if kind is Timeout else {}
    driver = hostile_driver(hostile, recorder, **extra)
    try:
        # The command's request first (a poll meeting a never-ending reply just before would
        # hold the command until its deadline: "busy", another test's point), then every one.
        hostile.arm("GetMdState", factory(hostile))
        tracemalloc.start()
        try:
            result = attempt(lambda: driver.command("get_motion", {"address": "0"}))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        hostile.arm("*", factory(hostile))
        assert isinstance(result, kind), result
        assert words in str(result)
        # The cap is 2 MB for JSON: nothing near the 100 MB the device offers is held.
        assert peak < 12 * MB, f"peak {peak} bytes"
        assert recorder.wait_for("online", False, timeout=WAIT)
        # (the driver sets online, then error: the callback may not have had the second yet)
        assert wait_until(lambda: bool(recorder.value("error")), WAIT)
        carries_on(hostile, driver, recorder)
    finally:
        driver.disconnect()
    assert no_driver_errors(caplog) == []


def test_huge_snapshot_cut_at_the_image_cap(hostile: HostileServer, recorder: Recorder) -> None:
    # No deadline is the point here: 16 MB read, and the emulator's first JPEG of the process
    # (tenths of a second of pure Python) must not meet a tight request_timeout.
    driver = hostile_driver(hostile, recorder, request_timeout="5000")
    try:
        hostile.arm("Snap", huge(False, "image/jpeg")(hostile))
        tracemalloc.start()
        try:
            result = attempt(lambda: driver.command("snapshot", {"address": "0"}))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert isinstance(result, ResponseTooLarge), result
        # The image cap is 16 MB (read in 64 KB chunks, then joined once).
        assert peak < 40 * MB, f"peak {peak} bytes"
        carries_on(hostile, driver, recorder)
        assert driver.command("snapshot", {"address": "0"})["contentType"] == "image/jpeg"
    finally:
        driver.disconnect()


def _intify(value: Any) -> Any:
    """Every number in a JSON value written as a string ("numbers as strings")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return [_intify(v) for v in value]
    if isinstance(value, dict):
        return {k: _intify(v) for k, v in value.items()}
    return value


def test_numbers_as_strings_everywhere(
    hostile: HostileServer, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    """A device whose every number is a string: no crash, clear errors, carries on after."""
    caplog.set_level(logging.ERROR, logger="reolink")
    emu = hostile.emu

    def stringly(handler: Any, request: bytes) -> None:
        status, _, reply = emu.app("POST", handler.path, {}, request)
        body = json.dumps(_intify(json.loads(reply))).encode()
        head(handler, "text/html", len(body), status)
        handler.wfile.write(body)

    driver = hostile_driver(hostile, recorder)
    try:
        hostile.arm("GetEvents", stringly)
        hostile.arm("GetDevInfo", stringly)
        hostile.arm("GetMdState", stringly)
        emu.set_motion(0, True)
        for command, args in (("get_dev_info", None), ("get_motion", {"address": "0"})):
            result = attempt(lambda c=command, a=args: driver.command(c, a))
            if isinstance(result, ReolinkError):
                assert isinstance(result, (RemoteProtocolError, ApiError)), result
                assert "internal error" not in str(result)
        assert wait_until(lambda: hostile.hits >= 5, WAIT)
        # Whatever the poll made of it, the zone says so in words, or reports the motion.
        assert recorder.value("error", "0") or recorder.value("motion", "0") == 1
        emu.set_motion(0, False)
        carries_on(hostile, driver, recorder)
    finally:
        driver.disconnect()
    assert no_driver_errors(caplog) == []


def emu_reply(emu: Emulator, batch: List[Any]) -> bytes:
    """The emulator's answer to ``batch`` with a fresh token (then logged out)."""
    login = [{"cmd": "Login", "param": {"User": {"userName": "admin", "password": PASSWORD}}}]
    _, _, raw = emu.app("POST", "/cgi-bin/api.cgi?cmd=Login", {}, json.dumps(login).encode())
    token = json.loads(raw)[0]["value"]["Token"]["name"]
    _, _, reply = emu.app("POST", f"/cgi-bin/api.cgi?token={token}", {}, json.dumps(batch).encode())
    emu.app("POST", f"/cgi-bin/api.cgi?cmd=Logout&token={token}", {}, b'[{"cmd":"Logout"}]')
    return reply


def _paths(value: Any, prefix: Tuple[Any, ...] = ()) -> Iterator[Tuple[Any, ...]]:
    """Every place in a JSON value (containers and leaves)."""
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        # Long lists repeat one shape (64 PTZ presets): their first two items stand for all.
        for index, child in enumerate(value[:2] if prefix else value):
            yield from _paths(child, (*prefix, index))


def _replaced(value: Any, path: Tuple[Any, ...], new: Any) -> Any:
    """``value`` with the place at ``path`` set to ``new``; ``value`` is left as it was (the
    containers along the path are copied, the rest is shared: nothing here is written to)."""
    if not path:
        return new
    step, rest = path[0], path[1:]
    copied = copy.copy(value)
    copied[step] = _replaced(value[step], rest, new)
    return copied


WRONG = [None, True, 0, -1, 2**70, 1.5, "", "1", "x" * 300, [], {}, [1], {"a": 1}]


class MutatedEvents:
    """The simulated device (``simdevice.AppDevice``) whose GetEvents replies are, every other
    poll, the recorded ``template`` with one place replaced by a wrong value from ``todo``."""

    def __init__(self, device: Any, template: Any, todo: List[Any]) -> None:
        self.device, self.template, self.todo = device, template, todo
        self.served: List[Any] = []
        self.log = device.log
        self._turn = False

    def __call__(self, request: Request, now: float) -> Any:
        outcome = self.device(request, now)
        if self.log[-1][1] != ["GetEvents"] or not isinstance(outcome, Response):
            return outcome
        self._turn = not self._turn
        path, wrong = self.todo.pop() if self.todo and self._turn else ((), None)
        if path:
            self.served.append(path)
        body = json.dumps(_replaced(self.template, path, wrong) if path else self.template)
        return Response(200, {"Content-Type": "text/html"}, body.encode())


def test_wrong_types_in_every_poll_field(caplog: pytest.LogCaptureFixture) -> None:
    """Each field of the GetEvents reply, replaced by each wrong type, one poll each (on
    simulated time: the core parses what the transport hands it, whatever the socket)."""
    caplog.set_level(logging.ERROR, logger="reolink")
    h = SimHarness(status_interval="5000")
    assert h.run_until(lambda: h.cycles() >= 2, 60)
    template = json.loads(emu_reply(h.emu, [build_get_events(0)]))
    assert template[0]["code"] == 0
    # Two wrong values per place, rotating through WRONG (the full cross product runs against
    # the parsers below); every mutated reply is followed by a good one.
    mutations = [
        (path, WRONG[(2 * i + j) % len(WRONG)])
        for i, path in enumerate(_paths(template))
        for j in (0, 1)
    ]
    device = MutatedEvents(h.device, template, list(mutations))
    h.device = device
    assert h.run_until(lambda: not device.todo, 3600.0), f"{len(device.todo)} mutations left"
    assert len(device.served) == len(mutations)
    assert not h.finished
    h.device = device.device
    assert h.run_until(lambda: h.value("online") is True and h.value("online", "0") == 1, 600)
    h.motion_round_trip()
    assert not h.finished
    assert no_driver_errors(caplog) == []


def test_html_snapshot_is_a_clear_error() -> None:
    """(on simulated time: an HTML page for a Snap needs no socket to be one)"""
    h = SimHarness(status_interval="5000")
    assert h.run_until(lambda: h.cycles() >= 2, 60)
    h.emu.add_fault(Fault("html_index", count=None, cmd="Snap"))
    mark = len(h.emu.requests)
    result = h.command("snapshot", {"address": "0"})
    assert isinstance(result, RemoteProtocolError), result
    assert "HTML" in str(result) or "web page" in str(result)
    # Tried once more after a fresh Login (a web page may mean a dead token), no more.
    assert [r.cmds for r in h.emu.requests[mark:]].count(["Snap"]) <= 2
    h.emu.clear_faults()
    snap = h.command("snapshot", {"address": "0"})
    assert not isinstance(snap, Exception), snap
    assert snap["length"] > 0
    h.emu.set_motion(0, True)
    assert h.run_until(lambda: h.value("motion", "0") == 1, 60)
    assert not h.finished


@pytest.mark.parametrize(
    "fault",
    [Fault("slow_drip", count=None, seconds=0.05), Fault("never_ending", count=None)],
    ids=["slow-drip", "never-ending"],
)
def test_bodies_that_outlast_request_timeout(recorder: Recorder, fault: Fault) -> None:
    """The deadline covers the whole response, not each byte."""
    with Emulator(profile="camera") as emu:
        driver = http_driver(emu, {"0": {}}, recorder, **ATTRS)
        assert driver.connect() is True
        try:
            # The command's request first (a poll dripping just before would hold the command
            # until its deadline: "busy", another test's point), then every request.
            emu.add_fault(attrs.evolve(fault, cmd="GetDevInfo"))
            mark = len(emu.requests)
            result = attempt(lambda: driver.command("get_dev_info"))
            emu.add_fault(fault)
            # The deadline error: a per-read timeout would never fire on bytes that keep
            # coming, and the whole reply would take many request_timeouts to arrive.
            assert isinstance(result, Timeout), result
            assert "within" in str(result)
            assert [r.cmds for r in emu.requests[mark:]].count(["GetDevInfo"]) <= 2
            assert recorder.wait_for("online", False, timeout=WAIT)
            emu.clear_faults()
            cycles = driver.stats().cycles
            assert wait_until(lambda: driver.online and driver.stats().cycles > cycles + 1, WAIT)
            emu.set_motion(0, True)
            assert recorder.wait_for("motion", 1, "0", timeout=WAIT)
        finally:
            driver.disconnect()


# --- parsers: every field of every recorded reply, each wrong type -------------------------

REPLIES = Path(__file__).parent / "data" / "replies"
ALLOWED = (RemoteProtocolError, ApiError)
PARSERS: List[Callable[[CommandReply], object]] = [
    parse_login,
    parse_ok,
    parse_dev_info,
    parse_channel_status,
    parse_ability,
    lambda r: parse_md_state(r, 0),
    lambda r: parse_ai_state(r, 0),
    lambda r: parse_events(r, 0),
    lambda r: parse_ptz_presets(r, 0),
    lambda r: parse_white_led(r, 0),
]


def _recorded() -> List[Tuple[str, Any]]:
    loaded = []
    for path in sorted(REPLIES.glob("*.json")):
        loaded.append((path.name, json.loads(path.read_text(encoding="utf-8"))))
    return loaded


def _parse_everything(document: Any) -> None:
    """Decode as a batch of matching size, then every parser on every entry."""
    raw = json.dumps(document).encode()
    size = len(document) if isinstance(document, list) and document else 1
    batch = [build_get_md_state(0)] * size
    try:
        replies = decode_batch(raw, batch)
    except ALLOWED:
        return
    for reply in replies:
        for parser in PARSERS:
            try:
                parser(reply)
            except ALLOWED:
                pass


def test_every_field_of_every_recorded_reply_with_every_wrong_type() -> None:
    tried = 0
    for _name, document in _recorded():
        _parse_everything(document)
        for path in _paths(document):
            for wrong in WRONG:
                _parse_everything(_replaced(document, path, wrong))
                tried += 1
        # And every number written as a string, the way some firmware does.
        _parse_everything(_intify(document))
    assert tried > 1000


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(deadline=None, max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_recorded_reply_with_arbitrary_json_somewhere(data: st.DataObject) -> None:
    """Structure-aware fuzz: a real reply with one place replaced by arbitrary JSON."""
    recorded = _recorded()
    _name, document = data.draw(st.sampled_from(recorded))
    paths = list(_paths(document))
    if paths:
        path = data.draw(st.sampled_from(paths))
        document = _replaced(document, path, data.draw(json_values))
    _parse_everything(document)


@settings(deadline=None, max_examples=examples(150), suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(json_values, min_size=0, max_size=4))
def test_batch_decoder_with_arbitrary_entries(entries: List[Any]) -> None:
    batch = [build_get_md_state(0), build_get_ai_state(0)]
    try:
        replies = decode_batch(json.dumps(entries).encode(), batch)
    except ALLOWED:
        return
    assert len(replies) == len(batch)
