"""The dispatcher cycle: one action per cycle, only idle sessions, DND/pause/cooldown, audit."""

import pytest

from breakroom.config import DispatcherConfig
from breakroom.fleet.manager import SessionStatus
from breakroom.paths import SKILLS_DIR
from breakroom.work import digest, dispatch
from breakroom.work import queue as wq
from breakroom.work.skills import load_skills

T0 = 1_800_000_000.0


def status(session: str, state: str, *, since: float = T0 - 600, project: str | None = None,
           role: str | None = None) -> SessionStatus:
    """A session's status as the session manager reports it."""
    return SessionStatus(session=session, nick=session, agent="sim", state=state, since=since,
                         project=project, role=role, hook_fresh=False)


@pytest.fixture(scope="module")
def skills():
    return load_skills(SKILLS_DIR)


CFG = DispatcherConfig(interval=600, checkin_interval=1800, cooldown=900, scout_interval=3600)


def cycle(db, skills, sessions, now=T0, cfg=CFG, **kw):
    decision, _ = dispatch.run_cycle(db, cfg, sessions, skills, now=now, **kw)
    return decision


def test_idle_session_gets_its_most_urgent_issue_with_the_skill_pointer(db, skills):
    wq.add_issue(db, "Low priority", who="h", project="shop", state="ready-for-dev", priority=4)
    urgent = wq.add_issue(db, "Stripe webhook ignores DB failures", who="h", project="shop",
                          state="ready-for-dev", priority=1)
    wq.add_issue(db, "Other project's", who="h", project="blog", state="ready-for-dev", priority=1)
    decision = cycle(db, skills, [status("shop", "idle", project="shop")])
    assert decision.action.text == (
        f'[dispatcher] next: build #{urgent.id} "Stripe webhook ignores DB failures" — '
        f"brief: skills/build.md — when done: breakroom issue move {urgent.id} qa")
    assert decision.reason == f"nudged shop: build #{urgent.id} (P1, project shop)"
    assert wq.get_issue(db, urgent.id).assignee == "shop"


@pytest.mark.parametrize("state, skill, then", [
    ("ready-for-prep", "prep", "ready-for-dev"), ("qa", "qa", "review"), ("review", "review", "done")])
def test_state_maps_to_skill_and_next_move(db, skills, state, skill, then):
    issue = wq.add_issue(db, "Thing", who="h", project="shop", state=state)
    action = cycle(db, skills, [status("shop", "idle", project="shop")]).action
    assert (action.kind, action.skill) == ("work", skill)
    assert action.text.endswith(f"skills/{skill}.md — when done: breakroom issue move {issue.id} {then}")


@pytest.mark.parametrize("state", ["working", "waiting:permission", "waiting:question", "error:api",
                                   "exited", "unknown"])
def test_a_session_that_is_not_idle_is_never_nudged(db, skills, state):
    wq.add_issue(db, "Work", who="h", project="shop", state="ready-for-dev")
    decision = cycle(db, skills, [status("shop", state, project="shop")])
    assert decision.action is None and decision.reason.startswith("nothing to do: 1 session ")


def test_one_action_per_cycle_even_with_several_idle_sessions(db, skills):
    for project in ("a", "b", "c"):
        wq.add_issue(db, f"Work for {project}", who="h", project=project, state="ready-for-dev")
    sessions = [status("a", "idle", since=T0 - 100, project="a"),
                status("b", "idle", since=T0 - 900, project="b"),
                status("c", "idle", since=T0 - 500, project="c")]
    nudged = [cycle(db, skills, sessions, now=T0 + i).action.session for i in range(3)]
    assert nudged == ["b", "c", "a"]  # the session idle longest first, one per cycle
    rows = dispatch.audit(db, 10)
    assert [r.acted for r in rows] == [True, True, True]


def test_reason_counts_why_nobody_was_nudged(db, skills):
    dispatch.set_dnd(db, "d", 30, now=T0)
    sessions = [status("w1", "working", project="x"), status("w2", "working", project="x"),
                status("w3", "working", project="x"), status("d", "idle", project="x"),
                status("q", "waiting:question", project="x")]
    decision = cycle(db, skills, sessions)
    assert decision.reason == "nothing to do: 3 sessions busy, 1 waiting on a prompt, 1 DND"
    assert dispatch.audit(db, 1)[0].reason == decision.reason
    assert cycle(db, skills, []).reason == "nothing to do: no sessions"


def test_dnd_is_honoured_and_expires(db, skills):
    wq.add_issue(db, "Work", who="h", project="shop", state="ready-for-dev")
    sessions = [status("shop", "idle", project="shop")]
    assert dispatch.set_dnd(db, "shop", 10, now=T0) == T0 + 600
    assert cycle(db, skills, sessions, now=T0 + 599).action is None
    assert cycle(db, skills, sessions, now=T0 + 601).action.session == "shop"
    dispatch.set_dnd(db, "shop", 10, now=T0 + 1000)
    dispatch.set_dnd(db, "shop", 0)
    assert dispatch.dnd_map(db, T0 + 1000) == {}


def test_a_pause_and_held_sessions_are_honoured(db, skills):
    wq.add_issue(db, "Work", who="h", project="shop", state="ready-for-dev")
    sessions = [status("shop", "idle", project="shop"), status("blog", "idle", project="shop")]
    assert cycle(db, skills, sessions, paused=True).reason == "nothing to do: paused"
    held = {"shop": "shop hit error:rate-limit", "blog": "blog is over its budget"}
    assert cycle(db, skills, sessions, held=held).reason == "nothing to do: 2 sessions held"
    assert cycle(db, skills, sessions, now=T0 + 1, held=held, only="shop", force=True).action is None
    assert cycle(db, skills, sessions, now=T0 + 2, held={"blog": "paused"}).action.session == "shop"


def test_cooldown_prevents_double_nudges(db, skills):
    wq.add_issue(db, "Work", who="h", project="shop", state="ready-for-dev")
    sessions = [status("shop", "idle", project="shop")]
    assert cycle(db, skills, sessions, now=T0).action is not None
    second = cycle(db, skills, sessions, now=T0 + CFG.cooldown - 1)
    assert second.action is None and second.reason == "nothing to do: 1 session cooling down"
    assert cycle(db, skills, sessions, now=T0 + CFG.cooldown).action is not None


def test_force_skips_cooldown_and_pause_but_not_busy_or_dnd(db, skills):
    wq.add_issue(db, "Work", who="h", project="shop", state="ready-for-dev")
    idle = [status("shop", "idle", project="shop"), status("blog", "idle", project="blog")]
    cycle(db, skills, idle)
    forced = cycle(db, skills, idle, now=T0 + 1, only="shop", force=True, paused=True)
    assert forced.action.session == "shop"
    assert cycle(db, skills, [status("shop", "working", project="shop")], now=T0 + 2,
                 only="shop", force=True).action is None
    dispatch.set_dnd(db, "shop", 5, now=T0)
    dnd = cycle(db, skills, idle, now=T0 + 3, only="shop", force=True)
    assert dnd.reason == "nothing to do: 1 session DND"
    assert cycle(db, skills, idle, only="ghost", force=True).reason == "nothing to do: no session 'ghost'"


def test_issue_assigned_to_another_present_session_is_left_alone(db, skills):
    issue = wq.add_issue(db, "Work", who="h", project="shop", state="ready-for-dev")
    wq.assign(db, issue.id, "shop-1")
    two = [status("shop-1", "working", project="shop"), status("shop-2", "idle", project="shop")]
    held = cycle(db, skills, two).action
    assert held.kind == "scout" and held.session == "shop-2"  # nothing actionable for shop-2
    # once its holder has left the fleet, another session of the project may take it
    alone = [status("shop-2", "idle", project="shop")]
    assert cycle(db, skills, alone, now=T0 + CFG.cooldown).action.issue_id == issue.id


def test_role_sessions_take_their_role_from_every_project(db, skills):
    project_issue = wq.add_issue(db, "Build", who="h", project="shop", state="ready-for-dev", priority=1)
    role_issue = wq.add_issue(db, "synthesize: logs", who="h", project="shop", role="writer",
                              skill="synthesize", state="ready-for-dev", priority=3)
    writer = cycle(db, skills, [status("writer", "idle", role="writer")]).action
    assert (writer.issue_id, writer.skill) == (role_issue.id, "synthesize")
    assert writer.text.endswith(
        f"skills/synthesize.md — when done: breakroom issue move {role_issue.id} done")
    shop = cycle(db, skills, [status("shop", "idle", project="shop")], now=T0 + 1).action
    assert shop.issue_id == project_issue.id


def test_nothing_actionable_sends_a_rate_limited_scout(db, skills):
    sessions = [status("shop", "idle", project="shop")]
    cfg = DispatcherConfig(checkin_interval=10**6, cooldown=900, scout_interval=3600)
    first = cycle(db, skills, sessions, cfg=cfg)
    assert (first.action.kind, first.reason) == ("scout", "nudged shop: scout project shop")
    assert "brief: skills/scout.md" in first.action.text and "--project shop" in first.action.text
    later = T0 + CFG.cooldown + 1
    assert cycle(db, skills, sessions, now=later, cfg=cfg).reason == \
        "nothing to do: 1 session idle with nothing actionable"
    assert cycle(db, skills, sessions, now=T0 + cfg.scout_interval, cfg=cfg).action.kind == "scout"
    # a role session with nothing to do is not sent scouting
    assert cycle(db, skills, [status("writer", "idle", role="writer")], cfg=cfg).action is None


def test_checkin_is_due_every_interval_per_session_and_reading_the_digest_counts(db, skills):
    wq.add_issue(db, "Work", who="h", project="shop", state="ready-for-dev")
    sessions = [status("shop", "idle", project="shop")]
    assert cycle(db, skills, sessions, now=T0).action.kind == "work"  # first seen: work before chat
    due = T0 + CFG.checkin_interval
    checkin = cycle(db, skills, sessions, now=due).action
    assert checkin.kind == "checkin" and "breakroom digest" in checkin.text
    assert "brief: skills/checkin.md" in checkin.text
    assert cycle(db, skills, sessions, now=due + CFG.cooldown).action.kind == "work"
    # the session read its digest later on: the next check-in counts from then
    digest.mark(db, "shop", 0, now=due + 1000)
    at = due + CFG.checkin_interval + 1
    assert cycle(db, skills, sessions, now=at).action.kind == "work"
    later = due + 1000 + CFG.checkin_interval + CFG.cooldown
    assert cycle(db, skills, sessions, now=later).action.kind == "checkin"


def test_every_cycle_writes_an_audit_row_and_records_delivery(db, skills):
    wq.add_issue(db, "Work", who="h", project="shop", state="ready-for-dev")
    sessions = [status("shop", "idle", project="shop")]
    _, audit_id = dispatch.run_cycle(db, CFG, sessions, skills, now=T0)
    dispatch.record_delivery(db, audit_id, "delivered")
    for i in range(1, 4):
        dispatch.run_cycle(db, CFG, sessions, skills, now=T0 + i)
    rows = dispatch.audit(db, 10)
    assert [r.acted for r in rows] == [True, False, False, False]
    assert rows[0].delivery == "delivered" and rows[0].issue_id == 1
    assert rows[0].line().endswith("nudged shop: build #1 (P3, project shop) [delivered]")
    assert "nothing to do: 1 session cooling down" in rows[-1].line()
    assert [r.id for r in dispatch.audit(db, 2)] == [rows[2].id, rows[3].id]
