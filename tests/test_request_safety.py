"""The request-safety rule has one home, :func:`reolink.transport.decide`.

One table of cases: the decision itself answers it row by row, and the transports, the driver's
client and the command line are shown to act on the same rows (they call the decision rather
than test ``repeatable`` / ``request_sent`` themselves; an AST check keeps it so).
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path
from typing import Any, List, Optional, Tuple

import pytest

import transports._base as base
from reolink.cli.hints import MAY_HAVE_RUN_HINT, explain_error
from reolink.driver.client import DeviceClient, Pause
from reolink.driver.config import DeviceConfig
from reolink.driver.logs import DeviceLog
from reolink.driver.messages import Send
from reolink.errors import (
    ConnectError,
    Timeout,
    TLSError,
    TransportError,
    TransportProtocolError,
)
from reolink.protocol import commands
from reolink.protocol.session import Session
from reolink.transport import Decision, Failure, Request, decide
from transports._errors import NoReply, NothingSent

ROOT = Path(__file__).resolve().parent.parent

READ = Request("POST", "/x", repeatable=True, changes_state=False)
CHANGE = Request("POST", "/x", repeatable=False, changes_state=True)
LOGIN = Request("POST", "/x", repeatable=False, changes_state=False)

R, RN, F, M = Decision.RESEND, Decision.RESEND_NOW, Decision.FAIL, Decision.FAIL_MAY_HAVE_RUN

#: (request, failure, decision): every rule of the module docstring of reolink.transport.
TABLE: List[Tuple[Request, Failure, Decision]] = [
    # 1. a refused TLS handshake is met again: fail, whatever the request
    (READ, Failure(sent=False, tls_refused=True, time_left=True), F),
    (CHANGE, Failure(sent=False, tls_refused=True), F),
    # 2. a kept-alive connection closed under us: at once on a new one
    (CHANGE, Failure(sent=False, stale=True), RN),
    (READ, Failure(sent=False, stale=True), RN),
    (READ, Failure(sent=True, stale=True), RN),
    (CHANGE, Failure(sent=True, stale=True), M),
    # 3. never left: once more, after a pause
    (CHANGE, Failure(sent=False), R),
    (READ, Failure(sent=False), R),
    (LOGIN, Failure(sent=False), R),
    # 4. a read that timed out, with time left
    (READ, Failure(sent=True, timed_out=True, time_left=True), R),
    (READ, Failure(sent=True, timed_out=True, time_left=False), F),
    (READ, Failure(sent=True, timed_out=False, time_left=True), F),
    # 5. a read, or a session command: fail, nothing ran that matters
    (LOGIN, Failure(sent=True, timed_out=True, time_left=True), F),
    (LOGIN, Failure(sent=True), F),
    # 6. a command that changes something, and it may have arrived
    (CHANGE, Failure(sent=True), M),
    (CHANGE, Failure(sent=True, timed_out=True, time_left=True), M),
]


@pytest.mark.parametrize(("request_", "failure", "expected"), TABLE)
def test_the_decision_row_by_row(request_: Request, failure: Failure, expected: Decision) -> None:
    decision = decide(request_, failure)
    assert decision is expected
    assert decision.repeat == (expected in (R, RN))
    assert decision.may_have_run == (expected is M)


def _error_for(failure: Failure) -> TransportError:
    """A TransportError that carries exactly ``failure``'s facts (stale is the transport's)."""
    if failure.tls_refused:
        return TLSError("x: TLS handshake failed", failure="handshake")
    if not failure.sent:
        return ConnectError("x: connection refused")
    if failure.timed_out:
        return Timeout("x: no complete response within 1.0 s")
    return TransportProtocolError("x: connection broken")


def test_failure_of_reads_the_error_fields() -> None:
    for _, failure, _ in TABLE:
        if failure.stale:
            continue
        assert Failure.of(_error_for(failure), time_left=failure.time_left) == failure


# --- the transports -------------------------------------------------------------------------


class _NoConnections(base.ConnectionTransport):
    _log = logging.getLogger("reolink.transports.test")


#: The rows a transport meets: TLS refusals, timeouts and deadlines are the client's facts.
TRANSPORT_ROWS = [r for r in TABLE if not (r[1].tls_refused or r[1].timed_out or r[1].time_left)]
#: The rows the client meets: a stale connection was already dealt with by the transport; a
#: session command is marked by its batch (``changes_state``, tested below).
CLIENT_ROWS = [r for r in TABLE if not r[1].stale and r[0] is not LOGIN]


@pytest.mark.parametrize(("request_", "failure", "expected"), TRANSPORT_ROWS)
def test_the_transport_acts_on_the_same_table(
    request_: Request, failure: Failure, expected: Decision, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: List[Tuple[Any, Failure]] = []

    def spy(request: Any, facts: Failure) -> Decision:
        calls.append((request, facts))
        return decide(request, facts)

    monkeypatch.setattr(base, "decide", spy)
    transport = _NoConnections("http", "127.0.0.1", 9)  # nothing is connected
    err = NoReply("closed") if failure.sent else NothingSent()
    result = transport._failure(err, request_, reused=failure.stale)
    assert calls == [(request_, failure)]
    if expected is RN:
        assert isinstance(result, base._SendAgain)
        return
    assert isinstance(result, TransportError)
    assert result.request_sent == failure.sent
    assert result.may_have_run == (expected is M)
    assert ("may have executed" in str(result)) == (expected is M)


# --- the driver's client --------------------------------------------------------------------


def _client() -> DeviceClient:
    config = DeviceConfig(ip="127.0.0.1", username="admin", password="pw")
    return DeviceClient(config, Session(), DeviceLog(logging.getLogger("test"), "cam"))


def _run_exchange(
    request_: Request, error: TransportError, time_left: bool
) -> Tuple[int, Optional[BaseException]]:
    """Drive one exchange whose every attempt fails with ``error``: (sends, what it raised)."""
    client = _client()
    client.now = 100.0
    deadline = 105.0 if time_left else None
    flow = client.exchange(
        "POST",
        "/cgi-bin/api.cgi",
        b"[]",
        deadline=deadline,
        max_body=1000,
        repeatable=request_.repeatable,
        what="Cmd",
        changes=request_.changes_state or request_.repeatable,
    )
    sends = 0
    step: Any = next(flow)
    while True:
        try:
            if isinstance(step, Send):
                sends += 1
                step = flow.throw(error)
            else:
                assert isinstance(step, Pause)
                step = flow.send(None)
        except StopIteration:
            return sends, None
        except TransportError as raised:
            return sends, raised


@pytest.mark.parametrize(("request_", "failure", "expected"), CLIENT_ROWS)
def test_the_client_acts_on_the_same_table(
    request_: Request, failure: Failure, expected: Decision, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reolink.driver.client as client_module

    calls: List[Failure] = []

    def spy(request: Any, facts: Failure) -> Decision:
        calls.append(facts)
        return decide(request, facts)

    monkeypatch.setattr(client_module, "decide", spy)
    sends, raised = _run_exchange(request_, _error_for(failure), failure.time_left)
    assert calls and calls[0] == failure
    assert sends == (2 if expected is R else 1)
    assert isinstance(raised, TransportError)
    assert raised.may_have_run == (expected is M)
    # ... and the command line says "it may have run" exactly then (a field, not the words).
    line = explain_error(raised, "siren")
    assert (MAY_HAVE_RUN_HINT in line) == (expected is M)


@pytest.mark.parametrize(("request_", "expected"), [(CHANGE, True), (LOGIN, False), (READ, False)])
def test_a_reply_too_large_to_read_is_may_have_run_for_a_change(
    request_: Request, expected: bool
) -> None:
    """The reply came (it was only too large to read): the device ran the command. The field
    says so as for a lost reply; the cap's message stays the one the hints explain."""
    from reolink.errors import ResponseTooLarge

    too_large = ResponseTooLarge("cam: response declares 9999 bytes, more than the cap", limit=1000)
    sends, raised = _run_exchange(request_, too_large, time_left=True)
    assert sends == 1 and raised is too_large
    assert raised.may_have_run == expected
    assert (MAY_HAVE_RUN_HINT in explain_error(raised, "siren")) == expected


def test_a_session_command_is_never_may_have_run() -> None:
    from reolink.protocol.batch import changes_state

    assert not changes_state([commands.build_logout()])
    assert changes_state([{"cmd": "AudioAlarmPlay", "param": {}}])


# --- one home: nobody else tests the facts --------------------------------------------------

_FACTS = {"repeatable", "request_sent", "changes_state"}
_USERS = ["transports/_base.py", "transports/_errors.py", "reolink/driver/client.py"]


def _tests_of(tree: ast.AST) -> List[ast.AST]:
    found: List[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert)):
            found.append(node.test)
        elif isinstance(node, ast.BoolOp):
            found.append(node)
        elif isinstance(node, ast.Return) and node.value is not None:
            found.append(node.value)
    return found


#: Where the rule itself lives: the decision (reolink/transport.py) and the batch facts it
#: reads (reolink/protocol/batch.py: which commands only read, which change nothing).
_HOMES = {"reolink/transport.py", "reolink/protocol/batch.py"}
#: Every other module of the driver side: none may test a fact of the rule itself.
_DRIVER_SIDE = sorted(
    path.relative_to(ROOT).as_posix()
    for folder in ("reolink", "transports")
    for path in (ROOT / folder).rglob("*.py")
    if "emulator" not in path.parts and path.relative_to(ROOT).as_posix() not in _HOMES
)


def _facts_tested(tree: ast.AST) -> List[str]:
    """The rule's facts a condition reads (a call of the protocol's producer, such as
    ``pbatch.changes_state(batch)``, computes one and is no read)."""
    producers = {
        id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)
    }
    return sorted(
        {
            node.attr
            for test in _tests_of(tree)
            for node in ast.walk(test)
            if isinstance(node, ast.Attribute) and node.attr in _FACTS
            and id(node) not in producers
        }
    )


@pytest.mark.parametrize("path", _DRIVER_SIDE)
def test_no_layer_decides_request_safety_itself(path: str) -> None:
    assert _facts_tested(ast.parse((ROOT / path).read_text(encoding="utf-8"))) == []


def test_the_guard_covers_the_whole_driver_side_and_sees_a_read() -> None:
    # Every layer is looked at (an empty or short list would pass for the wrong reason)...
    for path in ("reolink/cli/doctor.py", "reolink/driver/core.py", "reolink/driver/pushflow.py",
                 "reolink/driver/host_commands.py", "transports/_base.py",
                 "reolink/push/listener.py"):
        assert path in _DRIVER_SIDE
    # ... and a condition on a fact is caught, a producer's call is not.
    caught = ast.parse("if error.request_sent and not req.repeatable: pass")
    assert _facts_tested(caught) == ["repeatable", "request_sent"]
    produced = ast.parse("x = a and pbatch.changes_state(batch)")
    assert _facts_tested(produced) == []


def test_only_a_repeatable_request_may_use_a_kept_alive_connection() -> None:
    from reolink.transport import needs_new_connection

    assert needs_new_connection(CHANGE) and needs_new_connection(LOGIN)
    assert not needs_new_connection(READ)


@pytest.mark.parametrize("path", _USERS)
def test_each_layer_calls_the_one_decision(path: str) -> None:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert "decide" in called


# --- facts travel as fields: nobody reads a message ----------------------------------------


def _reads_text(node: ast.AST) -> bool:
    """``... in str(x)``, ``... in x.lower()``, ``... in text`` where text = str(...)."""
    if not isinstance(node, ast.Compare):
        return False
    if not any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
        return False
    for side in [node.left, *node.comparators]:
        if isinstance(side, ast.Call):
            func = side.func
            if isinstance(func, ast.Name) and func.id == "str":
                return True
            if isinstance(func, ast.Attribute) and func.attr == "lower":
                return True
        if isinstance(side, ast.Name) and side.id in ("text", "lowered", "detail", "reason"):
            return True
    return False


@pytest.mark.parametrize(
    "path", ["reolink/cli/hints.py", "reolink/driver/client.py", "reolink/cli/oneshot.py"]
)
def test_no_fact_is_learned_from_message_text(path: str) -> None:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    lines = sorted(getattr(node, "lineno", 0) for node in ast.walk(tree) if _reads_text(node))
    assert lines == []


def test_the_transports_state_the_facts_the_hints_read() -> None:
    from transports._errors import connect_error, lost_reply_error, reply_error

    request = Request("POST", "/x", repeatable=False, changes_state=True)
    lost = lost_reply_error(NoReply("reset"), "cam:80", request)
    assert lost.closed_by_device and lost.may_have_run and lost.request_sent
    read = lost_reply_error(NoReply("closed"), "cam:80", READ)
    assert read.closed_by_device and not read.may_have_run
    broken = reply_error(ConnectionResetError(104, "reset"), "cam:80", READ)
    assert broken.closed_by_device
    refused = connect_error(ConnectionRefusedError(111, "refused"), "cam:80", READ)
    assert isinstance(refused, ConnectError) and refused.refused
    assert not refused.closed_by_device and not refused.request_sent
