"""Foreign corpora for the knowledge evaluation: FAQ sections of other projects' documentation.

    python bench/knowledge_corpora.py setup      # download the pinned sdists (pip), build the sets

Each corpus is a project's documentation from its PyPI source distribution, fetched once by
``pip download`` (the ordinary client; nothing is downloaded when the bench runs).  Every FAQ
question heading becomes a question; its answer becomes a document of its own *without* the
heading (``faq/<page>-<n>.rst``), which is the gold source; the rest of the documentation is
the distractor set.  The sets are written under ``bench/.corpora/`` (not committed).

Off-topic questions (``OFF_TOPIC``) are asked of every corpus: the right reply is "I don't know".
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE / ".corpora"

# name -> (pinned sdist, FAQ files inside it, docs dir inside it, distractor file cap)
# The cap keeps a full run's ingest within a few minutes on 2 cores; files are taken evenly
# over the sorted list, so every part of the documentation is represented.
SOURCES = {
    "django": ("django==5.2.19", ["docs/faq/*.txt"], "docs", 80),
    "celery": ("celery==5.7.0", ["docs/faq.rst"], "docs", 400),
    "scrapy": ("scrapy==2.19.0", ["docs/faq.rst"], "docs", 400),
}

OFF_TOPIC = [
    "Which planet has the longest day?",
    "How long should I boil an egg for a soft yolk?",
    "Who painted the ceiling of the Sistine Chapel?",
    "What is the capital city of Australia?",
    "How many players are on a rugby union team?",
    "What temperature does water boil at on Mount Everest?",
    "How do I repot an orchid without damaging its roots?",
    "Which vitamins are found in spinach?",
    "When did the Berlin Wall fall?",
    "How do I get red wine out of a carpet?",
    "What is the best season to visit Japan for cherry blossoms?",
    "How far can a hummingbird migrate without stopping?",
    "What key signature has three sharps?",
    "How many calories does a marathon burn?",
    "Why is the sky blue during the day and red at sunset?",
    "What is the difference between a crocodile and an alligator?",
    "How do I knit a scarf with a cable pattern?",
    "Who wrote the novel Pride and Prejudice?",
    "How do tides depend on the moon?",
    "What should I pack for a week of hiking in the Alps?",
]

_ADORN = re.compile(r"^([=\-~^\"'`#*+:.])\1{2,}\s*$")
_ROLE = re.compile(r":[\w:.-]+:`(?:[^`<]*<)?~?([^`>]+?)>?`")


@dataclass
class Question:
    q: str
    source: str  # path of the gold document, relative to the corpus root


def clean_heading(text: str) -> str:
    """A FAQ heading as a user would type it: roles and literals reduced to their text."""
    text = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1], text)
    return " ".join(text.replace("``", "").replace("`", "").replace("\\", "").split())


def split_faq(text: str) -> tuple[str, list[tuple[str, str]]]:
    """(the page without its questions, [(question heading, answer body)]).

    A question is a section whose title ends in "?"; its body runs to the next title of the
    same or a higher level.
    """
    lines = text.split("\n")
    titles: list[tuple[int, int, str]] = []  # (line index, adornment char, title)
    i = 0
    while i < len(lines) - 1:
        if (lines[i].strip() and not _ADORN.match(lines[i]) and _ADORN.match(lines[i + 1])
                and len(lines[i + 1].strip()) >= len(lines[i].strip())):
            over = i > 0 and _ADORN.match(lines[i - 1]) is not None
            titles.append((i - 1 if over else i, ("o" if over else "") + lines[i + 1].strip()[0],
                           lines[i].strip()))
            i += 2
            continue
        i += 1
    levels: dict[str, int] = {}
    for _, char, _ in titles:
        levels.setdefault(char, len(levels))
    kept: list[str] = []
    faqs: list[tuple[str, str]] = []
    cursor = 0
    for n, (start, char, title) in enumerate(titles):
        if not title.endswith("?"):
            continue
        level = levels[char]
        end = next((s for s, c, _ in titles[n + 1:] if levels[c] <= level), len(lines))
        body_start = start + (3 if char.startswith("o") else 2)
        kept.extend(lines[cursor:start])
        faqs.append((clean_heading(title), "\n".join(lines[body_start:end]).strip()))
        cursor = end
    kept.extend(lines[cursor:])
    return "\n".join(kept), faqs


def _release_notes(path: str) -> bool:
    """Release notes are left out of every set alike: they mention everything once."""
    name = path.lower()
    return (any(w in name for w in ("/releases/", "changelog", "history"))
            or Path(name).stem in ("news", "changes"))


def _spread(items: list, cap: int) -> list:
    if len(items) <= cap:
        return items
    step = len(items) / cap
    return [items[int(i * step)] for i in range(cap)]


def build(name: str, archive: Path) -> None:
    """Write ``bench/.corpora/NAME/{docs/, questions.yaml}`` from the sdist ``archive``."""
    _, faq_globs, docs_dir, cap = SOURCES[name]
    out = ROOT / name
    docs = out / "docs"
    if out.exists():
        subprocess.run(["rm", "-rf", str(out)], check=True)
    docs.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        members = {m.name.split("/", 1)[1]: m for m in tar.getmembers()
                   if m.isfile() and "/" in m.name}
        doc_files = sorted(p for p in members if p.startswith(docs_dir + "/")
                           and p.endswith((".rst", ".txt", ".md")))
        faq_files = [p for p in doc_files if any(Path(p).match(g) for g in faq_globs)]
        questions: list[Question] = []
        for path in faq_files:
            text = tar.extractfile(members[path]).read().decode("utf-8")
            rest, faqs = split_faq(text)
            stem = Path(path).stem
            for n, (question, answer) in enumerate(faqs, 1):
                if len(answer.split()) < 5:
                    continue
                rel = f"faq/{stem}-{n}.rst"
                (docs / rel).parent.mkdir(parents=True, exist_ok=True)
                (docs / rel).write_text(answer + "\n", encoding="utf-8")
                questions.append(Question(question, rel))
            target = docs / (Path(path).relative_to(docs_dir).with_suffix(".rst"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(rest, encoding="utf-8")
        others = [p for p in doc_files if p not in faq_files and not _release_notes(p)]
        for path in _spread(others, cap):
            target = docs / Path(path).relative_to(docs_dir).with_suffix(".rst")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(tar.extractfile(members[path]).read())
    (out / "questions.yaml").write_text(yaml.safe_dump({
        "sdist": archive.name,
        "answerable": [{"q": q.q, "source": q.source} for q in questions],
        "unanswerable": [{"q": q} for q in OFF_TOPIC]}, sort_keys=False, allow_unicode=True),
        encoding="utf-8")
    print(f"{name}: {len(questions)} FAQ questions, "
          f"{sum(1 for _ in docs.rglob('*.rst'))} documents")


def setup() -> None:
    """Download the pinned sdists with pip (skipped when present) and build every set."""
    cache = ROOT / "sdists"
    cache.mkdir(parents=True, exist_ok=True)
    for name, (pin, *_rest) in SOURCES.items():
        project, version = pin.split("==")
        found = sorted(cache.glob(f"{project}-{version}.tar.gz"))
        if not found:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                            "--no-binary", ":all:", "-d", str(cache), pin], check=True)
            found = sorted(cache.glob(f"{project}-{version}.tar.gz"))
        build(name, found[0])


def available() -> list[str]:
    """Names of the corpora that ``setup`` has built."""
    return [n for n in SOURCES if (ROOT / n / "questions.yaml").is_file()]


def index_db(name: str, embedder=None, dense_reason: str = "", progress=None):
    """The corpus's index in ``bench/.corpora/NAME.db``, brought up to date (kept between runs:
    only changed files are re-read, and only new passages embedded) and the ingest report."""
    from breakroom.knowledge import corpus
    from breakroom.record.db import open_db

    db = open_db(ROOT / f"{name}.db")
    report = corpus.ingest(db, [ROOT / name / "docs"], embedder, dense_reason=dense_reason,
                           **({"progress": progress} if progress else {}))
    return db, report


def load(name: str) -> tuple[Path, list[dict], list[dict]]:
    """(documents dir, answerable questions, off-topic questions) of a built corpus."""
    data = yaml.safe_load((ROOT / name / "questions.yaml").read_text(encoding="utf-8"))
    return ROOT / name / "docs", data["answerable"], data["unanswerable"]


if __name__ == "__main__":
    if sys.argv[1:] != ["setup"]:
        sys.exit("usage: python bench/knowledge_corpora.py setup")
    setup()
