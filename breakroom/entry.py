"""The ``breakroom`` console script.

Two commands run all day in every agent: ``breakroom hook EVENT`` on every tool call and
``breakroom say``.  They go straight to the control socket's light client — no click, no
config validation, no pydantic — and keep near a bare Python start (``bench/hot_paths.py``).
Anything out of their plain shape (``--help``, an unusual option, a config file that needs
the full reading) goes to the full CLI, which says exactly what is wrong.
"""

from __future__ import annotations

import sys


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["hook"] and "--help" not in args and "-h" not in args:
        from breakroom.fleet.hooks import main as hook_main
        sys.exit(hook_main(args[1:]))
    if "say" in args[:3]:
        code = fast_say(args)
        if code is not None:
            sys.exit(code)
    from breakroom.cli import main as cli_main
    cli_main()


def fast_say(args: list[str]) -> int | None:
    """``[--config FILE] say TARGET TEXT… [--as SESSION]`` over the light client; None when
    ``args`` are anything else (the full CLI takes them)."""
    config, words = None, list(args)
    if words[:1] == ["--config"] and len(words) > 1:
        config, words = words[1], words[2:]
    elif words[:1] and words[0].startswith("--config="):
        config, words = words[0].split("=", 1)[1], words[1:]
    if words[:1] != ["say"]:
        return None
    explicit, rest = None, []
    words = words[1:]
    while words:
        word = words.pop(0)
        if word == "--as" and words:
            explicit = words.pop(0)
        elif word.startswith("--as="):
            explicit = word.split("=", 1)[1]
        elif word.startswith("-"):
            return None
        else:
            rest.append(word)
    if len(rest) < 2:
        return None
    from breakroom.control.client import say
    from breakroom.errors import BreakroomError
    from breakroom.paths import data_dir_of, find_config_file

    try:
        data_path = data_dir_of(find_config_file(config))
    except BreakroomError:
        return None
    try:
        for line in say(data_path, explicit, rest[0], " ".join(rest[1:])):
            print(line)
    except BreakroomError as exc:
        print(f"breakroom: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0
