"""The work queue against a real SQLite file: transitions, history, handoffs, import."""


import pytest

from breakroom.errors import BreakroomError
from breakroom.paths import SKILLS_DIR
from breakroom.record.db import open_db
from breakroom.work import queue as wq
from breakroom.work.skills import load_skills


@pytest.fixture(scope="module")
def skills():
    loaded = load_skills(SKILLS_DIR)
    assert not loaded.problems
    return loaded


def test_add_and_list_in_dispatch_order(db):
    low = wq.add_issue(db, "Tidy docs", who="alice", project="web", priority=4)
    urgent = wq.add_issue(db, "Webhook drops events", who="alice", project="web", priority="P1")
    other = wq.add_issue(db, "Other project", who="bob", project="api")
    assert [i.id for i in wq.list_issues(db, project="web")] == [urgent.id, low.id]
    assert [i.id for i in wq.list_issues(db)] == [urgent.id, other.id, low.id]
    assert low.state == "ready-for-prep" and low.created_by == "alice"
    assert wq.history(db, low.id)[0].to_state == "ready-for-prep"


def test_full_pipeline_records_every_transition(db, skills):
    issue = wq.add_issue(db, "Stripe webhook ignores DB failures", who="human", project="shop")
    for state, who in [("ready-for-dev", "planner"), ("qa", "builder"), ("ready-for-dev", "adversary"),
                       ("qa", "builder"), ("review", "adversary"), ("done", "reviewer")]:
        result = wq.move(db, issue.id, state, who=who, skills=skills, note=f"to {state}")
        assert result.to_state == state and result.issue.state == state
    steps = [(t.from_state, t.to_state, t.who) for t in wq.history(db, issue.id)]
    assert steps == [(None, "ready-for-prep", "human"), ("ready-for-prep", "ready-for-dev", "planner"),
                     ("ready-for-dev", "qa", "builder"), ("qa", "ready-for-dev", "adversary"),
                     ("ready-for-dev", "qa", "builder"), ("qa", "review", "adversary"),
                     ("review", "done", "reviewer")]


def test_invalid_moves_and_unknown_ids_are_clear_errors(db, skills):
    issue = wq.add_issue(db, "Something", who="a", project="p")
    with pytest.raises(BreakroomError, match=r"cannot move #1 from ready-for-prep to review \(allowed from "
                                             r"ready-for-prep: ready-for-dev, blocked\)"):
        wq.move(db, issue.id, "review", who="a", skills=skills)
    with pytest.raises(BreakroomError, match="unknown state 'shipped'"):
        wq.move(db, issue.id, "shipped", who="a", skills=skills)
    with pytest.raises(BreakroomError, match="no issue #99"):
        wq.move(db, 99, "qa", who="a", skills=skills)
    with pytest.raises(BreakroomError, match="already ready-for-prep"):
        wq.move(db, issue.id, "ready-for-prep", who="a", skills=skills)
    assert wq.get_issue(db, issue.id).state == "ready-for-prep"
    assert len(wq.history(db, issue.id)) == 1


def test_blocked_returns_only_to_where_it_was_or_prep(db, skills):
    issue = wq.add_issue(db, "Needs a key", who="a", project="p", state="qa")
    wq.move(db, issue.id, "blocked", who="a", skills=skills, note="waiting for staging key")
    with pytest.raises(BreakroomError, match="allowed from blocked: ready-for-prep, qa"):
        wq.move(db, issue.id, "review", who="a", skills=skills)
    assert wq.move(db, issue.id, "qa", who="a", skills=skills).issue.state == "qa"


def test_done_is_final(db, skills):
    issue = wq.add_issue(db, "Task", who="a", project="p", state="review")
    wq.move(db, issue.id, "done", who="a", skills=skills)
    with pytest.raises(BreakroomError, match="done is final"):
        wq.move(db, issue.id, "ready-for-dev", who="a", skills=skills)


def test_pipeline_issue_cannot_skip_to_done_but_a_task_issue_can(db, skills):
    pipeline = wq.add_issue(db, "Feature", who="a", project="p", state="ready-for-dev")
    with pytest.raises(BreakroomError, match="to done"):
        wq.move(db, pipeline.id, "done", who="a", skills=skills)
    task = wq.add_issue(db, "Work log", who="a", project="p", skill="close", state="ready-for-dev")
    assert wq.move(db, task.id, "done", who="a", skills=skills).to_state == "done"


def test_close_done_hands_off_to_writer_then_reflect(db, skills):
    close = wq.add_issue(db, "Sprint 3 work log", who="human", project="shop", skill="close",
                         state="ready-for-dev", priority=2)
    result = wq.move(db, close.id, "done", who="shop", skills=skills)
    synth = result.handoff
    assert synth is not None
    assert (synth.skill, synth.role, synth.state, synth.project, synth.priority) == \
        ("synthesize", "writer", "ready-for-dev", "shop", 2)
    assert "handoff: #2" in result.announcement() and "role writer" in result.announcement()
    reflect = wq.move(db, synth.id, "done", who="writer", skills=skills).handoff
    assert reflect.skill == "reflect" and reflect.role == "writer"
    assert wq.move(db, reflect.id, "done", who="writer", skills=skills).handoff is None


def test_plain_review_done_has_no_handoff(db, skills):
    issue = wq.add_issue(db, "Feature", who="a", project="p", state="review")
    assert wq.move(db, issue.id, "done", who="a", skills=skills).handoff is None
    assert len(wq.list_issues(db)) == 0


def test_move_clears_assignee(db, skills):
    issue = wq.add_issue(db, "Feature", who="a", project="p", state="ready-for-dev")
    wq.assign(db, issue.id, "shop")
    assert wq.get_issue(db, issue.id).assignee == "shop"
    assert wq.move(db, issue.id, "qa", who="shop", skills=skills).issue.assignee is None


def test_announcement_is_one_line(db, skills):
    issue = wq.add_issue(db, "Stripe webhook ignores DB failures", who="a", project="p",
                         state="ready-for-dev")
    line = wq.move(db, issue.id, "qa", who="shop", skills=skills, note="retries\nadded").announcement()
    assert line == ('[queue] shop moved #1 "Stripe webhook ignores DB failures" '
                    'ready-for-dev → qa (retries added)')


def test_comments(db):
    issue = wq.add_issue(db, "Feature", who="a", project="p")
    wq.comment(db, issue.id, "spec: do the thing", who="planner")
    assert [(c.who, c.text) for c in wq.comments(db, issue.id)] == [("planner", "spec: do the thing")]
    with pytest.raises(BreakroomError, match="no issue #7"):
        wq.comment(db, 7, "hello", who="a")
    with pytest.raises(BreakroomError, match="needs some text"):
        wq.comment(db, issue.id, "  ", who="a")


def test_bad_fields(db):
    with pytest.raises(BreakroomError, match="needs a title"):
        wq.add_issue(db, "  ", who="a")
    with pytest.raises(BreakroomError, match="priority must be 1"):
        wq.add_issue(db, "x", who="a", priority=9)
    with pytest.raises(BreakroomError, match="cannot start in state done"):
        wq.add_issue(db, "x", who="a", state="done")


def test_import_yaml(db, tmp_path):
    path = tmp_path / "queue.yaml"
    path.write_text("issues:\n"
                    "  - title: Spec the webhook retries\n    project: shop\n    priority: 2\n"
                    "  - title: Build retries\n    project: shop\n    state: ready-for-dev\n"
                    "    body: |\n      Retry 3 times.\n")
    added = wq.import_issues(db, path, who="human")
    assert [(i.title, i.state, i.priority) for i in added] == [
        ("Spec the webhook retries", "ready-for-prep", 2), ("Build retries", "ready-for-dev", 3)]
    assert added[1].body == "Retry 3 times.\n"


@pytest.mark.parametrize("text, message", [
    ("- title: ok\n- title: bad\n  state: shipped\n",
     r"queue.yaml:3: issues\[1\].state: unknown state 'shipped'; states are: ready-for-prep"),
    ("- title: ok\n- {project: p}\n", r"queue.yaml:2: issues\[1\].title: required, missing"),
    ("- title: ok\n  owner: me\n",
     r"queue.yaml:2: issues\[0\].owner: unknown key \(known keys here: body, priority"),
    ("issues:\n  - title: ok\n    priority: 9\n",
     r"queue.yaml:3: issues\[0\].priority: priority must be 1 \(most urgent\) to 5, got 9"),
    ("title: [unclosed\n", r"line 2: not valid YAML"),
    ("just text\n", r"expected a list of issues"),
])
def test_import_rejects_bad_files_without_adding_anything(db, tmp_path, text, message):
    path = tmp_path / "queue.yaml"
    path.write_text(text)
    with pytest.raises(BreakroomError, match=message):
        wq.import_issues(db, path, who="human")
    assert wq.list_issues(db) == []


def test_import_missing_file(db, tmp_path):
    with pytest.raises(BreakroomError, match="cannot read"):
        wq.import_issues(db, tmp_path / "nope.yaml", who="a")


def test_queue_survives_reopen(tmp_path):
    path = tmp_path / "b.db"
    first = open_db(path)
    wq.add_issue(first, "Persisted", who="a")
    first.conn.close()
    again = open_db(path)
    assert [i.title for i in wq.list_issues(again)] == ["Persisted"]
    again.conn.close()
