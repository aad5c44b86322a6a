"""Device and zone attributes: parsed and validated once, at construction, before any I/O.

Hosts store attribute values as strings; ints are accepted too. Every refusal is one
:class:`~reolink.errors.ConfigError` naming the attribute, the bad value (never the password) and
what is allowed.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import Any, FrozenSet, Iterable, Mapping, Optional, Tuple, Union

import attrs

from ..errors import ConfigError
from ..protocol.commands import CHANNEL, PORT, PUSH_PORT, Channel, IntRange
from ..protocol.results import AI_TYPES
from ..transport import TLSOptions

__all__ = ["DeviceConfig", "ZoneConfig", "parse_device", "parse_zones"]

log = logging.getLogger(__name__)

MIN_STATUS_INTERVAL_MS = 2000
DEFAULT_STATUS_INTERVAL_MS = 5000
DEFAULT_REQUEST_TIMEOUT_MS = 8000
MAX_INTERVAL_MS = 24 * 3600 * 1000
MAX_CHANNEL = CHANNEL.high
#: Device attribute ranges (ms; the port numbers are the protocol's PORT and PUSH_PORT):
#: parse_device checks them, and the metadata hints (:mod:`reolink.driver.table`) show these
#: same objects' bounds.
REQUEST_TIMEOUT_MS = IntRange("request_timeout", 100, 300_000)
#: A zone address: a channel index written without sign or leading zeros (the command table's
#: ``address`` pattern says the same, from this string).
ADDRESS_PATTERN = "0|[1-9][0-9]{0,2}"

# Used with fullmatch: "$" would also match before a trailing newline ("cam\n.local").
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_FINGERPRINT = re.compile(r"[0-9A-Fa-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CHANNEL = re.compile(ADDRESS_PATTERN)

ZonesArg = Union[Mapping[str, Optional[Mapping[str, Any]]], Iterable[Tuple[str, Mapping[str, Any]]]]


def _show(value: object) -> str:
    """A bad value as it may appear in an error message: repr, shortened."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "...'"


@attrs.frozen
class ZoneConfig:
    address: str
    channel: int
    #: AI types to report, or None for every type the device reports.
    ai_types: Optional[FrozenSet[str]] = None


@attrs.frozen
class DeviceConfig:
    ip: str
    username: str
    password: str = attrs.field(repr=False)
    port: int = 80
    protocol: str = "http"
    status_interval: float = DEFAULT_STATUS_INTERVAL_MS / 1000
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT_MS / 1000
    tls: TLSOptions = attrs.field(factory=TLSOptions)
    zones: Tuple[ZoneConfig, ...] = ()
    #: "auto" (use the device's webhook where it works) or "off" (poll only).
    push: str = "auto"
    #: the address the device calls back ("": the local address of our connection to it).
    push_host: str = ""
    #: the push listener's port (0: any free port).
    push_port: int = 0

    @property
    def label(self) -> str:
        """``host:port`` as shown in logs and messages (IPv6 in brackets)."""
        host = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"{host}:{self.port}"


def _text(attributes: Mapping[str, Any], name: str) -> Optional[str]:
    value = attributes.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ConfigError(
            f"attribute {name!r} must be a string, got {type(value).__name__}", attribute=name
        )
    text = str(value).strip()
    return text or None


def _host(value: str, name: str = "ip") -> str:
    """A bare host name or an IPv4/IPv6 literal; nothing that could smuggle a path or query."""
    candidate = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    # No IPv6 zone ids ("fe80::1%eth0"): ipaddress accepts any text after "%", which could
    # smuggle a path, query or newline into the URL.
    if "%" not in candidate:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            pass
    labels = candidate.rstrip(".").split(".")
    if len(candidate) <= 253 and all(_HOST_LABEL.fullmatch(label) for label in labels):
        # All-numeric dotted names are malformed IPv4 literals, not host names.
        if not all(label.isdigit() for label in labels):
            return candidate
    example = "192.168.1.20 or cam-garage.local" if name == "ip" else "192.168.1.10"
    raise ConfigError(
        f"attribute {name!r} is {_show(value)}: allowed is a bare host name or an IPv4/IPv6 "
        f"address (no scheme, port, path, query, '@' or spaces), e.g. {example}",
        attribute=name,
    )


def _integer(attributes: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    raw = _text(attributes, name)
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        raise ConfigError(
            f"attribute {name!r} is {_show(raw)}: allowed is a whole number from {low} to {high}",
            attribute=name,
        )
    number = int(raw)
    if not low <= number <= high:
        raise ConfigError(
            f"attribute {name!r} is {number}: allowed is a whole number from {low} to {high}",
            attribute=name,
        )
    return number


def _credential(attributes: Mapping[str, Any], name: str, secret: bool) -> str:
    value = attributes.get(name)
    if value is None or value == "":
        raise ConfigError(f"attribute {name!r} is required", attribute=name)
    if not isinstance(value, str):
        raise ConfigError(
            f"attribute {name!r} must be a string, got {type(value).__name__}", attribute=name
        )
    shown = "the value" if secret else _show(value)
    if not 1 <= len(value) <= 31:
        raise ConfigError(
            f"attribute {name!r}: {shown} has {len(value)} characters; allowed is 1 to 31",
            attribute=name,
        )
    if _CONTROL.search(value):
        raise ConfigError(
            f"attribute {name!r}: {shown} contains a control character (newline, tab...); "
            "allowed are printable characters only",
            attribute=name,
        )
    return value


def _readable_file(path: str) -> bool:
    # Opened, not stat-ed: the driver core imports this module for its value classes and
    # must not import os (a layer test); parsing runs on the host's thread, never in the core.
    try:
        with open(path, "rb"):
            return True
    except (OSError, ValueError):
        return False


def _tls(attributes: Mapping[str, Any]) -> TLSOptions:
    fingerprint = _text(attributes, "tls_fingerprint")
    if fingerprint is not None:
        bare = fingerprint.replace(":", "")
        if not _FINGERPRINT.fullmatch(bare):
            raise ConfigError(
                f"attribute 'tls_fingerprint' is {_show(fingerprint)}: allowed is a SHA-256 "
                "fingerprint, 64 hex digits (colons optional)",
                attribute="tls_fingerprint",
            )
        fingerprint = bare.lower()
    ca_file = _text(attributes, "tls_verify")
    if ca_file is not None and not _readable_file(ca_file):
        raise ConfigError(
            f"attribute 'tls_verify' is {_show(ca_file)}: allowed is the path of a readable "
            "CA bundle file (PEM)",
            attribute="tls_verify",
        )
    return TLSOptions(fingerprint=fingerprint, ca_file=ca_file)


def _push(attributes: Mapping[str, Any]) -> Tuple[str, str, int]:
    """``push`` (auto|off), ``push_host`` (an address of this host the device can reach) and
    ``push_port`` (0..65535, 0 = any free port)."""
    mode = (_text(attributes, "push") or "auto").lower()
    if mode not in ("auto", "off"):
        raise ConfigError(
            f"attribute 'push' is {_show(mode)}: allowed is auto (use the device's webhook "
            "where it works) or off (poll only)",
            attribute="push",
        )
    host_text = _text(attributes, "push_host")
    host = _host(host_text, "push_host") if host_text is not None else ""
    port = _integer(attributes, "push_port", 0, *PUSH_PORT.bounds)
    return mode, host, port


def parse_ai_types(value: Any, address: str) -> Optional[FrozenSet[str]]:
    """``"people, vehicle"`` → frozenset; empty → None (every type)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(
            f"zone {address!r}: attribute 'ai_types' must be a string, got {type(value).__name__}",
            attribute="ai_types",
        )
    names = [part.strip().lower() for part in value.split(",") if part.strip()]
    unknown = [name for name in names if name not in AI_TYPES]
    if unknown:
        raise ConfigError(
            f"zone {address!r}: attribute 'ai_types' has unknown type(s) "
            f"{', '.join(_show(n) for n in unknown)}; allowed: {', '.join(AI_TYPES)} "
            "(comma-separated; empty = all reported)",
            attribute="ai_types",
        )
    return frozenset(names) or None


def parse_channel(address: Any) -> int:
    """A zone address: the channel index as a string ("0", "1", ...)."""
    text = address if isinstance(address, str) else None
    if isinstance(address, int) and not isinstance(address, bool):
        text = str(address)
    if text is not None and _CHANNEL.fullmatch(text) and int(text) in CHANNEL:
        # Checked here, on its way in, against the builders' one range: they take it as is.
        return Channel(int(text))
    raise ConfigError(
        f"zone address {_show(address)} is not a channel index: allowed is a whole number "
        f'from 0 to {MAX_CHANNEL} written without sign or leading zeros ("0" for a single '
        'camera, "0".."N-1" for an NVR)',
        attribute="address",
    )


def parse_zones(zones: Any) -> Tuple[ZoneConfig, ...]:
    """Validate zones: a mapping of address to attributes (or (address, attributes) pairs)."""
    if zones is None:
        return ()
    shape = (
        "zones must map each zone address to its attributes, e.g. "
        '{"0": {"ai_types": "people"}, "1": {}}'
    )
    if isinstance(zones, Mapping):
        items = list(zones.items())
    elif isinstance(zones, (str, bytes)) or not isinstance(zones, Iterable):
        raise ConfigError(f"{shape}; got {type(zones).__name__}", attribute="zones")
    else:
        items = list(zones)
        if not all(isinstance(item, tuple) and len(item) == 2 for item in items):
            raise ConfigError(f"{shape} (or be (address, attributes) pairs)", attribute="zones")
    parsed = []
    seen = set()
    for address, attributes in items:
        if attributes is not None and not isinstance(attributes, Mapping):
            raise ConfigError(
                f"zone {_show(address)}: {shape}; its attributes are a {type(attributes).__name__}",
                attribute="zones",
            )
        channel = parse_channel(address)
        if channel in seen:
            raise ConfigError(f"zone address {address!r} is given twice", attribute="address")
        seen.add(channel)
        ai_types = parse_ai_types((attributes or {}).get("ai_types"), str(address))
        parsed.append(ZoneConfig(address=str(channel), channel=channel, ai_types=ai_types))
    return tuple(sorted(parsed, key=lambda z: z.channel))


def parse_device(
    attributes: Mapping[str, Any],
    zones: Optional[ZonesArg] = None,
    *,
    min_status_interval_ms: int = MIN_STATUS_INTERVAL_MS,
) -> DeviceConfig:
    """Validate a device's attribute mapping and zones; raise ConfigError on the first bad one."""
    if not isinstance(attributes, Mapping):
        raise ConfigError("attributes must be a mapping of attribute name to value")
    ip_text = _text(attributes, "ip")
    if ip_text is None:
        raise ConfigError("attribute 'ip' is required", attribute="ip")
    ip = _host(ip_text)
    username = _credential(attributes, "username", secret=False)
    password = _credential(attributes, "password", secret=True)
    protocol = (_text(attributes, "protocol") or "http").lower()
    if protocol not in ("http", "https"):
        raise ConfigError(
            f"attribute 'protocol' is {_show(protocol)}: allowed is http or https",
            attribute="protocol",
        )
    port = _integer(attributes, "port", 443 if protocol == "https" else 80, *PORT.bounds)
    interval_ms = _integer(
        attributes, "status_interval", DEFAULT_STATUS_INTERVAL_MS, 1, MAX_INTERVAL_MS
    )
    if interval_ms < min_status_interval_ms:
        log.warning(
            "%s: status_interval %d ms is below %d ms; using %d ms",
            ip,
            interval_ms,
            min_status_interval_ms,
            min_status_interval_ms,
        )
        interval_ms = min_status_interval_ms
    timeout = REQUEST_TIMEOUT_MS
    timeout_ms = _integer(attributes, timeout.name, DEFAULT_REQUEST_TIMEOUT_MS, *timeout.bounds)
    tls = _tls(attributes)
    if protocol == "http" and (tls.fingerprint or tls.ca_file):
        raise ConfigError(
            "attributes 'tls_fingerprint' and 'tls_verify' need protocol https",
            attribute="protocol",
        )
    push, push_host, push_port = _push(attributes)
    return DeviceConfig(
        ip=ip,
        username=username,
        password=password,
        port=port,
        protocol=protocol,
        status_interval=interval_ms / 1000,
        request_timeout=timeout_ms / 1000,
        tls=tls,
        zones=parse_zones(zones),
        push=push,
        push_host=push_host,
        push_port=push_port,
    )
