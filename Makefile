# All set-up happens here: a fresh machine needs only `make demo` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEB_PACKAGES := auditd python3-audit

.PHONY: demo test check lint format typecheck unit bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian packages for end-to-end tests and the comparison with the C library (auparse).
# Installed only when missing, only as root; elsewhere those tests skip with a reason.
system-deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# Alerts of the shipped detections on the example logs (exit 1 = alerts found, as intended).
demo: $(STAMP)
	$(BIN)/detect scan --format text examples/ || test $$? -eq 1
	@echo "--- the same scan as JSON lines (first alert shown):"
	$(BIN)/detect scan examples/ 2>/dev/null | head -n 1 | cut -c 1-400 || true

test: $(STAMP) system-deps check

check: lint format typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check detect tests bench scripts

format: $(STAMP)
	$(BIN)/ruff format --check detect tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
