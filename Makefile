# Two entry points (see README.md): `make report` and `make test`. Both set everything up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
OUT    ?= _output

.PHONY: report test analyze lock benchmark clean

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

## Render both reports (HTML, PDF, DOCX) from the bundled example data into $(OUT)/.
report: $(STAMP)
	$(BIN)/itb report --out $(OUT)

## Install what the tests need, check the code with ruff and run the tests (slow renders included).
test: $(STAMP)
	$(BIN)/ruff check analysis tests benchmarks
	$(BIN)/python -m pytest

## Analyse the example case series only (no rendering).
analyze: $(STAMP)
	$(BIN)/itb analyze data/example/case_series --out $(OUT)/analysis

## Regenerate the lock file (needs uv: `pip install uv`); never edit requirements.lock by hand.
lock:
	uv pip compile pyproject.toml requirements-build.in --extra test --generate-hashes \
		--python-version 3.11 --index-url https://pypi.org/simple -o requirements.lock

## Benchmarks (not part of the tests).
benchmark: $(STAMP)
	$(BIN)/python benchmarks/bench_analyze.py

clean:
	rm -rf $(OUT) .cache data/derived
