"""``breakroom corpus ingest/stats/search`` and ``breakroom knowledge stats``."""

from __future__ import annotations

import sys
import time

import click
from rich.console import Console

from breakroom.cli.base import State, cli, pass_state
from breakroom.knowledge import corpus
from breakroom.knowledge import engine as knowledge
from breakroom.knowledge.calibration import corrected
from breakroom.knowledge.embedding import load_embedder
from breakroom.knowledge.retrieval import FEATURES, Index


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "never"


@cli.group("corpus")
def corpus_group() -> None:
    """Load and inspect the knowledge proxy's corpus."""


@corpus_group.command("ingest")
@click.argument("paths", nargs=-1, type=click.Path())
@pass_state
def corpus_ingest(state: State, paths: tuple[str, ...]) -> None:
    """Ingest files or directories (default: the knowledge.corpus paths).

    Markdown, text, reStructuredText and HTML, with optional YAML front matter.  Unchanged
    files are skipped; files gone from an ingested directory are removed.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    targets = list(paths) or corpus.configured_paths(state.config)
    status = load_embedder()
    columns = (TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TextColumn("files"),
               TextColumn("{task.fields[passages]} passages"), TimeRemainingColumn())
    # The bar goes to stderr and only on a terminal: scripts and logs get the summary alone.
    with Progress(*columns, transient=True, disable=not sys.stderr.isatty(),
                  console=Console(stderr=True)) as bar:
        task = bar.add_task("ingest", total=None, passages=0)
        report = corpus.ingest(
            state.db, targets, status.embedder, dense_reason=status.reason,
            warn=lambda msg: bar.console.print(f"warning: {msg}", markup=False, highlight=False,
                                          soft_wrap=True),
            progress=lambda done, total, passages: bar.update(
                task, completed=done, total=total, passages=passages))
    click.echo(f"added {len(report.added)}, updated {len(report.updated)}, unchanged "
               f"{report.unchanged}, removed {len(report.removed)}, skipped {len(report.skipped)}; "
               f"{report.chunks} chunks written, {report.embedded} embedded in "
               f"{report.seconds:.1f}s")
    click.echo(f"retrieval: {status.reason}")


@corpus_group.command("stats")
@pass_state
def corpus_stats(state: State) -> None:
    """Documents, chunks, vectors, the last ingest, and whether dense retrieval is on."""
    s = corpus.stats(state.db)
    status = load_embedder()
    click.echo(f"documents    {s.documents}")
    click.echo(f"chunks       {s.chunks}")
    click.echo(f"vectors      {s.vectors}")
    click.echo(f"last ingest  {_when(s.last_ingest)}")
    for root in s.roots:
        click.echo(f"root         {root}")
    if status.embedder is None:
        click.echo(f"retrieval    {status.reason}")
    elif s.vectors < s.chunks:
        click.echo(f"retrieval    hybrid, but {s.chunks - s.vectors} chunks have no vector "
                   "(run `breakroom corpus ingest` again)")
    else:
        click.echo(f"retrieval    hybrid: bm25 + {status.reason}")


@corpus_group.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--limit", "-n", default=5, show_default=True, help="Passages to show.")
@pass_state
def corpus_search(state: State, query: tuple[str, ...], limit: int) -> None:
    """Retrieval alone (no answer), with its scores: for debugging the corpus."""
    status = load_embedder()
    result = Index(state.db, status.embedder).search(" ".join(query), limit)
    if not result.hits:
        raise click.ClickException("no passage matches (is the corpus ingested?)")
    evidence = ", ".join(f"{name} {value:.2f}" for name, value in
                         zip(FEATURES, result.evidence.vector(FEATURES), strict=True))
    click.echo(f"evidence: {evidence}" + ("" if result.dense else "  (bm25 only)"))
    for hit in result.hits:
        snippet = hit.text if len(hit.text) <= 160 else hit.text[:157] + "…"
        click.echo(f"{hit.score:.3f}  bm25 {hit.bm25:.2f}  dense {hit.dense:.2f}  {hit.anchor}")
        click.echo(f"       {snippet}")


@cli.group("knowledge")
def knowledge_group() -> None:
    """The knowledge proxy's record of questions and answers."""


@knowledge_group.command("stats")
@click.option("--since", type=float, metavar="HOURS", help="Only the last N hours.")
@pass_state
def knowledge_stats(state: State, since: float | None) -> None:
    """Questions asked, latency percentiles, the I-don't-know rate and confidence buckets."""
    s = knowledge.stats(state.db, since=time.time() - since * 3600 if since else None)
    click.echo(f"questions    {s.questions} from {s.askers} askers")
    if not s.questions:
        return
    backends = ", ".join(f"{k} {v}" for k, v in sorted(s.by_backend.items()))
    click.echo(f"backends     {backends} ({s.fallbacks} fell back or carried a note)")
    click.echo(f"I don't know {s.idk} ({s.idk_rate:.0%})")
    click.echo("latency      " + ", ".join(f"{k} {v:.0f} ms" for k, v in s.latency_ms.items()))
    click.echo("confidence   " + ", ".join(f"{rng}: {n}" for rng, n in s.buckets))
    if not s.judged:
        click.echo("calibration  no answer judged yet (operators: `!right k42` / `!wrong k42`)")
        return
    agents = f", {s.agent_rejections} rejected by the agent they were typed into" \
        if s.agent_rejections else ""
    click.echo(f"calibration  from {s.judged} answers judged (operators' !right / !wrong{agents}):")
    click.echo("  confidence   judged   mean confidence   right")
    for rng, n, mean, right in s.calibration:
        click.echo(f"  {rng:10s} {n:8d}   {mean:15.2f}   {right:5.0%}")
    if s.corrected_from:
        click.echo(f"correction   {s.correction:+.2f} log-odds on this corpus's confidence, from "
                   f"{s.corrected_from} operators' verdicts (0.60 reads "
                   f"{corrected(0.6, s.correction):.2f})")


@knowledge_group.command("show")
@click.argument("answer_id")
@pass_state
def knowledge_show(state: State, answer_id: str) -> None:
    """One recorded answer in full (ID as in `breakroom read k42`: 42 or k42)."""
    show_answer(state, answer_id)


def show_answer(state: State, answer_id: str) -> None:
    """Print a recorded answer in full (also ``breakroom read k42``)."""
    answer = knowledge.get_answer(state.db, answer_id)
    if answer is None:
        raise click.ClickException(f"no knowledge answer {answer_id}")
    click.echo(f"{answer.ref}  {_when(answer.created)}  asked by {answer.asker or '?'}"
               + (f"  [{answer.request_id}]" if answer.request_id else ""))
    click.echo(f"question:   {answer.question}")
    click.echo(f"answer:     {answer.text}")
    click.echo(f"confidence: {answer.confidence:.2f}" + ("  (I don't know)" if answer.idk else ""))
    if answer.coverage is not None:  # answers recorded before v0.2 have none
        click.echo(f"coverage:   {answer.coverage:.2f}  (the chance the corpus covers the question)")
    click.echo(f"sources:    {', '.join(answer.sources) or '-'}")
    click.echo(f"backend:    {answer.backend}" + (f"  ({answer.note})" if answer.note else ""))
    click.echo(f"latency:    {answer.latency_ms:.0f} ms (retrieval {answer.retrieval_ms:.0f} ms)")
