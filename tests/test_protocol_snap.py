"""Snap replies: JPEG, JSON error array, web UI page, proxy errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from reolink.errors import AuthError, CommandError, RemoteProtocolError
from reolink.protocol import JPEG_MAGIC, WEB_PAGE_REJECTED, is_web_page_rejection, parse_snap

REPLIES = Path(__file__).parent / "data" / "replies"
JPEG = JPEG_MAGIC + b"\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) + b"\xff\xd9"


@pytest.mark.parametrize(
    "content_type", ["image/jpeg", "IMAGE/JPEG; charset=binary", "", "application/octet-stream"]
)
def test_jpeg(content_type: str) -> None:
    assert parse_snap(200, content_type, JPEG, channel=0) == JPEG


@pytest.mark.parametrize("raw", [JPEG_MAGIC, JPEG_MAGIC + b"\x00\x00", b"", b"GIF89a...."])
def test_not_a_jpeg(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_snap(200, "image/jpeg", raw, channel=0)


def test_jpeg_served_as_html_is_rejected() -> None:
    with pytest.raises(RemoteProtocolError, match="text/html"):
        parse_snap(200, "text/html", JPEG, channel=0)


def test_login_first_error_array() -> None:
    raw = (REPLIES / "snap_please_login_-6.json").read_bytes()
    with pytest.raises(AuthError) as info:
        parse_snap(200, "text/html", raw, channel=3)
    assert info.value.rsp_code == -6 and info.value.channel == 3 and info.value.cmd == "Snap"


def test_rcv_failed_error_array() -> None:
    raw = (REPLIES / "snap_rcv_failed_-17.json").read_bytes()
    with pytest.raises(CommandError) as info:
        parse_snap(200, "text/html", raw, channel=0)
    assert info.value.rsp_code == -17


def test_web_ui_page() -> None:
    raw = (REPLIES / "webui.html").read_bytes()
    with pytest.raises(RemoteProtocolError) as info:
        parse_snap(200, "text/html", raw, channel=0)
    assert str(info.value) == WEB_PAGE_REJECTED
    assert "token was probably rejected" in str(info.value)
    assert is_web_page_rejection(info.value)
    assert not is_web_page_rejection(RemoteProtocolError("other"))


def test_nginx_502() -> None:
    raw = (REPLIES / "nginx_502.html").read_bytes()
    with pytest.raises(RemoteProtocolError) as info:
        parse_snap(502, "text/html", raw, channel=0)
    assert "HTTP 502 Bad Gateway" in str(info.value)
    assert "HTML page" in str(info.value)
    assert not is_web_page_rejection(info.value)


def test_json_success_instead_of_jpeg() -> None:
    with pytest.raises(RemoteProtocolError, match="JSON success"):
        parse_snap(200, "text/html", b'[{"cmd":"Snap","code":0,"value":{}}]', channel=0)


def test_other_bytes_are_described_briefly() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_snap(200, "text/plain", b"\x01\x02garbage" * 100, channel=1)
    assert len(str(info.value)) < 200
    assert "\x01" not in str(info.value)


@pytest.mark.parametrize("name", ["snap_please_login_-6.json", "webui.html", "nginx_502.html"])
def test_truncated_snap_errors(name: str) -> None:
    raw = (REPLIES / name).read_bytes()
    for end in range(len(raw)):
        with pytest.raises((RemoteProtocolError, AuthError)):
            parse_snap(200, "text/html", raw[:end], channel=0)
