"""``breakroom.yaml``: typed config with a default for every key, validated on load.

Every error names the file, line and dotted key and what was expected, e.g.
``breakroom.yaml:12: ircd.port: expected an integer 1-65535, got "abc"``.  Unknown keys are
errors too: a typo that silently does nothing is worse than a refusal.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PrivateAttr

from breakroom.errors import ConfigError
from breakroom.paths import DEFAULT_DATA_DIR, find_config_file, resolve_data_dir
from breakroom.sanitize import REDACTED
from breakroom.yamlfile import FileModel, Regex, Text, Texts, expect, load_model, validate

Seconds = Annotated[float, expect(float, "a positive number of seconds", lambda v: v > 0)]
Fraction = Annotated[float, expect(float, "a number between 0 and 1", lambda v: 0 <= v <= 1)]
Dollars = Annotated[float, expect(float, "an amount in US dollars (0 or more)", lambda v: v >= 0)]


_SERVER_NAME = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
ServerName = Annotated[str, expect(str, "a server name with a dot, like hub.breakroom",
                                   lambda v: bool(_SERVER_NAME.fullmatch(v)))]
Port = Annotated[int, expect(int, "an integer 1-65535", lambda v: 1 <= v <= 65535)]


class LinkConfig(FileModel):
    """Another ngircd this one links with (a ``[Server]`` block): the channel spans both."""

    name: ServerName        # the peer's ircd.server_name
    host: Text = "127.0.0.1"  # where the peer is
    port: Port = 6667       # the peer's port (dialled when ``dial``)
    # the link's shared secret: both sides set the same one
    password: Annotated[str, expect(str, "one word, not starting with ':'",
                                    lambda v: bool(re.fullmatch(r"[^\s:][^\s]*", v)))]
    dial: bool = False      # this side connects out; the other side waits (dial: false)

class IrcdConfig(FileModel):
    mode: Annotated[str, expect(str, "one of auto, ngircd, miniircd, external",
                                lambda v: v in ("auto", "ngircd", "miniircd", "external"))] = "auto"
    host: Text = "127.0.0.1"
    port: Port = 6667
    # None: generated on first run, stored 0600 in data_dir; IRC sends it as one word (PASS)
    password: Annotated[str, expect(str, "one word without spaces",
                                    lambda v: bool(re.fullmatch(r"\S+", v)))] | None = None
    tls: bool = False
    tls_verify: bool = True
    oper_name: Text = "breakroom"
    oper_password: Text | None = None  # None: generated like the password
    max_restarts: int = 5  # failed restarts in a row after the ircd dies before `up` gives up
    server_name: ServerName = "breakroom.local"  # this ngircd's name on a network of linked servers
    links: list[LinkConfig] = Field(default_factory=list)


class TmuxConfig(FileModel):
    socket_name: Text | None = None
    include: Texts = Field(default_factory=lambda: ["*"])
    exclude: Texts = Field(default_factory=list)
    poll_interval: float = 2.0  # seconds between discovery / state polls

    def watches(self, session: str) -> bool:
        """Whether ``session`` is part of the fleet: matches an include glob, no exclude glob."""
        return (any(fnmatch.fnmatchcase(session, g) for g in self.include)
                and not any(fnmatch.fnmatchcase(session, g) for g in self.exclude))


DELIVER_MODES = ("agent", "any")


class SessionConfig(FileModel):
    agent: Text | None = None  # claude-code | codex | aider | gemini | shell | sim; None: detect
    project: Text | None = None
    role: Text | None = None
    # agent: type only while the pane's foreground program is an agent a profile knows
    # (never a shell's prompt); any: also into shells and unknown programs (opt-in)
    deliver: Annotated[str, expect(str, "one of agent, any", lambda v: v in DELIVER_MODES)] = "agent"
    budget: Dollars | None = None  # estimated spend a day over which the dispatcher stops nudging it


class DeliveryConfig(FileModel):
    # longer text is delivered as a pointer to `breakroom read ID`
    max_chars: Annotated[int, expect(int, "an integer of at least 20", lambda v: v >= 20)] = 400
    template: Text = '[breakroom #{id}] {sender}: {text} (reply: breakroom say {sender} "…")'
    pointer_template: Text = "[breakroom #{id}] {sender} sent a long message: breakroom read {id}"
    enter_delay: float = 0.3
    enter_retries: int = 3
    rate_limit_per_minute: int = 20  # per sender
    hop_limit: int = 4
    max_queued_per_sender: int = 20  # waiting messages one sender may have in one session's inbox
    max_queued_per_session: int = 100  # waiting messages a session's inbox holds in all


class KnowledgeConfig(FileModel):
    corpus: Texts = Field(default_factory=lambda: ["corpus"])
    backend: Annotated[str, expect(str, "one of auto, offline, claude, session:NAME",
                                   lambda v: v in ("auto", "offline", "claude")
                                   or bool(re.fullmatch(r"session:\S+", v)))] = "auto"
    min_coverage: Fraction = 0.7  # "I don't know" below this chance that the corpus covers it
    min_confidence: Fraction = 0.1  # …or below this chance that the best answer is right
    model: Text = "claude-sonnet-4-6"
    max_lines: int = 3
    timeout: float = 30.0
    rate_limit_per_minute: int = 10


class SweepConfig(FileModel):
    interval: Seconds = 300
    answer_min_confidence: Fraction = 0.7
    keep_days: int = 14
    policy: Text | None = None  # YAML file allowing named low-risk permission prompts
    stall_minutes: float = 30
    permission_flag_minutes: float = 10
    idle_with_work_minutes: float = 30


class DispatcherConfig(FileModel):
    interval: Seconds = 600
    checkin_interval: float = 1800
    cooldown: float = 900
    scout_interval: float = 3600


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class WebConfig(FileModel):
    """The live page ``breakroom up`` serves (docs/report.md)."""

    # null: no page; 0: a free port the system picks (``breakroom info`` prints the address)
    port: Annotated[int, expect(int, "an integer 0-65535 (0: any free port), or null for no page",
                                lambda v: 0 <= v <= 65535)] | None = 6680
    # the page has no login: off loopback, anyone who reaches the address reads the fleet
    host: Annotated[str, expect(str, "an IP address, like 127.0.0.1", _is_ip)] = "127.0.0.1"
    refresh: Seconds = 60  # the live page reloads itself this often


_TIME_OF_DAY = re.compile(r"([01]?\d|2[0-3]):[0-5]\d")


def _time_of_day(value: Any) -> Any:
    """YAML 1.1 reads an unquoted ``9:30`` as the number 570 (base 60): take it as the time
    it was written as."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return f"{value // 60:02d}:{value % 60:02d}"
    return value


class ReportConfig(FileModel):
    """The morning line (docs/report.md)."""

    # local time of day the channel gets the day's summary; null: only on !report
    daily_at: Annotated[str, expect(str, 'a time of day like "08:30" (24-hour clock)',
                                    lambda v: bool(_TIME_OF_DAY.fullmatch(v))),
                        BeforeValidator(_time_of_day)] | None = "08:00"


class AgentsConfig(FileModel):
    """How the agents in the panes are read, and what happens when a reading goes stale."""

    # your own pane profiles (agent-name.yaml), looked up before the shipped ones
    profiles_dir: Text | None = None
    # where `breakroom screens save` writes (None: the checkout's screen corpus, else DATA_DIR/screens)
    screens_dir: Text | None = None
    # a pane of a known agent whose screen reads `unknown` this long: one NOTICE to ops (drift)
    unknown_after: Seconds = 120


class PermissionsConfig(FileModel):
    """Permission prompts relayed to IRC (``!allow ID`` / ``!deny ID``)."""

    relay: bool = True
    relay_timeout: Seconds = 300  # unanswered this long: left to the terminal, the channel told


class LimitsConfig(FileModel):
    """A session whose turn failed on a limit (rate, usage, credit, overload, auth) is held and
    resumed when the limit resets: at the reset time the error names, else after a backoff."""

    resume: bool = True         # false: hold and tell ops, but let a human resume it (!resume)
    backoff: Seconds = 60       # first wait when no reset time is known; doubles per attempt
    max_backoff: Seconds = 3600


class PriceConfig(FileModel):
    """One row of the price table: models whose name matches ``match`` (a regex searched in
    the model name) cost this much per million tokens, in US dollars."""

    match: Regex
    input: Dollars
    output: Dollars
    cache_write: Dollars | None = None      # a 5-minute cache write; None: 1.25 x input
    cache_write_1h: Dollars | None = None   # a 1-hour cache write; None: 2 x input
    cache_read: Dollars | None = None       # None: 0.1 x input


class SpendConfig(FileModel):
    # rows tried before the shipped table (breakroom/data/prices.yaml): your own prices
    prices: list[PriceConfig] = Field(default_factory=list)


class Config(FileModel):
    data_dir: Text = DEFAULT_DATA_DIR
    ircd: IrcdConfig = Field(default_factory=IrcdConfig)
    channel: Annotated[str, expect(str, "a channel name like #breakroom",
                                   lambda v: bool(re.fullmatch(r"[#&][^\s,\x07]{1,49}", v)))] = "#breakroom"
    # None: generated like the password; IRC sends it as one word (JOIN #chan KEY)
    channel_key: Annotated[str, expect(str, "one word without spaces or commas",
                                       lambda v: bool(re.fullmatch(r"[^\s,]+", v)))] | None = None
    tmux: TmuxConfig = Field(default_factory=TmuxConfig)
    sessions: dict[str, SessionConfig] = Field(default_factory=dict)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    knowledge: KnowledgeConfig = Field(default_factory=KnowledgeConfig)
    sweep: SweepConfig = Field(default_factory=SweepConfig)
    dispatcher: DispatcherConfig = Field(default_factory=DispatcherConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    agents: AgentsConfig = Field(default_factory=AgentsConfig)
    ops: Texts = Field(default_factory=list)
    permissions: PermissionsConfig = Field(default_factory=PermissionsConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    spend: SpendConfig = Field(default_factory=SpendConfig)
    budget: Dollars | None = None  # the fleet's estimated spend a day over which nothing is nudged
    # this machine in a multi-host fleet: session nicks end in -NAME
    host_name: Annotated[
        str, expect(str, "a short name of letters and digits (at most 12), like laptop",
                    lambda v: bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,11}", v)))] | None = None
    _source: str | None = PrivateAttr(default=None)

    @property
    def source(self) -> str | None:
        """The file this was loaded from, if any (not a config key)."""
        return self._source

    @source.setter
    def source(self, value: str | None) -> None:
        self._source = value

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser()

    def session(self, name: str) -> SessionConfig:
        return self.sessions.get(name) or SessionConfig()

    @property
    def ops_prefix(self) -> str:
        """How a line addresses the humans in charge: ``alice, bob:`` or ``ops:``."""
        return (", ".join(self.ops) or "ops") + ":"


def from_dict(raw: Any) -> Config:
    """Validate a parsed YAML mapping into a Config."""
    return validate(Config, {} if raw is None else raw, label="config", error=ConfigError)


def load(explicit: str | None = None) -> Config:
    """Load and validate the effective config (defaults when there is no file)."""
    path = find_config_file(explicit)
    if path is None:
        return Config()
    cfg = load_model(path, Config, label="config", error=ConfigError)
    cfg.source = str(path)
    cfg.data_dir = str(resolve_data_dir(cfg.data_dir, path))
    for key in ("profiles_dir", "screens_dir"):  # relative to the config file too
        value = getattr(cfg.agents, key)
        if value is not None:
            setattr(cfg.agents, key, str(resolve_data_dir(value, path)))
    return cfg


SECRET_KEYS = ("password", "channel_key", "oper_password")


def to_dict(cfg: Config, *, redact: bool = True) -> dict[str, Any]:
    """The effective config as plain data; secrets shown as ``[redacted]``."""
    def walk(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: REDACTED if redact and k in SECRET_KEYS and isinstance(v, str) else walk(v)
                    for k, v in obj.items()}
        if isinstance(obj, list):
            return [walk(v) for v in obj]
        return obj
    data: dict[str, Any] = walk(cfg.model_dump())
    return data
