"""Headless Chromium (Debian's ``chromium``) for the report's tests and its docs screenshot:
a screenshot of a page and its DOM after load, each run with a fresh profile and nothing
that reaches the network on its own."""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import numpy as np

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MISSING = None if CHROMIUM else "chromium is not installed (apt-get install chromium)"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--disable-extensions", "--mute-audio"]


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        raise RuntimeError(MISSING)
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout, check=True)


def screenshot(url: str, out: Path, *, width: int = 1280, height: int = 2000,
               timeout: float = 60) -> Path:
    """A PNG of the page at ``width`` × ``height`` CSS pixels."""
    _run([f"--window-size={width},{height}", f"--screenshot={out}", url], timeout)
    return out


def dump_dom(url: str, *, timeout: float = 60) -> str:
    """The page's DOM once it loaded, as HTML (what the browser built, not the file)."""
    return _run(["--dump-dom", url], timeout).stdout


def png_size_and_colours(path: Path) -> tuple[int, int, int]:
    """(width, height, distinct colours) of an 8-bit RGB(A) PNG — enough to tell a drawn page
    from a blank one without an imaging library.  Colours are counted on the scanlines that
    decode on their own (filter None or Sub: Chromium's encoder picks Sub for many rows of
    text and drawing); the rest would need every row above them."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IHDR":
            header = data[pos + 8:pos + 8 + length]
        elif kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), f"unexpected PNG format (depth {depth}, colour {colour})"
    channels = 3 if colour == 2 else 4
    rows = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, 1 + width * channels)
    colours: set[bytes] = set()
    for row in rows:
        if row[0] not in (0, 1):
            continue
        pixels = row[1:].reshape(width, channels).astype(np.int64)
        if row[0] == 1:  # Sub: each byte adds the byte one pixel to its left
            pixels = np.cumsum(pixels, axis=0) % 256
        colours.update(map(bytes, pixels[:, :3].astype(np.uint8)))
    return width, height, len(colours)
