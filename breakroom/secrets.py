"""Secrets the breakroom generates on first run and reuses: server password, channel key,
operator password.  Stored one per file, mode 0600, in the data dir."""

from __future__ import annotations

import os
import secrets as _random
import string
from pathlib import Path

from breakroom.config import Config
from breakroom.private import private_dir
from breakroom.sanitize import remember_secret

SECRETS_DIR = "secrets"
# Letters and digits only: a secret that starts with "-" reads as an option on command
# lines (miniircd's --password, irssi's -w), and some clients mangle other punctuation.
ALPHABET = string.ascii_letters + string.digits


def _stored(data_dir: Path, name: str) -> str:
    folder = data_dir / SECRETS_DIR
    path = folder / name
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    private_dir(folder)
    value = "".join(_random.choice(ALPHABET) for _ in range(20))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    return value


def fill_secrets(cfg: Config) -> Config:
    """Replace null secrets in ``cfg`` with generated ones (persisted, so every run agrees).

    External servers are left alone: their password is whatever the server wants."""
    data = cfg.data_path
    if cfg.ircd.password is None and cfg.ircd.mode != "external":
        cfg.ircd.password = _stored(data, "ircd-password")
    if cfg.channel_key is None and cfg.ircd.mode != "external":
        cfg.channel_key = _stored(data, "channel-key")
    if cfg.ircd.oper_password is None:
        cfg.ircd.oper_password = _stored(data, "oper-password")
    for secret in (cfg.ircd.password, cfg.channel_key, cfg.ircd.oper_password):
        remember_secret(secret)  # hidden from everything scrubbed from now on
    return cfg
