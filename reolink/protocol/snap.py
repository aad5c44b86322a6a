"""The Snap reply: JPEG bytes, or an error the device sent in their place.

Snap is a GET that answers HTTP 200 either way. Success is ``image/jpeg`` with the JPEG; failure
is the usual JSON error array served as ``text/html`` (-6 "please login first" for a dead token,
-17 "rcv failed" on some NVR firmware). Older firmware answers a rejected token with its whole
web UI (an HTML page) instead: :func:`parse_snap` reports that as :class:`RemoteProtocolError`
with the message :data:`WEB_PAGE_REJECTED`, and the driver logs in again once when it sees it.

A JPEG is accepted when it starts with the SOI marker ``FF D8`` followed by another marker
byte ``FF``, and ends with the end-of-image marker ``FF D9``, after which only padding may
follow (zero bytes, ``FF`` fill bytes, white space: some cameras pad). A JPEG that is well
framed (its Content-Length all came) but cut short inside, with no end-of-image marker, is a
:class:`RemoteProtocolError` saying how much came: handing the host half a picture as a
success would be worse. (``FF D9`` cannot occur inside the entropy-coded data, where every
``FF`` is followed by ``00`` or a restart marker; an EXIF thumbnail's own ``FF D9`` near the
start is followed by the main image, which is not padding.)
"""

from __future__ import annotations

from reolink.errors import ApiError, RemoteProtocolError
from reolink.protocol.envelope import check_status, decode_reply, describe_body

__all__ = ["JPEG_MAGIC", "WEB_PAGE_REJECTED", "is_web_page_rejection", "parse_snap"]

JPEG_MAGIC = b"\xff\xd8"
#: The end-of-image marker.
JPEG_END = b"\xff\xd9"
#: What may follow the end-of-image marker.
_PADDING = b"\x00\xff \t\r\n"

#: The message of the RemoteProtocolError raised when the device served its web UI.
WEB_PAGE_REJECTED = (
    "snapshot rejected: the device served its web page (HTML) instead of a JPEG"
    " \N{EM DASH} the token was probably rejected"
)

# Content types a JPEG may come with: image/*, none at all, or a generic binary type
# (including the "apolication" misspelling some firmware uses for downloads).
_BINARY_TYPES = ("", "application/octet-stream", "apolication/octet-stream")


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower() if isinstance(content_type, str) else ""


def is_web_page_rejection(error: BaseException) -> bool:
    """True for the error :func:`parse_snap` raises when the device served its web UI."""
    return isinstance(error, RemoteProtocolError) and error.web_page


def parse_snap(status: int, content_type: str, body: bytes, *, channel: int) -> bytes:
    """The JPEG bytes of a Snap reply, or the error it carries instead.

    * JSON error array -> its ApiError (AuthError for -6, CommandError for -17...);
    * the web UI page -> RemoteProtocolError(:data:`WEB_PAGE_REJECTED`);
    * a JPEG without its end-of-image marker (cut short) -> RemoteProtocolError;
    * a non-200 status, an empty body, anything else -> RemoteProtocolError.
    """
    check_status(status, content_type, body)
    media = _media_type(content_type)
    data = bytes(body)
    if data.startswith(JPEG_MAGIC):
        if len(data) < 4 or data[2] != 0xFF:
            raise RemoteProtocolError(
                f"Snap on channel {channel}: not a JPEG image ({describe_body(data)})"
            )
        if not (media.startswith("image/") or media in _BINARY_TYPES):
            raise RemoteProtocolError(f"Snap on channel {channel}: JPEG bytes served as {media!r}")
        end = data.rfind(JPEG_END)
        if end < 0 or data[end + 2:].strip(_PADDING):
            raise RemoteProtocolError(
                f"Snap on channel {channel}: the JPEG is cut short: {len(data)} bytes came and "
                "no end-of-image marker (FF D9) ends them (the camera's encoder or the transfer "
                "failed): take the snapshot again"
            )
        return data
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith((b"[", b"{")):
        reply = decode_reply(data, "Snap", channel=channel)
        if isinstance(reply.error, ApiError):
            raise reply.error
        raise RemoteProtocolError(
            f"Snap on channel {channel}: expected a JPEG, got a JSON success reply"
        )
    if stripped.startswith(b"<") or b"<html" in stripped[:512].lower():
        raise RemoteProtocolError(WEB_PAGE_REJECTED, web_page=True)
    raise RemoteProtocolError(
        f"Snap on channel {channel}: expected a JPEG, got {describe_body(data)}"
    )
