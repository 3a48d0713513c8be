"""Config: defaults, validation that names the key, files, env and the CLI around them."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from breakroom import config
from breakroom.errors import ConfigError
from breakroom.secrets import fill_secrets


def test_defaults_cover_every_documented_key() -> None:
    cfg = config.from_dict({})
    assert cfg.data_dir == ".breakroom"
    assert (cfg.ircd.mode, cfg.ircd.host, cfg.ircd.port, cfg.ircd.tls) == ("auto", "127.0.0.1", 6667, False)
    assert cfg.channel == "#breakroom" and cfg.channel_key is None
    assert cfg.tmux.include == ["*"] and cfg.tmux.exclude == [] and cfg.tmux.socket_name is None
    assert cfg.knowledge.backend == "auto" and cfg.knowledge.min_confidence == 0.1
    assert cfg.knowledge.min_coverage == 0.7
    assert cfg.sweep.interval == 300 and cfg.sweep.answer_min_confidence == 0.7
    assert cfg.dispatcher.interval == 600 and cfg.ops == []
    assert (cfg.web.port, cfg.web.host, cfg.web.refresh) == (6680, "127.0.0.1", 60)
    assert cfg.report.daily_at == "08:00"
    assert (cfg.agents.profiles_dir, cfg.agents.screens_dir, cfg.agents.unknown_after) == (None, None, 120)


@pytest.mark.parametrize("raw, message", [
    ({"ircd": {"port": "abc"}}, 'ircd.port: expected an integer 1-65535, got "abc"'),
    ({"ircd": {"port": 70000}}, "ircd.port: expected an integer 1-65535, got 70000"),
    ({"ircd": {"mode": "inspircd"}}, "ircd.mode: expected one of auto, ngircd, miniircd, external"),
    ({"ircd": {"prot": 1}}, "ircd.prot: unknown key"),
    ({"chanel": "#x"}, "chanel: unknown key"),
    ({"channel": "breakroom"}, "channel: expected a channel name"),
    ({"tmux": {"include": [1, {}]}}, "tmux.include[1]: expected a string"),
    ({"sessions": {"writer": {"role": "writer", "agnet": "x"}}}, "sessions.writer.agnet: unknown key"),
    ({"sessions": {"web": {"deliver": "always"}}}, "sessions.web.deliver: expected one of agent, any"),
    ({"knowledge": {"backend": "gpt"}},
     "knowledge.backend: expected one of auto, offline, claude, session:NAME"),
    ({"knowledge": {"min_confidence": 1.5}}, "knowledge.min_confidence: expected a number between 0 and 1"),
    ({"ircd": {"password": "two words"}}, "ircd.password: expected one word without spaces"),
    ({"channel_key": "a,b"}, "channel_key: expected one word without spaces or commas"),
    ({"web": {"port": 70000}}, "web.port: expected an integer 0-65535 (0: any free port), or null"),
    ({"web": {"host": "localhost"}}, "web.host: expected an IP address, like 127.0.0.1"),
    ({"web": {"refresh": 0}}, "web.refresh: expected a positive number of seconds"),
    ({"report": {"daily_at": "25:00"}}, 'report.daily_at: expected a time of day like "08:30"'),
    ({"report": {"daily_at": "morning"}}, 'report.daily_at: expected a time of day like "08:30"'),
    ({"agents": {"unknown_after": 0}}, "agents.unknown_after: expected a positive number of seconds, got 0"),
    ({"agents": {"profile_dir": "x"}}, "agents.profile_dir: unknown key"),
    ({"ops": "alice"}, None),
    (["not", "a", "mapping"], "config: expected a mapping"),
])
def test_validation_names_the_key(raw, message) -> None:
    if message is None:
        assert config.from_dict(raw).ops == ["alice"]
        return
    with pytest.raises(ConfigError) as err:
        config.from_dict(raw)
    assert message in str(err.value)


@pytest.mark.parametrize("text, message", [
    ("channel: '#x'\nircd:\n  mode: ngircd\n  prot: 1\n",
     "b.yaml:4: ircd.prot: unknown key (known keys here: host, links, max_restarts, mode, oper_name, "
     "oper_password, password, port, server_name, tls, tls_verify)"),
    ("tmux:\n  include:\n    - '*'\n    - [nested]\n",
     'b.yaml:4: tmux.include[1]: expected a string, got [\'nested\']'),
    ("sessions:\n  writer: {role: writer}\n  shop:\n    agnet: x\n",
     "b.yaml:4: sessions.shop.agnet: unknown key (known keys here: agent, budget, deliver, project, role)"),
    ("sweep:\n  interval: '300'\n",
     'b.yaml:2: sweep.interval: expected a positive number of seconds, got "300"'),
    ("delivery: 5\n", "b.yaml:1: delivery: expected a mapping, got 5"),
    ("- just\n- a list\n", "b.yaml: expected a mapping, got ['just', 'a list']"),
])
def test_file_errors_name_file_line_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        config.load(str(path))
    assert str(err.value) == f"{path.parent}/{message}"


def test_empty_sections_and_numeric_words(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text("ircd:\n  password: 12345\ntmux:\nsessions:\nops: alice\nchannel_key: 42\n")
    cfg = config.load(str(path))
    assert cfg.ircd.password == "12345" and cfg.channel_key == "42"
    assert cfg.tmux.include == ["*"] and cfg.sessions == {} and cfg.ops == ["alice"]
    assert cfg.source == str(path)


def test_times_of_day_as_yaml_reads_them(tmp_path: Path) -> None:
    """YAML 1.1 reads an unquoted 9:30 as 570 (base 60); it is still half past nine."""
    path = tmp_path / "b.yaml"
    for text, expected in [("9:30", "09:30"), ("'7:05'", "7:05"), ("null", None), ("'23:59'", "23:59")]:
        path.write_text(f"report:\n  daily_at: {text}\nweb:\n  port: null\n")
        cfg = config.load(str(path))
        assert cfg.report.daily_at == expected and cfg.web.port is None


def test_config_file_env_and_relative_data_dir(tmp_path: Path, monkeypatch) -> None:
    conf = tmp_path / "conf" / "b.yaml"
    conf.parent.mkdir()
    conf.write_text("data_dir: state\nircd: {port: 7001}\nsessions:\n  writer: {role: writer}\n"
                    "agents: {profiles_dir: profiles, screens_dir: /abs/screens}\n")
    monkeypatch.setenv("BREAKROOM_CONFIG", str(conf))
    cfg = config.load()
    assert cfg.ircd.port == 7001 and cfg.session("writer").role == "writer"
    assert cfg.data_dir == str(tmp_path / "conf" / "state")
    assert cfg.agents.profiles_dir == str(tmp_path / "conf" / "profiles")  # relative to the file too
    assert cfg.agents.screens_dir == "/abs/screens"
    assert cfg.session("nobody").agent is None


def test_broken_yaml_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "b.yaml"
    bad.write_text("ircd: {port: [\n")
    with pytest.raises(ConfigError, match=r"b.yaml line \d+: not valid YAML"):
        config.load(str(bad))


def test_secrets_generated_once_0600_and_redacted(tmp_path: Path) -> None:
    cfg = fill_secrets(config.from_dict({"data_dir": str(tmp_path / "d")}))
    again = fill_secrets(config.from_dict({"data_dir": str(tmp_path / "d")}))
    assert cfg.ircd.password and cfg.ircd.password == again.ircd.password
    assert cfg.channel_key == again.channel_key != cfg.ircd.password
    for f in (tmp_path / "d" / "secrets").iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    shown = config.to_dict(cfg)
    assert shown["ircd"]["password"] == "[redacted]" and shown["channel_key"] == "[redacted]"


def test_cli_config_errors_are_one_line(cli, tmp_path: Path) -> None:
    (tmp_path / "breakroom.yaml").write_text("ircd:\n  port: abc\n")
    result = cli("config", "show")
    assert result.returncode != 0
    assert result.stderr.strip() == ('breakroom: breakroom.yaml:2: ircd.port: '
                                     'expected an integer 1-65535, got "abc"')
    assert "Traceback" not in result.stderr


def test_cli_config_show_and_info(cli, tmp_path: Path) -> None:
    (tmp_path / "breakroom.yaml").write_text("ircd: {port: 7002, mode: miniircd}\nchannel_key: sekrit-key\n")
    shown = cli("config", "show")
    assert shown.returncode == 0 and "port: 7002" in shown.stdout
    assert "sekrit-key" not in shown.stdout and "[redacted]" in shown.stdout
    info = cli("info")
    assert info.returncode == 0
    assert "key:       sekrit-key" in info.stdout
    assert "irssi -c 127.0.0.1 -p 7002 -w " in info.stdout
    assert "/join #breakroom sekrit-key" in info.stdout


def test_generated_secrets_never_look_like_options(tmp_path: Path) -> None:
    for i in range(200):
        cfg = fill_secrets(config.from_dict({"data_dir": str(tmp_path / str(i))}))
        for secret in (cfg.ircd.password, cfg.channel_key, cfg.ircd.oper_password):
            assert secret.isalnum() and len(secret) == 20
