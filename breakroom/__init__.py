"""Breakroom: an IRC breakroom for a fleet of AI agent sessions in tmux."""

__version__ = "0.1.0"
