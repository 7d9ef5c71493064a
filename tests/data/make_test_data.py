#!/usr/bin/env python3
"""Regenerates tests/data/bad/* and tests/data/input/formats/*.

Needs: pip install pillow numpy tifffile. Deterministic; run from anywhere:
    python3 tests/data/make_test_data.py
Every image is 32 x 24 with a left-to-right ramp so tests can check orientation.
"""
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

HERE = Path(__file__).resolve().parent
BAD = HERE / "bad"
FMT = HERE / "input" / "formats"
W, H = 32, 24


def ramp(lo, hi):
    """H x W float ramp from lo (left) to hi (right) with a small row pattern."""
    x = np.linspace(lo, hi, W)[None, :]
    y = (np.arange(H)[:, None] % 4) * (hi - lo) / 200.0
    return np.clip(x + y, min(lo, hi), max(lo, hi))


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png_with_header(width, height, idat_raw):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(idat_raw)) + chunk(b"IEND", b""))


def good_formats():
    FMT.mkdir(parents=True, exist_ok=True)
    g8 = ramp(0, 255).round().astype(np.uint8)
    Image.fromarray(g8, mode="L").save(FMT / "gray8.png")
    rgb = np.stack([ramp(255, 0), ramp(0, 255), np.full((H, W), 128.0)], axis=-1)
    rgb8 = rgb.round().astype(np.uint8)
    Image.fromarray(rgb8, mode="RGB").save(FMT / "rgb.jpg", quality=90)
    Image.fromarray(g8[:, :, None].repeat(3, axis=2), mode="RGB").save(FMT / "gray_as_rgb24.bmp")
    # 12-bit camera data stored in 16 bits: values 200..4000.
    g16 = ramp(200, 4000).round().astype(np.uint16)
    tifffile.imwrite(FMT / "gray16.tif", g16)
    rgb16 = (rgb * 257).round().astype(np.uint16)
    tifffile.imwrite(FMT / "rgb16.tif", rgb16, photometric="rgb")
    # 3 pages, 16-bit: page 0 is a rising ramp, pages 1 and 2 falling ramps.
    pages = np.stack([g16, g16[:, ::-1], g16[:, ::-1]])
    tifffile.imwrite(FMT / "multipage16.tif", pages, photometric="minisblack")


def bad_files():
    BAD.mkdir(parents=True, exist_ok=True)
    (BAD / "empty.png").write_bytes(b"")
    buf = io.BytesIO()
    Image.fromarray(ramp(0, 255).round().astype(np.uint8), mode="L").save(buf, "PNG")
    png = buf.getvalue()
    (BAD / "truncated.png").write_bytes(png[: len(png) // 2])
    buf = io.BytesIO()
    tifffile.imwrite(buf, ramp(200, 4000).round().astype(np.uint16))
    tif = buf.getvalue()
    (BAD / "truncated.tif").write_bytes(tif[: len(tif) // 2])
    buf = io.BytesIO()
    Image.fromarray(ramp(0, 255).round().astype(np.uint8), mode="L").save(buf, "JPEG")
    jpg = bytearray(buf.getvalue())
    # Corrupt the frame header: SOF0 with 0 components is invalid.
    sof = jpg.index(b"\xff\xc0")
    jpg[sof + 9] = 0
    (BAD / "corrupt.jpg").write_bytes(bytes(jpg))
    (BAD / "zero_size.png").write_bytes(png_with_header(0, 0, b""))
    (BAD / "huge_header.png").write_bytes(png_with_header(100_000, 100_000, b"\x00" * 100_001))
    (BAD / "not_an_image.png").write_text("This is a text file, not a PNG image.\n")


if __name__ == "__main__":
    good_formats()
    bad_files()
