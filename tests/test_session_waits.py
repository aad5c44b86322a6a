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
