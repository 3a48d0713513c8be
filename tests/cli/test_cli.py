"""The CLI's shape: every command is reachable, and loading it stays lazy."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import breakroom.cli
from breakroom.cli.base import COMMAND_MODULES, cli
from breakroom.entry import main


def test_command_map_matches_the_modules() -> None:
    for module in pkgutil.iter_modules(breakroom.cli.__path__):
        if module.name != "base":
            importlib.import_module(f"breakroom.cli.{module.name}")
    defined = {name: cmd.callback.__module__.rsplit(".", 1)[-1] for name, cmd in cli.commands.items()}
    assert defined == COMMAND_MODULES


def test_a_command_loads_only_its_own_module() -> None:
    probe = ("import sys; from breakroom.cli import main; sys.argv = ['breakroom', 'say', '--help'];\n"
             "try: main()\nexcept SystemExit: pass\n"
             "print(sorted(m for m in sys.modules if m.startswith(('breakroom.cli.', 'irc3', 'libtmux'))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30).stdout
    loaded = out.strip().splitlines()[-1]
    assert "breakroom.cli.session_cmds" in loaded
    for heavy in ("breakroom.cli.demo_cmds", "breakroom.cli.knowledge_cmds", "'irc3'", "'libtmux'"):
        assert heavy not in loaded


def test_every_command_has_help(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Through the console script's own entry point, in this process: the same routing and
    lazy loading as ``breakroom NAME --help``, without a second of start-up per command."""
    for name in COMMAND_MODULES:
        monkeypatch.setattr(sys, "argv", ["breakroom", name, "--help"])
        try:
            main()
        except SystemExit as exited:
            assert exited.code in (0, None), name
        assert "Usage: breakroom" in capsys.readouterr().out, name


def test_unknown_command_is_one_line(cli) -> None:
    result = cli("frobnicate")
    assert result.returncode == 2 and "No such command 'frobnicate'" in result.stderr
    assert "Traceback" not in result.stderr


def test_read_shows_a_knowledge_answer_in_full(cli, tmp_path) -> None:
    from breakroom.knowledge import engine as knowledge
    from breakroom.record.db import open_db
    (tmp_path / "breakroom.yaml").write_text("data_dir: data\n")
    db = open_db(tmp_path / "data" / "breakroom.db")
    answer = knowledge.record(db, knowledge.Answer(
        question="how do we price the workshop?", text="By cohort. " * 60, confidence=0.82,
        sources=["posts/pricing.md#Cohorts"], backend="offline", asker="alice"))
    shown = cli("read", f"k{answer.id}")
    assert shown.returncode == 0, shown.stderr
    assert "By cohort. " * 60 in shown.stdout.replace("\n", " ") + " "
    assert "confidence: 0.82" in shown.stdout and "posts/pricing.md#Cohorts" in shown.stdout
    assert cli("read", "k999").stderr.strip() == "Error: no knowledge answer k999"
    bad = cli("read", "nope")
    assert bad.returncode == 2 and "is not a message id (42) or an answer id (k42)" in bad.stderr
