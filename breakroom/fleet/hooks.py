"""Agent hooks: `breakroom hook EVENT` reports a session's state the moment the agent knows
it, hands the agent its queued messages mid-turn (PostToolUse, UserPromptSubmit, Stop and
Gemini CLI's AfterTool, BeforeAgent, AfterAgent: see :func:`hook_output`), waits for an
operator's answer to a permission prompt relayed to IRC (Claude Code's PermissionRequest),
and `breakroom hooks install` wires Claude Code's hooks to that command (Codex's:
:mod:`breakroom.fleet.codex_wiring`, Gemini CLI's: :mod:`breakroom.fleet.gemini_settings`).

A hook runs inside the agent's turn, so it must never slow the agent down or fail it:
whatever happens (garbage on stdin, no tmux, no breakroom running) it stays silent and
ends within a second — except a PermissionRequest, which waits (:data:`WAIT_EVENTS`) while
the prompt is relayed; the agent's own dialog stays usable meanwhile.  Scraping the pane
stays the fallback when no hook reports.

What each event means is in the tables below; the breakroom's side of each is
:meth:`breakroom.app.session_ops.SessionOps.hook`.
"""

from __future__ import annotations

import json
import os
import select
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from breakroom.control.client import claim, request
from breakroom.errors import BreakroomError
from breakroom.paths import data_dir_of, find_config_file

HOOK_BUDGET = 0.9          # seconds from process start until the hook must be done
STDIN_WAIT = 0.2           # an agent writes the JSON at once; don't wait on an open tty
MIN_WAIT = 0.2             # even past the budget (a loaded machine), tmux and the breakroom get this
MAX_PAYLOAD = 1 << 20

# Every agent's hook events in one table: Claude Code's, Codex's and Gemini CLI's (whose hooks
# copy Claude Code's: SessionStart, SessionEnd and Notification mean the same in all).
EVENT_STATES = {
    "SessionStart": "idle",
    "UserPromptSubmit": "working",        # Gemini CLI: BeforeAgent
    "PreToolUse": "working",              # Gemini CLI: BeforeTool
    "PostToolUse": "working",             # Gemini CLI: AfterTool
    "SubagentStop": "working",
    "PreCompact": "working",              # Gemini CLI: PreCompress
    "PermissionRequest": "waiting:permission",
    "Stop": "idle",                       # Gemini CLI: AfterAgent
    "SessionEnd": "exited",
    "BeforeAgent": "working",
    "BeforeTool": "working",
    "AfterTool": "working",
    "PreCompress": "working",
    "AfterAgent": "idle",
    "agent-turn-complete": "idle",   # Codex's notify program (its JSON comes as an argument)
}
# Events whose output reaches the agent's context: queued messages go out through them.
DELIVERY_EVENTS = ("PostToolUse", "UserPromptSubmit", "Stop", "AfterTool", "BeforeAgent", "AfterAgent")
# ... of which these end the turn unless a "block" gives the agent its messages to go on with.
TURN_END_EVENTS = ("Stop", "AfterAgent")
NOTIFICATION_STATES = {"permission_prompt": "waiting:permission", "idle_prompt": "idle",
                       "ToolPermission": "waiting:permission"}   # the last is Gemini CLI's
NOTIFICATION_TEXT = {"needs your permission": "waiting:permission",
                     "waiting for your input": "idle"}
# StopFailure: the turn ended on an API error; its ``error`` (the hook's matcher values, seen
# on Claude Code 2.1.197 and 2.1.332) is the session's error state.  The breakroom holds such a
# session and resumes it when the limit resets (breakroom.fleet.limits); an error not named
# here (invalid_request, max_output_tokens, unknown) says nothing about a limit.
STOP_FAILURE_STATES = {
    "rate_limit": "error:rate-limit",
    "overloaded": "error:overloaded",
    "server_error": "error:server",          # also what a run of 529s ends in
    "authentication_failed": "error:auth",
    "billing_error": "error:usage-limit",    # "Credit balance is too low"
}
# Fields of the hook's input passed on to the breakroom (untrusted there): the transcript
# (spend) with every event, and what an event's handling needs.
FORWARD_ALWAYS = ("transcript_path",)
FORWARD = {
    "PermissionRequest": ("tool_name", "tool_input"),      # the prompt relayed to IRC
    "StopFailure": ("error", "last_assistant_message"),    # the limit and its reset time
    "UserPromptSubmit": ("prompt",),                       # a typed message read: a receipt
}
FORWARD_MAX = 8192  # characters of one forwarded field (as JSON); longer is cut
# Events whose hook waits for the breakroom's answer, and for how long at most; the
# breakroom answers by ``permissions.relay_timeout``, and `hooks install` gives the hook
# that long (plus a margin) before Claude Code kills it.
WAIT_EVENTS = {"PermissionRequest": 24 * 3600.0}
WAIT_MARGIN = 30  # seconds of the hook's timeout beyond relay_timeout

# What `hooks install` wires.  PreToolUse is left out on purpose: it runs before every
# tool call and blocks it; PostToolUse is enough to leave waiting:permission after an
# approval, and UserPromptSubmit already says "working".
INSTALL = [("SessionStart", None), ("UserPromptSubmit", None), ("PostToolUse", None),
           ("Notification", "permission_prompt"), ("Notification", "idle_prompt"),
           ("PermissionRequest", None), ("StopFailure", None),
           ("Stop", None), ("SessionEnd", None)]
HOOK_COMMAND = "breakroom hook {event}"   # what older installs wrote (found and replaced)
HOOK_TIMEOUT = 10  # seconds Claude Code gives a hook before killing it (its default is 600)


def state_for(event: str, payload: dict[str, Any]) -> str | None:
    """The session state an agent hook event means, or None when it says nothing."""
    if event == "StopFailure":
        return STOP_FAILURE_STATES.get(str(payload.get("error", "")))
    if event == "Notification":
        kind = payload.get("notification_type")
        if kind in NOTIFICATION_STATES:
            return NOTIFICATION_STATES[kind]
        message = str(payload.get("message", "")).lower()
        return next((state for text, state in NOTIFICATION_TEXT.items() if text in message), None)
    return EVENT_STATES.get(event)


def parse_payload(raw: bytes) -> dict[str, Any]:
    """The hook's JSON object, or {} for anything else."""
    try:
        payload = json.loads(raw.decode("utf-8", "replace"))
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def read_stdin(wait: float = STDIN_WAIT) -> bytes:
    """What the agent wrote on stdin, without blocking past ``wait`` seconds."""
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return b""
    data = b""
    deadline = time.monotonic() + wait
    while len(data) < MAX_PAYLOAD:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    return data


def process_age() -> float:
    """Seconds since this process started (0 where /proc is missing)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0.0, uptime - started)


def forwarded(event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The fields of the hook's input the breakroom needs for ``event``, each cut to
    :data:`FORWARD_MAX` characters (a long one becomes its JSON text, cut)."""
    fields = {}
    for name in (*FORWARD_ALWAYS, *FORWARD.get(event, ())):
        if name in payload:
            value = payload[name]
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            fields[name] = value if len(text) <= FORWARD_MAX else text[:FORWARD_MAX]
    return fields


def hook_output(event: str, answer: dict[str, Any]) -> dict[str, Any] | None:
    """What the hook prints for the breakroom's ``answer``.

    - ``context`` (the session's messages) into the agent's context: ``additionalContext``
      for PostToolUse/UserPromptSubmit (Gemini CLI: AfterTool, whose context joins the tool's
      result, and BeforeAgent), a ``block`` whose reason is the messages for Stop/AfterAgent
      (the turn goes on with them as the prompt).  Verified on Claude Code 2.1.197
      (FIELD-NOTES) and Gemini CLI 0.61.0 (the live tests);
    - ``decision`` (``allow``/``deny``, with a ``message`` for a denial) for a
      PermissionRequest: Claude Code runs or refuses the tool without its dialog (verified
      on 2.1.197 and 2.1.332); no decision leaves the dialog to the terminal."""
    decision = answer.get("decision")
    if event == "PermissionRequest" and decision in ("allow", "deny"):
        verdict: dict[str, Any] = {"behavior": decision}
        if decision == "deny":
            verdict["message"] = str(answer.get("message") or "denied from the breakroom")
        return {"hookSpecificOutput": {"hookEventName": event, "decision": verdict}}
    context = str(answer.get("context") or "")
    if not context:
        return None
    if event in TURN_END_EVENTS:
        return {"decision": "block", "reason": context}
    if event in DELIVERY_EVENTS:
        return {"hookSpecificOutput": {"hookEventName": event, "additionalContext": context}}
    return None


def data_path(config: str | None) -> Path:
    """The data dir of the breakroom to report to, read the cheap way (:mod:`breakroom.paths`);
    a config file that needs the full reading gets it."""
    try:
        return data_dir_of(find_config_file(config))
    except BreakroomError:
        from breakroom.config import load
        return load(config).data_path


def run_hook(event: str, config: str | None = None, explicit_session: str | None = None,
             out: Callable[[str], object] = print) -> None:
    """Report ``event``'s state for this session to the running breakroom and print the
    messages it hands over (:func:`hook_output`); never raises.  Which session it is, the
    breakroom settles from the kernel (this process runs in that session's pane)."""
    try:
        payload = parse_payload(read_stdin())
        state = state_for(event, payload)
        if state is None:
            return
        ask: dict[str, Any] = {"op": "hook", **claim(explicit_session), "state": state, "event": event,
                               **forwarded(event, payload)}
        if event in DELIVERY_EVENTS:
            ask["collect"] = True
        wait = WAIT_EVENTS.get(event)
        if wait:
            ask["wait"] = wait

        def emit(answer: dict[str, Any]) -> None:
            """Printed for the agent before the receipt goes back: handed messages are in
            the agent's pipe by the time the breakroom counts them delivered."""
            output = hook_output(event, answer)
            if output is not None:
                out(json.dumps(output, ensure_ascii=False))
                sys.stdout.flush()

        request(data_path(config), ask, on_answer=emit,
                timeout=wait or max(MIN_WAIT, min(0.8, HOOK_BUDGET - process_age())))
    except Exception:  # a hook must never fail the agent's turn
        return


def main(argv: list[str]) -> int:
    """``hook EVENT [--as SESSION]`` without importing the whole CLI: a hook has a second,
    and loading every CLI module takes half of it.  ``python -m breakroom.fleet.hooks EVENT``."""
    explicit = argv[argv.index("--as") + 1] if "--as" in argv[:-1] else None
    config = argv[argv.index("--config") + 1] if "--config" in argv[:-1] else None
    run_hook(argv[0] if argv else "", config, explicit)
    return 0


# ---------------------------------------------------------------- installing


def breakroom_argv() -> list[str]:
    """How to run this installation's ``breakroom``, by absolute path (an agent's PATH need
    not have it): the script beside this Python, else the one on PATH, else ``python -c``."""
    import shutil

    script = Path(sys.executable).parent / "breakroom"
    if not script.is_file():
        found = shutil.which("breakroom")
        script = Path(found).resolve() if found else script
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from breakroom.entry import main; main()"]


def hook_prefix() -> str:
    """The shell words that run ``breakroom hook`` (see :func:`breakroom_argv`)."""
    import shlex

    return " ".join(shlex.quote(word) for word in breakroom_argv()) + " hook"


def hook_command(event: str, prefix: str, config: str | None) -> str:
    """``/abs/breakroom hook Stop --config /abs/breakroom.yaml``: works from any environment."""
    import shlex

    command = f"{prefix} {event}"
    return f"{command} --config {shlex.quote(config)}" if config else command


def is_breakroom_hook(command: object, event: str) -> bool:
    """A breakroom hook command for ``event``, whichever way it was written."""
    if not isinstance(command, str):
        return False
    words = command.split()
    return ("breakroom" in command and event in words
            and ("hook" in words or "breakroom.fleet.hooks" in words))


def hook_entry(event: str, matcher: str | None, command: str, timeout: int = HOOK_TIMEOUT,
               name: str | None = None) -> dict[str, Any]:
    hook: dict[str, Any] = {"type": "command", "command": command, "timeout": timeout}
    entry: dict[str, Any] = {"hooks": [{"name": name, **hook} if name else hook]}
    return {"matcher": matcher, **entry} if matcher else entry


def merge_hooks(settings: dict[str, Any], prefix: str | None = None, config: str | None = None, *,
                events: list[tuple[str, str | None]] = INSTALL, timeout: int = HOOK_TIMEOUT,
                name: str | None = None, relay_timeout: float | None = None) -> int:
    """Add breakroom's hook entries for ``events`` (event, matcher) to an agent's ``settings``
    in place (Claude Code's by default; Gemini CLI's settings take the same shape, with
    ``timeout`` in milliseconds), or bring older ones up to date (absolute paths); returns
    how many changed (0: all there already).  Other settings and hooks stay.  A hook that
    waits (:data:`WAIT_EVENTS`) gets ``relay_timeout`` (``permissions.relay_timeout`` of the
    config the hooks name; seconds) and a margin before the agent kills it."""
    prefix = prefix or hook_prefix()
    hooks = settings.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise BreakroomError("settings.json: \"hooks\" is not an object; fix it by hand first")
    changed = 0
    for event, matcher in events:
        entries = hooks.setdefault(event, [])
        if not isinstance(entries, list):
            raise BreakroomError(f"settings.json: hooks.{event} is not a list; fix it by hand first")
        waits = event in WAIT_EVENTS and relay_timeout is not None
        wanted = hook_entry(event, matcher, hook_command(event, prefix, config),
                            int(relay_timeout or 0) + WAIT_MARGIN if waits else timeout, name)
        ours = [i for i, e in enumerate(entries) if isinstance(e, dict) and e.get("matcher") == matcher
                and any(isinstance(h, dict) and is_breakroom_hook(h.get("command"), event)
                        for h in e.get("hooks") or [])]
        if ours and entries[ours[0]] == wanted and len(ours) == 1:
            continue
        for i in reversed(ours):
            del entries[i]
        entries.append(wanted)
        changed += 1
    return changed


def install(project: Path, write: bool = True, *, prefix: str | None = None,
            config: str | None = None, relay_timeout: float = 300) -> tuple[Path, dict[str, Any], int]:
    """Merge the hooks into ``project/.claude/settings.json``; ``config`` (absolute) is the
    breakroom's config file the hook commands name, ``relay_timeout`` its
    ``permissions.relay_timeout``.

    Returns (path, merged settings, entries added); with ``write=False`` nothing is
    written (for ``--print``)."""
    path = project / ".claude" / "settings.json"
    settings = read_settings(path)
    added = merge_hooks(settings, prefix, config, relay_timeout=relay_timeout)
    if write and added:
        write_settings(path, settings)
    return path, settings, added


def read_settings(path: Path) -> dict[str, Any]:
    """An agent's JSON settings file as a dict ({} when missing); a file that is not a JSON
    object is left for the user to fix, never overwritten."""
    if not path.exists():
        return {}
    try:
        settings = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (ValueError, OSError) as exc:
        raise BreakroomError(f"{path}: cannot read it as JSON ({exc}); fix it by hand first") from None
    if not isinstance(settings, dict):
        raise BreakroomError(f"{path}: expected a JSON object")
    return settings


def write_settings(path: Path, settings: dict[str, Any]) -> None:
    """Write ``settings`` to ``path`` whole or not at all (a temporary file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
