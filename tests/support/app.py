"""A running breakroom in a background thread, configured to reach a test's ircd."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

from breakroom.app.background import BackgroundBreakroom
from breakroom.config import Config, from_dict
from support.irc import IrcServer, RawClient

# The running breakroom of a test (a name the tests already use for it).
AppThread = BackgroundBreakroom


def app_config(srv: IrcServer, tmp_path: Path, **overrides: Any) -> Config:
    """A config that reaches ``srv`` with a fresh data dir; ``overrides`` are YAML-shaped."""
    raw: dict[str, Any] = {"data_dir": str(tmp_path / "data"),
                           "ircd": {"mode": "external", "host": srv.host, "port": srv.port,
                                    "password": srv.password},
                           "channel": srv.channel, "channel_key": srv.key,
                           "web": {"port": 0}}  # the fleet's page on a port of its own
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return from_dict(raw)


def flush_bot(thread: AppThread, key: str, client: RawClient, timeout: float = 10.0) -> None:
    """Wait until every line bot ``key`` has queued so far has reached ``client``: the bot sends
    it a marker by private message, after them (its outbox keeps one priority's order, and the
    ircd relays one sender's lines in order).  A test that proves a negative ("the sweep said
    nothing more") asserts it after this instead of after a fixed sleep."""
    marker = f"flush-{uuid.uuid4().hex[:8]}"
    app = thread.app
    thread.loop.call_soon_threadsafe(lambda: app.send(app.bots[key], client.nick, marker))
    client.wait_for(rf"PRIVMSG {re.escape(client.nick)} :{marker}$", timeout)


def next_poll(thread: AppThread, timeout: float = 10.0) -> Any:
    """The fleet snapshot of a poll that captured the panes after this call.  Polls take turns
    (capture, then fold), so the second fold after now is of a capture begun after now."""
    observer = thread.app.sessions.observer

    def folded_after(moment: float) -> Any:
        return thread.wait_until(lambda: observer.snapshot if observer.snapshot.at > moment else None,
                                 timeout, "the next fleet poll")
    return folded_after(folded_after(time.time()).at)


def write_config(path: Path, cfg: Config) -> Path:
    """Persist ``cfg`` (secrets included) so CLI subprocesses see the same breakroom."""
    from breakroom.config import to_dict
    path.write_text(yaml.safe_dump(to_dict(cfg, redact=False), sort_keys=False))
    return path
