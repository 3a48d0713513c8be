"""Pin a Claude Code release as the newest the suite runs (``make claude-code-release``).

    .venv/bin/python tests/support/pin_claude_release.py 2.1.400

rewrites the ``tested:`` line of ``breakroom/fleet/profiles/claude-code.yaml`` to the oldest
pinned release and this one (the release in between drops out of the live suite; its
screens stay in the corpus), leaving the rest of the file — its comments — as it is, and
checks the profile still loads.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from breakroom.errors import BreakroomError
from breakroom.fleet.panestate import read_profile, release_key
from breakroom.paths import PROFILES_DIR

PROFILE = Path(PROFILES_DIR) / "claude-code.yaml"
TESTED = re.compile(r"^tested: \[[^\]]*\]$", re.M)


def pin(newest: str, profile: Path = PROFILE) -> list[str]:
    """Make ``newest`` the newest tested release of ``profile``; the pins as they are now."""
    if not re.fullmatch(r"\d+(\.\d+)+", newest):
        raise BreakroomError(f"{newest!r} is not a release like 2.1.400")
    oldest = min(read_profile(profile.parent, profile.stem).tested, key=release_key)
    if release_key(newest) <= release_key(oldest):
        raise BreakroomError(f"{newest} is not newer than the oldest supported release, {oldest}")
    text = profile.read_text(encoding="utf-8")
    if len(TESTED.findall(text)) != 1:
        raise BreakroomError(f"{profile}: expected one line `tested: [OLDEST, NEWEST]`")
    profile.write_text(TESTED.sub(f"tested: [{oldest}, {newest}]", text), encoding="utf-8")
    return read_profile(profile.parent, profile.stem).tested


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().split("\n\n")[1].strip())
        return 2
    try:
        print("claude-code tested:", ", ".join(pin(sys.argv[1])))
    except BreakroomError as exc:
        print(f"pin_claude_release: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
