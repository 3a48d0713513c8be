"""How a human connects: the facts ``breakroom info`` prints and the demo repeats."""

from __future__ import annotations

from breakroom.config import Config
from breakroom.irc.ircd import resolve_mode


def connection_lines(cfg: Config) -> list[str]:
    """Host, port, password, channel, key and ready-made client commands."""
    ircd = cfg.ircd
    key = cfg.channel_key or ""
    irssi = f"irssi -c {ircd.host} -p {ircd.port}" + (f" -w {ircd.password}" if ircd.password else "")
    if ircd.tls:
        irssi += " --tls"
    lines = [
        f"server:    {ircd.host}:{ircd.port}{' (TLS)' if ircd.tls else ''}  [{resolve_mode(cfg)}]",
        f"password:  {ircd.password or '(none)'}",
        f"channel:   {cfg.channel}",
        f"key:       {key or '(none)'}",
        f"irssi:     {irssi}",
        f"then:      /join {cfg.channel} {key}".rstrip(),
        f"weechat:   /server add breakroom {ircd.host}/{ircd.port}"
        + (f" -password={ircd.password}" if ircd.password else "") + _weechat_tls(ircd.tls),
        # WeeChat's autojoin is "#chan1,#chan2 key1,key2": the channels, a space, their keys
        f"then:      /set irc.server.breakroom.autojoin \"{f'{cfg.channel} {key}'.strip()}\"",
    ]
    if resolve_mode(cfg) == "ngircd":
        lines.append(f"operator:  /oper {ircd.oper_name} {ircd.oper_password}   "
                     "(needed for privileged bot commands)")
    return lines


def _weechat_tls(tls: bool) -> str:
    """WeeChat < 4.0 names the option ``ssl`` (off by default), 4.0 and later ``tls`` (on by
    default) and each ignores the other's flag, so the line names TLS in a way both obey."""
    return " -tls -ssl" if tls else " -notls"


def page_line(url: str | None) -> str:
    """Where the fleet's page is, for ``info`` and ``up``."""
    return f"page:      {url}" if url else \
        "page:      (served while `breakroom up` runs; see web.port)"
