# All set-up happens here: a fresh machine needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages of the programs the tests and the capture scripts run (each script's `require`
# line names them), Essential ones aside: those are on every Debian system. Kept in step with the
# scripts by tests/test_system_programs.py. kmod: insmod; libc6-dev: <stdio.h> for noise.sh's gcc.
DEB_PACKAGES := apparmor apt at auditd chromium curl e2fsprogs gcc git gpg gpgconf iproute2 iptables kmod libc6-dev \
	libcap2-bin lsof make mount net-tools nmap openssh-client openssl passwd procps python3 \
	python3-audit sqlite3 strace sudo systemd systemd-sysv unzip util-linux-extra valgrind vim wget xxd zip

.PHONY: demo test check lint format typecheck unit bench system-deps clean build pure unit-pure

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip 'setuptools>=68' wheel
	DETECT_PURE=1 $(BIN)/pip install --quiet -e '.[dev]'  # compiled below, by `build`
	touch $(STAMP)

# The hot modules (detect/core/native.py) compiled with mypyc beside their sources; redone after an
# edit of any of them (the tests refuse a stale build). `make pure` removes the build.
NATIVE_SOURCES := $(shell $(PYTHON) -c 'import runpy; print(*runpy.run_path("detect/core/native.py")["MODULES"])')
NATIVE_STAMP := build/.native

$(NATIVE_STAMP): $(STAMP) setup.py detect/core/native.py $(NATIVE_SOURCES)
	@mkdir -p build
	$(BIN)/python setup.py build_ext --inplace >build/native.log 2>&1 || { cat build/native.log; exit 1; }
	find detect -name '*.so' -exec touch {} +  # current, rebuilt or not: newer than the sources
	touch $(NATIVE_STAMP)

build: $(NATIVE_STAMP)

pure:
	find detect -name '*.so' -delete
	rm -f $(NATIVE_STAMP)

# Debian packages (DEB_PACKAGES) for the end-to-end and kernel tests, the capture scripts and the
# comparison with the C library (auparse). Installed only when missing (not `dpkg -s`: it also
# accepts a package removed with its config files left), only as root; elsewhere those tests skip
# with a reason.
system-deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		[ "$$(dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null)" = installed ] || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# Alerts of the shipped detections on the example logs (exit 1 = alerts found, as intended).
demo: $(STAMP) build
	$(BIN)/detect scan --format text examples/ || test $$? -eq 1
	@echo "--- the same scan as JSON lines (first alert shown):"
	$(BIN)/detect scan examples/ 2>/dev/null | head -n 1 | cut -c 1-400 || true

test: $(STAMP) system-deps check unit-pure

check: lint format typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check detect tests bench scripts
	$(BIN)/lint-imports --no-cache  # the stage layering (pyproject.toml [tool.importlinter])

format: $(STAMP)
	$(BIN)/ruff format --check detect tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) build
	$(BIN)/pytest -q -n auto -m 'not kernel'
	$(BIN)/pytest -q -m kernel  # one at a time: they load audit rules into the one kernel

# The same tests on the .py sources (what runs where nothing was compiled), the kernel's aside.
unit-pure: $(STAMP)
	DETECT_PURE=1 $(BIN)/pytest -q -n auto -m 'not kernel'

bench: $(STAMP) build
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
	find detect -name '*.so' -delete
