"""TokenLease: refresh timing from a clock passed in."""

from __future__ import annotations

import math

import pytest

from reolink.errors import ArgumentError
from reolink.protocol import REFRESH_MARGIN, LoginToken, TokenLease
from reolink.protocol.lease import DEFAULT_LEASE, MAX_LEASE


def test_normal_lease() -> None:
    lease = TokenLease.from_login(LoginToken(name="tok123", lease_time=3600), now=1000.0)
    assert lease.expires_at == 4600.0
    assert lease.refresh_at() == 4600.0 - REFRESH_MARGIN
    assert not lease.needs_refresh(4539.0)
    assert lease.needs_refresh(4540.0)
    assert not lease.expired(4599.9)
    assert lease.expired(4600.0)


def test_short_lease_refreshes_at_half_not_every_poll() -> None:
    lease = TokenLease(token="t", issued_at=0.0, lease_seconds=60.0)
    assert lease.refresh_at() == 30.0
    assert not lease.needs_refresh(29.0)
    assert lease.needs_refresh(30.0)


def test_custom_and_negative_margin() -> None:
    lease = TokenLease(token="t", issued_at=0.0, lease_seconds=3600.0)
    assert lease.refresh_at(300.0) == 3300.0
    assert lease.refresh_at(-5.0) == 3600.0


@pytest.mark.parametrize("lease_time", [0, -1])
def test_no_lease_time_means_default(lease_time: int) -> None:
    lease = TokenLease.from_login(LoginToken(name="t", lease_time=lease_time), now=5.0)
    assert lease.lease_seconds == DEFAULT_LEASE


def test_absurd_lease_is_capped() -> None:
    lease = TokenLease.from_login(LoginToken(name="t", lease_time=10**9), now=0.0)
    assert lease.lease_seconds == MAX_LEASE


def test_token_not_in_repr() -> None:
    lease = TokenLease(token="secret-token-xyz", issued_at=0.0, lease_seconds=10.0)
    assert "secret-token-xyz" not in repr(lease)


@pytest.mark.parametrize(
    ("token", "issued", "seconds"),
    [("", 0.0, 10.0), ("t", math.nan, 10.0), ("t", 0.0, 0.0), ("t", 0.0, math.inf)],
)
def test_validation(token: str, issued: float, seconds: float) -> None:
    with pytest.raises(ArgumentError):
        TokenLease(token=token, issued_at=issued, lease_seconds=seconds)
