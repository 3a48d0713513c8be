"""How long the sanitizer + scrubber take on hostile input built to make regexes backtrack.

Every way out (relay, record, pane, peek, log) runs this on untrusted text, on the loop:
a quadratic pattern would let one pasted line stall the breakroom.  Prints seconds per input.

    python bench/scrub_hostile.py [--quick]
"""

from __future__ import annotations

import sys
import time

from breakroom.sanitize import sanitize

SIZE = 40_000   # characters; a pane capture is ~12k, a control request at most 1 MB


def inputs(size: int) -> dict[str, str]:
    return {
        "a_ runs": "a_" * (size // 2),
        "a- runs then =": "a-" * (size // 2) + "=",
        "eyJ- (JWT starts)": "eyJ-" * (size // 4),
        "eyJ_ (JWT starts)": "eyJ_" * (size // 4),
        "a:// (URL starts)": "a://" * (size // 4),
        "SG. (SendGrid starts)": "SG." * (size // 3),
        "x= assignments": "x=" * (size // 2),
        "note: chains": "note: " * (size // 6),
        "ESC [ openings": "\x1b[" * (size // 2),
        "PEM openings": "-----BEGIN RSA PRIVATE KEY-----" * (size // 31),
        "plain prose": "the build is green again, thanks " * (size // 33),
    }


def main() -> None:
    size = SIZE // 4 if "--quick" in sys.argv else SIZE
    print(f"sanitize() on {size:,}-character hostile inputs")
    for name, text in inputs(size).items():
        started = time.perf_counter()
        sanitize(text)
        print(f"  {name:<24} {time.perf_counter() - started:7.3f} s")


if __name__ == "__main__":
    main()
