# SwiftGAN — train GANs on the CPU as checkpointable pipelines, serve them from the command line.
# The two set-up commands on a fresh Debian 12 machine are `make run` and `make test` (README.md).

SWIFT      ?= swift
RELEASE    := .build/release
ITERS      ?=
P          ?= fashion-mlp-sn
PIPELINE   := $(RELEASE)/gan-pipeline
# Data-parallel runs on Open MPI: NP=N launches N processes (each with THREADS threads) and splits
# every batch into train.shards = SHARDS (default N) fixed shards; the same SHARDS gives the same
# bits on any NP dividing it (README, "Running on several processes").
NP         ?=
SHARDS     ?=
MPIRUN     ?= mpirun --allow-run-as-root --oversubscribe --mca odls_base_sigkill_timeout 10
# Compute threads per process: both cores for one process, one each for NP processes.
THREADS    ?= $(if $(NP),1,2)
LAUNCH     := $(if $(NP),$(MPIRUN) -np $(NP) )
SHARDING   := $(if $(or $(SHARDS),$(NP)),--set train.shards=$(or $(SHARDS),$(NP)))
# Release builds target AVX2/FMA (LLVM's "haswell": Intel since 2013, every AMD Zen) when the
# build machine has them: the element-wise kernels (Adam, activations) run 8 lanes wide instead of
# SSE2's 4. Results are bit-identical either way (no FMA contraction; measured in Benchmarks/README.md).
# `make ARCH_FLAGS=` builds for generic x86-64.
CPU_FLAGS  := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
ARCH_FLAGS ?= $(if $(and $(findstring avx2,$(CPU_FLAGS)),$(findstring fma,$(CPU_FLAGS)),$(findstring bmi2,$(CPU_FLAGS)),$(findstring movbe,$(CPU_FLAGS))),-Xswiftc -target-cpu -Xswiftc haswell)

.PHONY: all deps build release run pipeline resume status report list sample score serve test bench bench-serving bench-server clean help \
        h5py-env export-env fuzz fuzz-build test-asan test-tsan soak

all: release

help:
	@echo "make run    - run the default pipeline, Pipelines/fashion-mlp-sn.yaml (installs deps, builds release)"
	@echo "make pipeline P=NAME - run or resume Pipelines/NAME.yaml into Checkpoints/NAME"
	@echo "make pipeline P=NAME NP=2 [SHARDS=4] - the same, data-parallel on 2 MPI processes"
	@echo "make resume P=NAME   - resume Checkpoints/NAME from its latest complete checkpoint"
	@echo "make status [P=NAME] - stage, step, last losses, checkpoints and metrics of Checkpoints/NAME"
	@echo "make status P=       - every run under Checkpoints/, one line each"
	@echo "make report P=NAME   - rebuild Checkpoints/NAME/eval/report.html (the run at a glance)"
	@echo "make list   - the shipped pipelines, what each reproduces and how long it takes"
	@echo "make sample P=NAME [N=64] [OUT=FILE] - samples from the run's latest checkpoint"
	@echo "make score P=NAME DATA=FILE          - D's probability for every row of FILE"
	@echo "make serve P=NAME [PORT=8080]        - serve the run over HTTP (Open Inference Protocol) until Ctrl-C"
	@echo "make test   - build everything and run all tests (unit + end-to-end on release binaries + 20 s per fuzz target)"
	@echo "make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS=idx ...] - libFuzzer on every input reader (executions, coverage)"
	@echo "make test-asan / make test-tsan - the unit tests under AddressSanitizer / ThreadSanitizer"
	@echo "make soak [SOAK_MINUTES=20] - checkpoint every 10 steps while gan-sample reads latest.h5 in a loop"
	@echo "make bench  - speed benchmarks (RESULT json lines, comparable with ../shared/peers)"
	@echo "make bench-serving - gan-sample generate/score throughput (samples/s, peak RSS)"
	@echo "make bench-server  - gan-sample serve vs KServe's Python server under wrk (requests/s, p50/p99, RSS, soak)"
	@echo "make deps   - install the Debian packages the project needs (only missing ones)"

## Debian packages (HDF5, OpenBLAS, libpng, zlib, pkg-config, Fashion-MNIST, Open MPI); apt-get only when missing.
deps:
	@./scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release $(ARCH_FLAGS)

## The main job on the built-in default pipeline: the seed MLP GAN with spectral norm in D on
## Fashion-MNIST (Debian's dataset-fashion-mnist, installed by deps): prep -> train -> evaluate into
## Checkpoints/fashion-mlp-sn (eval/report.html, samples in train/samples/, metrics in eval/,
## TensorBoard events in tensorboard/); rerunning resumes.
run: release
	$(PIPELINE) run Pipelines/fashion-mlp-sn.yaml --threads $(THREADS)

## Run or resume any shipped pipeline: make pipeline P=ring8 (extra flags: ARGS="--set train.steps=100").
pipeline: release
	$(LAUNCH)$(PIPELINE) run Pipelines/$(P).yaml --threads $(THREADS) $(SHARDING) $(ARGS)

## Resuming is what `run` does on a run directory with checkpoints; this target says so explicitly.
resume: release
	@test -d Checkpoints/$(P) || { echo "make resume: no run Checkpoints/$(P); start it with make pipeline P=$(P)"; exit 2; }
	$(LAUNCH)$(PIPELINE) run Pipelines/$(P).yaml --threads $(THREADS) $(SHARDING) $(ARGS)

status: release
	$(PIPELINE) status $(if $(P),Checkpoints/$(P))

report: release
	$(PIPELINE) report Checkpoints/$(P)

list: release
	$(PIPELINE) list

## Serve the latest checkpoint of a run (gan-sample; format from OUT's extension: png, idx, csv,
## npy, h5). Default: a PNG grid for image runs, CSV otherwise.
N   ?= 64
OUT ?= Checkpoints/$(P)/samples.$(if $(findstring fashion,$(P)),png,csv)
sample: release
	$(RELEASE)/gan-sample generate Checkpoints/$(P) -n $(N) -o $(OUT)

score: release
	@test -n "$(DATA)" || { echo "make score: give the data file, e.g. make score P=$(P) DATA=Checkpoints/$(P)/samples.csv"; exit 2; }
	$(RELEASE)/gan-sample score Checkpoints/$(P) $(DATA)

## Serve the run's latest checkpoint over HTTP (gan-sample serve: NAME-g, NAME-d on 127.0.0.1:PORT),
## reloading newer checkpoints as the run writes them; Ctrl-C stops it after the requests in flight.
PORT ?= 8080
serve: release
	$(RELEASE)/gan-sample serve Checkpoints/$(P) --port $(PORT) $(ARGS)

## Unit tests per module + end-to-end tests that run the release binaries, then every fuzz
## target for FUZZ_TEST_SECONDS (two at a time): any crash, leak, hang or runaway allocation fails.
## Only the test bundle is built in debug (not the executables, which the tests run from the
## release build): that keeps Hummingbird, which only gan-sample needs, out of the debug build.
FUZZ_TEST_SECONDS ?= 20
test: release h5py-env export-env
	$(SWIFT) build --product SwiftGANPackageTests
	$(SWIFT) test --skip-build
	./scripts/fuzz.sh build
	./scripts/fuzz.sh run $(FUZZ_TEST_SECONDS) --jobs 2

## libFuzzer targets (Fuzz/, scripts/fuzz.sh): IDX, CSV, NPY, PNG readers, the YAML config loader,
## the checkpoint reader, serve's inference requests. Built into .build-fuzz with -sanitize=fuzzer,address; findings are
## saved in .build-fuzz/artifacts/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz-build: deps
	./scripts/fuzz.sh build
fuzz: release fuzz-build
	./scripts/fuzz.sh run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

## The unit tests under AddressSanitizer (+ LeakSanitizer) and ThreadSanitizer, each in its own
## scratch path. CLITests run the (uninstrumented) release binaries and are left out.
SANITIZER_TESTS := --skip CLITests
test-asan: deps
	$(SWIFT) build --build-tests --scratch-path .build-asan --sanitize=address
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp \
	  $(SWIFT) test --skip-build --scratch-path .build-asan --sanitize=address $(SANITIZER_TESTS)
test-tsan: deps
	$(SWIFT) build --build-tests --scratch-path .build-tsan --sanitize=thread
	TSAN_OPTIONS=halt_on_error=0 $(SWIFT) test --skip-build --scratch-path .build-tsan --sanitize=thread $(SANITIZER_TESTS)

## Not part of make test: a run checkpointing every 10 steps for SOAK_MINUTES while gan-sample
## reads latest.h5 in a loop; fails on a failed read or on growing file descriptors or RSS.
SOAK_MINUTES ?= 20
soak: release
	./scripts/soak.sh $(SOAK_MINUTES)

## A private Python from PyPI for the tests that check our files with the reference readers: h5py +
## numpy (the h5py snippet of Checkpoints/README.md) and tensorboard (its EventAccumulator reads the
## RUN/tensorboard/ event files). Without Python or PyPI those tests have nothing to run and say so.
PY_VENV   := .build/h5py-venv
PY_PKGS   := h5py numpy tensorboard
h5py-env:
	@if $(PY_VENV)/bin/python -c "import h5py, numpy, tensorboard" 2>/dev/null; then :; \
	elif command -v python3 >/dev/null; then \
	  ( { test -x $(PY_VENV)/bin/pip || python3 -m venv $(PY_VENV); } \
	    && $(PY_VENV)/bin/pip install -q --disable-pip-version-check $(PY_PKGS) ) \
	  || echo "make: warning: could not install $(PY_PKGS) into $(PY_VENV); the h5py and TensorBoard reader tests will not run"; \
	else echo "make: warning: no python3; the h5py and TensorBoard reader tests will not run"; fi

## A private Python for the export tests (Tests/CLITests/ExportTests.swift): onnx, onnxruntime,
## numpy and safetensors from PyPI, and PyTorch's CPU build (the torch==$(TORCH_CPU) wheel pip is
## offered here; ~1 GB installed, ~1 min) for the safetensors check, which is skipped with a message
## where that wheel cannot be installed (PyPI's default torch would pull gigabytes of CUDA
## libraries). Kept in .build, so only the first `make test` of a checkout installs it.
EXPORT_VENV := .build/export-venv
TORCH_CPU   ?= 2.13.0+cpu
export-env:
	@if $(EXPORT_VENV)/bin/python -c "import onnx, onnxruntime, numpy, safetensors" 2>/dev/null; then :; \
	elif command -v python3 >/dev/null; then \
	  (python3 -m venv $(EXPORT_VENV) && $(EXPORT_VENV)/bin/pip install -q --disable-pip-version-check onnx onnxruntime numpy safetensors) \
	  || echo "make: warning: could not install onnx/onnxruntime into $(EXPORT_VENV); the export tests will not run"; \
	else echo "make: warning: no python3; the export tests will not run"; fi
	@if [ -x $(EXPORT_VENV)/bin/python ] && ! $(EXPORT_VENV)/bin/python -c "import torch" 2>/dev/null; then \
	  $(EXPORT_VENV)/bin/pip install -q --disable-pip-version-check "torch==$(TORCH_CPU)" 2>/dev/null \
	  || echo "make: warning: could not install torch==$(TORCH_CPU) into $(EXPORT_VENV); the safetensors-in-PyTorch test will be skipped"; fi

## Speed and memory. Compare with the peers: ../shared/peers/README.md.
bench: release
	$(RELEASE)/gan-bench --model mlp_gan --threads 1 --iters $(or $(ITERS),500)
	$(RELEASE)/gan-bench --model mlp_gan --threads 2 --iters $(or $(ITERS),500)
	$(RELEASE)/gan-bench --model mlp_gan_gemms --threads 1 --iters $(or $(ITERS),500)
	$(RELEASE)/gan-bench --model mlp_gan_gemms --threads 2 --iters $(or $(ITERS),500)
	$(RELEASE)/gan-bench --model toy_1d --threads 1 --iters $(or $(ITERS),1500)
	$(RELEASE)/gan-bench --model dcgan28 --threads 1 --iters $(or $(ITERS),40) --warmup 3
	$(RELEASE)/gan-bench --model dcgan28 --threads 2 --iters $(or $(ITERS),40) --warmup 3
	$(RELEASE)/gan-bench --model dcgan28_gemms --threads 1 --iters $(or $(ITERS),40) --warmup 3
	$(RELEASE)/gan-bench --model gemm_small --threads 1 --iters 1000
	$(RELEASE)/gan-bench --model checkpoint --threads 1 --iters 20
	$(RELEASE)/gan-bench --model normal_fill --threads 1 --iters 100000

## gan-sample throughput (generate, score, info) on short-trained toy and image checkpoints.
bench-serving: release
	Benchmarks/serving.sh --repeats 3 --threads $(or $(BENCH_THREADS),1)

## gan-sample serve against KServe's Python server (../shared/peers/kserve_gan.py) under wrk:
## requests/s and p50/p99 for three request kinds at 1 and 16 connections, peak RSS, a 5-minute
## soak (Benchmarks/serve-bench.sh; installs wrk and the peer's venv when missing).
bench-server: release
	Benchmarks/serve-bench.sh $(BENCH_ARGS)

clean:
	rm -rf .build .build-fuzz .build-asan .build-tsan
