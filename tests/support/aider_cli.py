"""Running the real aider in a private tmux server against :mod:`support.openai_chat_stub`.

aider comes from PyPI (``aider-chat``, pinned by the ``tested`` list of
``breakroom/fleet/profiles/aider.yaml``) in a venv of its own, ``.agents/aider/`` (it pins
dozens of dependencies, which must not meet the project's); ``make aider`` / ``.ci/run``
install it.  Tests that need it skip with a clear reason when it is missing.  Each run gets
its own HOME whose ``~/.aider.conf.yml`` points aider at the stub (``openai/stub-model``
through ``OPENAI_API_BASE``) and turns off the update check, analytics and release notes;
the model-price cache is pre-filled so neither aider nor litellm reaches for the network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import yaml

from breakroom.fleet.panestate import newest_tested
from support.tmux_pane import start_in_tmux

ROOT = Path(__file__).resolve().parents[2]
PREFIX = ROOT / ".agents" / "aider"
API_KEY = "sk-breakroom-tests-" + "x" * 32
MODEL = "openai/stub-model"
VERSION = newest_tested("aider") or ""


def aider_binary() -> str | None:
    """The project-local ``aider`` of the pinned version, or None."""
    binary = PREFIX / "bin" / "aider"
    stamp = PREFIX / f".installed-{VERSION}"
    return str(binary) if stamp.exists() and os.access(binary, os.X_OK) else None


def missing_reason() -> str | None:
    """Why the real-aider tests cannot run here, or None when they can."""
    if aider_binary() is None:
        log = PREFIX / "install.log"
        failed = [line for line in log.read_text(errors="replace").splitlines() if line.strip()] \
            if log.exists() else []
        if failed:
            return f"aider-chat {VERSION} did not install here: {failed[-1].strip()} (see {log})"
        return (f"aider {VERSION} is not installed (run `make aider`: pip installs aider-chat into "
                ".agents/aider/, a venv of its own)")
    if shutil.which("tmux") is None:
        return "tmux is not installed"
    if shutil.which("git") is None:
        return "git is not installed (aider works in a git repository)"
    return None


def write_home(home: Path, workdir: Path) -> None:
    """An isolated HOME for an offline aider, and ``workdir`` as a fresh git repository."""
    caches = home / ".aider" / "caches"
    caches.mkdir(parents=True, exist_ok=True)
    (caches / "model_prices_and_context_window.json").write_text("{}")
    metadata = {MODEL: {"max_input_tokens": 128000, "max_output_tokens": 4096, "input_cost_per_token": 0,
                        "output_cost_per_token": 0, "litellm_provider": "openai", "mode": "chat"}}
    (home / ".aider.model.metadata.json").write_text(json.dumps(metadata))
    analytics = {"permanently_disable": True, "asked_opt_in": True}
    (home / ".aider" / "analytics.json").write_text(json.dumps(analytics))
    # the diff edit format: a fenced ``bash`` block in a reply is a shell command to offer
    conf = {"model": MODEL, "edit-format": "diff", "check-update": False, "show-release-notes": False,
            "show-model-warnings": False, "auto-commits": False, "gitignore": False,
            "model-metadata-file": str(home / ".aider.model.metadata.json")}
    (home / ".aider.conf.yml").write_text(yaml.safe_dump(conf))
    (home / ".gitconfig").write_text("[user]\n\tname = test\n\temail = test@example.invalid\n")
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", str(workdir)], check=True, env={**os.environ, "HOME": str(home)})


def aider_env(home: Path, stub_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        "HOME": str(home),
        "OPENAI_API_KEY": API_KEY,
        "OPENAI_API_BASE": stub_url,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",   # litellm's price map from its package, not the web
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
    }
    env.update(extra or {})
    return env


def start_aider(socket: str, session: str, workdir: Path, home: Path, stub_url: str, *,
                extra_env: dict[str, str] | None = None, width: int = 120, height: int = 40,
                 via_shell: bool = False) -> None:
    """Start ``aider`` as the pane's command (``exec``), or typed into a shell there
    (``via_shell``), in a detached tmux session."""
    binary = aider_binary()
    assert binary is not None, missing_reason()
    start_in_tmux(socket, session, workdir, [binary], aider_env(home, stub_url, extra_env),
                  path=[str(ROOT / ".venv" / "bin")], width=width, height=height, via_shell=via_shell)
