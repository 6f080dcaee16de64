# The two set-up commands: `make run` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED := ../shared
# `make test` checks the exported schema against the base contract and each part whose
# issue has ended.
CHECK_CONTRACT ?= yes
CONTRACT_PARTS := security courses paths tutor

.PHONY: run test lint schema install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/learntwin serve --demo

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

schema: install
	$(BIN)/learntwin export-schema

test: install-dev lint
	@if [ "$(CHECK_CONTRACT)" = yes ] && [ -f $(SHARED)/tools/check_contract.py ]; then \
		$(BIN)/python $(SHARED)/tools/check_contract.py schema.graphql && \
		for part in $(CONTRACT_PARTS); do \
			case $$part in paths|tutor) base=$(SHARED)/contract/courses.graphql;; *) base=;; esac; \
			$(BIN)/python $(SHARED)/tools/check_contract.py schema.graphql \
				$(SHARED)/api-contract.graphql $$base $(SHARED)/contract/$$part.graphql || exit 1; \
		done; fi
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
