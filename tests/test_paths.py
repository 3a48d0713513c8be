"""Where things live: the config file in effect and the data dir it names, read the cheap way
the hot paths use (and kept in the user's cache while the file is unchanged)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from breakroom import config, paths
from breakroom.errors import ConfigError


def test_the_cache_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert paths.cache_dir() == tmp_path / "xdg" / "breakroom"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert paths.cache_dir() == Path.home() / ".cache" / "breakroom"


@pytest.mark.parametrize("text", [
    "",                                      # no file content: the default
    "channel: '#x'\n",                      # no data_dir: the default, next to the file
    "data_dir: state\n",                    # relative: next to the config file
    "data_dir: ~/br-data\n",                # the user's home
    "data_dir: /srv/breakroom\n",           # absolute
    "data_dir: 'with spaces/and: colon'\n",  # quoted
    "# comment\ndata_dir: &d nested/dir\n",  # an anchor, still a plain string
])
def test_the_cheap_reading_agrees_with_the_full_one(tmp_path, text):
    path = tmp_path / "conf" / "breakroom.yaml"
    path.parent.mkdir()
    path.write_text(text)
    assert paths.data_dir_of(path) == config.load(str(path)).data_path
    assert paths.data_dir_of(path) == config.load(str(path)).data_path  # from the kept answer


def test_the_kept_answer_follows_the_file(tmp_path):
    path = tmp_path / "breakroom.yaml"
    path.write_text("data_dir: first\n")
    assert paths.data_dir_of(path) == tmp_path / "first"
    assert (paths.cache_dir() / paths.LOCATIONS_FILE).is_file()
    path.write_text("data_dir: second-one\n")  # another size, another mtime
    assert paths.data_dir_of(path) == tmp_path / "second-one"


def test_a_kept_answer_others_could_write_is_ignored(tmp_path):
    path = tmp_path / "breakroom.yaml"
    path.write_text("data_dir: mine\n")
    paths.data_dir_of(path)
    kept = paths.cache_dir() / paths.LOCATIONS_FILE
    stat = path.stat()

    def plant(mode: int) -> None:
        kept.write_text(f'{{"{path.resolve()}": [{stat.st_mtime_ns}, {stat.st_size}, "/planted"]}}')
        os.chmod(kept, mode)

    plant(0o666)
    assert paths.data_dir_of(path) == tmp_path / "mine"
    plant(0o600)
    assert paths.data_dir_of(path) == Path("/planted")  # the user's own file is believed


@pytest.mark.parametrize("text", ["data_dir: [a, b]\n", "data_dir: 12\n", "- a list\n", ": bad: yaml: ["])
def test_a_file_the_cheap_reading_cannot_take_says_so(tmp_path, text):
    path = tmp_path / "breakroom.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        paths.data_dir_of(path)
