"""Where things live: the shipped files (ircd.conf, skills/, corpus/, profiles, a checkout's
screen corpus and docs), the config file in effect, and the data dir it names.

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
# real captured agent screens with their true states (a checkout's; absent from an install)
SCREEN_CORPUS = PROJECT_ROOT / "tests" / "fixtures" / "panes"
DOCS_SCREENS = PROJECT_ROOT / "docs" / "screens.md"

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


def cache_dir() -> Path:
    """Where derived files are kept: ``$XDG_CACHE_HOME/breakroom`` (~/.cache/breakroom)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "breakroom"


def data_dir_of(config_file: Path | None) -> Path:
    """The data dir a config file names, without validating the rest of it — and, while the
    file is unchanged (same mtime and size), without even parsing it: the answer is kept in
    the user's cache (importing a YAML parser alone costs a hook more than half a Python
    start).  A file that is not plain YAML with a string ``data_dir`` (or none) raises
    ConfigError: the caller then loads it the full way, which says exactly what is wrong."""
    if config_file is None:
        return resolve_data_dir(DEFAULT_DATA_DIR, None)
    try:
        stat = config_file.stat()
    except OSError as exc:
        raise ConfigError(f"{config_file}: cannot read it ({exc.strerror})") from None
    key, stamp = str(config_file.resolve()), [stat.st_mtime_ns, stat.st_size]
    known = _read_locations()
    entry = known.get(key)
    if isinstance(entry, list) and entry[:2] == stamp and isinstance(entry[-1], str):
        return Path(entry[-1])
    data_dir = _parse_data_dir(config_file)
    known[key] = [*stamp, str(data_dir)]
    _write_locations(known)
    return data_dir


LOCATIONS_FILE = "config-data-dirs.json"


def _read_locations() -> dict[str, object]:
    """The kept answers, if the file is this user's alone (anything else is ignored: another
    user's file could point hooks at a socket of its choosing)."""
    import json

    path = cache_dir() / LOCATIONS_FILE
    try:
        with path.open("rb") as handle:
            mode = os.fstat(handle.fileno())
            if mode.st_uid != os.getuid() or mode.st_mode & 0o022:
                return {}
            known = json.loads(handle.read())
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def _write_locations(known: dict[str, object]) -> None:
    """Best effort, atomic (several hooks may write at once): a miss only costs a parse."""
    import json

    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = folder / f".{LOCATIONS_FILE}.{os.getpid()}"
        tmp.write_text(json.dumps(known), encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(folder / LOCATIONS_FILE)
    except OSError:
        pass


def _parse_data_dir(config_file: Path) -> Path:
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
