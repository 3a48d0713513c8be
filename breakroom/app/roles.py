"""What one ``breakroom up`` runs: the whole breakroom (``all``), or its share of a
multi-host fleet — the ``hub`` (ircd, service bots, the record) or a ``host`` (the session
bots and control socket of this machine's tmux, connected to the hub's ircd)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from breakroom.config import Config
from breakroom.errors import ConfigError

ROLES = ("all", "hub", "host")


@dataclass(frozen=True)
class Role:
    name: str
    service_bots: bool   # knowledge, sweep, dispatcher, scribe
    sessions: bool       # a bot per local tmux session, and delivery into their panes
    reports: bool        # those sessions are reported to the hub's sweep (breakroom.fleet.remote)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def role_for(cfg: Config, name: str) -> Role:
    """The role, after checking the config can play it (a clear error otherwise).

    A host reaches the hub's ircd as ``external``; off loopback only over TLS with the
    certificate verified, since the channel key and every agent's words cross the network."""
    if name not in ROLES:
        raise ConfigError(f"--role: expected one of {', '.join(ROLES)}, got {name!r}")
    if name == "host":
        if cfg.ircd.mode != "external":
            raise ConfigError("--role host connects to the hub's ircd: set ircd.mode: external "
                              "and ircd.host/port/password to the hub's")
        if not _loopback(cfg.ircd.host) and not (cfg.ircd.tls and cfg.ircd.tls_verify):
            raise ConfigError(f"--role host: the hub {cfg.ircd.host} is not on loopback, so "
                              "ircd.tls: true and ircd.tls_verify: true are required")
        if not cfg.host_name:
            raise ConfigError("--role host: set host_name (e.g. laptop) so this machine's "
                              "session nicks cannot collide with another host's")
    return Role(name, service_bots=name != "host", sessions=name != "hub", reports=name == "host")
