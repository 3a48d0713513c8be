"""Skills: the shipped briefs load cleanly; malformed front matter is reported with file and line."""

import pytest

from breakroom.errors import BreakroomError
from breakroom.paths import SKILLS_DIR
from breakroom.work.issue_states import ACTIVE_STATES
from breakroom.work.skills import load_skills

SHIPPED = {"scout", "prep", "build", "qa", "review", "close", "ask", "synthesize", "reflect", "checkin"}


def write(directory, name, text):
    path = directory / f"{name}.md"
    path.write_text(text)
    return path


def test_shipped_skills_load_and_cover_every_active_state():
    skills = load_skills(SKILLS_DIR)
    assert skills.problems == []
    assert {s.name for s in skills} >= SHIPPED
    assert {state: skills.for_state(state).name for state in ACTIVE_STATES} == {
        "ready-for-prep": "prep", "ready-for-dev": "build", "qa": "qa", "review": "review"}
    assert [skills.get("close").next, skills.get("synthesize").next] == ["synthesize", "reflect"]
    assert skills.get("synthesize").roles == ("writer",)
    assert skills.get("build").pointer() == "skills/build.md"
    for skill in skills:
        assert skill.description and "done looks like" in skill.body.lower(), skill.name


def test_good_skill_parses(tmp_path):
    write(tmp_path, "triage",
          "---\nname: triage\ndescription: Sort   new\n  issues.\nstates: ready-for-prep\n"
          "roles: [lead]\n---\n# Triage\nbody\n")
    skill = load_skills(tmp_path).require("triage")
    assert (skill.description, skill.states, skill.roles, skill.next, skill.body) == (
        "Sort new issues.", ("ready-for-prep",), ("lead",), None, "# Triage\nbody\n")


@pytest.mark.parametrize("text, line, message", [
    ("# no front matter\n", 1, "no front matter"),
    ("---\nname: x\ndescription: y\n", 1, "not closed"),
    ("---\nname: bad\ndescription: [unclosed\nstates: [qa]\n---\nbody\n", 4, "not valid YAML"),
    ("---\nname: bad\n\ndescription: ok\nstates: [shipping]\n---\n", 5, "unknown state 'shipping'"),
    ("---\nname: bad\ndescription: ok\ncolour: blue\n---\n", 4,
     "colour: unknown key (known keys here: description"),
    ("---\nname: bad\nstates: [qa]\n---\n", 1, "description: required, missing"),
    ("---\nname: Bad Name\ndescription: ok\n---\n", 2,
     'name: expected lower-case letters, digits and \'-\', got "Bad Name"'),
    ("---\nname: bad\ndescription: ok\nroles: {writer: yes}\n---\n", 4, "roles: expected a list"),
    ("---\nname: other\ndescription: ok\n---\n", 2, "does not match the file name"),
    ("---\n- just\n- a list\n---\n", 2, "must be a mapping"),
])
def test_malformed_front_matter_is_reported_with_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path, "bad", text)
    write(tmp_path, "good", "---\nname: good\ndescription: fine\n---\nbody\n")
    skills = load_skills(tmp_path)
    assert [s.name for s in skills] == ["good"]
    [problem] = skills.problems
    assert (problem.path, problem.line) == (path, line)
    assert message in problem.message
    assert str(problem).startswith(f"{path}:{line}: ")


def test_two_skills_cannot_serve_one_state(tmp_path):
    write(tmp_path, "a", "---\nname: a\ndescription: one\nstates: [qa]\n---\n")
    write(tmp_path, "b", "---\nname: b\ndescription: two\nstates: [qa]\n---\n")
    skills = load_skills(tmp_path)
    assert [s.name for s in skills] == ["a"]
    assert "already served by skill 'a'" in skills.problems[0].message


def test_next_must_name_a_skill(tmp_path):
    path = write(tmp_path, "a", "---\nname: a\ndescription: one\n\nnext: nowhere\n---\n")
    [problem] = load_skills(tmp_path).problems
    assert (problem.path, problem.line, problem.message) == (path, 5, "next: no skill named 'nowhere'")


def test_require_unknown_skill(tmp_path):
    write(tmp_path, "a", "---\nname: a\ndescription: one\n---\n")
    with pytest.raises(BreakroomError, match=r"no skill named 'zzz' \(skills: a\)"):
        load_skills(tmp_path).require("zzz")


def test_missing_directory_is_a_problem_not_a_crash(tmp_path):
    skills = load_skills(tmp_path / "absent")
    assert len(skills) == 0 and "not found" in skills.problems[0].message
