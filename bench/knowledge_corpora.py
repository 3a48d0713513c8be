"""Foreign corpora for the knowledge evaluation: FAQ sections of other projects' documentation.

    python bench/knowledge_corpora.py setup      # download the pinned sdists (pip), build the sets
    python bench/knowledge_corpora.py add NAME DOCS --faq 'docs/faq/*.rst'   # a held-out set

Each corpus is a project's documentation from its PyPI source distribution, fetched once by
``pip download`` (the ordinary client; nothing is downloaded when the bench runs).  Every FAQ
question heading becomes a question; its answer becomes a document of its own *without* the
heading (``faq/<page>-<n>.rst``), which is the gold source; the rest of the documentation is
the distractor set.  The sets are written under ``bench/.corpora/`` (not committed).

Off-topic questions (``OFF_TOPIC``) are asked of every corpus: the right reply is "I don't know".
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE / ".corpora"
JUDGED = HERE / "judgments"  # NAME.yaml: first sources read and judged, per question



@dataclass(frozen=True)
class Source:
    """Where a built-in corpus comes from: a pinned PyPI sdist, or a pinned Debian package
    (``apt-get download``: both are registries this machine reaches, fetched once by setup)."""

    pin: str  # "project==version" (PyPI) or "package=version" (Debian)
    faq: list[str]  # FAQ files, globs below the archive's top
    docs_dir: str  # the documentation's top directory inside the archive
    cap: int  # at most this many distractor files
    only: tuple[str, ...] = ()  # distractors only from these globs (default: every doc file)
    deb: bool = False


# The cap keeps a full run's ingest within a few minutes on 2 cores; files are taken evenly
# over the sorted list, so every part of the documentation is represented.
# ``black`` is the small corpus (tens of documents, its FAQ is mostly about decisions: "Why
# spaces? I prefer tabs", "How stable is Black's style?"); ``pydesign`` is prose: Python's
# General and Design & History FAQs ("Why was Python created in the first place?", "Why
# doesn't Python have a switch statement?") hidden among the tutorial and the What's New
# essays (each release's decisions and their reasons), from Debian's python3.11-doc (PSF
# licence).  Python's other FAQs stay a held-out set (``add pyfaq …``): no overlap.
_PYDOC = "usr/share/doc/python3.11/html/_sources"
SOURCES = {
    "django": Source("django==5.2.19", ["docs/faq/*.txt"], "docs", 80),
    "celery": Source("celery==5.7.0", ["docs/faq.rst"], "docs", 400),
    "scrapy": Source("scrapy==2.19.0", ["docs/faq.rst"], "docs", 400),
    "sqlalchemy": Source("sqlalchemy==2.0.44", ["doc/build/faq/*.rst"], "doc/build", 120),
    "black": Source("black==26.10.1", ["docs/faq.md"], "docs", 100),
    "pydesign": Source("python3.11-doc=3.11.2-6+deb12u9",
                       [f"{_PYDOC}/faq/general.rst.txt", f"{_PYDOC}/faq/design.rst.txt"],
                       _PYDOC, 120, only=("*/tutorial/*", "*/whatsnew/3.*"),
                       deb=True),
}

# Off-topic questions: the right reply is "I don't know".  Each corpus is asked its own share
# (``off_topic``), so leave-one-corpus-out never tests a question its model was fitted on.
# Most are general knowledge; the last twenty are technical questions about things none of the
# corpora covers, which share more words with documentation than a question about planets.
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
    "How many bones are in the adult human body?",
    "What is the tallest mountain in Africa?",
    "How do I make a sourdough starter from scratch?",
    "Who discovered penicillin?",
    "What is the boiling point of olive oil?",
    "How often should I water a cactus in winter?",
    "Which country has the most islands?",
    "How do bees make honey?",
    "What language is spoken in Brazil?",
    "How long does it take light from the sun to reach the earth?",
    "What causes the northern lights?",
    "How do I teach my dog to sit?",
    "Who was the first person to walk on the moon?",
    "What is the population of Canada?",
    "How do I change a flat tyre on a bicycle?",
    "Why do cats purr?",
    "What is the recipe for a classic margherita pizza?",
    "Which ocean is the deepest?",
    "How many strings does a standard guitar have?",
    "What year did the Titanic sink?",
    "How can I fall asleep faster at night?",
    "What is the chemical symbol for gold?",
    "Who composed the Four Seasons?",
    "How do I remove rust from a cast iron pan?",
    "What is the speed of sound in air?",
    "Why do leaves change colour in autumn?",
    "How many hearts does an octopus have?",
    "What is the rule for the offside position in football?",
    "How do I plant tulip bulbs?",
    "Which is the largest desert in the world?",
    "What is a good stretching routine after running?",
    "Who invented the telephone?",
    "How much sleep does a teenager need?",
    "What is the difference between weather and climate?",
    "How do I brew pour-over coffee?",
    "Which animals hibernate in winter?",
    "What does a sommelier do?",
    "How is cheese made from milk?",
    "Why does the moon have phases?",
    "How do I clean a suede jacket?",
    "What is the longest river in Europe?",
    "How do volcanoes form?",
    "What is the best way to learn to juggle?",
    "Who painted The Starry Night?",
    "How many time zones does Russia have?",
    "What do koalas eat?",
    "How should I store fresh basil?",
    "Which metal is the best conductor of electricity?",
    "How do I iron a shirt collar?",
    "What is the origin of the Olympic Games?",
    "How do I make a paper aeroplane that flies far?",
    "What is the gestation period of an elephant?",
    "Which spices go into a garam masala?",
    "How do I tune a violin?",
    "What is the plot of Hamlet?",
    "How do hurricanes get their names?",
    "What should I feed a goldfish?",
    "How do I descale a kettle?",
    "Who built the pyramids of Giza?",
    "How many moons does Jupiter have?",
    "What is a pivot table in Excel and how do I create one?",
    "How do I pair Bluetooth headphones with an iPhone?",
    "How do I resize a logical volume with LVM?",
    "How do I centre a div with CSS flexbox?",
    "What does the Rust borrow checker complain about when I move a value?",
    "How do I set up a Kubernetes horizontal pod autoscaler?",
    "How do I reset the BIOS password on a laptop?",
    "How do I add a layer mask in Photoshop?",
    "Which Go keyword starts a goroutine?",
    "How do I replace the thermal paste on a graphics card?",
    "What is the difference between RAID 5 and RAID 10?",
    "How do I write a VLOOKUP formula in a spreadsheet?",
    "How do I flash new firmware onto an Arduino?",
    "How do I calibrate the colours of my monitor?",
    "How do I declare a generic interface in TypeScript?",
    "What does a Swift optional binding look like?",
    "How do I install a printer driver on Windows 11?",
    "How do I configure port forwarding on my home router?",
    "How do I record a macro in Microsoft Word?",
    "How do I defragment a hard disk?",
]

_ADORN = re.compile(r"^([=\-~^\"'`#*+:.])\1{2,}\s*$")
_MD_TITLE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_PROBLEM = re.compile(r"^(?:I\b|I'|My\b|Some\b|[\"'`])|n't\b|!$")
_ROLE = re.compile(r":[\w:.-]+:`(?:[^`<]*<)?~?([^`>]+?)>?`")


@dataclass
class Question:
    q: str
    source: str  # path of the gold document, relative to the corpus root
    also: list[dict[str, str]] = field(default_factory=list)  # sections the answer points to


# Where a FAQ answer points for its answer: ``:ref:`label``` / ``:ref:`text <label>```,
# ``:doc:`path``` and markdown links ``[text](page.md#section)``.  An answer that is only a
# pointer ("This is covered in the section :ref:`pooling_multiprocessing`", "Yes, please see
# :ref:`daemonizing`": at most POINTER_WORDS words) makes the section it names a right first
# source too; a longer answer holds its answer itself, and its links are further reading.
POINTER_WORDS = 40
_REF = re.compile(r":(ref|doc):`(?:[^`<]*<)?([^`>]+?)>?`")
_MD_LINK = re.compile(r"\]\(([^)\s#]+\.md)?(?:#([^)\s]+))?\)")
_LABEL = re.compile(r"^\.\. _([^:`]+):\s*$")
_TITLE_REF = re.compile(r"(?<!:)`([^`<]+?)`_(?!_)")  # "See `Why won't my Task run?`_"


def slug(text: str) -> str:
    """A heading or link anchor reduced to lowercase words joined by "-", so a Sphinx title,
    a GitHub-style ``#line-length`` and a passage's heading path compare alike."""
    return re.sub(r"[^a-z0-9]+", "-", clean_heading(text).lower()).strip("-")


def labels(rel: str, text: str, questions: dict[str, str]) -> dict[str, dict[str, str]]:
    """Sphinx labels of one page: label -> the section it names (``{"path", "section"}``),
    or the FAQ answer document when it names a question (``questions``: heading -> doc)."""
    lines = text.split("\n")
    found = {}
    for i, line in enumerate(lines):
        label = _LABEL.match(line)
        if not label:
            continue
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or _LABEL.match(lines[j])):
            j += 1
        if j + 1 < len(lines) and _ADORN.match(lines[j]):  # an overlined title
            j += 1
        if j + 1 >= len(lines) or not _ADORN.match(lines[j + 1]):
            continue
        title = clean_heading(lines[j].strip())
        found[label.group(1).strip().lower()] = (
            {"path": questions[title]} if title in questions else {"path": rel, "section": title})
    return found


def pointers(answer: str, page: str, docs_dir: str, known: dict[str, dict[str, str]],
             written: set[str], asked: dict[str, str]) -> list[dict[str, str]]:
    """The sections a FAQ answer on ``page`` points to that the set holds (``asked``: FAQ
    question -> its answer's document, for a reference by title to another entry)."""

    def page_of(target: str) -> str:  # "/topics/x" from the docs' top, "x" from the page's
        base = Path(docs_dir) if target.startswith("/") else Path(page).parent
        path = os.path.normpath(base / target.lstrip("/"))
        return str(_target(path, docs_dir)) if path.startswith(docs_dir + "/") else ""

    out: list[dict[str, str]] = []
    for role, target in _REF.findall(answer):
        if role == "ref" and target.strip().lower() in known:
            out.append(known[target.strip().lower()])
        elif role == "doc" and page_of(target + ".rst") in written:
            out.append({"path": page_of(target + ".rst")})
    for title in _TITLE_REF.findall(answer):
        if clean_heading(title) in asked:
            out.append({"path": asked[clean_heading(title)]})
    for path, anchor in _MD_LINK.findall(answer):
        rel = page_of(path) if path else ""
        if rel in written:
            out.append({"path": rel, **({"section": anchor} if anchor else {})})
    return [dict(t) for t in dict.fromkeys(tuple(sorted(p.items())) for p in out)]


Judgments = dict[tuple[str, str], bool]  # (question, first source's anchor) -> answers it


def judgments(name: str) -> Judgments:
    """``bench/judgments/NAME.yaml``: first sources other than the gold that a reader judged
    against the FAQ's own answer (does this passage give that answer?)."""
    path = JUDGED / f"{name}.yaml"
    if not path.is_file():
        return {}
    return {(j["q"], j["source"]): bool(j["right"])
            for j in yaml.safe_load(path.read_text(encoding="utf-8")) or []}


def gold(item: dict[str, Any], strict: bool = False,
         judged: Judgments | None = None) -> Callable[[str], bool]:
    """Whether a passage's anchor is a right first source for ``item``: its gold document,
    or (unless ``strict``) a section its FAQ answer points to, or one judged to give the
    answer (``judged``)."""
    source = item.get("source", [])
    prefixes = tuple(source) if isinstance(source, list) else (source,) if source else ("\0",)
    also = [] if strict else item.get("also", [])
    accepted = {a for (q, a), ok in (judged or {}).items() if ok and q == item["q"]}

    def right(anchor: str) -> bool:
        if anchor.startswith(prefixes) or (not strict and anchor in accepted):
            return True
        path, _, heading = anchor.partition("#")
        return any(path == p["path"] and ("section" not in p or slug(p["section"]) in
                                          [slug(h) for h in heading.split(" > ")])
                   for p in also)

    return right


def clean_heading(text: str) -> str:
    """A FAQ heading as a user would type it: roles and literals reduced to their text."""
    text = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1], text)
    return " ".join(text.replace("``", "").replace("`", "").replace("\\", "").split())


def split_faq(text: str) -> tuple[str, list[tuple[str, str]]]:
    """(the page without its questions, [(question heading, answer body)]).

    A question is a section whose title ends in "?", or a section without subsections whose
    title states a user's problem (``_PROBLEM``: "I'm getting an error about …", "The worker
    isn't doing anything, just hanging", a quoted error message); its body runs to the next
    title of the same or a higher level.
    """
    lines = text.split("\n")
    titles: list[tuple[int, str, str]] = []  # (line index, adornment, title)
    i = 0
    fenced = False
    while i < len(lines) - 1:
        if _FENCE.match(lines[i]):
            fenced = not fenced
        markdown = None if fenced else _MD_TITLE.match(lines[i])
        if markdown:  # "## Why spaces? I prefer tabs"
            titles.append((i, markdown.group(1), markdown.group(2)))
        elif (not fenced and lines[i].strip() and not _ADORN.match(lines[i])
                and _ADORN.match(lines[i + 1])
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
    def is_question(n: int) -> bool:
        _, char, title = titles[n]
        leaf = n + 1 == len(titles) or levels[titles[n + 1][1]] <= levels[char]
        return title.endswith("?") or (leaf and _PROBLEM.search(title) is not None)

    questions = [n for n in range(len(titles)) if is_question(n)]
    kept: list[str] = []
    faqs: list[tuple[str, str]] = []
    cursor = 0
    for n in questions:
        start, char, title = titles[n]
        if start < cursor:
            continue
        # the answer runs to the next title of the same or a higher level, or to the next
        # question nested in it (which is a question, and a document, of its own)
        end = next((s for m, (s, c, _) in enumerate(titles[n + 1:], n + 1)
                    if levels[c] <= levels[char] or m in questions), len(lines))
        body_start = start + (1 if char.startswith("#") else 3 if char.startswith("o") else 2)
        kept.extend(lines[cursor:start])
        faqs.append((clean_heading(title), "\n".join(lines[body_start:end]).strip()))
        cursor = end
    kept.extend(lines[cursor:])
    return "\n".join(kept), faqs


def _release_notes(path: str) -> bool:
    """Release notes are left out of every set alike: they mention everything once."""
    name = path.lower()
    return (any(w in name for w in ("/releases/", "changelog", "change_log", "history"))
            or Path(name).stem in ("news", "changes"))


def _spread(items: list, cap: int) -> list:
    if len(items) <= cap:
        return items
    step = len(items) / cap
    return [items[int(i * step)] for i in range(cap)]


Files = dict[str, Callable[[], bytes]]  # path inside the source -> its bytes


def tar_files(archive: Path) -> Files:
    """An sdist's files, by path below its top directory."""
    tar = tarfile.open(archive)  # noqa: SIM115 -- read lazily by build(), closed with the process
    return {m.name.split("/", 1)[1]: (lambda m=m: tar.extractfile(m).read())
            for m in tar.getmembers() if m.isfile() and "/" in m.name}


def dir_files(root: Path, parent: Path | None = None) -> Files:
    """A documentation tree's files, by path below ``parent`` (default: ``root``'s parent,
    so ``docs_dir`` is its name)."""
    return {str(f.relative_to(parent or root.parent)): f.read_bytes
            for f in sorted(root.rglob("*")) if f.is_file()}


def _target(path: str, docs_dir: str) -> Path:
    """Where a documentation file goes in the set: below the docs' top, a Sphinx source
    (``.txt``, ``.rst.txt``) as ``.rst``, markdown as ``.md``."""
    rel = Path(path).relative_to(docs_dir)
    rel = rel.with_suffix("") if rel.suffixes[-2:] == [".rst", ".txt"] else rel
    return rel.with_suffix(".md" if rel.suffix == ".md" else ".rst")


def build(name: str, files: Files, faq_globs: list[str], docs_dir: str, cap: int,
          unanswerable: list[str], origin: str, held_out: bool = False,
          only: tuple[str, ...] = ()) -> None:
    """Write ``bench/.corpora/NAME/{docs/, questions.yaml}`` from a documentation tree."""
    out = ROOT / name
    docs = out / "docs"
    if out.exists():
        subprocess.run(["rm", "-rf", str(out)], check=True)
    docs.mkdir(parents=True)
    doc_files = sorted(p for p in files if p.startswith(docs_dir + "/")
                       and p.endswith((".rst", ".txt", ".md")))
    faq_files = [p for p in doc_files if any(Path(p).match(g) for g in faq_globs)]
    if not faq_files:
        sys.exit(f"{name}: no file under {docs_dir}/ matches {' or '.join(faq_globs)}")
    questions: list[Question] = []
    answers: list[tuple[str, str]] = []  # (FAQ page, answer text), one per question
    known: dict[str, dict[str, str]] = {}  # Sphinx label -> what it names
    asked: dict[str, str] = {}  # FAQ question -> its answer's document
    for path in faq_files:
        text = files[path]().decode("utf-8")
        rest, faqs = split_faq(text)
        target = _target(path, docs_dir)
        for n, (question, answer) in enumerate(faqs, 1):
            if len(answer.split()) < 5:
                continue
            rel = f"faq/{target.stem}-{n}{target.suffix}"
            (docs / rel).parent.mkdir(parents=True, exist_ok=True)
            (docs / rel).write_text(answer + "\n", encoding="utf-8")
            questions.append(Question(question, rel))
            answers.append((path, answer))
            asked[question] = rel
        known.update(labels(str(target), text, asked))
        (docs / target).parent.mkdir(parents=True, exist_ok=True)
        (docs / target).write_text(rest, encoding="utf-8")
    others = [p for p in doc_files if p not in faq_files and not _release_notes(p)
              and (not only or any(Path(p).match(g) for g in only))]
    for path in _spread(others, cap):
        target = docs / _target(path, docs_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[path]())
        known.update(labels(str(_target(path, docs_dir)), files[path]().decode(
            "utf-8", "replace"), {}))
    written = {str(f.relative_to(docs)) for f in docs.rglob("*") if f.is_file()}
    for q, (page, answer) in zip(questions, answers, strict=True):
        words = sum(len(line.split()) for line in answer.split("\n") if not _LABEL.match(line))
        if words <= POINTER_WORDS:
            q.also = [p for p in pointers(answer, page, docs_dir, known, written, asked)
                      if p["path"] != q.source]
    (out / "questions.yaml").write_text(yaml.safe_dump({
        "origin": origin, "held_out": held_out,
        "answerable": [{"q": q.q, "source": q.source, **({"also": q.also} if q.also else {})}
                       for q in questions],
        "unanswerable": [{"q": q} for q in unanswerable]}, sort_keys=False, allow_unicode=True),
        encoding="utf-8")
    print(f"{name}: {len(questions)} FAQ questions "
          f"({sum(1 for q in questions if q.also)} pointing to other sections), "
          f"{sum(1 for f in docs.rglob('*') if f.is_file())} documents")


def fetch(source: Source, cache: Path) -> Path:
    """The source's archive in ``cache``, downloaded once by the registry's own client."""
    if source.deb:
        package, version = source.pin.split("=")
        found = sorted(cache.glob(f"{package}_{version.replace(':', '%3a')}_*.deb"))
        if not found:
            subprocess.run(["apt-get", "download", source.pin], check=True, cwd=cache)
            found = sorted(cache.glob(f"{package}_*.deb"))
        unpacked = cache / package
        if not unpacked.is_dir():
            subprocess.run(["dpkg-deb", "-x", str(found[0]), str(unpacked)], check=True)
        return unpacked
    project, version = source.pin.split("==")
    found = sorted(cache.glob(f"{project}-{version}.tar.gz"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--no-binary", ":all:", "-d", str(cache), source.pin], check=True)
        found = sorted(cache.glob(f"{project}-{version}.tar.gz"))
    return found[0]


def setup(names: list[str] | None = None) -> None:
    """Download the pinned sources (skipped when present) and build every set (or ``names``)."""
    cache = ROOT / "sdists"
    cache.mkdir(parents=True, exist_ok=True)
    for name in names or SOURCES:
        source = SOURCES[name]
        archive = fetch(source, cache)
        files = (dir_files(archive / source.docs_dir.split("/")[0], parent=archive)
                 if source.deb else tar_files(archive))
        build(name, files, source.faq, source.docs_dir, source.cap, off_topic(name),
              origin=source.pin, only=source.only)


def off_topic(name: str) -> list[str]:
    """``name``'s share of :data:`OFF_TOPIC`: every corpus (the default one first) gets its own."""
    names = ["breakroom", *SOURCES]
    return OFF_TOPIC[names.index(name)::len(names)]


def available() -> list[str]:
    """Names of the corpora that ``setup`` has built."""
    return [n for n in SOURCES if (ROOT / n / "questions.yaml").is_file()]


def held_out() -> list[str]:
    """Names of the corpora added with ``add``: scored, never fitted on."""
    return sorted(p.parent.name for p in ROOT.glob("*/questions.yaml")
                  if yaml.safe_load(p.read_text(encoding="utf-8")).get("held_out"))


def add(name: str, docs: Path, faq_globs: list[str], cap: int,
        questions: Path | None = None) -> None:
    """Build a held-out corpus from a documentation tree of your own (say, a project whose
    FAQ nobody here has read): asked every off-topic question, scored by the models fitted on
    the built-in corpora, never used to fit them.  With ``questions`` (a YAML file of
    ``answerable: [{q, source}]`` and ``unanswerable: [{q}]``, sources as passage-anchor
    prefixes like ``faq.md#Do you sell gift vouchers?``) the documents stay whole and those
    questions are asked, as a user asks a corpus of their own; else every FAQ question of
    ``faq_globs`` is asked with its answer hidden among the documents."""
    if name in SOURCES or name == "breakroom" or not re.fullmatch(r"[a-z0-9_-]+", name):
        sys.exit(f"{name}: pick another name (lowercase letters, digits, - and _; "
                 "not a built-in corpus)")
    if not docs.is_dir():
        sys.exit(f"{docs}: not a directory")
    if questions is None:
        build(name, dir_files(docs.resolve()), faq_globs, docs.resolve().name, cap, OFF_TOPIC,
              origin=str(docs.resolve()), held_out=True)
        return
    asked = yaml.safe_load(questions.read_text(encoding="utf-8"))
    out = ROOT / name
    if out.exists():
        subprocess.run(["rm", "-rf", str(out)], check=True)
    shutil.copytree(docs.resolve(), out / "docs")
    (out / "questions.yaml").write_text(yaml.safe_dump({
        "origin": str(questions.resolve()), "held_out": True,
        "answerable": asked["answerable"],
        "unanswerable": asked.get("unanswerable", []) + [{"q": q} for q in OFF_TOPIC]},
        sort_keys=False, allow_unicode=True), encoding="utf-8")
    print(f"{name}: {len(asked['answerable'])} questions of your own, "
          f"{sum(1 for f in (out / 'docs').rglob('*') if f.is_file())} documents")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    built = commands.add_parser("setup", help="download the pinned sources and build the sets")
    built.add_argument("names", nargs="*", help="only these sets (default: all)")
    held = commands.add_parser("add", help="build a held-out corpus from a docs directory")
    held.add_argument("name")
    held.add_argument("docs", type=Path, help="the documentation's top directory")
    asked = held.add_mutually_exclusive_group(required=True)
    asked.add_argument("--faq", action="append",
                       help="glob of FAQ files below the docs' parent, e.g. 'doc/faq/*.rst'")
    asked.add_argument("--questions", type=Path,
                       help="YAML of your own questions about the whole documents")
    held.add_argument("--cap", type=int, default=500, help="at most this many other files")
    args = parser.parse_args()
    if args.command == "setup":
        setup(args.names)
    else:
        add(args.name, args.docs, args.faq or [], args.cap, args.questions)


if __name__ == "__main__":
    main()
