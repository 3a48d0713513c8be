"""The data dir is the fleet's user's alone: the record, inboxes, secrets, the control
socket and the ircd's config (with its passwords) are all in it.

Everything is created private (directories 0700, files 0600), and on start whatever is found
looser — a data dir made by hand, a file copied in, an older version's 0644 database — is
tightened with one warning, so a mistake is fixed and also seen.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from breakroom.errors import BreakroomError

log = logging.getLogger("breakroom")

DIR_MODE = 0o700
FILE_MODE = 0o600
_OTHERS = 0o077   # any bit for group or others is too loose


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) 0700 whatever the umask; an existing one found
    looser is tightened with a warning.  A shared directory is refused, never tightened."""
    _refuse_shared(path)
    existed = path.is_dir()
    for missing in reversed([p for p in (path, *path.parents) if not p.exists()]):
        missing.mkdir(mode=DIR_MODE, exist_ok=True)  # parents too: mkdir(parents=True) makes them 0755
    if _loose(path):
        os.chmod(path, DIR_MODE)
        if existed:
            log.warning("%s was readable by other users; made it %o", path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty and 0600 unless it exists (then left alone: see :func:`tighten`)."""
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass
    return path


def _loose(path: Path) -> bool:
    return bool(path.lstat().st_mode & _OTHERS)


def _refuse_shared(path: Path) -> None:
    """A sticky or world-writable directory (``/tmp``) belongs to everyone: making it 0700
    would break every other user of the machine, and tightening what is in it would take their
    files too.  The breakroom needs a directory of its own."""
    try:
        info = path.stat()
    except OSError:
        return  # not there yet: it will be created private
    mode = info.st_mode
    if info.st_uid != os.getuid():
        raise BreakroomError(f"{path} belongs to another user: the breakroom keeps its files "
                             "in a directory of its own")
    if stat.S_ISDIR(mode) and mode & (stat.S_ISVTX | stat.S_IWOTH):
        raise BreakroomError(f"{path} is a shared directory (like /tmp): the breakroom keeps "
                             f"its files in a directory of its own, e.g. {path / 'breakroom'}")


def tighten(root: Path) -> list[Path]:
    """Make ``root`` and everything under it private; returns what was looser (warned once).
    Symbolic links are neither followed nor changed."""
    if not root.is_dir():
        return []
    _refuse_shared(root)
    loose: list[Path] = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        for path in [here, *(here / name for name in files)]:
            try:
                mode = path.lstat().st_mode
            except OSError:
                continue  # gone meanwhile
            if stat.S_ISLNK(mode) or not mode & _OTHERS:
                continue
            os.chmod(path, DIR_MODE if stat.S_ISDIR(mode) else FILE_MODE)
            loose.append(path)
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
    if loose:
        shown = ", ".join(str(p.relative_to(root)) or "." for p in loose[:5])
        more = f" and {len(loose) - 5} more" if len(loose) > 5 else ""
        log.warning("%s: %d path(s) were readable by other users (%s%s); made them 0700/0600",
                    root, len(loose), shown, more)
    return loose
