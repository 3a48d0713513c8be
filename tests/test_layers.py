"""The tree tells the data flow: each floor imports only floors below it, nothing imports in a
circle, and irc3 stays in the IRC plumbing and the bots.

Read from the source (every ``import``, in functions and ``TYPE_CHECKING`` blocks too), so a
new module is checked the day it is added.  docs/architecture.md draws the same floors.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Bottom to top.  A module may import its own floor's modules and any floor below; peers on
# one floor that are separate concerns (a tuple of several prefixes) may not import each other.
FLOORS: list[tuple[str, ...]] = [
    ("breakroom",),                                            # the package's own top-level modules
    ("breakroom.record",),                                     # the SQLite adapter and the record
    ("breakroom.irc",),                                        # IRC plumbing: ircd, bots' base, lines, nicks
    ("breakroom.fleet", "breakroom.knowledge", "breakroom.work"),  # the concerns
    ("breakroom.sweep", "breakroom.report"),                   # walks the fleet / the page of the record
    ("breakroom.app",),                                        # the application, assembled
    ("bots",),                                                 # irc3 plugins over the app
    ("breakroom.demo",),
    ("breakroom.cli",),
    ("breakroom.entry",),
]
TOP_LEVEL_LIMIT = 10
IRC3_ALLOWED = ("breakroom.irc", "bots")


def modules() -> dict[str, Path]:
    found = {}
    for path in [*ROOT.glob("breakroom/**/*.py"), *ROOT.glob("bots/*.py")]:
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports_of(name: str, path: Path) -> Iterator[str]:
    """Every module named by an import statement anywhere in the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {target for target in imports_of(name, path) if target in known and target != name}
            for name, path in known.items()}


def floor_of(module: str) -> tuple[int, str]:
    """(floor index, the concern prefix) of the longest prefix naming ``module``."""
    best = (-1, "")
    for index, prefixes in enumerate(FLOORS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best[1]):
                best = (index, prefix)
    return best


def test_every_module_has_a_floor() -> None:
    assert [m for m in modules() if floor_of(m)[0] < 0] == []


def test_no_module_imports_a_floor_above_it_or_a_peer_concern() -> None:
    wrong = []
    for module, targets in graph().items():
        floor, concern = floor_of(module)
        for target in targets:
            target_floor, target_concern = floor_of(target)
            if target_floor > floor or (target_floor == floor and target_concern != concern):
                wrong.append(f"{module} -> {target}")
    assert sorted(wrong) == []


def test_no_import_cycles() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target):], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_irc3_stays_in_the_irc_plumbing_and_the_bots() -> None:
    users = [name for name, path in modules().items()
             if any(target == "irc3" or target.startswith("irc3.") for target in imports_of(name, path))]
    assert [u for u in users if not u.startswith(IRC3_ALLOWED)] == []


def test_few_modules_at_the_top_of_the_package() -> None:
    top = [p.name for p in (ROOT / "breakroom").glob("*.py") if p.name != "__init__.py"]
    assert len(top) <= TOP_LEVEL_LIMIT, sorted(top)


def test_tests_mirror_the_code_folders() -> None:
    """tests/<folder>/ for breakroom/<folder>/, tests/bots/ for bots/ (helpers: tests/support/)."""
    code = {p.name for p in (ROOT / "breakroom").iterdir() if (p / "__init__.py").exists() or
            any(p.glob("*.py"))} | {"bots"}
    folders = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and any(p.glob("test_*.py"))}
    assert folders - code == set()


def test_tests_import_no_other_test_module() -> None:
    """What tests share lives in tests/support/ (and fixtures in conftest), never in a test."""
    wrong = []
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            wrong += [f"{path.relative_to(ROOT)} -> {name}" for name in names
                      if name.split(".")[-1].startswith(("test_", "conftest")) or name.startswith("tests.")]
    assert wrong == []
