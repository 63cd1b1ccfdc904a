# joinedup tasks: the same targets for people and CI.
#   make demo   set up everything, generate the embedded-default area and serve it
#   make test   set up everything (incl. Chromium and PostgreSQL if missing), lint, run every test
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export SPARK_LOCAL_IP ?= 127.0.0.1
UV := python3 -m uv
RUN := $(UV) run --frozen

.PHONY: help setup system-deps demo serve test lint format typecheck bench assets clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: ## install uv (if missing) and the locked Python environment
	@scripts/bootstrap.sh

system-deps: ## install Chromium and PostgreSQL from the OS packages if missing
	@scripts/system_deps.sh

demo: setup ## generate the synthetic area (300,000 people), set up the care store, serve on 127.0.0.1:8000
	$(RUN) joinedup demo

serve: setup ## serve whatever area is already generated
	$(RUN) joinedup serve

test: setup system-deps lint ## lint, then run the whole test suite (two workers, one test file each)
	$(RUN) pytest -n 2 --dist loadfile --durations=20

lint: setup ## ruff lint and format check, mypy on the service and engine interfaces, import layers
	$(RUN) ruff check src tests bench scripts
	$(RUN) ruff format --check src tests bench scripts
	$(RUN) mypy src/joinedup
	$(RUN) lint-imports --no-logo --no-cache

format: setup ## apply ruff fixes and formatting
	$(RUN) ruff check --fix src tests bench scripts
	$(RUN) ruff format src tests bench scripts

bench: setup ## run the benchmarks (record the figures in bench/RESULTS.md)
	$(RUN) python bench/bench_generate.py 300000 --calibrate
	$(RUN) python bench/bench_generate.py 1000000
	$(RUN) python bench/bench_overview.py 1000000
	$(RUN) python bench/bench_icd10_scores.py

assets: ## refresh the vendored front-end assets from their pinned npm packages
	scripts/vendor_assets.sh

clean: ## remove generated data and caches (not the lock file)
	rm -rf var .pytest_cache .ruff_cache .mypy_cache test-artifacts
