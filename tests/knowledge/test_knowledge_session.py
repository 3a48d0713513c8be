"""The session:NAME backend: questions relayed to a role agent in a real tmux session.

Real ngircd, real tmux on a private socket, a simulated agent whose reaction answers with
the real `breakroom say` console script from inside its pane.
"""

from __future__ import annotations

import os

import libtmux
import pytest
import yaml

from support.cli import BREAKROOM

ORACLE = {  # answers every relayed question through `breakroom say knowledge "[id] …"`
    "reactions": [{
        "on": r"^\[breakroom #\d+\] knowledge: (?P<asker>\S+) asks: .*\"\[(?P<rid>k[0-9a-f]{4})\]",
        "do": [{"run": BREAKROOM + " say knowledge '[{rid}] the oracle says cohorts pay a flat fee'"}],
    }],
}
SILENT = {"default": [{"say": "Noted."}]}
DOCS = {f"doc{i}.md": f"# Topic {i}\n\n## Facts\n\nFact number {i} about {word}.\n"
        for i, word in enumerate(["pricing workshops cohorts", "deploys", "rollbacks", "invoices",
                                  "backups", "hiring", "support", "meetings", "releases",
                                  "security", "onboarding", "holidays"])}


@pytest.fixture
def role_session(tmp_path, tmux_socket):
    tmux = libtmux.Server(socket_name=tmux_socket)
    env = {"BREAKROOM_CONFIG": str(tmp_path / "breakroom.yaml"), "HOME": os.environ["HOME"]}
    kb = tmp_path / "kb"
    kb.mkdir()
    for name, text in DOCS.items():
        (kb / name).write_text(text)

    def start(script: dict) -> None:
        path = tmp_path / "oracle.yaml"
        path.write_text(yaml.safe_dump(script))
        tmux.new_session(session_name="oracle", x=200, y=40, start_directory=str(tmp_path),
                         environment=env, window_command=f"{BREAKROOM} sim-agent --script {path}")
    return start, kb


def config(tmux_socket: str, kb, timeout: float) -> dict:
    return {"tmux": {"socket_name": tmux_socket, "poll_interval": 0.3},
            "sessions": {"oracle": {"agent": "sim", "role": "knowledge"}},
            "delivery": {"enter_delay": 0.1},
            "knowledge": {"backend": "session:oracle", "timeout": timeout, "corpus": [str(kb)],
                          "min_confidence": 0.0}}


def wait_idle(app) -> None:
    app.wait_until(lambda: [s.state for s in app.app.sessions.status()] == ["idle"], 15, "idle")


def test_question_is_answered_by_the_role_session(ircd, irc_client, running_app, role_session,
                                                  tmux_socket):
    start, kb = role_session
    start(ORACLE)
    alice = irc_client(ircd, "alice")
    app = running_app(ircd, services=("knowledge",), **config(tmux_socket, kb, 20))
    wait_idle(app)
    alice.say(ircd.channel, "knowledge: [qz01] how do we price workshops for cohorts?")
    line = alice.wait_for(r":knowledge!\S+ PRIVMSG #\S+ :alice: \[qz01\] \(confidence \d\.\d\d\) ",
                          timeout=30)
    assert "the oracle says cohorts pay a flat fee — sources: session:oracle" in line


def test_a_silent_role_session_falls_back_to_offline(ircd, irc_client, running_app, role_session,
                                                     tmux_socket):
    start, kb = role_session
    start(SILENT)
    alice = irc_client(ircd, "alice")
    app = running_app(ircd, services=("knowledge",), **config(tmux_socket, kb, 3))
    wait_idle(app)
    alice.say(ircd.channel, "knowledge: [qz02] how do we price workshops for cohorts?")
    line = alice.wait_for(r":knowledge!\S+ PRIVMSG #\S+ :alice: \[qz02\] ", timeout=30)
    assert "doc0.md#Facts" in line
    assert "(session oracle unavailable (no reply in time); offline answer)" in line
