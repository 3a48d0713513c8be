"""Spend: tokens and estimated cost per session and per day, from the agents' own transcripts,
and the daily budgets the dispatcher enforces.

Claude Code writes every model response into its session's transcript (JSONL, one object a
line; the path arrives with every hook), with the API's ``usage``: input, output, cache-write
and cache-read tokens.  A response streamed in several content blocks is written several
times under one ``message.id``: a message counts once, with the largest figures seen.

Reading is incremental (:func:`read_transcript`): each transcript's offset is kept
(``spend_transcripts``), only new complete lines are read, and a file that shrank or was
replaced (another inode, or other first bytes) is read again from its start (messages are
keyed by id, so nothing counts twice).
A transcript is untrusted input and reading it is bounded: a regular file named ``*.jsonl``
only (a FIFO or a device is never read), at most :data:`READ_BUDGET` bytes a read, numbers
capped, and a transcript already counted for one session is never counted for another.

Prices (:class:`PriceTable`): ``breakroom/data/prices.yaml`` — estimates per model family,
US dollars per million tokens — after the config's own ``spend.prices`` rows.  Costs are
worked out when asked, so a price change applies to what was already counted.  Days are the
breakroom machine's local days.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

from breakroom.config import Config, PriceConfig
from breakroom.errors import ConfigError
from breakroom.paths import PACKAGE_DIR
from breakroom.yamlfile import FileModel, load_model

if TYPE_CHECKING:
    import sqlite_utils

PRICES_FILE = PACKAGE_DIR / "data" / "prices.yaml"
READ_BUDGET = 8 << 20       # bytes of one transcript read at most per call (the rest: next time)
MAX_PATH = 4096
MAX_TOKENS = 10**9          # a count over this in one message is not believed
MODEL_MAX = 100             # characters of a model name kept
HEAD = 256                  # first bytes of a transcript that tell one file from its replacement
ALERTS = (80, 100)          # percent of a budget at which ops are told, once a day each
FLEET = "*"                 # the fleet's scope in budgets and alerts


# ---------------------------------------------------------------- prices


class PriceFile(FileModel):
    prices: list[PriceConfig]


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_write_1h: float
    cache_read: float

    @classmethod
    def of(cls, row: PriceConfig) -> Price:
        return cls(row.input, row.output,
                   row.cache_write if row.cache_write is not None else 1.25 * row.input,
                   row.cache_write_1h if row.cache_write_1h is not None else 2 * row.input,
                   row.cache_read if row.cache_read is not None else 0.1 * row.input)


class PriceTable:
    """The first row whose ``match`` is found in a model's name prices it."""

    def __init__(self, rows: Iterable[PriceConfig]):
        self.rows = [(re.compile(row.match), Price.of(row)) for row in rows]

    @classmethod
    def for_config(cls, config: Config) -> PriceTable:
        """The config's ``spend.prices`` first, then the shipped estimates."""
        return cls([*config.spend.prices, *_shipped()])

    def price_of(self, model: str) -> Price | None:
        return next((price for pattern, price in self.rows if pattern.search(model)), None)


@cache
def _shipped() -> tuple[PriceConfig, ...]:
    return tuple(load_model(PRICES_FILE, PriceFile, label="prices", error=ConfigError).prices)


# ---------------------------------------------------------------- reading transcripts


@dataclass(frozen=True)
class Usage:
    """One model response's tokens, as its transcript recorded them."""

    message: str
    model: str
    ts: float
    input: int
    output: int
    cache_write: int       # 5-minute cache writes
    cache_write_1h: int
    cache_read: int


@dataclass(frozen=True)
class Mark:
    """How far a transcript has been read: which file (device, inode, a hash of its first
    bytes) and to what offset."""

    session: str
    device: int
    inode: int
    head: str
    offset: int


@dataclass(frozen=True)
class Read:
    """What one read of a transcript found, and where the next read starts."""

    usages: list[Usage]
    mark: Mark


def valid_path(path: object) -> str | None:
    """A transcript path worth opening: an absolute path to a ``*.jsonl`` file."""
    if isinstance(path, str) and 0 < len(path) <= MAX_PATH and path.startswith("/") \
            and path.endswith(".jsonl") and "\x00" not in path:
        return path
    return None


def read_transcript(path: str, session: str, mark: Mark | None,
                    budget: int = READ_BUDGET) -> Read | None:
    """The complete lines of ``path`` after ``mark`` (from its start when the file is new,
    shrank or was replaced), at most ``budget`` bytes; None when it is not a regular file
    one can read.  Blocking: the running breakroom calls it in a thread."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        head = hashlib.sha1(os.pread(fd, HEAD, 0)).hexdigest()[:16]
        same = mark is not None and (mark.device, mark.inode, mark.head) == (info.st_dev, info.st_ino, head)
        offset = mark.offset if mark is not None and same and mark.offset <= info.st_size else 0
        chunk = os.pread(fd, min(budget, info.st_size - offset), offset)
    except OSError:
        return None
    finally:
        os.close(fd)
    end = chunk.rfind(b"\n") + 1
    if end == 0 and len(chunk) >= budget:
        end = len(chunk)  # one line longer than a read: skipped, the rest fails as JSON next time
    return Read(parse_usage(chunk[:end].splitlines()),
                Mark(session, info.st_dev, info.st_ino, head, offset + end))


def parse_usage(lines: Iterable[bytes]) -> list[Usage]:
    """The model responses among transcript lines (anything else, or anything malformed,
    is skipped)."""
    found = []
    for raw in lines:
        if b'"usage"' not in raw:
            continue
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        usage = _usage(entry)
        if usage is not None:
            found.append(usage)
    return found


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_TOKENS else 0


def _usage(entry: object) -> Usage | None:
    if not isinstance(entry, dict) or entry.get("type") != "assistant":
        return None
    message = entry.get("message")
    if not isinstance(message, dict):
        return None
    usage, key, model = message.get("usage"), message.get("id"), message.get("model")
    if not (isinstance(usage, dict) and isinstance(key, str) and key and isinstance(model, str)):
        return None
    if model == "<synthetic>":  # Claude Code's own error notes, not a model's response
        return None
    written = _count(usage.get("cache_creation_input_tokens"))
    split = usage.get("cache_creation")
    hour = _count(split.get("ephemeral_1h_input_tokens")) if isinstance(split, dict) else 0
    return Usage(key[:200], model[:MODEL_MAX], _when(entry.get("timestamp")),
                 _count(usage.get("input_tokens")), _count(usage.get("output_tokens")),
                 max(0, written - hour), min(hour, written), _count(usage.get("cache_read_input_tokens")))


def _when(stamp: object) -> float:
    if isinstance(stamp, str):
        try:
            return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    return time.time()


def day_of(ts: float) -> str:
    """The local day of an epoch time, ``2026-12-04``."""
    return time.strftime("%Y-%m-%d", time.localtime(ts))


# ---------------------------------------------------------------- the record


def mark_of(db: sqlite_utils.Database, path: str) -> Mark | None:
    row = db.execute("SELECT session, device, inode, head, offset FROM spend_transcripts WHERE path = ?",
                     [path]).fetchone()
    return Mark(*row) if row else None


def record(db: sqlite_utils.Database, path: str, read: Read) -> None:
    """Keep what a read found (a message seen again keeps its largest figures) and where the
    next read starts."""
    mark = read.mark
    db.execute("INSERT INTO spend_transcripts (path, session, device, inode, head, offset, read_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET device = excluded.device, "
               "inode = excluded.inode, head = excluded.head, offset = excluded.offset, "
               "read_at = excluded.read_at",
               [path, mark.session, mark.device, mark.inode, mark.head, mark.offset, time.time()])
    for u in read.usages:
        db.execute(
            "INSERT INTO spend_messages (session, message, model, ts, day, input, output, cache_write, "
            "cache_write_1h, cache_read) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(session, message) DO UPDATE SET input = max(input, excluded.input), "
            "output = max(output, excluded.output), cache_write = max(cache_write, excluded.cache_write), "
            "cache_write_1h = max(cache_write_1h, excluded.cache_write_1h), "
            "cache_read = max(cache_read, excluded.cache_read)",
            [mark.session, u.message, u.model, u.ts, day_of(u.ts), u.input, u.output, u.cache_write,
             u.cache_write_1h, u.cache_read])


# ---------------------------------------------------------------- asking


@dataclass(frozen=True)
class SessionSpend:
    """One session's use of its models over a time (or one day of it: ``day``)."""

    session: str
    input_tokens: int          # not from the cache
    output_tokens: int
    cache_write_tokens: int    # 5-minute and 1-hour cache writes
    cache_read_tokens: int
    cost_usd: float | None     # estimated; None: no price for any model it used
    unpriced: tuple[str, ...] = ()   # models it used that no price row matches
    day: str = ""

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_write_tokens + self.cache_read_tokens


def session_spend(db: sqlite_utils.Database, start: float, end: float, prices: PriceTable | None = None,
                  *, session: str | None = None, by_day: bool = False) -> list[SessionSpend]:
    """Tokens and estimated cost per session (per session and day with ``by_day``) of the
    responses in ``[start, end)``, biggest spender first (by day, oldest day first).
    ``prices``: the shipped estimates when not given."""
    prices = prices if prices is not None else PriceTable(_shipped())
    where = "ts >= ? AND ts < ?"
    args: list[object] = [start, end]
    if session is not None:
        where += " AND session = ?"
        args.append(session)
    day = "day" if by_day else "''"
    rows = db.execute(
        f"SELECT session, {day}, model, sum(input), sum(output), sum(cache_write), sum(cache_write_1h), "
        f"sum(cache_read) FROM spend_messages WHERE {where} GROUP BY session, {day}, model", args).fetchall()
    totals: dict[tuple[str, str], list[int]] = {}
    costs: dict[tuple[str, str], float] = {}
    unpriced: dict[tuple[str, str], list[str]] = {}
    for name, when, model, inp, out, write, write_1h, read in rows:
        key = (name, when)
        counts = totals.setdefault(key, [0, 0, 0, 0])
        for i, n in enumerate((inp, out, write + write_1h, read)):
            counts[i] += n
        price = prices.price_of(model)
        if price is None:
            unpriced.setdefault(key, []).append(model)
            continue
        costs[key] = costs.get(key, 0.0) + (
            inp * price.input + out * price.output + write * price.cache_write
            + write_1h * price.cache_write_1h + read * price.cache_read) / 1e6
    spends = [SessionSpend(name, inp, out, written, read, costs.get((name, when)),
                           tuple(unpriced.get((name, when), ())), when)
              for (name, when), (inp, out, written, read) in totals.items()]
    if by_day:
        return sorted(spends, key=lambda s: (s.day, -(s.cost_usd or 0), s.session))
    return sorted(spends, key=lambda s: (-(s.cost_usd or 0), -s.tokens, s.session))


def day_bounds(day: str) -> tuple[float, float]:
    """``[start, end)`` of a local day, as epoch seconds."""
    start = datetime.strptime(day, "%Y-%m-%d")
    return start.timestamp(), datetime.fromordinal(start.toordinal() + 1).timestamp()


# ---------------------------------------------------------------- budgets


@dataclass(frozen=True)
class Budget:
    """A daily cap and what was spent against it today."""

    scope: str          # a session, or FLEET
    cap: float
    spent: float

    @property
    def percent(self) -> float:
        return 100 * self.spent / self.cap if self.cap else 100.0

    def short(self) -> str:
        return f"${self.spent:.2f} of ${self.cap:.2f} ({self.percent:.0f}%)"

    def line(self) -> str:
        who = "the fleet" if self.scope == FLEET else self.scope
        return f"{who} has spent {self.short()} of its daily budget"


def budgets(db: sqlite_utils.Database, config: Config, now: float | None = None,
            prices: PriceTable | None = None) -> list[Budget]:
    """Today's spend against every daily budget the config sets (``budget``,
    ``sessions.NAME.budget``)."""
    now = time.time() if now is None else now
    start, end = day_bounds(day_of(now))
    table = prices if prices is not None else PriceTable.for_config(config)
    spent = {s.session: s.cost_usd or 0.0 for s in session_spend(db, start, end, table)}
    found = [Budget(name, cfg.budget, spent.get(name, 0.0))
             for name, cfg in sorted(config.sessions.items()) if cfg.budget is not None]
    if config.budget is not None:
        found.append(Budget(FLEET, config.budget, sum(spent.values())))
    return found


def over_budget(found: list[Budget], sessions: Iterable[str]) -> dict[str, str]:
    """The sessions the dispatcher must not nudge, and why: each over its own budget, and
    every one when the fleet is over its."""
    over = {b.scope: b for b in found if b.spent >= b.cap}
    fleet = over.get(FLEET)
    return {name: (fleet or over[name]).line() for name in sessions if fleet is not None or name in over}


def new_alerts(db: sqlite_utils.Database, found: list[Budget],
               now: float | None = None) -> list[tuple[Budget, int]]:
    """The budgets that crossed 80 % or 100 % since last asked today, with the threshold:
    each is returned once a day (kept in ``spend_alerts``, so a restart does not repeat it)."""
    now = time.time() if now is None else now
    day, crossed = day_of(now), []
    for budget in found:
        for threshold in ALERTS:
            if budget.percent >= threshold and db.execute(
                    "INSERT OR IGNORE INTO spend_alerts (day, scope, threshold, at) VALUES (?, ?, ?, ?)",
                    [day, budget.scope, threshold, now]).rowcount:
                crossed.append((budget, threshold))
    return crossed


# ---------------------------------------------------------------- saying it


def tokens(n: int) -> str:
    """``950``, ``12k``, ``1.2M``."""
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.0f}k"
    return f"{n / 1_000_000:.1f}M"


def dollars(spent: SessionSpend) -> str:
    """``$8.10``, ``$8.10+`` (some tokens have no price), ``$?`` (none has)."""
    if spent.cost_usd is None:
        return "$?"
    return f"${spent.cost_usd:.2f}" + ("+" if spent.unpriced else "")


def cost_lines(db: sqlite_utils.Database, config: Config, prices: PriceTable, session: str | None = None,
               now: float | None = None, *, most: int = 5) -> list[str]:
    """``!cost``: today's estimated spend of the fleet (its ``most`` biggest spenders) or of
    one session (with its last 7 days), and the budgets it counts against."""
    now = time.time() if now is None else now
    start, end = day_bounds(day_of(now))
    today = session_spend(db, start, end, prices, session=session)
    found = {b.scope: b for b in budgets(db, config, now, prices)}
    if session is not None:
        if not today:
            return [f"{session} today: nothing recorded (its transcript is read when its hooks fire)"]
        s = today[0]
        week = session_spend(db, day_bounds(day_of(now - 6 * 86400))[0], end, prices, session=session)
        parts = [f"{session} today: {dollars(s)} estimated — {tokens(s.input_tokens)} in, "
                 f"{tokens(s.output_tokens)} out, {tokens(s.cache_write_tokens)} cache write, "
                 f"{tokens(s.cache_read_tokens)} cache read"]
        if session in found:
            parts.append(f"budget: {found[session].short()}")
        if week:
            parts.append(f"last 7 days: {dollars(week[0])}")
        return [" · ".join(parts)]
    if not today:
        return ["today: nothing recorded yet (transcripts are read as the agents' hooks fire)"]
    total = sum(s.cost_usd or 0.0 for s in today)
    shown = ", ".join(f"{s.session} {dollars(s)} ({tokens(s.tokens)})" for s in today[:most])
    more = f" +{len(today) - most} more" if len(today) > most else ""
    line = f"today: ${total:.2f} estimated, {tokens(sum(s.tokens for s in today))} tokens — {shown}{more}"
    if FLEET in found:
        line += f" · fleet budget {found[FLEET].short()}"
    return [line]
