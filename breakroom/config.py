"""``breakroom.yaml``: typed config with a default for every key, validated on load.

Every error names the dotted key and what was expected, e.g.
``ircd.port: expected an integer 1-65535, got "abc"``.  Unknown keys are errors too: a
typo that silently does nothing is worse than a refusal.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from breakroom.errors import ConfigError
from breakroom.sanitize import REDACTED
from breakroom.yamlfile import read_yaml

CONFIG_ENV = "BREAKROOM_CONFIG"
DEFAULT_CONFIG_FILE = "breakroom.yaml"


@dataclass
class LinkConfig:
    """Another ngircd this one links with (a ``[Server]`` block): the channel spans both."""

    name: str = ""           # the peer's ircd.server_name
    host: str = "127.0.0.1"  # where the peer is
    port: int = 6667         # the peer's port (dialled when ``dial``)
    password: str = ""       # the link's shared secret: both sides set the same one
    dial: bool = False       # this side connects out; the other side waits (dial: false)


@dataclass
class IrcdConfig:
    mode: str = "auto"  # auto | ngircd | miniircd | external
    host: str = "127.0.0.1"
    port: int = 6667
    password: str | None = None  # None: generated on first run, stored 0600 in data_dir
    tls: bool = False
    tls_verify: bool = True
    oper_name: str = "breakroom"
    oper_password: str | None = None  # None: generated like the password
    server_name: str = "breakroom.local"  # this ngircd's name on a network of linked servers
    links: list[LinkConfig] = field(default_factory=list)


@dataclass
class TmuxConfig:
    socket_name: str | None = None
    include: list[str] = field(default_factory=lambda: ["*"])
    exclude: list[str] = field(default_factory=list)
    poll_interval: float = 2.0  # seconds between discovery / state polls

    def watches(self, session: str) -> bool:
        """Whether ``session`` is part of the fleet: matches an include glob, no exclude glob."""
        return (any(fnmatch.fnmatchcase(session, g) for g in self.include)
                and not any(fnmatch.fnmatchcase(session, g) for g in self.exclude))


@dataclass
class SessionConfig:
    agent: str | None = None  # claude-code | codex | aider | gemini | shell | sim; None: detect
    project: str | None = None
    role: str | None = None


@dataclass
class DeliveryConfig:
    max_chars: int = 400  # longer text is delivered as a pointer to `breakroom read ID`
    template: str = '[breakroom #{id}] {sender}: {text} (reply: breakroom say {sender} "…")'
    pointer_template: str = "[breakroom #{id}] {sender} sent a long message: breakroom read {id}"
    enter_delay: float = 0.3
    enter_retries: int = 3
    rate_limit_per_minute: int = 20  # per sender
    hop_limit: int = 4


@dataclass
class KnowledgeConfig:
    corpus: list[str] = field(default_factory=lambda: ["corpus"])
    backend: str = "auto"  # auto | offline | claude | session:NAME
    min_confidence: float = 0.35
    model: str = "claude-sonnet-4-6"
    max_lines: int = 3
    timeout: float = 30.0
    rate_limit_per_minute: int = 10


@dataclass
class SweepConfig:
    interval: float = 300
    answer_min_confidence: float = 0.7
    keep_days: int = 14
    policy: str | None = None  # YAML file allowing named low-risk permission prompts
    stall_minutes: float = 30
    permission_flag_minutes: float = 10
    idle_with_work_minutes: float = 30


@dataclass
class DispatcherConfig:
    interval: float = 600
    checkin_interval: float = 1800
    cooldown: float = 900
    scout_interval: float = 3600


@dataclass
class Config:
    data_dir: str = ".breakroom"
    ircd: IrcdConfig = field(default_factory=IrcdConfig)
    channel: str = "#breakroom"
    channel_key: str | None = None
    tmux: TmuxConfig = field(default_factory=TmuxConfig)
    sessions: dict[str, SessionConfig] = field(default_factory=dict)
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    knowledge: KnowledgeConfig = field(default_factory=KnowledgeConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    dispatcher: DispatcherConfig = field(default_factory=DispatcherConfig)
    ops: list[str] = field(default_factory=list)
    host_name: str | None = None  # this machine in a multi-host fleet: session nicks end in -NAME
    source: str | None = None  # the file this was loaded from, if any (not a config key)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    def session(self, name: str) -> SessionConfig:
        return self.sessions.get(name) or SessionConfig()


# ---------------------------------------------------------------- validation

_SERVER_NAME = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")

_CHECKS: dict[str, tuple[typing.Callable[[Any], bool], str]] = {
    "ircd.mode": (lambda v: v in ("auto", "ngircd", "miniircd", "external"),
                  "one of auto, ngircd, miniircd, external"),
    "ircd.port": (lambda v: 1 <= v <= 65535, "an integer 1-65535"),
    "host_name": (lambda v: bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,11}", v)),
                  "a short name of letters and digits (at most 12), like laptop"),
    "ircd.server_name": (lambda v: bool(_SERVER_NAME.fullmatch(v)),
                         "a server name with a dot, like hub.breakroom"),
    "ircd.links.name": (lambda v: bool(_SERVER_NAME.fullmatch(v)),
                        "a server name with a dot, like hub.breakroom"),
    "ircd.links.port": (lambda v: 1 <= v <= 65535, "an integer 1-65535"),
    "ircd.links.password": (lambda v: bool(re.fullmatch(r"[^\s:][^\s]*", v)),
                            "one word, not starting with ':'"),
    "channel": (lambda v: bool(re.fullmatch(r"[#&][^\s,\x07]{1,49}", v)),
                "a channel name like #breakroom"),
    "knowledge.backend": (lambda v: v in ("auto", "offline", "claude") or
                          bool(re.fullmatch(r"session:\S+", v)),
                          "one of auto, offline, claude, session:NAME"),
    "knowledge.min_confidence": (lambda v: 0 <= v <= 1, "a number between 0 and 1"),
    "sweep.answer_min_confidence": (lambda v: 0 <= v <= 1, "a number between 0 and 1"),
    "sweep.interval": (lambda v: v > 0, "a positive number of seconds"),
    "dispatcher.interval": (lambda v: v > 0, "a positive number of seconds"),
    "delivery.max_chars": (lambda v: v >= 20, "an integer of at least 20"),
    # IRC sends these as one word (PASS, JOIN #chan KEY)
    "ircd.password": (lambda v: bool(re.fullmatch(r"\S+", v)), "one word without spaces"),
    "channel_key": (lambda v: bool(re.fullmatch(r"[^\s,]+", v)), "one word without spaces or commas"),
}

_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _fmt(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _convert(key: str, hint: Any, value: Any) -> Any:
    """Check ``value`` against the type ``hint`` and return it converted (or raise)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)][0]
        return _convert(key, inner, value)
    if dataclasses.is_dataclass(hint):
        if value is None:
            return hint()
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {_fmt(value)}")
        return _build(hint, value, key + ".")
    if origin is list:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {_fmt(value)}")
        return [_convert(f"{key}[{i}]", args[0], v) for i, v in enumerate(value)]
    if origin is dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {_fmt(value)}")
        return {str(k): _convert(f"{key}.{k}", args[1], v) for k, v in value.items()}
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {_fmt(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            limits = _CHECKS.get(key, (None, "an integer"))[1]
            raise ConfigError(f"{key}: expected {limits}, got {_fmt(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {_fmt(value)}")
        return float(value)
    if hint is str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # a numeric password or key is still a string
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {_fmt(value)}")
        return value
    return value


def _build(cls: type, raw: dict, prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.name != "source"}
    for k in raw:
        if k not in names:
            known = ", ".join(sorted(names))
            raise ConfigError(f"{prefix}{k}: unknown key (known keys here: {known})")
    kwargs = {}
    for k, v in raw.items():
        key = prefix + k
        kwargs[k] = _convert(key, hints[k], v)
        check = re.sub(r"\[\d+\]", "", key)  # ircd.links[0].port is checked as ircd.links.port
        if check in _CHECKS and kwargs[k] is not None:
            ok, expected = _CHECKS[check]
            if not ok(kwargs[k]):
                raise ConfigError(f"{key}: expected {expected}, got {_fmt(v)}")
    return cls(**kwargs)


def from_dict(raw: dict | None) -> Config:
    """Validate a parsed YAML mapping into a Config."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"config: expected a mapping at the top level, got {_fmt(raw)}")
    return _build(Config, raw)


def find_config_file(explicit: str | None = None) -> Path | None:
    """``--config``, then ``$BREAKROOM_CONFIG``, then ``./breakroom.yaml`` if it exists."""
    chosen = explicit or os.environ.get(CONFIG_ENV)
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise ConfigError(f"config: file not found: {path}")
        return path
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def load(explicit: str | None = None) -> Config:
    """Load and validate the effective config (defaults when there is no file)."""
    path = find_config_file(explicit)
    if path is None:
        return Config()
    cfg = from_dict(read_yaml(path, label="config", error=ConfigError))
    cfg.source = str(path)
    if not Path(cfg.data_dir).expanduser().is_absolute():
        # a relative data_dir is relative to the config file, so every CLI call agrees
        cfg.data_dir = str((path.parent / cfg.data_dir).resolve())
    return cfg


SECRET_KEYS = ("password", "channel_key", "oper_password")


def to_dict(cfg: Config, *, redact: bool = True) -> dict:
    """The effective config as plain data; secrets shown as ``[redacted]``."""
    def walk(obj: Any) -> Any:
        if dataclasses.is_dataclass(obj):
            out = {}
            for f in dataclasses.fields(obj):
                if f.name == "source":
                    continue
                v = getattr(obj, f.name)
                if redact and f.name in SECRET_KEYS and v is not None:
                    v = REDACTED
                out[f.name] = walk(v)
            return out
        if isinstance(obj, dict):
            return {k: walk(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [walk(v) for v in obj]
        return obj
    return walk(cfg)
