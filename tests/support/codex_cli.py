"""Running the real Codex CLI in a private tmux server against :mod:`support.codex_stub`.

The CLI comes from npm (``make venv`` / ``.ci/run`` install ``@openai/codex`` at the version the
codex profile's ``tested`` list pins, into ``.agents/codex/``); tests that need it skip with
a clear reason when it is missing.  Each run gets its own HOME and CODEX_HOME whose
``config.toml`` points Codex at the stub (a ``model_providers`` entry with ``base_url`` and an
``env_key``: no login), trusts the work folder, turns update checks and analytics off, and
keeps Codex's app-server in the TUI's own process (``features.daemon_auto_start = false``:
otherwise a daemon outlives the pane and serves every pane of that CODEX_HOME).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from breakroom.fleet.panestate import newest_tested
from support.claude_code import keys, wait_screen

ROOT = Path(__file__).resolve().parents[2]
INSTALL_DIR = ROOT / ".agents" / "codex"
API_KEY = "sk-stub-breakroomtests-" + "x" * 24
KEY_ENV = "BREAKROOM_STUB_OPENAI_KEY"
MODEL = "stub-model"


def tested_version() -> str:
    """The Codex release the build installs: the newest of the profile's ``tested`` list."""
    version = newest_tested("codex")
    assert version, "breakroom/fleet/profiles/codex.yaml: tested is empty"
    return version


def codex_binary() -> str | None:
    """The installed ``codex`` (project-local first), or None."""
    local = INSTALL_DIR / "node_modules" / ".bin" / "codex"
    if local.exists() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("codex")


def installed_version() -> str | None:
    """``0.171.0`` from ``codex --version`` (``codex-cli 0.171.0``), or None."""
    binary = codex_binary()
    if binary is None:
        return None
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30).stdout
    found = re.search(r"(\d+\.\d+\.\d+\S*)", out)
    return found.group(1) if found else None


def missing_reason() -> str | None:
    """Why the real-Codex tests cannot run here, or None when they can."""
    if codex_binary() is None:
        if shutil.which("npm") is None:
            return "npm is not installed, so Codex is not (run `make venv` after installing npm)"
        return "Codex is not installed (run `make venv`, which npm-installs it into .agents/codex/)"
    if shutil.which("tmux") is None:
        return "tmux is not installed"
    return None


def toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's for what paths and URLs hold)."""
    return json.dumps(text, ensure_ascii=False)


def write_home(home: Path, workdir: Path, stub_url: str, *, trusted: bool = True, top: str = "",
               extra: str = "") -> Path:
    """HOME with ``.codex/config.toml`` aimed at the stub; ``top`` is TOML put first (top-level
    keys), ``extra`` TOML appended (tables).  Returns CODEX_HOME."""
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    workdir.mkdir(parents=True, exist_ok=True)
    trust = f"\n[projects.{toml_string(str(workdir))}]\ntrust_level = \"trusted\"\n" if trusted else ""
    (codex_home / "config.toml").write_text(f"""{top}\
model = "{MODEL}"
model_provider = "stub"
approval_policy = "on-request"
sandbox_mode = "workspace-write"
check_for_update_on_startup = false

[model_providers.stub]
name = "Stub"
base_url = {toml_string(stub_url)}
env_key = "{KEY_ENV}"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[features]
daemon_auto_start = false

[analytics]
enabled = false
{trust}{extra}""", encoding="utf-8")
    return codex_home


def codex_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        "HOME": str(home),
        "CODEX_HOME": str(home / ".codex"),
        KEY_ENV: API_KEY,
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
    }
    env.update(extra or {})
    return env


def start_codex(socket: str, session: str, workdir: Path, home: Path, *, args: tuple[str, ...] = (),
                extra_env: dict[str, str] | None = None, from_shell: bool = False,
                width: int = 120, height: int = 40) -> None:
    """Start ``codex`` in a detached tmux session: as the pane's command (``exec``), or with
    ``from_shell`` typed at an interactive bash prompt, the way a user starts it (the pane
    then falls back to that shell when Codex exits)."""
    binary = codex_binary()
    assert binary is not None, missing_reason()
    env = codex_env(home, extra_env)
    path = os.pathsep.join([str(Path(binary).parent), str(ROOT / ".venv" / "bin"),
                            os.environ.get("PATH", "")])
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in {**env, "PATH": path}.items())
    words = " ".join(shlex.quote(a) for a in ("codex", *args))
    program = "bash --norc --noprofile -i" if from_shell else words
    command = f"cd {shlex.quote(str(workdir))} && exec env PS1='$ ' {exports} {program}"
    subprocess.run(["tmux", "-L", socket, "new-session", "-d", "-s", session, "-x", str(width),
                    "-y", str(height), command], check=True)
    if from_shell:
        target = f"={session}:"
        subprocess.run(["tmux", "-L", socket, "send-keys", "-t", target, "-l", words], check=True)
        subprocess.run(["tmux", "-L", socket, "send-keys", "-t", target, "Enter"], check=True)


def composer(screen: str) -> str:
    """The last ``›`` line: Codex's input line (the ones above it echo earlier prompts)."""
    lines = [line for line in screen.splitlines() if line.startswith("› ")]
    return lines[-1] if lines else ""


def type_line(socket: str, session: str, text: str) -> None:
    """Type as a human would, then press Enter until the composer no longer holds the text:
    Codex takes an Enter that follows fast typing as part of a paste, and a slash command's
    first Enter may only pick it from the menu."""
    keys(socket, session, text, literal=True)
    wait_screen(socket, session, lambda x: text[-20:] in x.replace("\n  ", " "))
    for _ in range(6):
        time.sleep(0.5)
        keys(socket, session, "Enter")
        try:
            wait_screen(socket, session, lambda x: text[:20] not in composer(x) or "Would you like" in x, 2)
            return
        except AssertionError:
            continue
    raise AssertionError(f"Codex never took {text!r}")
