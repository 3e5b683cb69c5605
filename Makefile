# Two commands on a fresh machine: `make run` (build what is missing, answer a question)
# and `make test`. Every target installs what it needs first.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
QA := $(VENV)/bin/qa-service
STAMP := $(VENV)/.installed
INDEX_DIR ?= embeddings
QUESTION ?= 藁城区完成了多少户厕所改造？

# Loading code runs offline: nothing is fetched from a model hub.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install model index run serve test test-fast lint bench bench-deps reliability browser-deps clean \
	train-reader bench-reader

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch==2.13.0 is the CPU build on this disk; any other spec pulls a CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,ray]'
	touch $(STAMP)

install: $(STAMP)

model: install
	$(QA) model

$(INDEX_DIR)/CURRENT: | install
	$(QA) index --index-dir $(INDEX_DIR)

index: $(INDEX_DIR)/CURRENT

run: index
	$(QA) ask "$(QUESTION)" --index-dir $(INDEX_DIR) --top-k 3

# The chat page and JSON API at http://127.0.0.1:8000 (QA_HOST, QA_PORT, QA_WORKERS, QA_THREADS).
serve: index
	$(QA) serve

# Debian's Chromium and a CJK font for the browser tests (Playwright drives it; no browser
# download). `make test` runs it first; installing needs root.
BROWSER_PACKAGES := chromium fonts-noto-cjk
# A package removed but not purged still has a status ("deinstall ok config-files"): only
# "install ok installed" counts.
browser-deps:
	@missing=$$(for p in $(BROWSER_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -qx 'install ok installed' || echo $$p; done); \
	[ -z "$$missing" ] || { \
	  [ "$$(id -u)" = 0 ] || { echo "The browser tests need Debian's" $$missing": run" \
	    "\`sudo make browser-deps\` once, then \`make test\`." >&2; exit 1; }; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; }

lint: install
	$(VENV)/bin/ruff check qa_service tests benchmarks training
	$(VENV)/bin/mypy qa_service
	$(VENV)/bin/lint-imports --no-logo --no-cache

# Every test, the browser's included: what they need is installed first.
test: install browser-deps model index lint
	$(PY) -m pytest

test-fast: install browser-deps
	$(PY) -m pytest -m "not slow"

# Quality, speed and scale, measured (about 95 minutes; the CMRC and policy indexes and the
# scale corpora are kept in $(BENCH_DIR) and reused on the next run): CMRC 2018 dev/trial and
# the bulletin questions; real policy questions (gov-policy-qa, both halves); encoder and build rate; how far vectors differ between paths and
# precisions on this CPU (the tests' tolerances); ask and build idle and beside a busy
# process; query steps, HTTP latency and wrk
# throughput; full, incremental and killed-then-resumed builds; a 20k-chunk build locally and
# through a local Ray cluster (about 25 minutes of it); 100k and 1M chunks.
# Every script adds rows to one results file, printed at the end as one table.
BENCH_DIR ?= .bench
BENCH_RESULTS := $(BENCH_DIR)/results.jsonl
bench: install model bench-deps
	mkdir -p $(BENCH_DIR) && rm -f $(BENCH_RESULTS)
	$(PY) benchmarks/retrieval.py --index-cache $(BENCH_DIR)/cmrc --results $(BENCH_RESULTS)
	$(PY) benchmarks/answers.py --index-cache $(BENCH_DIR)/cmrc --results $(BENCH_RESULTS)
	$(PY) benchmarks/policy.py --index-cache $(BENCH_DIR)/policy --results $(BENCH_RESULTS)
	$(PY) benchmarks/shapes.py --index-cache $(BENCH_DIR)/policy --results $(BENCH_RESULTS)
	$(PY) benchmarks/encoding.py --results $(BENCH_RESULTS)
	$(PY) benchmarks/tolerances.py --results $(BENCH_RESULTS)
	$(PY) benchmarks/contention.py --results $(BENCH_RESULTS)
	QA_READER_WEIGHTS=none $(PY) benchmarks/serving.py --index-cache $(BENCH_DIR)/cmrc --results $(BENCH_RESULTS)
	$(PY) benchmarks/serving.py --index-cache $(BENCH_DIR)/cmrc --results $(BENCH_RESULTS)
	$(PY) benchmarks/incremental.py --results $(BENCH_RESULTS)
	$(PY) benchmarks/ray_build.py --results $(BENCH_RESULTS)
	$(PY) benchmarks/scale.py --index-cache $(BENCH_DIR)/cmrc --work $(BENCH_DIR)/scale --results $(BENCH_RESULTS)
	$(PY) benchmarks/formats.py --results $(BENCH_RESULTS)
	$(PY) benchmarks/duplicates.py --index-cache $(BENCH_DIR)/cmrc --results $(BENCH_RESULTS)
	$(PY) benchmarks/timewords.py --index-cache $(BENCH_DIR)/cmrc --results $(BENCH_RESULTS)
	$(PY) benchmarks/results.py $(BENCH_RESULTS)

# The reader's weights (qa_service/models/reader.safetensors) from ../shared/datasets, in
# the seven runs that made the shipped file, each starting from the one before: about
# 95 + 86 + 115 + 100 + 85 + 100 + 91 minutes on 2 cores. Every run is resumable (windows and checkpoints in
# $(TRAIN_DIR), progress with time left on stdout), and a finished run only re-exports.
TRAIN_DIR ?= $(HOME)/.cache/qa-service/train
train-reader: install model
	$(PY) training/train_reader.py --work $(TRAIN_DIR) --out $(TRAIN_DIR)/reader-run1.safetensors
	$(PY) training/train_reader.py --work $(TRAIN_DIR) --init $(TRAIN_DIR)/reader-run1.safetensors \
	  --seed 20261124 --lr 5e-5 --out $(TRAIN_DIR)/reader-run2.safetensors
	$(PY) training/train_reader.py --work $(TRAIN_DIR) --init $(TRAIN_DIR)/reader-run2.safetensors \
	  --trained-layers 12 --seed 20261125 --lr 5e-5 --epochs 0.35 --out $(TRAIN_DIR)/reader-run3.safetensors
	$(PY) training/train_reader.py --work $(TRAIN_DIR) --init $(TRAIN_DIR)/reader-run3.safetensors \
	  --trained-layers 12 --negatives hybrid --english-repeat 5 --seed 20261126 --lr 3e-5 --epochs 0.3 \
	  --out $(TRAIN_DIR)/reader-run4.safetensors
	$(PY) training/train_reader.py --work $(TRAIN_DIR) --init $(TRAIN_DIR)/reader-run4.safetensors \
	  --trained-layers 12 --negatives hybrid --english-repeat 5 --negative-share 0.5 --data-seed 7 \
	  --seed 20261127 --lr 2.5e-5 --epochs 0.3 --steps 1000 --out $(TRAIN_DIR)/reader-run5.safetensors
	$(PY) training/train_reader.py --work $(TRAIN_DIR) --init $(TRAIN_DIR)/reader-run5.safetensors \
	  --trained-layers 12 --negatives hybrid --english-repeat 5 --negative-share 0.8 --data-seed 8 \
	  --seed 20261128 --lr 2e-5 --epochs 0.5 --steps 1000 --out $(TRAIN_DIR)/reader-run6.safetensors
	$(PY) training/train_reader.py --work $(TRAIN_DIR) --init $(TRAIN_DIR)/reader-run6.safetensors \
	  --trained-layers 12 --negatives hybrid --english-repeat 5 --negative-share 0.8 --data-seed 9 \
	  --seed 20261129 --lr 2e-5 --epochs 0.5 --steps 1000
	# Where answers start or end inside a token (a table from the training answers, minutes).
	$(PY) training/span_edges.py --cross-validate

# The reader alone, the gold paragraph given: CMRC 2018 dev and trial, XQuAD test half (zh and en questions).
bench-reader: install model
	$(PY) benchmarks/reader.py

# wrk, the HTTP load generator of benchmarks/serving.py (Debian package).
bench-deps:
	@command -v wrk >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }

# The long part of the reliability suite (about 5 minutes): fuzzing, 16 clients for 60 s
# during a rebuild, corrupt generations, a worker killed under load. The fast part is in
# `make test`.
reliability: install model
	$(PY) benchmarks/reliability.py

clean:
	rm -rf $(INDEX_DIR)/generations $(INDEX_DIR)/CURRENT $(INDEX_DIR)/build.lock
