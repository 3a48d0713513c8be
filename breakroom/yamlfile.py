"""Reading a YAML file the user wrote: its data, or one clear error naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from breakroom.errors import BreakroomError


def read_yaml(path: Path, *, label: str = "", error: type[BreakroomError] = BreakroomError) -> Any:
    """The file's data; ``error`` (prefixed by ``label``) when it cannot be read or parsed,
    with the line of a syntax error."""
    prefix = f"{label}: " if label else ""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise error(f"{prefix}{path}{where}: not valid YAML") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise error(f"{prefix}cannot read {path}: {reason}") from None
