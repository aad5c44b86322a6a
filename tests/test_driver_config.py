"""parse_device: device and zone attributes validated before any I/O."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path
from typing import Any, Dict, Optional

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from reolink.driver.config import DeviceConfig, parse_device
from reolink.errors import ConfigError

PASSWORD = "S3cr3t-P@ss"
BASE: Dict[str, Any] = {"ip": "192.168.1.20", "username": "gem", "password": PASSWORD}
FINGERPRINT = "AB:" * 31 + "CD"  # 32 bytes, colon-separated


def attrs_with(**changes: Any) -> Dict[str, Any]:
    out = dict(BASE)
    for name, value in changes.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def refused(attribute: str, zones: Any = None, **changes: Any) -> ConfigError:
    """parse_device must refuse with a ConfigError naming ``attribute``; returns the error."""
    with pytest.raises(ConfigError) as info:
        parse_device(attrs_with(**changes), zones)
    assert info.value.attribute == attribute
    assert PASSWORD not in str(info.value)
    assert PASSWORD not in repr(info.value)
    return info.value


# --- valid configurations ----------------------------------------------------------------


def test_minimal_config_and_defaults() -> None:
    config = parse_device(BASE)
    assert config.ip == "192.168.1.20"
    assert config.username == "gem"
    assert config.password == PASSWORD
    assert config.port == 80
    assert config.protocol == "http"
    assert config.status_interval == 5.0
    assert config.request_timeout == 8.0
    assert config.tls.fingerprint is None
    assert config.tls.ca_file is None
    assert config.zones == ()
    assert config.label == "192.168.1.20:80"


def test_https_defaults_to_port_443() -> None:
    config = parse_device(attrs_with(protocol="https"))
    assert config.port == 443
    assert config.protocol == "https"
    assert parse_device(attrs_with(protocol="HTTPS", port="8443")).port == 8443


@pytest.mark.parametrize("value", ["8080", 8080, " 8080 "])
def test_port_as_string_or_int(value: Any) -> None:
    assert parse_device(attrs_with(port=value)).port == 8080


@pytest.mark.parametrize(
    ("status", "timeout", "expect_status", "expect_timeout"),
    [
        ("5000", "8000", 5.0, 8.0),
        (2500, 100, 2.5, 0.1),
        ("2000", "300000", 2.0, 300.0),
    ],
)
def test_intervals_in_ms_become_seconds(
    status: Any, timeout: Any, expect_status: float, expect_timeout: float
) -> None:
    config = parse_device(attrs_with(status_interval=status, request_timeout=timeout))
    assert config.status_interval == expect_status
    assert config.request_timeout == expect_timeout


def test_empty_optional_attribute_means_default() -> None:
    # Hosts store an unset attribute as "": that is "use the default", not a bad value.
    config = parse_device(attrs_with(port="", protocol="", status_interval="", tls_verify=""))
    assert (config.port, config.protocol, config.status_interval) == (80, "http", 5.0)
    assert config.tls.ca_file is None


def test_short_status_interval_is_raised_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="reolink.driver.config"):
        config = parse_device(attrs_with(status_interval="500"))
    assert config.status_interval == 2.0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert "500" in message and "2000" in message
    assert PASSWORD not in caplog.text


def test_min_status_interval_is_configurable(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        config = parse_device(attrs_with(status_interval="50"), min_status_interval_ms=10)
    assert config.status_interval == 0.05
    assert not caplog.records


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("::1", "::1"),
        ("[::1]", "::1"),
        ("fe80:0:0:0:0:0:0:1", "fe80::1"),
        ("cam-1.local", "cam-1.local"),
        ("CAM", "CAM"),
        ("  10.0.0.7  ", "10.0.0.7"),
        ("cam.example.", "cam.example."),
    ],
)
def test_accepted_hosts(value: str, expected: str) -> None:
    assert parse_device(attrs_with(ip=value)).ip == expected


def test_ipv6_label_has_brackets() -> None:
    assert parse_device(attrs_with(ip="[::1]", port="8000")).label == "[::1]:8000"


def test_tls_options(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    config = parse_device(
        attrs_with(protocol="https", tls_fingerprint=FINGERPRINT, tls_verify=str(ca))
    )
    assert config.tls.fingerprint == "ab" * 31 + "cd"
    assert config.tls.ca_file == str(ca)


def test_repr_has_no_password() -> None:
    config = parse_device(BASE)
    assert PASSWORD not in repr(config)
    assert "password" not in repr(config)
    assert isinstance(config, DeviceConfig)


# --- zones -------------------------------------------------------------------------------


def test_zones_mapping_and_pairs() -> None:
    config = parse_device(BASE, {"2": {"ai_types": "people, Vehicle"}, "0": None, "1": {}})
    assert [z.address for z in config.zones] == ["0", "1", "2"]
    assert [z.channel for z in config.zones] == [0, 1, 2]
    assert config.zones[0].ai_types is None
    assert config.zones[1].ai_types is None
    assert config.zones[2].ai_types == frozenset({"people", "vehicle"})
    pairs = parse_device(BASE, [("3", {"ai_types": ""}), (4, {"ai_types": "dog_cat,face"})])
    assert [(z.channel, z.ai_types) for z in pairs.zones] == [
        (3, None),
        (4, frozenset({"dog_cat", "face"})),
    ]


@pytest.mark.parametrize("address", ["01", "-1", "a", "1.5", " 0", "256", "", "1\n", "+1"])
def test_bad_zone_address(address: str) -> None:
    err = refused("address", zones={address: None})
    assert repr(address) in str(err)
    assert "0 to 255" in str(err)


@pytest.mark.parametrize(
    "zones", [[("0", {}), ("0", {})], {"1": None, 1: None}], ids=["pairs", "str-and-int"]
)
def test_duplicated_zone(zones: Any) -> None:
    err = refused("address", zones=zones)
    assert "twice" in str(err)


def test_unknown_ai_type() -> None:
    err = refused("ai_types", zones={"0": {"ai_types": "people,cat"}})
    message = str(err)
    assert "'cat'" in message
    for allowed in ("people", "vehicle", "dog_cat", "face"):
        assert allowed in message


# --- refused attributes ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ip", "username", "password"])
@pytest.mark.parametrize("value", [None, ""])
def test_required_attribute_missing(name: str, value: Optional[str]) -> None:
    err = refused(name, **{name: value})
    assert "required" in str(err)


@pytest.mark.parametrize("value", ["0", 0, "65536", "80a", "-1", "1e3", "\uff18\uff10"])
def test_bad_port(value: Any) -> None:
    err = refused("port", port=value)
    assert str(value) in str(err)
    assert "1 to 65535" in str(err)


def test_bad_protocol() -> None:
    err = refused("protocol", protocol="ftp")
    assert "'ftp'" in str(err)
    assert "http or https" in str(err)


@pytest.mark.parametrize("name", ["status_interval", "request_timeout"])
@pytest.mark.parametrize("value", ["abc", "5.5", "5s", "-100", "0"])
def test_bad_interval(name: str, value: str) -> None:
    err = refused(name, **{name: value})
    assert value in str(err)
    assert "whole number" in str(err)


@pytest.mark.parametrize("value", [True, 1.5, ["80"]])
def test_non_string_attribute_value(value: Any) -> None:
    err = refused("port", port=value)
    assert "must be a string" in str(err)


@pytest.mark.parametrize(
    "value",
    [
        "http://1.2.3.4",
        "1.2.3.4/x?cmd=Reboot",
        "user@host",
        "a b",
        "1.2.3.4:80",
        "host#frag",
        "1.2.3.4?x",
        "999.1.1.1",
        "1.2.3",
        "-cam",
        "cam_1",
        "cam\n.local",
        "[cam.local",
        "fe80::1%eth0",
        "::1%x?cmd=Reboot",
        "[::1]:80",
    ],
)
def test_bad_ip(value: str) -> None:
    err = refused("ip", ip=value)
    assert repr(value) in str(err)
    assert "host name" in str(err) and "IPv4/IPv6" in str(err)


def test_username_limits() -> None:
    assert parse_device(attrs_with(username="u" * 31)).username == "u" * 31
    err = refused("username", username="u" * 32)
    assert "32 characters" in str(err) and "1 to 31" in str(err)
    err = refused("username", username="gem\nadmin")
    assert "control character" in str(err)
    assert "'gem\\nadmin'" in str(err)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        (PASSWORD + "\n", "control character"),
        ((PASSWORD * 3)[:32], "1 to 31"),
        (PASSWORD + "\t-x", "control character"),
    ],
)
def test_bad_password_is_never_shown(password: str, why: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_device(attrs_with(password=password))
    err = info.value
    assert err.attribute == "password"
    assert why in str(err)
    for shown in (str(err), repr(err), str(err.args)):
        assert "S3cr3t" not in shown
        assert password not in shown


def test_password_length_limit_accepts_31() -> None:
    assert parse_device(attrs_with(password=(PASSWORD * 3)[:31])).password == (PASSWORD * 3)[:31]


@pytest.mark.parametrize("value", ["zz", "ab" * 31, "ab" * 33, "g" * 64, "AB-" * 31 + "CD"])
def test_bad_fingerprint(value: str) -> None:
    err = refused("tls_fingerprint", protocol="https", tls_fingerprint=value)
    assert "64 hex digits" in str(err)


def test_tls_verify_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A short (relative) path: a message shows at most 80 characters of a bad value, and
    # tmp_path can be longer than that (pytest-xdist's workers, deep temporary folders).
    monkeypatch.chdir(tmp_path)
    missing = "nope.pem"
    err = refused("tls_verify", protocol="https", tls_verify=missing)
    assert missing in str(err)
    assert "CA bundle file" in str(err)


def test_tls_verify_directory_is_refused(tmp_path: Path) -> None:
    refused("tls_verify", protocol="https", tls_verify=str(tmp_path))


def test_tls_options_need_https(tmp_path: Path) -> None:
    err = refused("protocol", tls_fingerprint="ab" * 32)
    assert "https" in str(err)
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    err = refused("protocol", protocol="http", tls_verify=str(ca))
    assert "https" in str(err)


def test_attributes_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError):
        parse_device([("ip", "1.2.3.4")])  # type: ignore[arg-type]


# --- property: the ip attribute can never smuggle anything into a URL ---------------------

_FORBIDDEN = set("/?#@ \t\n:%[]")
_URLISH = st.text(alphabet="0123456789abcdefAF.:-[]/?#@% \t\nxz_", max_size=40)


def _check_ip(text: str) -> None:
    try:
        config = parse_device(attrs_with(ip=text))
    except ConfigError as err:
        assert err.attribute == "ip"
        return
    ip = config.ip
    assert ip
    assert ip.isprintable()
    if ":" in ip:
        # Only an IPv6 literal may hold a colon, and then nothing but hex digits, ':' and '.'.
        assert str(ipaddress.IPv6Address(ip)) == ip
        assert set(ip) <= set("0123456789abcdef:.")
    else:
        assert not _FORBIDDEN & set(ip), ip


@settings(max_examples=examples(300), deadline=None)
@given(st.one_of(st.text(max_size=40), _URLISH))
def test_ip_is_a_bare_host_or_refused(text: str) -> None:
    _check_ip(text)


@settings(max_examples=examples(100), deadline=None)
@given(st.ip_addresses())
def test_any_ip_literal_is_accepted(address: Any) -> None:
    assert parse_device(attrs_with(ip=str(address))).ip == str(address)
    if address.version == 6:
        assert parse_device(attrs_with(ip=f"[{address}]")).ip == str(address)
