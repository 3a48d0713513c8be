"""Files users write (config, profiles, policies, skills, scripts, issue imports): YAML read
with the line of every key, validated by a pydantic model, every mistake reported as the
same one line — ``breakroom.yaml:12: ircd.port: expected an integer 1-65535, got "abc"``.

Models derive from :class:`FileModel`: unknown keys refused, no silent type coercion
(``"12"`` is not a port), a number where text is expected taken as text (a numeric
password), and an empty section (``ircd:`` with nothing under it) meaning its defaults.
Field checks raise ``ValueError("expected …")`` (the error adds what was given) or a
complaint of their own; :func:`expect` builds the usual ones.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from breakroom.errors import BreakroomError

Loc = tuple[str, ...]
LineMap = Mapping[Loc, int]
M = TypeVar("M", bound=BaseModel)


# ---------------------------------------------------------------- reading


def read_yaml_lines(path: Path, *, label: str = "", error: type[BreakroomError] = BreakroomError
                    ) -> tuple[Any, dict[Loc, int]]:
    """The file's data and the line of each key and list item in it (see :func:`key_lines`)."""
    prefix = f"{label}: " if label else ""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise error(f"{prefix}cannot read {path}: {reason}") from None
    try:
        return parse_yaml_lines(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise error(f"{prefix}{path}{where}: not valid YAML") from None


def parse_yaml_lines(text: str, first_line: int = 1) -> tuple[Any, dict[Loc, int]]:
    """YAML text's data and its key lines, numbered from ``first_line`` (raises YAMLError)."""
    data = yaml.safe_load(text)
    node = yaml.compose(text)
    return data, key_lines(node, first_line) if node is not None else {}


def key_lines(node: yaml.Node, first_line: int = 1, loc: Loc = ()) -> dict[Loc, int]:
    """``{("ircd", "port"): 12, ("tmux", "include", "1"): 15, …}``: where each key or list
    item starts (keys and indexes as text)."""
    lines: dict[Loc, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*loc, str(key.value))
            lines[here] = key.start_mark.line + first_line
            lines.update(key_lines(value, first_line, here))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            here = (*loc, str(index))
            lines[here] = item.start_mark.line + first_line
            lines.update(key_lines(item, first_line, here))
    return lines


# ---------------------------------------------------------------- models


class FileModel(BaseModel):
    """Base of every model of a user-written file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_means_default(cls, data: Any) -> Any:
        """``section:`` with nothing under it is the section's defaults, not an error."""
        if not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items()
                if not (v is None and k in cls.model_fields
                        and cls.model_fields[k].default_factory is not None)}


def _number_as_text(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _one_as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Text = Annotated[str, BeforeValidator(_number_as_text)]
"""A string; a number written where text is expected (a numeric password) is taken as text."""

Texts = Annotated[list[Text], BeforeValidator(_one_as_list)]
"""A list of strings; one string alone is a list of one."""


def _is_a(kind: type, value: Any) -> bool:
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def expect(kind: type, expected: str, test: Callable[[Any], bool] = lambda v: True, *,
           numbers_as_text: bool = True) -> Any:
    """A validator (for ``Annotated``) accepting a ``kind`` value that passes ``test``; any
    other value, of the wrong type too, is refused as "expected ``expected``"."""
    def check(value: Any) -> Any:
        if kind is str and numbers_as_text:
            value = _number_as_text(value)
        if not _is_a(kind, value) or not test(value):
            raise ValueError(f"expected {expected}")
        return float(value) if kind is float else value
    return BeforeValidator(check)


def _regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        raise ValueError(f"bad regex: {exc}") from None
    return text


# A regular expression in a file users write (profiles, policies, sim scripts): compiled when
# the file loads, so a mistake is one line naming file, line and key.
Regex = Annotated[str, AfterValidator(_regex), expect(str, "a regex string", bool, numbers_as_text=False)]


# ---------------------------------------------------------------- errors


_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number",
    "string_type": "a string", "bool_type": "true or false", "bool_parsing": "true or false",
    "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
    "list_type": "a list", "tuple_type": "a list",
}


ENTRY_ERROR = "entry"


def entry_error(message: str) -> PydanticCustomError:
    """What a model's own check raises about a whole entry (no "got …": the entry is its line)."""
    return PydanticCustomError(ENTRY_ERROR, message.replace("{", "{{").replace("}", "}}"))


def show(value: Any, limit: int = 60) -> str:
    """A value as an error message quotes it: strings in double quotes, cut when long."""
    text = f'"{value}"' if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dotted(loc: tuple[Any, ...]) -> str:
    """``("tmux", "include", 1)`` → ``tmux.include[1]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line(loc: tuple[Any, ...], lines: LineMap) -> int | None:
    """The line of the deepest part of ``loc`` the file has."""
    parts = tuple(str(p) for p in loc)
    for end in range(len(parts), 0, -1):
        if parts[:end] in lines:
            return lines[parts[:end]]
    return None


def _unwrap(hint: Any) -> Any:
    """The model or container inside ``Annotated[…]`` / ``X | None``."""
    while True:
        origin = typing.get_origin(hint)
        if origin is Annotated:
            hint = typing.get_args(hint)[0]
        elif origin in (typing.Union, types.UnionType):
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        else:
            return hint


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed in the mapping at ``loc`` of ``model``'s data."""
    hint: Any = model
    for part in loc:
        hint = _unwrap(hint)
        if isinstance(hint, type) and issubclass(hint, BaseModel):
            hint = hint.model_fields[str(part)].annotation
        elif typing.get_origin(hint) in (dict, list, tuple):
            hint = typing.get_args(hint)[-1 if typing.get_origin(hint) is dict else 0]
    hint = _unwrap(hint)
    return sorted(hint.model_fields) if isinstance(hint, type) and issubclass(hint, BaseModel) else []


def problem(exc: ValidationError, model: type[BaseModel]) -> tuple[tuple[Any, ...], str]:
    """The first error as (where in the data, ``key: expected …, got …``)."""
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    key = f"{dotted(loc)}: " if loc else ""
    kind = err["type"]
    if kind == "extra_forbidden":
        known = ", ".join(_known_keys(model, loc[:-1]))
        return loc, f"{key}unknown key (known keys here: {known})"
    if kind == "missing":
        return loc, f"{key}required, missing"
    if kind == ENTRY_ERROR:  # a check across the keys of one entry
        return loc, key + err["msg"]
    if kind == "value_error":
        said = str(err.get("ctx", {}).get("error", err["msg"]))
    elif kind in _EXPECTED:
        said = f"expected {_EXPECTED[kind]}"
    else:
        said = err["msg"][:1].lower() + err["msg"][1:]
    if not said.startswith("expected "):  # a check that words its own complaint
        return loc, key + said
    return loc, f"{key}{said}, got {show(err['input'])}"


def explain(exc: ValidationError, model: type[BaseModel], lines: LineMap) -> tuple[int | None, str]:
    """The first error as (its line if known, ``key: what was expected``)."""
    loc, message = problem(exc, model)
    return _line(loc, lines), message


def validate(model: type[M], data: Any, *, source: str | Path = "", lines: LineMap | None = None,
             label: str = "", error: type[BreakroomError] = BreakroomError) -> M:
    """``data`` as a ``model``, or ``error``: ``source:line: key: what was expected``
    (``label`` stands for the source when the data came from no file)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        line, message = explain(exc, model, lines or {})
        where = f"{source}:{line}" if source and line else str(source or label)
        raise error(f"{where}: {message}" if where else message) from None


def load_model(path: Path, model: type[M], *, label: str = "",
               error: type[BreakroomError] = BreakroomError) -> M:
    """Read and validate a YAML file in one step (an empty file is the model's defaults)."""
    data, lines = read_yaml_lines(path, label=label, error=error)
    return validate(model, {} if data is None else data, source=path, lines=lines,
                    label=label, error=error)
