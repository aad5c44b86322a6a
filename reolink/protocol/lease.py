"""The token lease: when a Login token must be renewed, computed from a clock given as argument.

A token is renewed :data:`REFRESH_MARGIN` seconds before its lease ends, but never before half
of the lease has passed: a device that hands out short leases (say 60 s) would otherwise make
the driver log in on every poll, burning sessions and tripping the firmware's login throttle
(-105 "Frequent logins"). Times are ``time.monotonic()``-style floats supplied by the caller.
"""

from __future__ import annotations

import math

import attrs

from reolink.errors import ArgumentError
from reolink.protocol.results import LoginToken

__all__ = ["DEFAULT_LEASE", "MAX_LEASE", "REFRESH_MARGIN", "TokenLease"]

#: Seconds before the lease ends at which the token is renewed.
REFRESH_MARGIN = 60.0
#: The lease assumed when Login reports none (leaseTime missing, 0 or negative): V8's default.
DEFAULT_LEASE = 3600.0
#: Longest lease believed. A device claiming more is renewed after a day anyway, which costs
#: one Login and guards against a garbled leaseTime keeping a dead token forever.
MAX_LEASE = 86400.0


def _finite(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ArgumentError(f"{attribute.name} must be a finite number", argument=attribute.name)


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    _finite(instance, attribute, value)
    if value <= 0:
        raise ArgumentError(f"{attribute.name} must be > 0, got {value}", argument=attribute.name)


def _token(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ArgumentError("token must be a non-empty string", argument="token")


@attrs.frozen
class TokenLease:
    """A token and the time window it is good for. The token never shows in the repr."""

    token: str = attrs.field(repr=False, validator=_token)
    issued_at: float = attrs.field(validator=_finite)
    lease_seconds: float = attrs.field(validator=_positive)

    @property
    def expires_at(self) -> float:
        """When the device drops the token."""
        return self.issued_at + self.lease_seconds

    def refresh_at(self, margin: float = REFRESH_MARGIN) -> float:
        """When to renew: ``margin`` before expiry, but not before half the lease has passed."""
        margin = max(0.0, margin)
        return max(self.expires_at - margin, self.issued_at + self.lease_seconds / 2)

    def needs_refresh(self, now: float, margin: float = REFRESH_MARGIN) -> bool:
        """True once :meth:`refresh_at` has come."""
        return now >= self.refresh_at(margin)

    def expired(self, now: float) -> bool:
        """True once the lease has run out."""
        return now >= self.expires_at

    @classmethod
    def from_login(cls, token: LoginToken, now: float) -> TokenLease:
        """The lease of a fresh Login token issued at ``now``.

        A leaseTime of 0 or less (or missing) means :data:`DEFAULT_LEASE`; more than
        :data:`MAX_LEASE` is capped to it.
        """
        lease = float(token.lease_time) if token.lease_time > 0 else DEFAULT_LEASE
        return cls(token=token.name, issued_at=now, lease_seconds=min(lease, MAX_LEASE))
