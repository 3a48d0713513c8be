"""When a limit resets, read from the words an agent uses (its profile's ``limits.reset``), and
what the StopFailure hook's error types mean."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from breakroom.fleet.hooks import STOP_FAILURE_STATES, state_for
from breakroom.fleet.limits import LIMIT_STATES, reset_time
from breakroom.fleet.states import PaneState

BERLIN = ZoneInfo("Europe/Berlin")
NOON = datetime(2026, 12, 5, 12, 0, tzinfo=BERLIN).timestamp()


@pytest.mark.parametrize("text, expected", [
    ("5-hour limit reached ∙ resets 3pm (Europe/Berlin)", datetime(2026, 12, 5, 15, 0, tzinfo=BERLIN)),
    ("Limit reached · resets 3:30 pm (Europe/Berlin)", datetime(2026, 12, 5, 15, 30, tzinfo=BERLIN)),
    ("resets 9am (Europe/Berlin)", datetime(2026, 12, 6, 9, 0, tzinfo=BERLIN)),  # past today: tomorrow
    ("Claude AI usage limit reached|1796470000", datetime.fromtimestamp(1796470000, BERLIN)),
])
def test_a_named_reset_time_is_believed(text, expected):
    assert reset_time(text, "claude-code", NOON) == expected.timestamp()


def test_a_wait_in_seconds_or_minutes_counts_from_now():
    assert reset_time("Rate limited: try again in 30s", "claude-code", NOON) == NOON + 30
    assert reset_time("please retry in 5 minutes", "claude-code", NOON) == NOON + 300


@pytest.mark.parametrize("text", [
    "API Error: Request rejected (429) · rate limit",        # names no time: back off
    "usage limit reached|1000000000",                        # in the past
    "usage limit reached|9999999999",                        # years away
    "resets 13pm",
])
def test_nonsense_or_nothing_is_not_a_reset_time(text):
    assert reset_time(text, "claude-code", NOON) is None


def test_a_zone_that_is_not_one_is_read_as_the_local_clock():
    found = reset_time("resets 3pm (../../etc/passwd)", "claude-code", NOON)
    assert found is not None and NOON < found <= NOON + 86400


def test_an_agent_without_patterns_names_no_reset():
    assert reset_time("resets 3pm", "aider", NOON) is None


def test_stop_failure_errors_map_to_the_limit_states():
    for error, state in STOP_FAILURE_STATES.items():
        assert state_for("StopFailure", {"error": error}) == state
        assert PaneState(state) in LIMIT_STATES
    assert state_for("StopFailure", {"error": "max_output_tokens"}) is None  # not a limit
    assert state_for("StopFailure", {}) is None
