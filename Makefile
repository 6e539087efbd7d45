# The two commands of the README: `make demo` and `make test`. Both build .venv from nothing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: venv demo test lint bench bench-peers clean

$(STAMP): requirements.lock requirements-runtime.lock requirements-nodeps.lock setup.py
	@scripts/check_env.sh $(PYTHON)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) scripts/demo.py

test: $(STAMP)
	@scripts/check_env.sh $(PYTHON)
	@scripts/ensure_chromium.sh
	$(PY) -m ruff check monitor_lib jobs scripts tests
	$(PY) -m pytest -q tests

bench: $(STAMP)
	$(PY) scripts/benchmark.py
	$(PY) scripts/benchmark_monitoring.py
	$(PY) scripts/benchmark_model_quality.py
	$(PY) scripts/benchmark_sketches.py
	PYTHONPATH=. $(PY) scripts/benchmark_s3.py
	$(PY) scripts/benchmark_bias.py
	$(PY) scripts/benchmark_explain.py
	$(PY) scripts/benchmark_backfill.py
	$(PY) scripts/benchmark_coldstart.py

# issue 18: our profile and drift check against whylogs and Evidently (installed into .venv-peers on first use)
bench-peers: $(STAMP)
	$(PY) scripts/benchmark_peers.py

clean:
	rm -rf $(VENV) .venv-peers build *.egg-info demo-output
