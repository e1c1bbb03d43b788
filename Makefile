# consensus-chat: `make run` starts the web chat, `make test` runs the whole suite.
# Everything is installed into .venv from requirements.lock (the tested versions).

VENV      ?= .venv
PY        := $(VENV)/bin/python
PIP       := $(VENV)/bin/pip
CLI       := $(VENV)/bin/consensus-chat
PORT      ?= 7860
HOST      ?= 127.0.0.1

# Offline at run time; no telemetry (the library switches it off too); llama-cpp-python must not use
# -march=native on these CPUs.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False
export ORT_DISABLE_TELEMETRY := 1
export CMAKE_ARGS := -DGGML_NATIVE=OFF
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test install install-dev browser chromium eval bench audit lock clean help

help:
	@echo "make run     - set up .venv, ingest the document if needed, start the web chat on $(HOST):$(PORT)"
	@echo "make test    - set up .venv with dev tools and a browser, run the whole test suite"
	@echo "make eval    - score retrieval and write evals/report/"
	@echo "make bench   - measure speed and write docs/benchmarks.md"
	@echo "make audit   - pip-audit the lock file"

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q pip==26.3
	# torch first, pinned exactly: this takes the CPU build from the machine's disk.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -c requirements.lock -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	# llama-cpp-python builds from source here (about 6 minutes once; pip caches the wheel).
	$(PIP) install -q -c requirements.lock -e '.[dev]'
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.dev-installed browser

# Debian's Chromium and ChromeDriver (never a browser that downloads itself), strace, and axe-core from
# the npm registry at the version tests/browser/package-lock.json pins (the accessibility test injects it; no CDN).
browser: tests/browser/node_modules/axe-core/axe.min.js

tests/browser/node_modules/axe-core/axe.min.js: tests/browser/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the accessibility test: apt-get install -y npm" >&2; exit 1; }
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	touch $@

browser: chromium

# Debian's Chromium and ChromeDriver for the browser test, and strace for the test that no command looks up or
# connects to anything outside the machine.
chromium:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && [ -x /usr/bin/strace ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's chromium, chromium-driver and strace..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-color-emoji fonts-dejavu-core strace >/dev/null; \
	else \
		echo "Run as root once: apt-get update && apt-get install -y chromium chromium-driver strace" >&2; exit 1; \
	fi

# serve prints how long after this target started it answered a first question.
run: $(VENV)/.installed
	export CONSENSUS_CHAT_RUN_STARTED=$$(date +%s.%N); \
	$(CLI) ingest && $(CLI) serve --host $(HOST) --port $(PORT)

test: install-dev
	$(PY) -m pytest -q

eval: $(VENV)/.installed
	$(CLI) ingest --quiet
	$(CLI) eval --out evals/report

bench: install-dev
	$(PY) -m consensus_chat.evals.bench --out docs/benchmarks.md

audit: $(VENV)/.dev-installed
	$(VENV)/bin/pip-audit -r requirements.lock --no-deps --disable-pip

# `pip list --format=freeze` writes name==version even for a wheel installed from a local file
# (pip freeze would write `name @ file:///...`, which a new machine cannot install); local
# version labels such as +cpu are dropped so the lock agrees with the torch pin above.
lock: $(VENV)/.dev-installed
	$(PIP) list --format=freeze --exclude-editable \
		| grep -vE '^(consensus-chat|pip|setuptools|wheel)==' \
		| sed -E 's/^([A-Za-z0-9._-]+==[^+]+)\+.*/\1/' > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache
