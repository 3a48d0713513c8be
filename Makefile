# Two commands on a fresh machine:  `make demo`  and  `make test`.
VENV   ?= .venv
PYTHON ?= python3
SUDO   := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: demo up test lint bench system-deps venv claude-code codex gemini-cli aider clean

venv: $(VENV)/.installed claude-code codex gemini-cli aider

# The real Claude Code CLI for the tests (tests/support/claude_code.py), project-local: every
# release the profile pins (`tested:` in breakroom/fleet/profiles/claude-code.yaml, the one
# place both the build and the product read) into .claude-code/<release>/.  Skipped with a
# note when npm is missing (those tests then skip; CI makes that an error).
CLAUDE_CODE_PROFILE := breakroom/fleet/profiles/claude-code.yaml
CLAUDE_CODE_RELEASES := $(shell sed -n 's/^tested: *\[\(.*\)\].*/\1/p' $(CLAUDE_CODE_PROFILE) | tr -d "'\" " | tr , ' ')
claude-code: $(foreach r,$(CLAUDE_CODE_RELEASES),.claude-code/$(r)/.installed)

.claude-code/%/.installed:
	@if command -v npm >/dev/null 2>&1; then \
	  mkdir -p $(@D) && npm install --prefix $(@D) --no-audit --no-fund --silent \
	    @anthropic-ai/claude-code@$* && touch $@; \
	else echo "npm not found: the real-Claude-Code tests will skip"; fi

# Move "newest" to a new Claude Code release: pin it, install it, capture its real screens in
# both permission modes into tests/fixtures/panes/, rewrite docs/screens.md's table, and run
# the live tests and the screen corpus against it (docs/screens.md, "A new Claude Code release").
claude-code-release: $(VENV)/.installed
	@test -n "$(VERSION)" || { echo "usage: make claude-code-release VERSION=x.y.z"; exit 2; }
	$(VENV)/bin/python tests/support/pin_claude_release.py $(VERSION)
	$(MAKE) claude-code
	$(VENV)/bin/python tests/support/capture_claude_screens.py --release $(VERSION)
	-$(VENV)/bin/breakroom screens table --write docs/screens.md
	$(VENV)/bin/pytest -q -n 4 -k "$(VERSION) or screen or panestate" tests/fleet/test_panestate.py \
	  tests/fleet/test_screens.py tests/fleet/test_claude_code_live.py tests/fleet/test_claude_code_hooks.py

# The other agents' real CLIs for the tests, project-local under .agents/, each at the newest
# release its profile's `tested` list names (breakroom/fleet/profiles/NAME.yaml): that list is
# the one place to bump it, read by the build and the product alike.  A new release: add it
# there, `make NAME`, recapture the screens (tests/support/capture_*_screens.py), run the live tests.
tested = $(shell grep -Eo '^tested:.*' breakroom/fleet/profiles/$(1).yaml | \
           grep -Eo '[0-9]+\.[0-9]+\.[0-9]+' | sort -V | tail -1)
CODEX_VERSION := $(call tested,codex)
GEMINI_CLI_VERSION := $(call tested,gemini)
AIDER_VERSION := $(call tested,aider)

# Codex (tests/support/codex_cli.py) from npm.
codex: .agents/codex/.installed-$(CODEX_VERSION)

.agents/codex/.installed-$(CODEX_VERSION):
	@if command -v npm >/dev/null 2>&1; then \
	  npm install --prefix .agents/codex --no-audit --no-fund --silent \
	    @openai/codex@$(CODEX_VERSION) && touch $@; \
	else echo "npm not found: the real-Codex tests will skip"; fi

# Gemini CLI (tests/support/gemini_cli.py) from npm.
gemini-cli: .agents/gemini/.installed-$(GEMINI_CLI_VERSION)

.agents/gemini/.installed-$(GEMINI_CLI_VERSION):
	@if command -v npm >/dev/null 2>&1; then \
	  npm install --prefix .agents/gemini --no-audit --no-fund --silent \
	    @google/gemini-cli@$(GEMINI_CLI_VERSION) && touch $@; \
	else echo "npm not found: the real-Gemini-CLI tests will skip"; fi

# aider (tests/support/aider_cli.py) from PyPI into a venv of its own: it pins dozens of
# dependencies, which must not meet the project's.  Where it does not install, the reason is
# kept in .agents/aider/install.log and its tests skip saying so.
aider: .agents/aider/.installed-$(AIDER_VERSION)

.agents/aider/.installed-$(AIDER_VERSION):
	@rm -f .agents/aider/.installed-*
	@$(PYTHON) -m venv .agents/aider && \
	  .agents/aider/bin/pip install -q aider-chat==$(AIDER_VERSION) >.agents/aider/install.log 2>&1 \
	  && touch $@ \
	  || echo "aider-chat $(AIDER_VERSION) did not install (see .agents/aider/install.log): its tests will skip"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test,embed]'
	touch $@

# ngircd is the real IRC server (miniircd is the fallback); tmux runs the sessions;
# openssl makes the TLS test's certificate; pgrep (procps) checks for leftover processes;
# npm installs Claude Code for the tests that run it; zsh and dash are the shells the
# delivery-safety tests must never type into; weechat-headless and irssi check
# `breakroom info`'s client lines for real; chromium (headless) draws the report's page.
SYSTEM_DEPS = ngircd:ngircd tmux:tmux openssl:openssl pgrep:procps npm:npm zsh:zsh dash:dash \
              weechat-headless:weechat-headless irssi:irssi chromium:chromium

system-deps:
	@missing=""; for dep in $(SYSTEM_DEPS); do \
	  command -v $${dep%%:*} >/dev/null 2>&1 || missing="$$missing $${dep#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

demo: system-deps venv
	$(VENV)/bin/breakroom demo

up: system-deps venv
	$(VENV)/bin/breakroom up

# ruff with the rule set in pyproject.toml, mypy strict on the engine; then the suite.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# The suite on $(TEST_WORKERS) xdist workers: its tests mostly wait on servers and agents, so
# more workers than the 2 cores pay (docs/performance.md, "The test suite"); one test at a
# time goes to whichever worker is free (--maxschedchunk 1), so no worker is left holding a
# queue of slow ones at the end.  Then the few tests that assert a wall-clock budget
# (-m timing) run alone, where the suite's own load is not part of what they measure.  Both
# passes share one build of the integer embedding model (BREAKROOM_TEST_CACHE).
TEST_WORKERS ?= 6
test: system-deps venv lint
	@cache=$$(mktemp -d); trap 'rm -rf "$$cache"' EXIT; export BREAKROOM_TEST_CACHE=$$cache; \
	$(VENV)/bin/pytest -q -n $(TEST_WORKERS) --maxschedchunk 1 -m "not timing"; suite=$$?; \
	$(VENV)/bin/pytest -q -m timing; timing=$$?; \
	[ $$suite -eq 0 ] && [ $$timing -eq 0 ]

# Figures for docs/performance.md; --quick keeps each under a minute.  The knowledge eval's
# foreign corpora are built once by their setup step (pip download of pinned sdists, and
# apt-get download + dpkg-deb -x of python3.11-doc: run apt-get update once first); their
# indexes are kept in bench/.corpora/, so only the first run pays for the embeddings.
bench: venv
	$(VENV)/bin/python bench/knowledge_corpora.py setup
	$(VENV)/bin/python bench/knowledge_eval.py
	for b in hot_paths scribe_ingest delivery_latency busy_delivery knowledge_latency sweep_walk session_bots record_search cross_host report_build; do \
	  $(VENV)/bin/python bench/$$b.py --quick || exit 1; done

clean:
	rm -rf $(VENV) .claude-code .agents .pytest_cache build *.egg-info
