"""The command line's error lines name the real cause (issue 11 item 3, issue 10).

Over real loopback: HTTPS to the emulator's plain-HTTP port, plain HTTP to its HTTPS port, and a
port that closes every connection before replying. The line must name the cause and the next
step, and must not send the user to --timeout or --tls-fingerprint when those are not the cause.
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
from typing import Iterator

import pytest
from conftest import run_cli_inprocess as run_cli
from rawserver import RawServer

from reolink.cli.hints import (
    CLOSED_HINT,
    EXPECTS_HTTPS_HINT,
    Target,
    answers_tls,
    explain_error,
    explain_offline,
)
from reolink.emulator import Emulator
from reolink.errors import (
    ConnectError,
    RemoteProtocolError,
    TransportError,
    TransportProtocolError,
    WrongProtocolError,
)
from reolink.protocol.envelope import check_status

PASSWORD = "Hint-pw-5521"


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_https_to_a_plain_http_port_says_use_http() -> None:
    with Emulator(profile="camera", password=PASSWORD) as emu:
        result = run_cli("get_dev_info", "--protocol", "https", port=emu.port, password=PASSWORD)
        line = one_line(result)
        assert emu.requests == []  # the handshake failed: nothing reached the API
    assert "speaks plain HTTP" in line and re.search(r"--protocol http(?!s)", line)
    assert "--tls-fingerprint" not in line and "--tls-verify" not in line
    assert "--timeout" not in line


def test_plain_http_to_an_https_port_says_it_expects_https() -> None:
    with Emulator(profile="camera", password=PASSWORD, https=True) as emu:
        result = run_cli("get_dev_info", port=emu.port, password=PASSWORD)
        line = one_line(result)
    assert "expects HTTPS" in line and "--protocol https" in line
    assert "--timeout" not in line and "--tls-fingerprint" not in line


def _close_at_once(conn: socket.socket, _stop: threading.Event) -> None:
    conn.recv(65536)  # take the request, then close without a byte of reply


@pytest.fixture
def closing_port() -> Iterator[RawServer]:
    server = RawServer(_close_at_once)
    try:
        yield server
    finally:
        server.close()


def test_closed_before_any_reply_never_suggests_a_longer_timeout(closing_port: RawServer) -> None:
    result = run_cli("get_dev_info", port=closing_port.port, password=PASSWORD)
    line = one_line(result)
    assert CLOSED_HINT in line
    assert "raise --timeout" not in line
    assert "did not answer in time" not in line


def test_answers_tls_tells_https_ports_from_others(closing_port: RawServer) -> None:
    with Emulator(profile="camera", https=True) as tls_emu, Emulator(profile="camera") as plain:
        assert answers_tls("127.0.0.1", tls_emu.port) is True
        assert answers_tls("127.0.0.1", plain.port) is False
        assert plain.requests == []  # the check sends no HTTP request
    assert answers_tls("127.0.0.1", closing_port.port) is False


def test_closed_on_https_is_not_probed_and_not_a_timeout() -> None:
    # Only a plain-HTTP attempt is worth the HTTPS check; an https one just says "closed".
    error = TransportProtocolError(
        "10.0.0.9:443: connection closed before any reply", closed_by_device=True
    )
    line = explain_error(error, "connect", Target("127.0.0.1", 9, "https"))
    assert CLOSED_HINT in line and "raise --timeout" not in line


def test_nginx_plain_http_to_https_page_says_so() -> None:
    page = (
        b"<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title>"
        b"</head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n</body>\r\n</html>"
    )
    with pytest.raises(RemoteProtocolError, match="the port expects HTTPS"):
        check_status(400, "text/html", page)
    with pytest.raises(RemoteProtocolError) as info:
        check_status(400, "text/html", b"<html>400 Bad Request</html>")
    assert "HTTPS" not in str(info.value)


def test_offline_facts_are_fields_not_words() -> None:
    # What the old text matching learned from the words, the fields say now; the words alone
    # decide nothing (a reason that says "closed" is not taken for a closed connection).
    wrong = WrongProtocolError("1.2.3.4:443: the port speaks plain HTTP", expected="http")
    assert "--protocol http" in explain_error(wrong, "connect")
    assert "--tls-fingerprint" not in explain_error(wrong, "connect")
    closed = explain_error(
        TransportProtocolError("1.2.3.4:443: gone", closed_by_device=True), "connect"
    )
    assert CLOSED_HINT in closed and "raise --timeout" not in closed
    reset = explain_error(
        TransportProtocolError("1.2.3.4:443: connection broken", closed_by_device=True), "c"
    )
    assert "raise --timeout" not in reset
    worded = TransportProtocolError("1.2.3.4:443: connection closed before any reply")
    assert CLOSED_HINT not in explain_error(worded, "connect")
    assert not ConnectError("x: connection refused").refused
    page = WrongProtocolError("the port expects HTTPS: use protocol https", expected="https")
    assert "--protocol https" in explain_error(page, "connect")
    for text in ("1.2.3.4:443: connection closed before any reply", "wrong version number"):
        assert explain_offline(text).startswith("device offline:")


def _raised_from(error: Exception, cause: BaseException) -> Exception:
    try:
        raise error from cause
    except Exception as raised:
        return raised


def test_the_cause_decides_whatever_class_the_transport_chose() -> None:
    # A reset at once, filed as a ConnectError or a TransportProtocolError: same hint.
    with Emulator(profile="camera", https=True) as emu:
        here = Target("127.0.0.1", emu.port, "http")
        for error in (
            _raised_from(ConnectError("x: connection failed"), ConnectionResetError(104, "reset")),
            _raised_from(TransportProtocolError("x: connection broken"), ConnectionResetError()),
        ):
            assert isinstance(error, TransportError)
            line = explain_error(error, "connect", here)
            assert EXPECTS_HTTPS_HINT in line and "--timeout" not in line
    refused = _raised_from(ConnectError("x: connection refused"), ConnectionRefusedError())
    assert isinstance(refused, TransportError)
    assert "--port" in explain_error(refused, "connect", here)
    assert EXPECTS_HTTPS_HINT not in explain_error(refused, "connect", here)


@pytest.mark.parametrize(
    ("fault", "cause"),
    [
        ("truncated", "could not be read"),
        ("short_reply", "could not be read"),
        ("http_502", "could not be read"),
        ("drop", "reply was lost"),
    ],
)
def test_a_siren_without_a_readable_answer_says_it_may_have_run(fault: str, cause: str) -> None:
    # The device ran the command, then its answer was cut, garbled or lost: the line must say
    # that it may have run and was not sent again, not blame old firmware (a user who believes
    # that and retries sounds the siren twice).
    from reolink.emulator.faults import Fault

    emu = Emulator(profile="camera", password=PASSWORD)
    emu.start()
    try:
        emu.add_fault(Fault(fault, cmd="AudioAlarmPlay"))
        line = one_line(run_cli("siren", "0", port=emu.port, password=PASSWORD))
        sent = [r for r in emu.requests if "AudioAlarmPlay" in r.cmds]
    finally:
        emu.stop()
    assert len(sent) == 1
    assert cause in line and line.count("may have executed") == 1
    assert "before sending it again" in line
    assert "firmware may be too old" not in line and "--timeout" not in line.replace(
        "a longer --timeout will not help", ""
    )
