"""The page for a window, built from the record and written where it was asked for: what
``breakroom report``, the live page and the morning line share."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from breakroom.config import Config
from breakroom.report.gather import DayReport, build
from breakroom.report.render import render
from breakroom.report.window import Window

if TYPE_CHECKING:
    import sqlite_utils

FILE_NAME = "report.html"  # in the data dir, when no other place is asked for


def default_path(config: Config) -> Path:
    return config.data_path / FILE_NAME


def build_page(db: sqlite_utils.Database, config: Config, window: Window, *,
               refresh: float | None = None) -> tuple[DayReport, str]:
    report = build(db, config, window)
    return report, render(report, refresh=refresh)


def write_page(path: Path, html: str) -> Path:
    """Write the page readable by its owner only: it holds the fleet's conversations."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(html)
    os.replace(tmp, path)
    return path
