"""The real ``breakroom`` console script of this checkout's virtualenv."""

from __future__ import annotations

import sys
from pathlib import Path

BREAKROOM = str(Path(sys.executable).parent / "breakroom")
