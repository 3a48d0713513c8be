"""Markup is removed from passages at ingest; code stays code; answers start at a sentence."""

from __future__ import annotations

from breakroom.knowledge import corpus
from breakroom.knowledge.engine import sentences
from breakroom.knowledge.markup import markdown_to_text, rst_to_text


def test_rst_roles_literals_links_and_emphasis_become_text():
    text = rst_to_text("Use :func:`round` or :meth:`~decimal.Decimal.quantize`; see "
                       ":ref:`the guide <topics-guide>`, `lxml`_ and `Site <https://a.b>`_. "
                       "**Answer:** call ``x.y()`` *now*.")
    assert text == ("Use `round` or `quantize`; see the guide, lxml and Site. "
                    "Answer: call `x.y()` now.")


def test_rst_directives_targets_and_comments_go_but_code_and_signatures_stay():
    text = rst_to_text(
        ".. _faq-loc:\n\n.. contents::\n    :local:\n\n.. method:: Model.save(force=False)\n\n"
        "   Saves it.\n\n.. code-block:: python\n    :linenos:\n\n    x = compute(1)\n\n"
        ".. _lxml: https://lxml.de/\n.. a comment\n   spanning lines\n\nExample::\n\n"
        "    print(2)\n")
    for gone in (".. ", "::", "faq-loc", "contents", ":local:", ":linenos:", "lxml.de",
                 "comment"):
        assert gone not in text
    for kept in ("`Model.save(force=False)`", "Saves it.", "x = compute(1)", "Example:",
                 "print(2)"):
        assert kept in text


def test_markdown_links_emphasis_and_fences_go_code_stays():
    text = markdown_to_text("See [the docs](http://x/y) and ![logo](l.png), **bold** _it_.\n"
                            "Keep `snake_case_name` and my_var_name.\n[ref]: http://x\n"
                            "```sh\nrm -rf *build*\n```")
    assert "See the docs and logo, bold it." in text
    assert "`snake_case_name` and my_var_name" in text
    assert "http" not in text and "```" not in text
    assert "rm -rf *build*" in text


def test_ingested_rst_passages_carry_no_markup(tmp_path):
    path = tmp_path / "faq.rst"
    path.write_text("Workers\n=======\n\nCall :func:`app.send_task` with ``countdown=5``, "
                    "see :ref:`calling <guide-calling>`.\n\n.. note::\n\n   It retries.\n",
                    encoding="utf-8")
    doc = corpus.read_document(path)
    chunk = corpus.chunk_document(doc)[0]
    assert chunk.text == "Call `app.send_task` with `countdown=5`, see calling. It retries."


def test_answers_never_start_mid_sentence():
    assert sentences("and the worker retries it. Then it is acked. `x` is kept.") == [
        "Then it is acked.", "`x` is kept."]
    assert sentences("It starts well. And goes on.") == ["It starts well.", "And goes on."]
