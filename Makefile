# sendpro: two commands work on a fresh machine with Python 3.11 and make:
#   make run    set up .venv, convert the bundled demo extract into out/, print the summary
#   make test   set up .venv with the test extra, run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= out

.PHONY: run test lint bench bench-validator fuzz-validator fuzz browser sftp-server clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# One stamp per extra, so `make run` does not pull test tools and a changed
# pyproject.toml reinstalls.
# Byte-compiled once here: an editable install otherwise compiles sendpro on every
# start when PYTHONDONTWRITEBYTECODE is set (as on CI machines).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m compileall -q sendpro >/dev/null
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Exit code 1 means "some claims were rejected" (the demo extract carries a few
# seeded defects on purpose); only 2 is a failure of the run itself.
# The demo keeps its own ledger in $(OUT)/ledger.sqlite, started afresh each
# time, so every `make run` converts the whole demo (a real job keeps one ledger).
run: $(VENV)/.installed
	@rm -f $(OUT)/ledger.sqlite $(OUT)/ledger.sqlite-wal $(OUT)/ledger.sqlite-shm
	@$(BIN)/sendpro convert fixtures/demo/encounters.txt --out $(OUT) \
		--ledger $(OUT)/ledger.sqlite ; rc=$$?; \
		if [ $$rc -gt 1 ]; then exit $$rc; fi; \
		echo "Outputs are in $(OUT)/ (exit code $$rc: 0 all accepted, 1 some claims rejected)"

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check sendpro tests benchmarks
	$(BIN)/ruff format --check sendpro tests benchmarks
	$(BIN)/mypy

bench: $(VENV)/.installed
	$(BIN)/python -m compileall -q sendpro >/dev/null
	$(BIN)/python benchmarks/bench_convert.py

# The compiled validator alone against pyx12 on the same 837 (10,000 claims; pyx12 takes about a minute a run).
bench-validator: $(VENV)/.installed
	$(BIN)/python benchmarks/bench_validator.py

# A randomized differential run of the compiled validator against pyx12 (a few minutes; not part of
# `make test`): 100,000 segment mutants and 2,000 file mutants by default; exit code 1 on any mismatch.
# Other sizes or a seed: make fuzz-validator FUZZ_ARGS="--seed 7 --segments 20000 --files 500"
fuzz-validator: $(VENV)/.installed-test
	$(BIN)/python benchmarks/fuzz_validator.py $(FUZZ_ARGS)

# sendpro's own fuzz run (tests/fuzzing/harness.py; not part of `make test`, which runs a 300-case smoke of it):
# 100,000 mutated extracts, 837s, NCPDP files and acknowledgments through convert, validate and ack, every
# promise checked (about 25 minutes on 2 free cores); failing cases kept in benchmarks/work/fuzz/failures; exit 1 on any.
# Other sizes, kinds or a seed: make fuzz FUZZ_ARGS="--seed 7 --cases 5000 --kinds mce,fw --keep /tmp/fuzzkeep"
fuzz: $(VENV)/.installed-test
	$(BIN)/python benchmarks/fuzz.py $(FUZZ_ARGS)

# A headless Chromium for the browser test of report.html (tests/report/test_html_browser.py).
# Installed from Debian only when no Chromium-family browser is on PATH: as root, else through sudo.
browser:
	@found=$$(command -v chromium || command -v chromium-browser || command -v google-chrome || true); \
	if [ -n "$$found" ]; then echo "browser: $$found"; exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=; \
	elif command -v sudo >/dev/null 2>&1; then sudo=sudo; \
	else echo "make browser: no chromium on PATH, and neither root nor sudo to install it" >&2; exit 1; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "make browser: no chromium on PATH and no apt-get; install chromium by hand" >&2; exit 1; fi; \
	$$sudo apt-get update -qq && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && \
	echo "browser: $$(command -v chromium)"

# OpenSSH's sshd for the SFTP tests (tests/transport/sshd.py starts its own on loopback, as this user).
# Installed from Debian only when /usr/sbin/sshd is missing: as root, else through sudo. /run/sshd is the
# privilege separation directory sshd needs when started by root (the package's service would make it).
sftp-server:
	@if [ "$$(id -u)" -eq 0 ]; then sudo=; \
	elif command -v sudo >/dev/null 2>&1; then sudo=sudo; \
	elif [ -x /usr/sbin/sshd ]; then echo "sftp-server: /usr/sbin/sshd"; exit 0; \
	else echo "make sftp-server: no /usr/sbin/sshd, and neither root nor sudo to install it" >&2; exit 1; fi; \
	if [ ! -x /usr/sbin/sshd ]; then \
		if ! command -v apt-get >/dev/null 2>&1; then \
			echo "make sftp-server: no /usr/sbin/sshd and no apt-get; install openssh-server by hand" >&2; exit 1; fi; \
		$$sudo apt-get update -qq && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null || exit 1; \
	fi; \
	if [ "$$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then install -d -m 0755 /run/sshd; fi; \
	echo "sftp-server: /usr/sbin/sshd"

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache benchmarks/work
