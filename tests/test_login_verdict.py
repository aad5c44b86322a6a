"""A refused Login is acted on by the verdict its error already carries (its class, made from
the code, the words and ``auth_warning_info`` together), never classified a second time from
the code and words alone."""

from __future__ import annotations

import json
from typing import List

import pytest
from conftest import FakeClock

from reolink.driver import ReolinkDriver
from reolink.errors import LockedOutError
from reolink.protocol import codes
from reolink.protocol.session import Session
from reolink.transport import Request, Response


def _refusing(entry: dict) -> tuple:
    body = json.dumps([entry]).encode()
    logins: List[Request] = []

    class Refusing:
        def send(self, request: Request) -> Response:
            logins.append(request)
            return Response(200, {"Content-Type": "application/json"}, body)

        def close(self) -> None:
            pass

    return Refusing, logins


@pytest.mark.parametrize("rsp", [(-7, "login failed"), (-6, "please login first")])
def test_a_lock_said_only_by_auth_warning_info_is_waited_out(
    rsp: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, detail = rsp
    entry = {
        "cmd": "Login",
        "code": 1,
        "error": {
            "rspCode": code,
            "detail": detail,
            "auth_warning_info": {"remain_times": 0, "unlock_time": 120},
        },
    }
    refusing, logins = _refusing(entry)
    clock = FakeClock()
    driver = ReolinkDriver(
        {"ip": "127.0.0.1", "username": "admin", "password": "pw-verdict-1"},
        transport_factory=lambda config: refusing(),
        clock=clock,
    )
    actions: List[object] = []
    original = Session.on_login_refused

    def spy(self: Session, action: object, *args: object, **kwargs: object) -> float:
        actions.append(action)
        return original(self, action, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Session, "on_login_refused", spy)
    try:
        assert not driver.connect(timeout=5)
        # The session is told what the error says, not a second reading of code and words
        # (-7 "login failed" alone would read as a wrong password).
        assert actions == [codes.AuthAction.LOCKED_OUT]
        refusal = driver.last_exception
        assert isinstance(refusal, LockedOutError)
        assert codes.action_of(refusal) is codes.AuthAction.LOCKED_OUT
        assert len(logins) == 1
        # The session waits the announced 120 s, as for any lock-out.
        assert driver._core.session.retry_at == clock.now + 120
    finally:
        driver.disconnect()


def test_action_of_follows_the_error_class() -> None:
    for action, klass in [
        (None, "CommandError"),
        (codes.AuthAction.RELOGIN, "AuthError"),
        (codes.AuthAction.BAD_CREDENTIALS, "CredentialsError"),
        (codes.AuthAction.LOCKED_OUT, "LockedOutError"),
        (codes.AuthAction.SESSION_LIMIT, "SessionLimitError"),
    ]:
        import reolink.errors as errors

        error = getattr(errors, klass)("x failed", cmd="Login", rsp_code=-1)
        assert codes.action_of(error) is action, klass
