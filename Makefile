# The README's two commands: `make book` and `make test`. Both set up everything first.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PROFILE ?= quick
# a HUMAN4D root: `make book DATA=/path/to/HUMAN4D` trains and tests on the real dataset
DATA    ?=
# extra pytest arguments, e.g. `make test PYTEST_ARGS="-k codecs"`
PYTEST_ARGS ?=

# the PDF: Jupyter Book's single-page HTML of BOOK, printed by headless Chromium (offline): dark/book/pdf.py
# serves it from 127.0.0.1, puts a title page in front and prints it with page numbers
BOOK     ?= book
CHROMIUM ?= $(shell command -v chromium || command -v chromium-browser || echo chromium)
PDF      := $(BOOK)/_build/pdf/dark.pdf

.PHONY: setup test book pdf pdf-build lint bench gpu-check clean
.DEFAULT_GOAL := help

help:
	@echo "make book   set up .venv and node_modules, run the notebooks (profile $(PROFILE)), build the HTML book"
	@echo "make pdf    after make book: one PDF of the book (book/_build/pdf/dark.pdf), offline"
	@echo "make test   set up, then run the whole pytest suite (ruff included)"
	@echo "make bench  run the benchmarks in benchmarks/ (ratio tables, saved in benchmarks/results/)"

# Python: an isolated venv with the exact versions of requirements-lock.txt (torch CPU build).
$(BIN)/.installed: requirements-lock.txt pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=24"
	$(BIN)/python -m pip install -q -r requirements-lock.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e . > $(VENV)/editable.log 2>&1 \
		|| { cat $(VENV)/editable.log; exit 1; }
	touch $@

# JavaScript for the book's widgets, pinned by package-lock.json (served from the book itself).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(BIN)/.installed $(if $(wildcard package-lock.json),node_modules/.installed)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

book: setup
	$(BIN)/dark book --profile $(PROFILE) $(if $(DATA),--data-root $(DATA))

pdf: setup
	@$(MAKE) --no-print-directory pdf-build

# the notebooks must have been executed (make book): the PDF renders book/executed/ as it is
pdf-build:
	@test -f $(BOOK)/executed/intro.ipynb || { echo "make pdf: $(BOOK)/executed/ holds no executed notebooks; run make book first"; exit 1; }
	$(BIN)/jupyter-book build $(BOOK) --builder singlehtml -q
	$(BIN)/python -m dark.book.pdf $(BOOK) $(PDF) --chromium $(CHROMIUM)
	@echo "PDF: $(PDF)"

lint: setup
	$(BIN)/ruff check dark tests benchmarks
	$(BIN)/ruff format --check dark tests benchmarks

# each table goes to benchmarks/results/NAME.txt, headed by the machine that measured it
bench: setup
	@mkdir -p benchmarks/results
	@for b in $(filter-out benchmarks/gpu_check.py,$(wildcard benchmarks/*.py)); do \
		out=benchmarks/results/$$(basename $$b .py).txt; echo "== $$b -> $$out"; \
		{ echo "# $$(date -u +%F) $$(nproc) CPUs: $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs);" \
		  "torch $$($(BIN)/python -c 'import torch; print(torch.__version__, "cuda" if torch.cuda.is_available() else "cpu")');" \
		  "load average $$(cut -d' ' -f1-3 /proc/loadavg)"; \
		  $(BIN)/python $$b; } > $$out.tmp || { cat $$out.tmp; rm -f $$out.tmp; exit 1; }; \
		mv $$out.tmp $$out; cat $$out; \
	done

# on a machine with an NVIDIA GPU: the one prepared check (benchmarks/README.md); results in gpu-check/
gpu-check: setup
	$(BIN)/python benchmarks/gpu_check.py --out gpu-check

clean:
	rm -rf book/_build book/executed book/_widgets .pytest_cache
