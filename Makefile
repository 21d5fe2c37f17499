# One command to run, one to test. Everything missing is installed on the way.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ANVIL_PKG := @foundry-rs/anvil-linux-amd64@1.7.1
ANVIL := .tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
PYTEST_ARGS ?=
# The real clients the end-to-end tests drive (tests/clients). ocean.py 3.1.2 needs Python 3.10
# (its type checker breaks on 3.11); found on PATH or under pyenv. Without it those tests skip.
PYTHON310 ?= $(shell for p in $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.10*/bin/python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10; do "$$p" -c "" 2>/dev/null && echo "$$p" && break; done)
OCEAN_PY := .tools/clients/ocean-py/.installed
OCEAN_JS8 := .tools/clients/ocean-js-8.6.2/.installed .tools/clients/ocean-js-8.0.0/.installed
OCEAN_JS := .tools/clients/ocean-js/.installed

.PHONY: setup run demo test bench bench-tools system clients clean

setup: $(VENV)/.installed $(ANVIL) system

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

$(ANVIL):
	npm install --silent --no-audit --no-fund --prefix .tools $(ANVIL_PKG)
	test -x $@

# Debian packages the sandbox, the Redis-backed tests and the console's browser test (chromium)
# need. Installed when missing and we may install (root); otherwise the features that need them say so and their tests skip.
system:
	@missing=""; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	test -x /usr/bin/python3 || missing="$$missing python3"; \
	command -v setpriv >/dev/null || missing="$$missing util-linux"; \
	command -v slirp4netns >/dev/null || missing="$$missing slirp4netns"; \
	test -x /usr/sbin/ip || test -x /sbin/ip || missing="$$missing iproute2"; \
	command -v mkfs.ext4 >/dev/null || test -x /usr/sbin/mkfs.ext4 || missing="$$missing e2fsprogs"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "not root: please install$$missing"; fi; \
	fi
	@# The unprivileged user compute sandboxes run as (config.ini: compute.sandbox_user).
	@if [ "$$(id -u)" = 0 ] && ! id ocean-c2d >/dev/null 2>&1; then \
	  useradd --system --no-create-home --shell /usr/sbin/nologin ocean-c2d; fi

clients: $(OCEAN_PY) $(OCEAN_JS) $(OCEAN_JS8)

# ocean.js 8 (the Ocean Node protocol), two releases, each pinned by its lock file. 8.6.2 asks for
# @oceanprotocol/ddo-js ^0.3.0, which the registry lacks: its package.json overrides it to 0.2.0.
.tools/clients/ocean-js-%/.installed: tests/clients/packages/ocean-js-%/package.json tests/clients/packages/ocean-js-%/package-lock.json
	rm -rf $(@D) && mkdir -p $(@D)
	cp tests/clients/packages/ocean-js-$*/package.json tests/clients/packages/ocean-js-$*/package-lock.json $(@D)/
	cd $(@D) && npm ci --silent --no-audit --no-fund
	touch $@

$(OCEAN_PY):
	@if [ -z "$(PYTHON310)" ]; then echo "no Python 3.10 found: the ocean.py tests will skip"; else \
	  rm -rf .tools/clients/ocean-py && $(PYTHON310) -m venv .tools/clients/ocean-py && \
	  .tools/clients/ocean-py/bin/pip install -q --disable-pip-version-check ocean-lib==3.1.2 && touch $@; fi

$(OCEAN_JS):
	mkdir -p .tools/clients/ocean-js
	npm install --silent --no-audit --no-fund --prefix .tools/clients/ocean-js @oceanprotocol/lib@3.3.0 ethers@5.7.2
	touch $@

run: setup
	$(PY) -m provider.devtools.run

# Against the running `make run` (another terminal): a consumer downloads, computes, verifies.
demo:
	$(PY) -m provider.cli demo

test: setup clients
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: setup bench-tools
	bench/run_all

# What the benchmarks load and compare with: wrk (the load generator) and nginx (the proxy a
# download is measured against). Debian packages, installed when missing and we are root.
bench-tools:
	@missing=""; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || missing="$$missing nginx-light"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "not root: please install$$missing"; exit 1; fi; \
	fi

clean:
	rm -rf $(VENV) .tools .run .pytest_cache
