"""tenacity does real work (issue 18): the session's back-off and login pauses are tenacity wait
strategies, evaluated as pure functions of the attempt count (no clock, no sleep), and the
delays are the ones the driver always had."""

from __future__ import annotations

import tenacity

from reolink.protocol.codes import AuthAction
from reolink.protocol.session import Session, SessionPolicy, delay_after


def old_transport_delay(policy: SessionPolicy, failures: int) -> float:
    """The hand-written arithmetic this replaced."""
    return min(policy.backoff_initial * (2 ** (failures - 1)), policy.backoff_max)


def old_auth_delay(policy: SessionPolicy, index: int) -> float:
    schedule = policy.auth_backoff
    return schedule[min(index, len(schedule) - 1)]


POLICIES = (SessionPolicy(), SessionPolicy().scaled(0.01), SessionPolicy(backoff_initial=0.5))


def test_the_policies_are_tenacity_wait_strategies() -> None:
    policy = SessionPolicy()
    assert isinstance(policy.transport_wait(), tenacity.wait.wait_exponential)
    assert isinstance(policy.auth_wait(), tenacity.wait.wait_chain)
    assert [delay_after(policy.transport_wait(), n) for n in range(1, 9)] == [
        1,
        2,
        4,
        8,
        16,
        32,
        60,
        60,
    ]
    assert [delay_after(policy.auth_wait(), n) for n in range(1, 6)] == [30, 300, 900, 900, 900]


def test_transport_back_off_is_unchanged() -> None:
    for policy in POLICIES:
        session = Session(policy)
        now = 100.0
        for failures in range(1, 40):
            retry_at = session.on_transport_failed("refused", now)
            assert retry_at == now + old_transport_delay(policy, failures), (policy, failures)


def test_refused_login_pauses_are_unchanged() -> None:
    for policy in POLICIES:
        session = Session(policy)
        now = 100.0
        for index in range(6):
            retry_at = session.on_login_refused(AuthAction.BAD_CREDENTIALS, "-7", now)
            assert retry_at == now + old_auth_delay(policy, index)
            now = retry_at + policy.failed_login_window  # keep the safety window out of it


def test_refused_fresh_token_pauses_are_unchanged() -> None:
    from reolink.protocol.results import LoginToken

    policy = SessionPolicy()
    session = Session(policy)
    now = 100.0
    delays = []
    for _ in range(6):
        session.on_login_ok(LoginToken(name="t0ken", lease_time=3600), now)
        assert session.on_auth_error(now) is False
        delays.append((now, session.retry_at))
        now = session.retry_at
    expected = [policy.auth_retry_delay] + [old_auth_delay(policy, i) for i in range(5)]
    assert [at == start + d for (start, at), d in zip(delays, expected)] == [True] * 6


def test_a_wait_is_a_pure_function_of_the_count() -> None:
    wait = SessionPolicy().transport_wait()
    assert [delay_after(wait, 3) for _ in range(3)] == [4.0, 4.0, 4.0]
    assert delay_after(wait, 0) == delay_after(wait, 1) == 1.0


def test_no_automatic_login_before_the_device_says_the_lock_ends() -> None:
    """The device said 300 s (``unlock_time``): the 30 s first pause would try while locked
    (and a try may extend the lock)."""
    session = Session(SessionPolicy())
    retry_at = session.on_login_refused(AuthAction.LOCKED_OUT, "locked", 100.0, locked_for=300)
    assert retry_at == 400.0
    assert not session.login_due(399.0) and session.login_due(400.0)
    # Without a figure from the device, the schedule holds.
    other = Session(SessionPolicy())
    assert other.on_login_refused(AuthAction.LOCKED_OUT, "locked", 100.0) == 130.0


def test_the_driver_waits_out_the_lock_the_device_announced() -> None:
    import json

    from conftest import FakeClock

    from reolink.driver import ReolinkDriver
    from reolink.transport import Request, Response

    locked = json.dumps(
        [
            {
                "cmd": "Login",
                "code": 1,
                "error": {
                    "rspCode": -502,
                    "detail": "password wrong",
                    "auth_warning_info": {"remain_times": 0, "unlock_time": 300},
                },
            }
        ]
    ).encode()
    logins = []

    class Locked:
        def send(self, request: Request) -> Response:
            logins.append(request)
            return Response(200, {"Content-Type": "application/json"}, locked)

        def close(self) -> None:
            pass

    clock = FakeClock()
    driver = ReolinkDriver(
        {"ip": "127.0.0.1", "username": "admin", "password": "pw-locked-1"},
        transport_factory=lambda config: Locked(),
        clock=clock,
    )
    try:
        assert not driver.connect(timeout=5)
        refusal = driver.last_exception
        assert refusal is not None and getattr(refusal, "unlock_seconds", None) == 300
        assert len(logins) == 1
        assert driver._core.session.retry_at == clock.now + 300
    finally:
        driver.disconnect()
