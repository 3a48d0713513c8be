"""Logging for up/ircd/demo: plain timestamped lines or rich, plus a private rotating file."""

from __future__ import annotations

import io
import logging
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from breakroom.logs import LOG_FILE, setup_logging


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:], root.level = handlers, level
    logging.captureWarnings(False)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_plain_lines_off_a_terminal_and_a_private_file(tmp_path: Path) -> None:
    out = io.StringIO()
    path = setup_logging(tmp_path / "data", "info", stream=out)
    log = logging.getLogger("breakroom.test")
    log.debug("not shown")
    log.info("hello %s", "there")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} INFO breakroom\.test: hello there\n",
                        out.getvalue())
    assert path == tmp_path / "data" / LOG_FILE and _mode(path) == 0o600
    assert path.read_text().endswith("INFO breakroom.test: hello there\n")


def test_configured_once_even_when_called_twice(tmp_path: Path) -> None:
    first, second = io.StringIO(), io.StringIO()
    setup_logging(tmp_path, "info", stream=first)
    setup_logging(tmp_path, "warning", stream=second)
    log = logging.getLogger("breakroom.test")
    log.info("to the file only")
    log.warning("careful")
    assert first.getvalue() == ""
    assert second.getvalue().count("careful") == 1 and "file only" not in second.getvalue()
    text = (tmp_path / LOG_FILE).read_text()
    assert text.count("careful") == 1 and "to the file only" in text  # the file keeps info


def test_rich_on_a_terminal(tmp_path: Path) -> None:
    term = Terminal()
    setup_logging(tmp_path, "info", stream=term)
    logging.getLogger("breakroom.test").warning("shown by rich")
    assert "shown by rich" in term.getvalue() and "WARNING" in term.getvalue()
    assert not re.search(r"\d{4}-\d\d-\d\dT", term.getvalue())  # rich's own time column


def test_rotated_files_stay_private(tmp_path: Path) -> None:
    setup_logging(tmp_path, "info", stream=io.StringIO(), max_bytes=2000)
    for i in range(100):
        logging.getLogger("breakroom.test").info("line %d %s", i, "x" * 40)
    files = sorted(tmp_path.glob(LOG_FILE + "*"))
    assert len(files) >= 2 and all(_mode(f) == 0o600 for f in files)


def test_warnings_are_logged_with_time_and_origin(tmp_path: Path) -> None:
    import warnings
    out = io.StringIO()
    setup_logging(tmp_path, "info", stream=out)
    warnings.warn("old API", DeprecationWarning, stacklevel=1)
    assert re.search(r"WARNING py\.warnings: .*DeprecationWarning: old API", out.getvalue())


def test_bad_level_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="log level must be one of debug, info, warning, error"):
        setup_logging(tmp_path, "loud")
