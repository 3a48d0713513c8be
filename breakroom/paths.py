"""Where things live: the shipped files (ircd.conf, skills/, corpus/, profiles), the config
file in effect, and the data dir it names.

Pydantic-free on purpose: ``breakroom hook`` and ``breakroom say`` run on every tool call of
every agent and need only the data dir (to find the control socket), so they read it here
without validating the whole config; :func:`breakroom.config.load` resolves it by the same
rule (:func:`resolve_data_dir`).
"""

from __future__ import annotations

import os
from pathlib import Path

from breakroom.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
IRCD_TEMPLATE = PROJECT_ROOT / "ircd.conf"
SKILLS_DIR = PROJECT_ROOT / "skills"
CORPUS_DIR = PROJECT_ROOT / "corpus"
PROFILES_DIR = PACKAGE_DIR / "fleet" / "profiles"

CONFIG_ENV = "BREAKROOM_CONFIG"
DEFAULT_CONFIG_FILE = "breakroom.yaml"
DEFAULT_DATA_DIR = ".breakroom"


def find_config_file(explicit: str | None = None) -> Path | None:
    """``--config``, then ``$BREAKROOM_CONFIG``, then ``./breakroom.yaml`` if it exists."""
    chosen = explicit or os.environ.get(CONFIG_ENV)
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise ConfigError(f"config: file not found: {path}")
        return path
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def resolve_data_dir(data_dir: str, config_file: Path | None) -> Path:
    """A relative ``data_dir`` is relative to the config file's folder, so every CLI call
    agrees wherever it runs (with no file: relative to the current directory)."""
    path = Path(data_dir).expanduser()
    if path.is_absolute() or config_file is None:
        return path
    return (config_file.parent / path).resolve()


def data_dir_of(config_file: Path | None) -> Path:
    """The data dir a config file names, read without validating the rest of it.  A file
    that is not plain YAML with a string ``data_dir`` (or none) raises ConfigError: the
    caller then loads it the full way, which says exactly what is wrong."""
    if config_file is None:
        return resolve_data_dir(DEFAULT_DATA_DIR, None)
    import yaml

    try:
        raw = yaml.load(config_file.read_text(encoding="utf-8"),
                        Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{config_file}: cannot read it ({exc})") from None
    data_dir = DEFAULT_DATA_DIR if raw is None else raw.get("data_dir", DEFAULT_DATA_DIR) \
        if isinstance(raw, dict) else None
    if not isinstance(data_dir, str) or not data_dir:
        raise ConfigError(f"{config_file}: data_dir: expected a path")
    return resolve_data_dir(data_dir, config_file)
