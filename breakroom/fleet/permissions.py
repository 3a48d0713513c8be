"""Permission prompts relayed to IRC and decided by whoever answers first.

A prompt opens two ways:

- **hook**: Claude Code's ``PermissionRequest`` hook reports the tool and its input and waits
  (:meth:`Permissions.from_hook`); the decision goes back as the hook's output, so the tool
  runs (or is refused) with nothing typed into the pane;
- **screen**: an agent without that hook shows its dialog (``waiting:permission`` read off
  its pane, the same screen in two polls: a dialog still being drawn drops keys); a decision
  is pressed as its profile's ``permission.allow`` / ``permission.deny`` keys.

Each prompt gets a random id (:data:`ID_LENGTH` characters: nothing said anywhere can guess
another prompt's), and the session's bot posts one line in the channel and to each of
``ops``: ``cc wants Bash: rm -rf build — !allow kq7dx · !deny kq7dx``.  Then the first of
these decides it, and the others find it decided:

- ``!allow ID`` / ``!deny ID`` from a server-verified IRC operator, heard by that session's
  own bot (:meth:`Permissions.answer`; the id binds the answer to this prompt and session);
- a decider — the sweep's policy (``sweep.policy``) — as the prompt opens, unless the session
  is held (:mod:`breakroom.fleet.holds`): then a human decides;
- the agent's own dialog, answered in the terminal: the waiting hook ends (Claude Code 2.1.332
  kills it), the session's next hook says the turn moved on, or the dialog is gone from the
  screen (checked after each poll, and again just before an operator's answer is applied);
- ``permissions.relay_timeout``: the prompt is left to the terminal.

The channel hears every outcome, and every prompt with its decision (who, when, how) is in
the record (:mod:`breakroom.fleet.prompts`; ``breakroom audit``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from breakroom.fleet import dialogs, panestate, prompts
from breakroom.fleet.delivery import Deliveries
from breakroom.fleet.dialogs import PermissionPrompt
from breakroom.fleet.holds import Holds
from breakroom.fleet.host import FleetHost
from breakroom.fleet.manager import SessionManager
from breakroom.fleet.observer import PANE, PaneView
from breakroom.fleet.states import PaneState
from breakroom.fleet.watch import FleetWatch

log = logging.getLogger(__name__)

ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no l/1, o/0: read off a phone
ID_LENGTH = 5
WHAT_MAX = 140        # characters of "Bash: rm -rf build …" in the channel line
RECORD_WHAT_MAX = 500  # characters of what it will do, in the record
DIALOG_GRACE = 3.0    # seconds a hook's dialog has to show before its absence means "answered"
TURN_OVER = frozenset({"Stop", "StopFailure", "UserPromptSubmit", "SessionEnd"})


@dataclass(frozen=True)
class Verdict:
    """A decision: who made it (a nick, or ``sweep``) and how (``IRC operator``,
    ``policy rule "read-only"``); ``keys`` to press on a screen's dialog instead of the
    profile's."""

    allow: bool
    by: str
    how: str
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class AutoDecision:
    """What a decider (the sweep's policy) says, and which bot announces it."""

    speaker: str
    verdict: Verdict


# Given a prompt as it opens, a decision or None (leave it for a human).
Decider = Callable[[PermissionPrompt], AutoDecision | None]


@dataclass
class Prompt:
    pid: str
    session: str
    dialog: PermissionPrompt
    source: str                      # "hook" or "screen"
    opened: float
    answer: asyncio.Future[Verdict | None] | None = None   # a hook's: what it prints
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)


def dialog_shown(view: PaneView) -> bool:
    """The session's screen shows a permission dialog (whatever a hook last reported)."""
    if view.source == PANE:
        return view.state is PaneState.WAITING_PERMISSION
    return panestate.detect(view.text, view.agent, view.current_command).state is PaneState.WAITING_PERMISSION


class Permissions(FleetWatch):
    """The open prompts of one breakroom's sessions, and everything that can decide them."""

    def __init__(self, app: FleetHost, sessions: SessionManager, deliveries: Deliveries,
                 holds: Holds) -> None:
        super().__init__(app, sessions, deliveries, holds)
        self.open: dict[str, Prompt] = {}
        self.deciders: list[Decider] = []
        self._settled: set[str] = set()   # decided on screen: no new prompt until the dialog goes
        self._drawn: dict[str, str] = {}  # session -> the dialog screen a poll saw (opened when it holds)
        app.db.execute("UPDATE permission_prompts SET decided = ?, decision = 'restart' "
                       "WHERE decided IS NULL", [time.time()])

    async def stop(self) -> None:
        for prompt in list(self.open.values()):
            self._forget(prompt)
            if prompt.answer is not None and not prompt.answer.done():
                prompt.answer.set_result(None)
        await super().stop()

    # ------------------------------------------------------------------ the ways in

    async def from_hook(self, session: str, tool: object, tool_input: object,
                        wait: float) -> Verdict | None:
        """A ``PermissionRequest`` hook's report: relay it and wait for the first answer, at
        most ``wait`` seconds; None leaves the prompt to the terminal (no answer, relaying
        off, or not a session of this breakroom)."""
        if not self.sessions.is_local(session):
            await self.sessions.poll()  # a session started a moment ago: its bot comes now
            if not self.sessions.is_local(session):
                return None
        dialog = dialogs.from_tool(session, self._agent(session), tool, tool_input)
        prompt = next((p for p in self.open.values()
                       if p.session == session and p.source == "screen"), None)
        if prompt is not None:  # its dialog was read off the screen first: same prompt, same id
            prompt.source, prompt.dialog = "hook", dialog
            prompt.answer = asyncio.get_running_loop().create_future()
        else:
            prompt = await self._open(session, dialog, "hook")
            if prompt is None:
                return None
        assert prompt.answer is not None  # a hook's prompt has one
        try:
            return await asyncio.wait_for(asyncio.shield(prompt.answer), wait)
        except TimeoutError:
            self._close(prompt, "timeout")
            return None
        except asyncio.CancelledError:  # the hook ended first: its dialog was answered
            if prompt.pid in self.open:
                self._close(prompt, "terminal")
            raise

    def moved_on(self, session: str, event: str, tool: object = None, tool_input: object = None) -> None:
        """Another hook of ``session`` fired: a turn that ended, or a tool that ran, means
        its prompt (for that tool) was answered in the terminal."""
        ran = dialogs.from_tool(session, "", tool, tool_input) if event == "PostToolUse" else None
        for prompt in [p for p in self.open.values() if p.session == session and p.source == "hook"]:
            if event in TURN_OVER or (ran is not None and (ran.tool, ran.what) ==
                                      (prompt.dialog.tool, prompt.dialog.what)):
                self._close(prompt, "terminal")

    async def answer(self, pid: str, session: str, allow: bool, by: str) -> str | None:
        """A server-verified operator's ``!allow`` / ``!deny`` for ``session``'s prompt
        ``pid``: None when it decided the prompt (the channel hears), else why not, for them."""
        prompt = self.open.get(pid)
        if prompt is None or prompt.session != session:
            record = prompts.get(self.app.db, pid)
            if record is None or record.session != session:
                return f"no permission prompt {pid} for {session}"
            return f"{pid} is already decided: {record.outcome()}"
        if not await self._dialog_still_there(prompt):
            if pid in self.open:
                self._close(prompt, "terminal")
            return f"{pid} was already answered in {self._nick(session)}'s terminal"
        if pid not in self.open:  # decided while we looked
            return await self.answer(pid, session, allow, by)
        await self._settle(prompt, Verdict(allow, by, "IRC operator"))
        return None

    def owns(self, pid: str, session: str) -> bool:
        """``pid`` is (or was) a prompt of ``session``: its bot answers for it."""
        prompt = self.open.get(pid)
        if prompt is not None:
            return prompt.session == session
        record = prompts.get(self.app.db, pid)
        return record is not None and record.session == session

    # ------------------------------------------------------------------ opening

    async def _open(self, session: str, dialog: PermissionPrompt, source: str) -> Prompt | None:
        """Open a prompt: a decider may decide it at once; else it is relayed (when relaying
        is on: otherwise None, and nothing is recorded)."""
        auto = None if self.holds.why_held(session) else next(
            (d for d in (decide(dialog) for decide in self.deciders) if d is not None), None)
        if auto is None and not self.config.permissions.relay:
            return None
        prompt = Prompt(self._new_id(), session, dialog, source, time.time())
        if source == "hook":
            prompt.answer = asyncio.get_running_loop().create_future()
        self.open[prompt.pid] = prompt
        prompts.opened(self.app.db, prompt.pid, session, dialog.agent, dialog.tool,
                       dialogs.one_line_what(dialog, RECORD_WHAT_MAX), source, prompt.opened)
        if auto is not None:
            await self._settle(prompt, auto.verdict, speaker=auto.speaker)
            return prompt
        timeout = self.config.permissions.relay_timeout
        prompt.timer = asyncio.get_running_loop().call_later(timeout, self._close, prompt, "timeout")
        line = (f"{self._nick(session)} wants {dialogs.summary(dialog, WHAT_MAX)} — "
                f"!allow {prompt.pid} · !deny {prompt.pid}")
        self._say(session, line)
        for op in self.config.ops:
            self._say(session, line, op)
        return prompt

    def _new_id(self) -> str:
        while True:
            pid = "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))
            if pid not in self.open and prompts.get(self.app.db, pid) is None:
                return pid

    def _after_poll(self) -> None:
        """Close prompts whose dialog went away; open one for each new dialog on a screen."""
        snapshot = self.sessions.observer.snapshot
        for prompt in list(self.open.values()):
            view = snapshot.sessions.get(prompt.session)
            if view is None:
                self._close(prompt, "gone")
            elif snapshot.at > prompt.opened + DIALOG_GRACE and not dialog_shown(view):
                self._close(prompt, "terminal")
        asking = {p.session for p in self.open.values()}
        for name, view in snapshot.sessions.items():
            if name in self._settled and not dialog_shown(view):
                self._settled.discard(name)
            if (name in asking or name in self._settled or not self.sessions.is_local(name)
                    or view.source != PANE or view.state is not PaneState.WAITING_PERMISSION):
                self._drawn.pop(name, None)
                continue
            if self._drawn.get(name) != view.text:
                self._drawn[name] = view.text  # seen once: open it when the next poll sees it still
                continue
            del self._drawn[name]
            self._settled.add(name)  # one prompt per dialog, however it ends
            dialog = dialogs.read_prompt(name, view.agent, view.text)
            self._spawn(self._open(name, dialog, "screen"))

    # ------------------------------------------------------------------ deciding

    async def _settle(self, prompt: Prompt, verdict: Verdict, *, speaker: str | None = None) -> None:
        """Apply ``verdict``: the hook's answer, or keys pressed on the screen's dialog."""
        self._forget(prompt)
        nick, tool = self._nick(prompt.session), prompt.dialog.tool or "the tool"
        verb = "allowed" if verdict.allow else "denied"
        if prompt.answer is not None:
            if not prompt.answer.done():
                prompt.answer.set_result(verdict)
        else:
            spec = panestate.permission_patterns(prompt.dialog.agent)
            keys = verdict.keys or (spec.allow if verdict.allow else spec.deny)
            try:
                await self.deliveries.press(prompt.session, list(keys))
            except Exception as exc:  # tmux lost the pane, or it moved to another host
                prompts.decided(self.app.db, prompt.pid, "failed", verdict.by, f"{verdict.how}: {exc}")
                self._say(prompt.session, f"{prompt.pid}: {verb} by {verdict.by}, but pressing "
                                          f"{' '.join(keys)} in {nick}'s pane failed: {exc}")
                return
        prompts.decided(self.app.db, prompt.pid, "allow" if verdict.allow else "deny",
                        verdict.by, verdict.how)
        if speaker is not None:
            self.app.say(speaker, self.app.channel,
                         f"{verb} {dialogs.summary(prompt.dialog, WHAT_MAX)} for {nick} "
                         f"({verdict.how}) — {prompt.pid}")
        else:
            runs = "runs" if verdict.allow else "does not run"
            self._say(prompt.session, f"{prompt.pid}: {verb} by {verdict.by} — {nick} {runs} {tool}")

    def _close(self, prompt: Prompt, decision: str) -> None:
        """End a prompt nobody here decided: ``terminal``, ``timeout`` or ``gone``."""
        if prompt.pid not in self.open:
            return
        self._forget(prompt)
        if prompt.answer is not None and not prompt.answer.done():
            prompt.answer.set_result(None)
        prompts.decided(self.app.db, prompt.pid, decision, decision, "")
        nick = self._nick(prompt.session)
        self._say(prompt.session, {
            "terminal": f"{prompt.pid}: answered in {nick}'s terminal",
            "timeout": f"{prompt.pid}: no answer within {self.config.permissions.relay_timeout:g}s "
                       f"— left to {nick}'s terminal",
            "gone": f"{prompt.pid}: {nick} went away"}[decision])

    def _forget(self, prompt: Prompt) -> None:
        self.open.pop(prompt.pid, None)
        self._settled.add(prompt.session)
        if prompt.timer is not None:
            prompt.timer.cancel()

    async def _dialog_still_there(self, prompt: Prompt) -> bool:
        """A fresh look just before an answer is applied: is the dialog still on screen?
        (A hook's dialog gets :data:`DIALOG_GRACE` to appear.)"""
        snapshot = await self.sessions.refresh([prompt.session])
        view = snapshot.sessions.get(prompt.session)
        if view is None:
            return False
        return time.time() - prompt.opened < DIALOG_GRACE or dialog_shown(view)

    # ------------------------------------------------------------------ helpers

    def _agent(self, session: str) -> str:
        view = self.sessions.observer.snapshot.sessions.get(session)
        return view.agent if view is not None else self.config.session(session).agent or "claude-code"

    def _nick(self, session: str) -> str:
        return self.sessions.nick_for(session) or session

    def _say(self, session: str, text: str, target: str | None = None) -> None:
        key = self.sessions.bot_key(session)
        if key is not None:
            self.app.say(key, target or self.app.channel, text)
