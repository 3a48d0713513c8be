"""The states an issue of the work queue moves through, shared by the queue and the skills
that serve them (a skill's front matter names the states it does the work of)."""

from __future__ import annotations

ISSUE_STATES = ("ready-for-prep", "ready-for-dev", "qa", "review", "done", "blocked")
ACTIVE_STATES = ("ready-for-prep", "ready-for-dev", "qa", "review")
