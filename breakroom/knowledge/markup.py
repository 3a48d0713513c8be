"""Markup removed from passage text at ingest: answers are read on IRC, not rendered.

reStructuredText roles (``:func:`round` ``), directives (``.. note::``), link targets and
substitutions, markdown links, emphasis and fences all go; what they mark stays.  Code stays
code: inline literals and code roles become single-backtick spans, and the content of code
blocks is kept as it is.  Cleaning at ingest (not at answer time) also keeps markup words out
of the bm25 index and the embeddings.
"""

from __future__ import annotations

import re

# Roles naming code objects keep backticks; the rest (ref, doc, term, …) become plain text.
CODE_ROLES = {"func", "meth", "class", "attr", "mod", "obj", "data", "exc", "setting", "envvar",
              "option", "program", "file", "command", "samp", "code", "py:func", "py:meth",
              "py:class", "py:attr", "py:mod", "py:obj", "py:data", "py:exc", "ttag", "tfilter",
              "lookup", "fieldlookup", "djadmin", "djadminopt", "signal", "mimetype", "kbd"}
# Directives whose whole block is dropped (tables of contents, images, build instructions).
DROP_BLOCK = {"toctree", "contents", "image", "figure", "highlight", "include", "raw", "index",
              "only", "currentmodule", "module", "automodule", "autoclass", "autofunction",
              "sectionauthor", "moduleauthor", "literalinclude", "skip", "invisible-code-block",
              "testsetup", "testcleanup", "versionchanged", "versionadded", "deprecated",
              "tabularcolumns", "rst-class", "meta", "default-role", "role", "spelling:word-list"}
# Directives that document an object: the signature stays as code.
SIGNATURE = {"function", "method", "class", "attribute", "data", "exception", "decorator",
             "setting", "django-admin", "django-admin-option", "option", "envvar",
             "templatetag", "templatefilter", "fieldlookup", "classmethod", "staticmethod",
             "py:function", "py:method", "py:class", "py:attribute"}

_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+([\w:-]+)::\s*(.*)$")
_TARGET = re.compile(r"^\s*\.\.\s+(?:_[^:]*|\[[^\]]*\]|\|[^|]*\|[^:]*):.*$|^\s*__\s+\S+\s*$")
_COMMENT = re.compile(r"^\s*\.\.(\s.*)?$")
_ROLE = re.compile(r":([\w:+.-]+):`([^`]*)`")
_LITERAL = re.compile(r"``(.+?)``")
_LINK = re.compile(r"`([^`<]+?)\s*<[^`>]*>`__?")
_REF = re.compile(r"`([^`]+)`__?(?=\W|$)")
_WORD_REF = re.compile(r"\b(\w+)_(?=[\s.,;:)!?]|$)")
_STRONG = re.compile(r"(?<![\w*])\*\*(?=\S)(.+?)(?<=\S)\*\*(?![\w*])")
_EMPH = re.compile(r"(?<![\w*`])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\w*])")
_SUBST = re.compile(r"\|(\w[^|]*)\|(?:_{1,2})?")
_FOOTNOTE = re.compile(r"\s?\[(?:#\w*|\*|\d+)\]_")
_BULLET = re.compile(r"^(\s*)(?:[*+]|#\.|\d+\.)\s+")
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)|\[([^\]]+)\]\[[^\]]*\]")
_MD_LINK_DEF = re.compile(r"^\s*\[[^\]]+\]:\s+\S+.*$")
_MD_STRONG = re.compile(r"(?<![\w*_])(\*\*|__)(?=\S)(.+?)(?<=\S)\1(?![\w*_])")
_MD_EMPH = re.compile(r"(?<![\w*_`])([*_])(?=[^\s*_])([^*_\n]+?)(?<=[^\s*_])\1(?![\w*_])")
_MD_CODE = re.compile(r"`[^`]+`")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")


def _role(match: re.Match[str]) -> str:
    name, text = match.group(1), match.group(2)
    explicit = re.match(r"(.*?)\s*<([^>]*)>$", text)
    if explicit and explicit.group(1):
        text = explicit.group(1)
    elif explicit:
        text = explicit.group(2)
    if text.startswith("~"):
        text = text[1:].rsplit(".", 1)[-1]
    text = text.lstrip("!")
    return f"`{text}`" if name in CODE_ROLES else text


def _protect(pattern: re.Pattern[str], line: str, render: str = r"\g<0>") -> tuple[str, list[str]]:
    """``line`` with each match of ``pattern`` replaced by a placeholder (code spans must
    survive the emphasis and link rules), and the rendered spans to put back."""
    spans = [m.expand(render) for m in pattern.finditer(line)]
    counter = iter(range(len(spans)))
    return pattern.sub(lambda _m: f"\x00{next(counter)}\x00", line), spans


def _restore(line: str, spans: list[str]) -> str:
    return re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], line)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def rst_to_text(text: str) -> str:
    """reStructuredText body as plain text with code spans; code block content kept."""
    out: list[str] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        directive = _DIRECTIVE.match(line)
        if directive:
            base, name, args = _indent(line), directive.group(2).lower(), directive.group(3)
            i += 1
            while i < len(lines) and re.match(r"^\s+:[\w-]+:", lines[i]) \
                    and _indent(lines[i]) > base:
                i += 1  # the directive's :options:
            if name in DROP_BLOCK:
                while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
                    i += 1
                continue
            if name in SIGNATURE and args:
                out.append(" " * base + f"`{args.strip()}`:")
            elif args and name not in {"code-block", "code", "sourcecode", "console"}:
                out.append(" " * base + _inline(args))
            continue
        if _TARGET.match(line):
            i += 1
            while i < len(lines) and lines[i].strip() and _indent(lines[i]) > _indent(line):
                i += 1  # a target's URL on the next line
            continue
        if _COMMENT.match(line):
            base = _indent(line)
            i += 1
            while i < len(lines) and lines[i].strip() and _indent(lines[i]) > base:
                i += 1
            continue
        stripped = line.rstrip()
        if stripped.endswith("::"):
            stripped = stripped[:-2].rstrip()
            stripped = stripped + ":" if stripped else ""
        out.append(_inline(stripped))
        i += 1
    return "\n".join(out)


def _inline(line: str) -> str:
    line = _BULLET.sub(r"\1- ", line)
    line = _ROLE.sub(_role, line)
    line, spans = _protect(_LITERAL, line, r"`\1`")
    line = _LINK.sub(r"\1", line)
    line = _REF.sub(r"\1", line)
    line = _FOOTNOTE.sub("", line)
    line = _SUBST.sub(r"\1", line)
    line = _STRONG.sub(r"\1", line)
    line = _EMPH.sub(r"\1", line)
    line = _WORD_REF.sub(r"\1", line)
    return _restore(line.replace("\\", ""), spans)


def markdown_to_text(text: str) -> str:
    """Markdown body as plain text; fenced and inline code kept as they are."""
    out: list[str] = []
    fenced = False
    for line in text.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if fenced or line.startswith(("    ", "\t")):
            out.append(line)
            continue
        if _MD_LINK_DEF.match(line):
            continue
        line, spans = _protect(_MD_CODE, line)
        line = _MD_IMAGE.sub(r"\1", line)
        line = _MD_LINK.sub(lambda m: m.group(1) or m.group(2), line)
        line = _HTML_TAG.sub("", line)
        line = _MD_STRONG.sub(r"\2", line)
        line = _MD_EMPH.sub(r"\2", line)
        line = re.sub(r"^(\s*)[*+]\s+", r"\1- ", line)
        line = re.sub(r"^\s*>\s?", "", line)
        out.append(_restore(line, spans))
    return "\n".join(out)
