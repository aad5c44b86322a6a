"""A tiny baseline (sequential DCT, Huffman) JPEG encoder in pure Python.

Only what the emulator's Snap needs: a small per-channel test picture (a colour gradient with a
darker band), 4:4:4 YCbCr, the example quantisation tables and the standard luminance Huffman
tables of ITU-T T.81 Annex K (used for all three components, which any decoder accepts since the
tables are declared in the file). Identical 8x8 blocks are transformed once, so an image whose
rows repeat costs little. ``pad_to`` grows the file with COM segments, which every decoder skips,
so the benchmark's ~200 KB snapshot stays decodable.
"""

from __future__ import annotations

import colorsys
import math
import struct
from functools import lru_cache
from typing import Dict, List, Sequence, Tuple

__all__ = ["encode_jpeg", "sample_picture"]

Pixel = Tuple[int, int, int]

# T.81 Annex K.1 example quantisation tables, natural (row-major) order.
_Q_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
_Q_CHROMA = tuple(
    [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
     24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99] + [99] * 32
)  # fmt: skip

# T.81 Annex K.3 standard luminance Huffman tables: code counts per length 1..16, then symbols.
_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_VALS = tuple(range(12))
_AC_BITS = (0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D)
_AC_VALS = (
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61,
    0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08, 0x23, 0x42, 0xB1, 0xC1, 0x15, 0x52,
    0xD1, 0xF0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0A, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x25,
    0x26, 0x27, 0x28, 0x29, 0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x43, 0x44, 0x45,
    0x46, 0x47, 0x48, 0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64,
    0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x83,
    0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
    0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6,
    0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xD2, 0xD3,
    0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8,
    0xE9, 0xEA, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA,
)  # fmt: skip


def _zigzag() -> List[int]:
    """Natural index of each zig-zag position."""
    order = sorted(
        ((x, y) for y in range(8) for x in range(8)),
        key=lambda p: (p[0] + p[1], p[0] if (p[0] + p[1]) % 2 == 0 else p[1]),
    )
    return [y * 8 + x for x, y in order]


_ZIGZAG = _zigzag()
_COS = [
    [(math.sqrt(0.5) if u == 0 else 1.0) * 0.5 * math.cos((2 * x + 1) * u * math.pi / 16)
     for x in range(8)]
    for u in range(8)
]  # fmt: skip


def _huffman_codes(bits: Sequence[int], vals: Sequence[int]) -> Dict[int, Tuple[int, int]]:
    """Canonical code assignment (T.81 Annex C): symbol -> (code, length)."""
    codes: Dict[int, Tuple[int, int]] = {}
    code, k = 0, 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            codes[vals[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


_DC_CODES = _huffman_codes(_DC_BITS, _DC_VALS)
_AC_CODES = _huffman_codes(_AC_BITS, _AC_VALS)


class _BitWriter:
    def __init__(self) -> None:
        self.out = bytearray()
        self._acc = 0
        self._n = 0

    def write(self, code: int, length: int) -> None:
        self._acc = (self._acc << length) | (code & ((1 << length) - 1))
        self._n += length
        while self._n >= 8:
            self._n -= 8
            byte = (self._acc >> self._n) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:  # byte stuffing inside entropy-coded data
                self.out.append(0)
        self._acc &= (1 << self._n) - 1

    def flush(self) -> bytes:
        if self._n:
            self.write((1 << (8 - self._n)) - 1, 8 - self._n)  # pad with 1-bits
        return bytes(self.out)


def _magnitude(value: int) -> Tuple[int, int]:
    """(size category, additional bits) of a DC difference or AC coefficient."""
    size = abs(value).bit_length()
    bits = value if value >= 0 else value + (1 << size) - 1
    return size, bits


@lru_cache(maxsize=4096)
def _quantised(block: Tuple[int, ...], chroma: bool) -> Tuple[int, ...]:
    """Forward DCT of one level-shifted 8x8 block, quantised, in zig-zag order."""
    rows = [[sum(_COS[u][x] * block[y * 8 + x] for x in range(8)) for u in range(8)]
            for y in range(8)]  # fmt: skip
    coef = [0.0] * 64
    for v in range(8):
        cv = _COS[v]
        for u in range(8):
            coef[v * 8 + u] = sum(cv[y] * rows[y][u] for y in range(8))
    table = _Q_CHROMA if chroma else _Q_LUMA
    return tuple(round(coef[i] / table[i]) for i in _ZIGZAG)


def _encode_block(w: _BitWriter, zz: Tuple[int, ...], prev_dc: int) -> int:
    size, bits = _magnitude(zz[0] - prev_dc)
    w.write(*_DC_CODES[size])
    if size:
        w.write(bits, size)
    run = 0
    for coef in zz[1:]:
        if coef == 0:
            run += 1
            continue
        while run > 15:
            w.write(*_AC_CODES[0xF0])  # ZRL: sixteen zeros
            run -= 16
        size, bits = _magnitude(coef)
        w.write(*_AC_CODES[(run << 4) | size])
        w.write(bits, size)
        run = 0
    if run:
        w.write(*_AC_CODES[0x00])  # EOB
    return zz[0]


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", marker, len(payload) + 2) + payload


def _dht(table_class: int, table_id: int, bits: Sequence[int], vals: Sequence[int]) -> bytes:
    return bytes([(table_class << 4) | table_id]) + bytes(bits) + bytes(vals)


def encode_jpeg(pixels: Sequence[Sequence[Pixel]], comment: str = "", pad_to: int = 0) -> bytes:
    """Encode rows of RGB pixels as a baseline JFIF file, padded with COM segments to ``pad_to``."""
    height = len(pixels)
    width = len(pixels[0])
    planes: List[List[List[int]]] = [[], [], []]
    for row in pixels:
        ys, cbs, crs = [], [], []
        for r, g, b in row:
            ys.append(round(0.299 * r + 0.587 * g + 0.114 * b) - 128)
            cbs.append(round(-0.168736 * r - 0.331264 * g + 0.5 * b))
            crs.append(round(0.5 * r - 0.418688 * g - 0.081312 * b))
        planes[0].append(ys)
        planes[1].append(cbs)
        planes[2].append(crs)
    writer = _BitWriter()
    prev = [0, 0, 0]
    for by in range(0, height, 8):
        for bx in range(0, width, 8):
            for comp in range(3):
                plane = planes[comp]
                block = tuple(
                    plane[min(by + y, height - 1)][min(bx + x, width - 1)]
                    for y in range(8)
                    for x in range(8)
                )
                prev[comp] = _encode_block(writer, _quantised(block, comp > 0), prev[comp])
    scan = writer.flush()

    head = bytearray(b"\xff\xd8")
    head += _segment(0xFFE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    if comment:
        head += _segment(0xFFFE, comment.encode("ascii", "replace")[:60000])
    head += _segment(0xFFDB, b"\x00" + bytes(_Q_LUMA[i] for i in _ZIGZAG))
    head += _segment(0xFFDB, b"\x01" + bytes(_Q_CHROMA[i] for i in _ZIGZAG))
    sof = struct.pack(">BHHB", 8, height, width, 3)
    sof += bytes([1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1])
    head += _segment(0xFFC0, sof)
    head += _segment(0xFFC4, _dht(0, 0, _DC_BITS, _DC_VALS) + _dht(1, 0, _AC_BITS, _AC_VALS))
    head += _segment(0xFFDA, bytes([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]))
    tail = b"\xff\xd9"
    missing = pad_to - (len(head) + len(scan) + len(tail))
    padding = bytearray()
    while missing > 4:  # a COM segment costs 4 bytes of marker + length
        chunk = min(missing - 4, 65533)
        padding += _segment(0xFFFE, b"." * chunk)
        missing -= chunk + 4
    # COM segments must precede the scan: splice the padding in just before SOS.
    sos_at = head.rfind(b"\xff\xda")
    return bytes(head[:sos_at] + padding + head[sos_at:]) + scan + tail


def sample_picture(channel: int, width: int = 320, height: int = 180) -> List[List[Pixel]]:
    """A per-channel picture: a horizontal gradient of a channel hue, a darker lower band."""
    hue = (channel * 0.17) % 1.0
    row_top: List[Pixel] = []
    row_band: List[Pixel] = []
    for x in range(width):
        light = 0.25 + 0.5 * x / max(width - 1, 1)
        r, g, b = colorsys.hls_to_rgb(hue, light, 0.7)
        row_top.append((int(r * 255), int(g * 255), int(b * 255)))
        r, g, b = colorsys.hls_to_rgb(hue, light * 0.5, 0.4)
        row_band.append((int(r * 255), int(g * 255), int(b * 255)))
    band_from = (height * 2 // 3) // 8 * 8
    return [row_band if y >= band_from else row_top for y in range(height)]


@lru_cache(maxsize=64)
def channel_snapshot(channel: int, comment: str = "", pad_to: int = 0) -> bytes:
    """``encode_jpeg(sample_picture(channel), comment, pad_to)``, encoded once per process.

    The bytes depend on the arguments only, and encoding in pure Python takes a few tenths of
    a second: every emulator (a test suite starts hundreds) shares the result.
    """
    return encode_jpeg(sample_picture(channel), comment, pad_to)
