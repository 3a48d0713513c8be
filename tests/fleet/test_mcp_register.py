"""Registering `breakroom mcp` in Claude Code's ~/.claude.json: merged, idempotent, and a broken
file is one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from breakroom.errors import BreakroomError
from breakroom.fleet import mcp_register


def test_register_claude_merges_into_claude_json(tmp_path: Path) -> None:
    state = tmp_path / ".claude.json"
    state.write_text(json.dumps({"theme": "dark", "projects": {"/other": {"x": 1}}}))
    entry = mcp_register.server_entry("/abs/breakroom.yaml")
    assert entry["command"].startswith("/")
    assert entry["args"][-3:] == ["--config", "/abs/breakroom.yaml", "mcp"]
    assert mcp_register.register_claude(tmp_path / "proj", entry, tmp_path)
    assert not mcp_register.register_claude(tmp_path / "proj", entry, tmp_path)  # already there
    saved = json.loads(state.read_text())
    assert saved["theme"] == "dark" and saved["projects"]["/other"] == {"x": 1}
    assert mcp_register.registered(tmp_path / "proj", tmp_path) == entry
    state.write_text("{broken")
    with pytest.raises(BreakroomError, match="cannot read it as JSON"):
        mcp_register.register_claude(tmp_path / "proj", entry, tmp_path)
