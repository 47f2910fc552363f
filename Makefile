# The two commands a new user needs: `make run` and `make test`.
PY := .venv/bin/python
INDEX ?= index
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run index serve test lint fast eval bench

setup:
	@scripts/setup.sh

## Set up, build the index from seeds/ when missing or stale, serve API + web page on $(HOST):$(PORT).
## (Build exit status 3 = published, but some inputs were skipped and listed: serve it anyway.)
run: setup
	$(PY) -m indexer build --source seeds --index $(INDEX) --if-stale || [ $$? -eq 3 ]
	$(PY) -m search_api serve --index $(INDEX) --host $(HOST) --port $(PORT)

index: setup
	$(PY) -m indexer build --source seeds --index $(INDEX) || [ $$? -eq 3 ]

serve: setup
	$(PY) -m search_api serve --index $(INDEX) --host $(HOST) --port $(PORT)

## Set up and run the whole test suite (lint, fast unit tests, real-model end-to-end tests).
test: setup lint
	@scripts/browser.sh
	$(PY) -m pytest -q

lint: setup
	$(PY) -m ruff check indexer search_api bench tests
	$(PY) -m mypy indexer search_api bench

fast: setup
	$(PY) -m pytest -q -m "not slow"

## Quality on the shared evaluation sets (needs ../shared/eval): seeds, xquad, and news with held-out folds
## and the English news set (the first news run builds its index: about 15-30 min on 2 cores).
eval: setup
	scripts/eval.sh

## Build cost and query latency on the news corpus (needs ../shared/eval; about an hour on 2 cores).
bench: setup
	$(PY) -m bench all
