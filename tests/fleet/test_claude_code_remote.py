"""The real Claude Code run from IRC — every pinned release, tools asking first (manual mode),
hooks as `breakroom hooks install` writes them, a plain IRC client on a real ngircd: a Bash
permission prompt relayed through the PermissionRequest hook, refused for a visitor, allowed
by an operator with the tool running and nothing typed; denied; answered in the terminal
first; answered by nobody; limits (a credit error, a rate limit) held and resumed with one
message; spend read from the transcript."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from breakroom.control import client as control
from breakroom.fleet import hooks, inbox, prompts
from breakroom.work import spend
from support.claude_code import ClaudeSession, capture, keys, releases, wait_screen
from support.claude_stub import ClaudeStub
from support.wait import wait_until

PROMPT = r":cc!\S+ PRIVMSG #breakroom :cc wants Bash: {what} — !allow (\w+) · !deny \1$"


@pytest.fixture(params=releases())
def release(request) -> str:
    """Each pinned Claude Code release (skipped when not installed; an error under CI)."""
    return request.param


@pytest.fixture
def stub():
    running = ClaudeStub()
    yield running
    running.close()


def oper(client, srv) -> None:
    client.send(f"OPER {srv.config.ircd.oper_name} {srv.config.ircd.oper_password}")
    client.wait_for(r" 381 ")


def claude(release: str, running_app, srv, tmux_socket, tmp_path: Path, stub: ClaudeStub, *, extra_env=None,
           cc=None, **overrides):
    """A breakroom and a Claude Code session ``cc`` of ``release`` (its config: ``cc``) wired
    to it, tools asking first, idle (its hooks said so)."""
    app = running_app(srv, tmux={"socket_name": tmux_socket, "poll_interval": 0.3},
                      sessions={"cc": {"agent": "claude-code", **(cc or {})}}, delivery={"enter_delay": 0.2},
                      **overrides)
    root = tmp_path / "claude"
    hooks.install(root / "work", config=str(tmp_path / "breakroom.yaml"),
                  relay_timeout=app.config.permissions.relay_timeout)
    ClaudeSession(tmux_socket, "cc", root, stub.url, release=release, mode="manual", extra_env=extra_env)
    app.wait_until(lambda: [s for s in app.app.sessions.status() if s.state == "idle" and s.hook_fresh],
                   40, "cc idle, reported by its SessionStart hook")
    return app, root / "work"


def ask_for_bash(tmux_socket: str, command: str) -> None:
    keys(tmux_socket, "cc", f"bash: {command}", literal=True)
    wait_screen(tmux_socket, "cc", lambda s: command[:30] in s)
    keys(tmux_socket, "cc", "Enter")


def prompted(stub: ClaudeStub, after: int, text: str) -> list[dict]:
    """The session's requests since the ``after``-th that bring the model ``text`` (typed, or
    handed over by a hook; side requests, such as a title for the session, offer no tools)."""
    return [b for b in stub.requests[after:] if b.get("tools") and text in json.dumps(b["messages"])]


def settle(tmux_socket: str) -> str:
    """cc's screen once two captures 0.3 s apart agree."""
    previous = ""
    for _ in range(50):
        screen = capture(tmux_socket, "cc")
        if screen == previous:
            return screen
        previous = screen
        time.sleep(0.3)
    return previous


def sent_keys(log: Path) -> int:
    """tmux send-keys commands run so far (the tmux_calls fixture's log)."""
    return sum("send-keys" in line for line in log.read_text().splitlines()) if log.exists() else 0


@pytest.mark.timeout(120)
def test_a_relayed_bash_prompt_is_refused_for_a_visitor_and_allowed_by_an_operator(
        release, ngircd, running_app, irc_client, tmux_socket, tmp_path, stub, tmux_calls):
    app, work = claude(release, running_app, ngircd, tmux_socket, tmp_path, stub, ops=["boss"])
    visitor, boss = irc_client(ngircd, "visitor"), irc_client(ngircd, "boss")
    ask_for_bash(tmux_socket, "echo relayed > out.txt && echo done")
    line = visitor.wait_for(PROMPT.format(what=re.escape("echo relayed > out.txt && echo done")), 30)
    shown = time.monotonic()
    pid = re.search(r"!allow (\w+)", line).group(1)
    boss.wait_for(rf":cc!\S+ PRIVMSG boss :cc wants Bash: .* — !allow {pid} · !deny {pid}")
    wait_screen(tmux_socket, "cc", lambda s: "Do you want to proceed?" in s)  # the terminal's dialog too

    visitor.say("#breakroom", f"!allow {pid}")
    visitor.wait_for(r":cc!\S+ NOTICE visitor :!allow \w+: only a server-verified IRC operator")
    assert not (work / "out.txt").exists()

    oper(boss, ngircd)
    typed = sent_keys(tmp_path / "tmux-calls.log")
    boss.say("#breakroom", f"!allow {pid}")
    wait_until(lambda: (work / "out.txt").exists(), 30, "the tool ran")
    round_trip = time.monotonic() - shown
    visitor.wait_for(rf":cc!\S+ PRIVMSG #breakroom :{pid}: allowed by boss — cc runs Bash")
    wait_screen(tmux_socket, "cc", lambda s: "Allowed by PermissionRequest hook" in s and "done: echo" in s)
    assert sent_keys(tmp_path / "tmux-calls.log") == typed, "nothing is typed into the pane"
    assert (work / "out.txt").read_text() == "relayed\n"
    record = prompts.get(app.app.db, pid)
    assert (record.decision, record.by, record.source, record.tool) == ("allow", "boss", "hook", "Bash")
    assert round_trip < 20


@pytest.mark.timeout(150)
def test_deny_then_the_terminal_first_then_nobody(release, ngircd, running_app, irc_client, tmux_socket,
                                                 tmp_path, stub):
    app, work = claude(release, running_app, ngircd, tmux_socket, tmp_path, stub,
                       permissions={"relay_timeout": 8})
    boss = irc_client(ngircd, "boss")
    oper(boss, ngircd)

    ask_for_bash(tmux_socket, "touch denied.txt")           # denied from IRC: never runs
    pid = re.search(r"!allow (\w+)", boss.wait_for(PROMPT.format(what="touch denied.txt"), 30)).group(1)
    boss.say("cc", f"!deny {pid}")
    boss.wait_for(rf":cc!\S+ PRIVMSG #breakroom :{pid}: denied by boss — cc does not run Bash")
    wait_screen(tmux_socket, "cc", lambda s: "Denied by PermissionRequest hook" in s, 30)
    wait_screen(tmux_socket, "cc", lambda s: "for shortcuts" in s and "done: touch" in s, 30)
    assert not (work / "denied.txt").exists()

    ask_for_bash(tmux_socket, "touch by-hand.txt")         # answered in the terminal first
    pid = re.search(r"!allow (\w+)", boss.wait_for(PROMPT.format(what="touch by-hand.txt"), 30)).group(1)
    wait_screen(tmux_socket, "cc", lambda s: "Do you want to proceed?" in s)
    settle(tmux_socket)  # a dialog takes keys once it is drawn whole (2.1.332 drops them before)
    keys(tmux_socket, "cc", "1")
    wait_until(lambda: (work / "by-hand.txt").exists(), 30, "the tool ran")
    boss.wait_for(rf":cc!\S+ PRIVMSG #breakroom :{pid}: answered in cc's terminal", 15)
    boss.say("#breakroom", f"!deny {pid}")                 # the late answer is dropped
    boss.wait_for(rf":cc!\S+ NOTICE boss :{pid} is already decided: answered in the terminal")
    wait_screen(tmux_socket, "cc", lambda s: "for shortcuts" in s and "done: touch by-hand" in s, 30)

    ask_for_bash(tmux_socket, "touch later.txt")           # nobody answers: left to the terminal
    pid = re.search(r"!allow (\w+)", boss.wait_for(PROMPT.format(what="touch later.txt"), 30)).group(1)
    boss.wait_for(rf":cc!\S+ PRIVMSG #breakroom :{pid}: no answer within 8s — left to cc's terminal", 20)
    assert "Do you want to proceed?" in capture(tmux_socket, "cc")
    assert not (work / "later.txt").exists()
    keys(tmux_socket, "cc", "1")                            # the terminal still decides
    wait_until(lambda: (work / "later.txt").exists(), 30, "the tool ran after the timeout")
    assert [r.decision for r in prompts.recent(app.app.db)] == ["deny", "terminal", "timeout"]
    settings = json.loads((work / ".claude" / "settings.json").read_text())
    assert settings["hooks"]["PermissionRequest"][0]["hooks"][0]["timeout"] == 8 + hooks.WAIT_MARGIN


@pytest.mark.timeout(150)
def test_a_credit_error_and_a_rate_limit_are_held_and_resumed(release, ngircd, running_app, irc_client,
                                                             tmux_socket, tmp_path, stub):
    app, _ = claude(release, running_app, ngircd, tmux_socket, tmp_path, stub, ops=["boss"],
                    limits={"backoff": 3}, extra_env={"CLAUDE_CODE_MAX_RETRIES": "1"})
    boss = irc_client(ngircd, "boss")
    for prompt, state in (("fail credit", "error:usage-limit"), ("fail 429", "error:rate-limit")):
        asked = len(stub.requests)
        keys(tmux_socket, "cc", prompt, literal=True)
        wait_screen(tmux_socket, "cc", lambda s, p=prompt: p in s)
        keys(tmux_socket, "cc", "Enter")
        notice = boss.wait_for(rf":cc!\S+ NOTICE boss :cc hit .* \({state}: .*\) — holding its messages "
                               r"and nudges, resuming it at \d\d:\d\d \(backing off, attempt 1\)", 60)
        assert app.app.holds.why_held("cc").startswith(f"cc hit {state}")
        note = f"a note sent while it is held on {state}"
        queued = app.call(app.app.deliveries.deliver("cc", "alice", note))
        assert queued.status == "queued" and "cc hit " + state in queued.reason
        boss.wait_for(rf":cc!\S+ PRIVMSG #breakroom :cc: its limit should have reset after \d+s on {state}",
                      20)
        # one message set it going again, and what waited went in too: nobody typed "keep going"
        [resume] = [m for m in inbox.for_session(app.app.db, "cc") if m.sender == "dispatcher"
                    and m.id > queued.id]
        assert "carry on where you left off" in resume.text
        wait_until(lambda n=asked, r=resume.id: prompted(stub, n, f"[breakroom #{r}]"), 30, "resumed")
        wait_until(lambda n=asked, t=note: prompted(stub, n, t), 30, "the held note")
        app.wait_until(lambda: app.app.sessions.status()[0].state == "idle", 30, "idle again")
        assert app.app.holds.why_held("cc") is None
        assert inbox.get(app.app.db, queued.id).read  # the receipt: it started a turn, or a hook handed it
        assert len(boss.seen(r"NOTICE boss :cc hit")) == (1 if state == "error:usage-limit" else 2), notice


USAGE = {"input_tokens": 1234, "cache_creation_input_tokens": 2000, "cache_read_input_tokens": 30000,
         "output_tokens": 321}


@pytest.mark.timeout(120)
def test_cost_figures_from_a_transcript_with_known_usage(release, ngircd, running_app, irc_client,
                                                        tmux_socket, tmp_path, cli):
    stub = ClaudeStub(usage=USAGE)
    try:
        app, _ = claude(release, running_app, ngircd, tmux_socket, tmp_path, stub,
                        services=("scribe", "dispatcher"), cc={"budget": 0.05}, ops=["boss"],
                        dispatcher={"interval": 3600})
        boss = irc_client(ngircd, "boss")
        for n, prompt in enumerate(("what does it cost", "and once more")):
            keys(tmux_socket, "cc", prompt, literal=True)
            wait_screen(tmux_socket, "cc", lambda s, p=prompt: p in s)
            keys(tmux_socket, "cc", "Enter")
            wait_screen(tmux_socket, "cc", lambda s, p=prompt: f"echo: {p}" in s, 30)
            then = "stops nudging it at 100%" if n == 0 else "nudges it no more"
            boss.wait_for(r":dispatcher!\S+ NOTICE boss :cc has spent \$0\.\d\d of \$0\.05 \(\d+%\) of its "
                          rf"daily budget — the dispatcher {then}", 30)
        # the transcript's own numbers: each response once (by message id), as Claude Code wrote it
        [transcript] = (tmp_path / "claude" / "home" / ".claude" / "projects").glob("*/*.jsonl")
        written: dict[str, dict] = {}
        for line in transcript.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("type") == "assistant" and entry["message"].get("model") != "<synthetic>":
                written[entry["message"]["id"]] = (entry["message"]["model"], entry["message"]["usage"])
        models = {model for model, _ in written.values()}
        assert len(written) >= 2 and all(usage["input_tokens"] == 1234 and usage["output_tokens"] == 321
                                         for _, usage in written.values())
        n = len(written)
        [spent] = app.wait_until(lambda: [s for s in app.call(_today(app)) if s.tokens == n * 33555], 20,
                                 "every response counted")
        counted = (spent.input_tokens, spent.output_tokens, spent.cache_write_tokens, spent.cache_read_tokens)
        assert counted == (n * 1234, n * 321, n * 2000, n * 30000)
        # an Opus priced as the 4.5 family's ($5/$25 per million): 2.1.197 says claude-opus-4-8,
        # 2.1.332 claude-opus-5-5
        assert all("opus" in model and app.app.spend.prices.price_of(model).input == 5 for model in models)
        assert spent.cost_usd == pytest.approx(n * (1234 * 5 + 321 * 25 + 2000 * 6.25 + 30000 * 0.5) / 1e6)

        boss.say("#breakroom", "!cost")
        total = spend.tokens(n * 33555)
        boss.wait_for(rf":dispatcher!\S+ PRIVMSG #breakroom :today: \${spent.cost_usd:.2f} estimated, "
                      rf"{total} tokens — cc \${spent.cost_usd:.2f} \({total}\)")
        shown = cli("cost", "cc")
        assert shown.returncode == 0, shown.stderr
        assert re.search(rf"cc\s+{n * 1234:,}\s+{n * 321:,}\s+{n * 2000:,}\s+{n * 30000:,}\s+"
                         rf"\${spent.cost_usd:.2f}", shown.stdout), shown.stdout
        assert "budget today: cc has spent" in shown.stdout
        held = control.request(app.config.data_path, {"op": "dispatch_now"})["reason"]
        assert held == "nothing to do: 1 session held"  # over its budget: no nudges
    finally:
        stub.close()


async def _today(app):
    return spend.session_spend(app.app.db, time.time() - 3600, time.time() + 60, app.app.spend.prices)
