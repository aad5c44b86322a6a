"""The transports over plain HTTP on loopback, and the memory transport.

HTTPS (trustme certificates, pins, CA bundles) is in test_transports_tls.py.
"""

from __future__ import annotations

import http.server
import json
import logging
import os
import socket
import ssl
import subprocess
import sys
import threading
from typing import Any, Callable, Dict, Iterator, List, Mapping, Tuple

import pytest
from loopback import QuickHTTPServer, QuickRawServer
from pytest_httpserver import HTTPServer
from rawserver import Script, read_request
from werkzeug import Request as WRequest
from werkzeug import Response as WResponse

import reolink
import transports
from reolink.errors import (
    ConfigError,
    ConnectError,
    ResponseTooLarge,
    Timeout,
    TLSError,
    TransportError,
    TransportProtocolError,
)
from reolink.transport import Request, Transport
from transports import MemoryTransport, StdlibTransport, open_transport

KINDS = ["urllib3", "stdlib"]
TOKEN = "tok-SECRET-123"
TARGET = f"/cgi-bin/api.cgi?cmd=GetDevInfo&token={TOKEN}"


# --- servers ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http_server() -> Iterator[HTTPServer]:
    # Threaded, so werkzeug speaks HTTP/1.1 with keep-alive; one per module (and one that
    # stops within 20 ms, not werkzeug's half a second).
    server = QuickHTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def server(http_server: HTTPServer) -> Iterator[HTTPServer]:
    http_server.clear()
    yield http_server
    http_server.clear()


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at teardown: server handlers that must hang wait on it."""
    event = threading.Event()
    yield event
    event.set()


def echo(request: WRequest) -> WResponse:
    """Reply with what arrived, and from which client port (one port = one connection)."""
    payload = {
        "port": request.environ["REMOTE_PORT"],
        "method": request.method,
        "target": request.full_path,
        "headers": dict(request.headers),
        "body": request.get_data().decode(),
    }
    return WResponse(json.dumps(payload), status=200, content_type="text/html")


class _EchoHandler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive (werkzeug's dev server always closes, so it cannot show reuse).

    ``/stream?n=N``: N bytes, chunked, no Content-Length. Anything else: JSON echo of what
    arrived, including the client port (one port = one TCP connection).
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # head and body are separate writes (no delayed-ACK wait)

    def _reply(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path.startswith("/stream"):
            total = int(self.path.split("n=", 1)[1])
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while total > 0:
                chunk = b"y" * min(65536, total)
                total -= len(chunk)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
            return
        payload = json.dumps({
            "port": self.client_address[1],
            "method": self.command,
            "target": self.path,
            "headers": dict(self.headers.items()),
            "body": body.decode(),
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _reply

    def log_message(self, format: str, *args: object) -> None:
        pass


class _EchoServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that go away mid-reply are part of the tests


def start_echo_server(host: str) -> Tuple[_EchoServer, threading.Thread]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server_class = type("_Server", (_EchoServer,), {"address_family": family})
    server = server_class((host, 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="module")
def echo_port() -> Iterator[int]:
    server, thread = start_echo_server("127.0.0.1")
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def raw_server() -> Iterator[Callable[[Script], QuickRawServer]]:
    servers: List[QuickRawServer] = []

    def start(script: Script) -> QuickRawServer:
        servers.append(QuickRawServer(script))
        return servers[-1]

    yield start
    for srv in servers:
        srv.close()


def make(kind: str, port: int, host: str = "127.0.0.1") -> Transport:
    return open_transport(scheme="http", host=host, port=port, kind=kind)


# --- the happy path ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_roundtrip_status_headers_and_body(server: HTTPServer, kind: str) -> None:
    server.expect_request("/cgi-bin/api.cgi").respond_with_data(
        b"\x00binary\xff", status=404, headers={"X-Reply": "yes"}, content_type="image/jpeg"
    )
    transport = make(kind, server.port)
    try:
        response = transport.send(Request("GET", TARGET))
    finally:
        transport.close()
    assert response.status == 404
    assert response.body == b"\x00binary\xff"
    assert response.headers["x-reply"] == "yes"
    assert response.content_type == "image/jpeg"


@pytest.mark.parametrize("kind", KINDS)
def test_post_body_and_default_headers_arrive(server: HTTPServer, kind: str) -> None:
    server.expect_request("/cgi-bin/api.cgi").respond_with_handler(echo)
    transport = make(kind, server.port)
    try:
        body = b'[{"cmd":"GetDevInfo","action":0}]'
        reply = json.loads(transport.send(Request("POST", TARGET, body=body)).body)
        custom = json.loads(
            transport.send(
                Request("POST", TARGET, body=b"x", headers={"Content-Type": "text/plain",
                                                            "X-Extra": "1"})
            ).body
        )
    finally:
        transport.close()
    assert reply["method"] == "POST"
    assert reply["target"] == TARGET
    assert reply["body"] == body.decode()
    headers = reply["headers"]
    assert headers["User-Agent"] == f"reolink-python/{reolink.__version__}"
    assert headers["Accept"] == "*/*"
    assert headers["Connection"] == "keep-alive"
    assert headers["Content-Type"] == "application/json"
    assert headers["Host"] == f"127.0.0.1:{server.port}"
    assert custom["headers"]["Content-Type"] == "text/plain"
    assert custom["headers"]["X-Extra"] == "1"


@pytest.mark.parametrize("kind", KINDS)
def test_keep_alive_reuses_one_connection(echo_port: int, kind: str) -> None:
    transport = make(kind, echo_port)
    try:
        # Read-only requests keep their connection (a command gets a new one each time).
        poll = Request("POST", TARGET, repeatable=True, body=b"[]")
        ports = {json.loads(transport.send(poll).body)["port"] for _ in range(4)}
        transport.close()
        transport.close()  # idempotent
        poll = Request("GET", TARGET, repeatable=True)
        after_close = json.loads(transport.send(poll).body)["port"]
    finally:
        transport.close()
    assert len(ports) == 1, ports
    assert after_close not in ports  # close() really dropped the connection; send reopened


@pytest.mark.parametrize("kind", KINDS)
def test_ipv6_literal_host(kind: str) -> None:
    try:
        server, thread = start_echo_server("::1")
    except OSError:
        pytest.skip("no IPv6 loopback")
    port = server.server_address[1]
    transport = make(kind, port, host="::1")
    try:
        reply = json.loads(transport.send(Request("GET", TARGET)).body)
        assert reply["headers"]["Host"] == f"[::1]:{port}"
        assert f"[::1]:{port}" in repr(transport)
    finally:
        transport.close()
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_repr_shows_endpoint_not_secrets() -> None:
    assert repr(StdlibTransport("http", "cam.local", 80)) == "<StdlibTransport http://cam.local:80>"
    text = repr(open_transport(scheme="https", host="cam.local", port=443))
    assert text == "<Urllib3Transport https://cam.local:443 tls=self-signed>"


def test_bad_settings_raise_config_error() -> None:
    with pytest.raises(ConfigError):
        open_transport(scheme="http", host="cam", port=80, kind="requests")
    with pytest.raises(ConfigError):
        open_transport(scheme="ftp", host="cam", port=80, kind="stdlib")
    with pytest.raises(ConfigError):
        open_transport(scheme="ftp", host="cam", port=80)
    with pytest.raises(ValueError):  # ConfigError is a ValueError
        open_transport(scheme="http", host="cam", port=0)


# --- failures ------------------------------------------------------------------------------------


def assert_clean(err: TransportError) -> None:
    """Ours, chained to the foreign cause, and no token in the message."""
    assert err.__cause__ is not None or isinstance(err, ResponseTooLarge)
    assert TOKEN not in str(err)


@pytest.mark.parametrize("kind", KINDS)
def test_connect_refused(kind: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    transport = make(kind, port)
    with pytest.raises(ConnectError) as info:
        transport.send(Request("GET", TARGET, connect_timeout=2))
    assert not isinstance(info.value, TLSError)
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "refused" in str(info.value)
    assert_clean(info.value)


@pytest.mark.parametrize("kind", KINDS)
def test_name_that_does_not_resolve(kind: str) -> None:
    transport = make(kind, 80, host="camera.invalid")
    with pytest.raises(ConnectError) as info:
        transport.send(Request("GET", TARGET, connect_timeout=2))
    assert "camera.invalid:80" in str(info.value)
    assert "resolved" in str(info.value)
    assert_clean(info.value)


@pytest.mark.parametrize("kind", KINDS)
def test_read_timeout(server: HTTPServer, release: threading.Event, kind: str) -> None:
    def hang(request: WRequest) -> WResponse:
        release.wait(10)
        return WResponse("late")

    server.expect_request("/cgi-bin/api.cgi").respond_with_handler(hang)
    transport = make(kind, server.port)
    with pytest.raises(Timeout) as info:
        transport.send(Request("GET", TARGET, read_timeout=0.1))
    assert f"127.0.0.1:{server.port}" in str(info.value)
    assert_clean(info.value)
    transport.close()


@pytest.mark.parametrize("where", ["headers", "body"])
@pytest.mark.parametrize("kind", KINDS)
def test_slow_drip_hits_the_whole_response_deadline(
    raw_server: Callable[..., QuickRawServer], kind: str, where: str
) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100\r\n\r\n"

    def drip(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        if where == "body":
            conn.sendall(head)
        for byte in (head if where == "headers" else b"x" * 100):
            if stop.wait(0.02):  # each byte well within the timeout, the whole never
                return
            conn.sendall(bytes([byte]))

    srv = raw_server(drip)
    transport = make(kind, srv.port)
    with pytest.raises(Timeout):
        transport.send(Request("GET", TARGET, read_timeout=0.1))
    transport.close()


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 50,  # body cut short
        b"HTTP/1.1 200 OK\r\nContent-Le",  # headers cut short
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",  # chunk cut short
        b"",  # closed without a reply
        b"NOT HTTP AT ALL\r\n\r\n",  # garbage status line
    ],
    ids=["body", "headers", "chunked", "nothing", "garbage"],
)
@pytest.mark.parametrize("kind", KINDS)
def test_connection_dropped_mid_reply(
    raw_server: Callable[..., QuickRawServer], kind: str, reply: bytes
) -> None:
    def half(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(reply)

    srv = raw_server(half)
    transport = make(kind, srv.port)
    with pytest.raises(TransportProtocolError) as info:
        transport.send(Request("GET", TARGET))
    assert not isinstance(info.value, ResponseTooLarge)
    assert f"127.0.0.1:{srv.port}" in str(info.value)
    assert_clean(info.value)
    # A fresh connection that fails is not "stale": no second attempt.
    assert srv.connections == 1
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_declared_length_over_the_cap_fails_without_reading(
    raw_server: Callable[..., QuickRawServer], kind: str
) -> None:
    def huge(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
        stop.wait(10)  # never sends the body: the client must not wait for it

    srv = raw_server(huge)
    transport = make(kind, srv.port)
    with pytest.raises(ResponseTooLarge) as info:
        transport.send(Request("GET", TARGET, read_timeout=5, max_body=1000))
    assert info.value.limit == 1000
    assert_clean(info.value)
    transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_streamed_body_over_the_cap_is_cut_off(echo_port: int, kind: str) -> None:
    def port() -> int:
        echo = Request("GET", "/echo", repeatable=True)
        return int(json.loads(transport.send(echo).body)["port"])

    transport = make(kind, echo_port)
    try:
        first_port = port()
        assert port() == first_port
        with pytest.raises(ResponseTooLarge) as info:
            transport.send(Request("GET", "/stream?n=3000000", repeatable=True, max_body=100_000))
        assert info.value.limit == 100_000
        assert_clean(info.value)
        # The connection that carried the oversize body was discarded, not reused.
        assert port() != first_port
        # A body exactly at the cap is accepted, and the connection is kept.
        exact = transport.send(
            Request("GET", "/stream?n=200000", repeatable=True, max_body=200_000)
        )
        assert exact.body == b"y" * 200_000
    finally:
        transport.close()


@pytest.mark.parametrize("kind", KINDS)
def test_token_never_logged(
    echo_port: int, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    transport = make(kind, echo_port)
    with caplog.at_level(logging.DEBUG):
        transport.send(Request("GET", TARGET))
        transport.send(Request("GET", TARGET))
    transport.close()
    ours = [r for r in caplog.records if r.name.startswith(("reolink", "transports", "urllib3"))]
    assert any("token=***" in record.getMessage() for record in ours)
    assert all(TOKEN not in record.getMessage() for record in ours)


@pytest.mark.parametrize("kind", KINDS)
def test_log_records_are_under_reolink_and_name_the_device_once(
    echo_port: int, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    transport = make(kind, echo_port)
    with caplog.at_level(logging.DEBUG, logger="reolink"):
        transport.send(Request("GET", TARGET))
    transport.close()
    device = f"127.0.0.1:{echo_port}"
    ours = [r for r in caplog.records if r.name.startswith("reolink.transports.")]
    assert {r.name for r in ours} == {f"reolink.transports.{kind}"}
    assert len(ours) >= 2  # "connected" and the request line
    for record in ours:
        assert record.getMessage().count(device) == 1, record.getMessage()
        assert record.reolink_device == device  # type: ignore[attr-defined]
    # Nothing escapes a host's getLogger("reolink") settings.
    assert not [r for r in caplog.records if r.name.startswith("transports")]


BLOCK_URLLIB3 = """
import sys
class _NoUrllib3:
    def find_spec(self, name, path=None, target=None):
        if name == "urllib3" or name.startswith("urllib3."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, _NoUrllib3())
"""

#: The three checks of a Python without urllib3, in one fresh interpreter (one start-up and
#: one import of the package instead of three): each prints one JSON line, {"error": ...} when
#: it raised, and the tests below each read their own.
WITHOUT_URLLIB3 = BLOCK_URLLIB3 + """
import contextlib, io, json, traceback, warnings

def check(name, run):
    try:
        result = run()
    except BaseException:
        result = {"error": traceback.format_exc()}
    print(json.dumps({"check": name, "result": result}), flush=True)

def stdlib_transport():
    import reolink, transports
    from reolink.transport import Request
    lines = []
    t = transports.open_transport(scheme="http", host="127.0.0.1", port=PORT, kind="stdlib")
    lines.append(t.send(Request("GET", "/cgi-bin/api.cgi")).body.decode())
    assert "urllib3" not in {name.split(".")[0] for name in sys.modules if sys.modules[name]}
    t = transports.open_transport(scheme="http", host="127.0.0.1", port=1)
    lines.append(type(t).__name__)
    try:
        transports.open_transport(scheme="http", host="127.0.0.1", port=1, kind="urllib3")
    except ValueError as err:
        lines.append("urllib3 kind needs urllib3" if "not installed" in str(err) else str(err))
    return lines

def default_driver():
    from reolink.driver import ReolinkDriver
    import transports
    driver = ReolinkDriver({"ip": "127.0.0.1", "username": "admin", "password": "pw"})
    # The device loop owns the transport the driver built at construction.
    kinds = [type(driver._loop._transport).__name__]
    assert not [m for m in sys.modules if m.split(".")[0] == "urllib3"]
    return kinds

def cli_help():
    warnings.resetwarnings()  # as a plain run (only the two checks above run with -W error)
    from reolink.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(["--help"])
        except SystemExit as leave:
            code = leave.code
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}

check("stdlib_transport", stdlib_transport)
check("default_driver", default_driver)
check("cli_help", cli_help)
"""


@pytest.fixture(scope="module")
def without_urllib3(http_server: HTTPServer) -> Dict[str, Any]:
    """What :data:`WITHOUT_URLLIB3` printed, per check (warnings are errors: -W error)."""
    http_server.expect_request("/cgi-bin/api.cgi").respond_with_data("no urllib3 here")
    code = WITHOUT_URLLIB3.replace("PORT", str(http_server.port))
    try:
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )
    finally:
        http_server.clear()
    assert result.returncode == 0, result.stderr
    checks = [json.loads(line) for line in result.stdout.splitlines()]
    return {c["check"]: c["result"] for c in checks}


def _passed(outcome: Any) -> Any:
    assert not (isinstance(outcome, dict) and "error" in outcome), outcome.get("error")
    return outcome


def test_stdlib_transport_works_without_urllib3(without_urllib3: Dict[str, Any]) -> None:
    assert _passed(without_urllib3["stdlib_transport"]) == [
        "no urllib3 here", "StdlibTransport", "urllib3 kind needs urllib3"
    ]


def test_default_driver_falls_back_to_stdlib_without_urllib3(
    without_urllib3: Dict[str, Any],
) -> None:
    assert _passed(without_urllib3["default_driver"]) == ["StdlibTransport"]


def test_cli_help_runs_without_urllib3(without_urllib3: Dict[str, Any]) -> None:
    result = _passed(without_urllib3["cli_help"])
    assert result["code"] in (0, None), result["stderr"]
    assert "usage" in result["stdout"].lower()
    assert "Traceback" not in result["stderr"]


# --- memory transport ---------------------------------------------------------------------------

Reply = Tuple[int, Mapping[str, str], bytes]


def test_memory_transport_passes_requests_and_replies() -> None:
    seen = []

    def app(method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        seen.append((method, target, dict(headers), body))
        return 200, {"Content-Type": "text/html"}, b"[]"

    transport = MemoryTransport(app)
    response = transport.send(Request("POST", TARGET, body=b"[1]", headers={"X-A": "b"}))
    transport.send(Request("GET", "/x"))
    assert response.status == 200
    assert response.content_type == "text/html"
    assert response.body == b"[]"
    assert transport.requests_sent == 2
    method, target, headers, body = seen[0]
    assert (method, target, body) == ("POST", TARGET, b"[1]")
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == f"reolink-python/{reolink.__version__}"
    assert headers["x-a"] == "b"
    assert seen[1][3] == b""
    assert "content-type" not in seen[1][2]
    transport.close()
    transport.close()
    assert TOKEN not in repr(transport)


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ConnectionRefusedError(), ConnectError),
        (OSError("network unreachable"), ConnectError),
        (socket.gaierror(-2, "not known"), ConnectError),
        (ConnectionResetError(), TransportProtocolError),
        (BrokenPipeError(), TransportProtocolError),
        (TimeoutError(), Timeout),
        (socket.timeout(), Timeout),
        (ssl.SSLError(), TLSError),
    ],
)
def test_memory_transport_maps_app_errors(raised: OSError, expected: type) -> None:
    def app(method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        raise raised

    transport = MemoryTransport(app)
    with pytest.raises(expected) as info:
        transport.send(Request("GET", TARGET))
    assert info.value.__cause__ is raised
    assert transport.requests_sent == 1


def test_memory_transport_lets_app_bugs_through() -> None:
    def app(method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        raise KeyError("bug in the app")

    with pytest.raises(KeyError):
        MemoryTransport(app).send(Request("GET", "/"))


def test_memory_transport_applies_the_cap() -> None:
    def app(method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        return 200, {}, b"z" * 101

    transport = MemoryTransport(app)
    assert len(transport.send(Request("GET", "/", max_body=101)).body) == 101
    with pytest.raises(ResponseTooLarge) as info:
        transport.send(Request("GET", "/", max_body=100))
    assert info.value.limit == 100
    assert transport.requests_sent == 2


def test_public_surface() -> None:
    assert set(transports.__all__) >= {
        "MemoryTransport", "StdlibTransport", "Urllib3Transport", "open_transport"
    }
    assert transports.Urllib3Transport.__name__ == "Urllib3Transport"
    with pytest.raises(AttributeError):
        transports.NoSuchThing  # noqa: B018


def test_connect_timeouts_are_connect_errors_not_timeouts() -> None:
    # A connect timeout needs an address that swallows SYNs; loopback has none, so the
    # translation is checked directly (the request never reached the device: ConnectError).
    # One translation serves both transports: urllib3 wraps the socket's error, http.client
    # raises it bare.
    from urllib3 import exceptions as u3

    from transports._errors import connect_error, reply_error

    request = Request("GET", TARGET, connect_timeout=1.5)
    try:
        try:
            raise socket.timeout("timed out")
        except socket.timeout as inner:
            raise u3.ConnectTimeoutError(None, "Connection to cam timed out.") from inner
    except u3.ConnectTimeoutError as pool_err:
        mapped = connect_error(pool_err, "cam:443", request)
    assert type(mapped) is ConnectError
    assert "connect timed out after 1.5 s" in str(mapped)
    assert mapped.request_sent is False
    mapped = connect_error(socket.timeout("timed out"), "cam:443", request)
    assert type(mapped) is ConnectError
    mapped = reply_error(socket.timeout("timed out"), "cam:443", request)
    assert type(mapped) is Timeout
    assert mapped.request_sent is True
    assert "may have executed" in str(mapped)
