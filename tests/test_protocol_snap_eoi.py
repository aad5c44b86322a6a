"""A snapshot JPEG cut short (no end-of-image marker) is an error, never a success (issue 17)."""

from __future__ import annotations

import pytest

from reolink.emulator.jpeg import encode_jpeg, sample_picture
from reolink.errors import RemoteProtocolError
from reolink.protocol import parse_snap

#: A real baseline JPEG (the emulator's encoder), with an EXIF-style thumbnail in an APP1
#: segment whose own end-of-image marker comes before the main image.
THUMB = encode_jpeg(sample_picture(0, 16, 16))
IMAGE = encode_jpeg(sample_picture(1, 64, 48))
WITH_THUMBNAIL = (
    IMAGE[:2]
    + b"\xff\xe1" + (len(THUMB) + 2).to_bytes(2, "big") + THUMB
    + IMAGE[2:]
)


def test_the_fixtures_are_whole_jpegs() -> None:
    for image in (IMAGE, WITH_THUMBNAIL):
        assert image[:3] == b"\xff\xd8\xff" and image[-2:] == b"\xff\xd9"
        assert parse_snap(200, "image/jpeg", image, channel=0) == image


@pytest.mark.parametrize("padding", [b"\x00" * 100, b"\xff\xff", b"\r\n", b" \x00\xff\n"])
def test_padding_after_the_end_marker_is_accepted(padding: bytes) -> None:
    data = IMAGE + padding
    assert parse_snap(200, "image/jpeg", data, channel=0) == data


@pytest.mark.parametrize("image", [IMAGE, WITH_THUMBNAIL], ids=["plain", "thumbnail"])
@pytest.mark.parametrize("keep", [0.25, 0.5, 0.9, -2, -1])
def test_a_cut_jpeg_is_an_error_saying_how_much_came(image: bytes, keep: float) -> None:
    cut = image[: int(len(image) * keep)] if keep > 0 else image[: int(keep)]
    with pytest.raises(RemoteProtocolError) as info:
        parse_snap(200, "image/jpeg", cut, channel=2)
    message = str(info.value)
    assert "channel 2" in message and "cut short" in message
    assert f"{len(cut)} bytes came" in message and "FF D9" in message


def test_bytes_after_the_end_marker_that_are_not_padding_fail() -> None:
    with pytest.raises(RemoteProtocolError, match="cut short"):
        parse_snap(200, "image/jpeg", IMAGE + b"\xff\xdaMORE", channel=0)
