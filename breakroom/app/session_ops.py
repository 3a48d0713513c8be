"""Control-socket operations a session's own CLI uses: ``say``, ``ask``, ``fleet``, ``hook``,
registered by the application on its control server.

Requests (JSON over the control socket, see :mod:`breakroom.control`):

- ``{"op": "say", "session": S, "target": T, "text": X}`` — S's bot says X in the channel,
  addressed as ``T: X`` when T is a nick (so humans see lateral talk), plain when T is the
  channel.  Text longer than one IRC line goes out as several lines, each addressed.
  When T is another session of this breakroom the message is also delivered directly
  (:meth:`Deliveries.receive`) — the channel line is for the humans — and the answer
  carries its outcome: ``{"ok", "as", "target", "text", "delivery": {"id", "status",
  "reason"}}``; ``ask`` to a session here is delivered the same way.
- ``{"op": "ask", "session": S, "to": NICK, "question": Q, "timeout": SECONDS}`` — S's bot
  says ``NICK: [q7f3] Q``; the request resolves when a line addressed to S's bot (in the
  channel or privately) carries ``[q7f3]`` — from NICK or anyone who knows the answer —
  with ``{"ok": true, "id", "from", "reply"}`` (continuation lines from the same sender
  within :data:`CONTINUATION_WAIT` are appended).
  No reply in time: ``{"error": "no reply …"}``.  A reply that resolves an ask is not put
  into the pane — the waiting CLI prints it.
- ``{"op": "fleet"}`` — ``{"ok": true, "sessions": [SessionStatus as dict, …]}``.
- ``{"op": "hook", "session": S, "state": STATE, "event": E, "collect": true, …}`` — a hook
  report (only ever from inside a pane: :mod:`breakroom.fleet.identity`), applied at once,
  with the fields of the hook's input named in :data:`breakroom.fleet.hooks.FORWARD`.  With
  ``collect`` (``hooks.DELIVERY_EVENTS``: PostToolUse, Stop, …) the answer's ``context``
  holds the session's queued messages for the hook to hand to the agent
  (:meth:`Deliveries.take_for_hook`), delivered once the hook's receipt comes back and queued
  again if it never does (a :class:`~breakroom.control.server.Handover`); a Stop that takes
  some keeps the agent working.
  A ``PermissionRequest`` (with ``"wait"``) is relayed to IRC and answered with the first
  ``decision`` (``allow``/``deny``; none: left to the terminal) —
  :mod:`breakroom.fleet.permissions`; a ``StopFailure`` holds the session until its limit
  resets — :mod:`breakroom.fleet.limits`.  Every report's ``transcript_path`` feeds the
  spend figures (:mod:`breakroom.app.spend_watch`).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from breakroom.app.spend_watch import SpendWatch
from breakroom.control.server import ControlServer, Handover
from breakroom.errors import BreakroomError
from breakroom.fleet.delivery import Deliveries, Delivery, HookHandover
from breakroom.fleet.host import FleetHost
from breakroom.fleet.limits import Limits
from breakroom.fleet.manager import SessionManager
from breakroom.fleet.permissions import Permissions
from breakroom.fleet.states import PaneState, parse_state
from breakroom.irc.nicks import irc_lower
from breakroom.irc.split import budget, split_utf8
from breakroom.sanitize import Clean, one_line

CONTINUATION_WAIT = 0.5
MAX_ASK_TIMEOUT = 600.0
_REQUEST_ID = re.compile(r"\[(q[0-9a-f]{4})\]")


@dataclass(frozen=True)
class _Bot:
    """A session's bot: ``key`` names it to the host, ``nick`` is what it has on IRC now."""

    key: str
    nick: str


@dataclass
class _Ask:
    asker: str                 # irc_lower nick of the asking session's bot
    reply: asyncio.Future[bool]
    lines: list[str] = field(default_factory=list)
    sender: str = ""


class SessionOps:
    """The session ops on the app's control server; tracks questions awaiting replies."""

    def __init__(self, app: FleetHost, control: ControlServer, manager: SessionManager,
                 deliveries: Deliveries, permissions: Permissions, limits: Limits, spend: SpendWatch):
        self.app = app
        self.manager = manager
        self.deliveries = deliveries
        self.permissions = permissions
        self.limits = limits
        self.spend = spend
        self._asks: dict[str, _Ask] = {}
        control.handle("say")(self.say)
        control.handle("ask")(self.ask)
        control.handle("fleet")(self.fleet)
        control.handle("hook")(self.hook)
        deliveries.reply_takers.append(self.take_reply)

    # ------------------------------------------------------------------ helpers

    def _bot_of(self, request: dict[str, Any]) -> _Bot:
        session = str(request.get("session") or "")
        if not session:
            raise BreakroomError("not inside a tmux session's pane (an operator names one with --as SESSION)")
        key = self.manager.bot_key(session)
        if key is None:
            raise BreakroomError(f"session {session!r} has no bot in the breakroom "
                                 "(not a tmux session it watches, or excluded by tmux.include/exclude)")
        return _Bot(key, self.manager.nick_for(session) or key)

    def _say(self, bot: _Bot, target: str, text: Clean) -> None:
        channel = self.app.channel
        if target.startswith(("#", "&")):
            if irc_lower(target) != irc_lower(channel):
                raise BreakroomError(f"session bots only speak in {channel}")
            self.app.say(bot.key, channel, text)
            return
        prefix = f"{target}: "
        for line in split_utf8(text, budget(channel) - len(prefix.encode())):
            self.app.say(bot.key, channel, prefix + line)

    # ------------------------------------------------------------------ ops

    async def say(self, request: dict[str, Any]) -> dict[str, Any]:
        """Say it in the channel; to another session here, also deliver it directly and
        answer with the outcome (delivered, queued or failed)."""
        bot = self._bot_of(request)
        target = one_line(str(request.get("target") or ""))
        text = one_line(str(request.get("text") or ""))
        if not target or " " in target:
            raise BreakroomError("say needs a target: a nick or the channel")
        if not text:
            raise BreakroomError("nothing to say")
        response: dict[str, Any] = {"ok": True, "as": bot.nick, "target": target, "text": text}
        self._say(bot, target, text)
        delivery = await self._to_local_session(bot, target, text)
        if delivery is not None:
            response["delivery"] = {"id": delivery.id, "status": delivery.status,
                                    "reason": delivery.reason}
        return response

    async def _to_local_session(self, bot: _Bot, target: str, text: Clean) -> Delivery | None:
        """Between two sessions of this breakroom the message is delivered here, not by the
        target's bot hearing the channel line: no IRC round trip, nothing lost while bots
        reconnect.  (Their relays ignore lines from sibling session bots.)"""
        if target.startswith(("#", "&")):
            return None
        session = self.manager.session_for(target)
        if session is None and self.app.is_own_nick(target):
            # to a service bot: counted, so its answer (delivered directly) is one hop deeper
            self.deliveries.hops.hop(irc_lower(bot.nick), irc_lower(target), automated=True)
        if session is None or irc_lower(target) == irc_lower(bot.nick):
            return None
        return await self.deliveries.receive(session, bot.nick, text, automated=True,
                                             from_session=self.manager.session_for(bot.nick))

    async def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        bot = self._bot_of(request)
        to = one_line(str(request.get("to") or "knowledge"))
        question = one_line(str(request.get("question") or ""))
        if not question:
            raise BreakroomError("ask needs a question")
        timeout = min(float(request.get("timeout") or 60), MAX_ASK_TIMEOUT)
        request_id = "q" + secrets.token_hex(2)
        while request_id in self._asks:
            request_id = "q" + secrets.token_hex(2)
        pending = _Ask(asker=irc_lower(bot.nick), reply=asyncio.get_running_loop().create_future())
        self._asks[request_id] = pending
        try:
            line = Clean(f"[{request_id}] {question}")
            self._say(bot, to, line)
            await self._to_local_session(bot, to, line)
            try:
                await asyncio.wait_for(asyncio.shield(pending.reply), timeout)
            except TimeoutError:
                raise BreakroomError(f"no reply to [{request_id}] from {to} within {timeout:g}s") from None
            await asyncio.sleep(CONTINUATION_WAIT)
        finally:
            self._asks.pop(request_id, None)
        return {"ok": True, "id": request_id, "from": pending.sender,
                "reply": " ".join(pending.lines)}

    async def fleet(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "sessions": self.manager.status_dicts()}

    async def hook(self, request: dict[str, Any]) -> dict[str, Any] | Handover:
        session, event = str(request.get("session") or ""), str(request.get("event") or "")
        try:
            reported = state = parse_state(str(request.get("state") or ""))
        except ValueError as exc:
            raise BreakroomError(str(exc)) from None
        handover = await self.deliveries.take_for_hook(session, event) if request.get("collect") else None
        if handover is not None and state is PaneState.IDLE:
            state = PaneState.WORKING  # the Stop hook keeps the agent going with the messages
        self.manager.set_hook_state(session, state)
        answer: dict[str, Any] = {"ok": True, "known": self.manager.nick_for(session) is not None,
                                  "context": handover.context if handover is not None else ""}
        if answer["known"]:
            self.spend.saw(session, request.get("transcript_path"), event)
        if event == "PermissionRequest":
            answer.update(await self._permission(session, request))
            return answer
        self.permissions.moved_on(session, event, request.get("tool_name"), request.get("tool_input"))
        if event == "UserPromptSubmit":
            self.deliveries.prompt_submitted(session, str(request.get("prompt") or ""))
        if event == "StopFailure":
            self.limits.from_hook(session, state, str(request.get("last_assistant_message") or ""))
        if handover is None:
            return answer
        return Handover(answer, kept=partial(self.deliveries.handed, handover),
                        lost=partial(self._not_handed, handover, reported))

    def _not_handed(self, handover: HookHandover, reported: PaneState) -> None:
        """The hook never took its messages: they wait again, and a Stop that they were to
        keep going stops after all (the hook's own report stands)."""
        self.deliveries.not_handed(handover)
        if reported is PaneState.IDLE:
            self.manager.set_hook_state(handover.session, reported)

    async def _permission(self, session: str, request: dict[str, Any]) -> dict[str, Any]:
        """Relay a PermissionRequest and wait for the first answer, no longer than the hook
        waits (``wait``) nor ``permissions.relay_timeout``."""
        try:
            wait = min(float(request.get("wait") or 0), self.app.config.permissions.relay_timeout)
        except (TypeError, ValueError):
            wait = 0.0
        if wait <= 0:
            return {}
        verdict = await self.permissions.from_hook(session, request.get("tool_name"),
                                                   request.get("tool_input"), wait)
        if verdict is None:
            return {}
        if verdict.allow:
            return {"decision": "allow"}
        return {"decision": "deny", "message": f"denied from the breakroom by {verdict.by} ({verdict.how})"}

    # ------------------------------------------------------------------ replies

    def take_reply(self, bot_nick: str, sender: str, text: str) -> bool:
        """Offer a line addressed to ``bot_nick``: True when it answers (or continues the
        answer to) a pending ask, which then must not be delivered into the pane."""
        asker = irc_lower(bot_nick)
        match = _REQUEST_ID.search(text)
        pending = self._asks.get(match.group(1)) if match else None
        if pending is not None and pending.asker == asker and not pending.reply.done():
            pending.sender = sender
            pending.lines.append(one_line(_REQUEST_ID.sub("", text, count=1)))
            pending.reply.set_result(True)
            return True
        return self.take_continuation(bot_nick, sender, text)

    def take_continuation(self, bot_nick: str, sender: str, text: str) -> bool:
        """A further line from the sender of a just-resolved reply (IRC splits long ones)."""
        for pending in self._asks.values():
            if (pending.asker == irc_lower(bot_nick) and pending.reply.done()
                    and irc_lower(pending.sender) == irc_lower(sender)):
                pending.lines.append(one_line(text))
                return True
        return False
