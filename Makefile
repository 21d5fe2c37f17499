# One command to run, one to test. Everything missing is installed on the way.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ANVIL_PKG := @foundry-rs/anvil-linux-amd64@1.7.1
ANVIL := .tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
PYTEST_ARGS ?=

.PHONY: setup run test bench system clean

setup: $(VENV)/.installed $(ANVIL) system

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

$(ANVIL):
	npm install --silent --no-audit --no-fund --prefix .tools $(ANVIL_PKG)
	test -x $@

# Debian packages the sandbox and the Redis-backed tests need. Installed when missing and we
# may install (root); otherwise the features that need them say so and their tests skip.
system:
	@missing=""; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	test -x /usr/bin/python3 || missing="$$missing python3"; \
	command -v setpriv >/dev/null || missing="$$missing util-linux"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "not root: please install$$missing"; fi; \
	fi
	@# The unprivileged user compute sandboxes run as (config.ini: compute.sandbox_user).
	@if [ "$$(id -u)" = 0 ] && ! id ocean-c2d >/dev/null 2>&1; then \
	  useradd --system --no-create-home --shell /usr/sbin/nologin ocean-c2d; fi

run: setup
	$(PY) -m provider.devtools.run

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: setup
	$(PY) bench/core.py
	$(PY) bench/access.py
	$(PY) bench/compute.py
	$(PY) bench/k8s.py

clean:
	rm -rf $(VENV) .tools .run .pytest_cache
