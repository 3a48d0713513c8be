"""Errors a user can act on: the CLI prints them as one line and exits non-zero."""


class BreakroomError(Exception):
    """A failure with a message meant for the user, not a traceback."""

    exit_code = 1


class ConfigError(BreakroomError):
    """A config value is wrong; the message names the key and what was expected."""

    exit_code = 2
