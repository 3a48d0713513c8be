"""Hypothesis strategies the property tests share."""

from __future__ import annotations

from hypothesis import strategies as st

NICK_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789[]\\`_^{|}-"
# what RFC 2812 allows a nick to be, at ngircd's length limit
nicks = st.text(NICK_CHARS, min_size=1, max_size=31).filter(lambda n: not n[0].isdigit() and n[0] != "-")
