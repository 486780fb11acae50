#!/usr/bin/env bash
# libFuzzer runs of every reader of user input (issue 20): IDX (plain and gzip), CSV, NPY, PNG,
# the pipeline YAML loader, the checkpoint reader and `serve`'s inference requests (JSON and the
# binary tensor extension). One binary, .build-fuzz/gan-fuzz, holds all
# targets (Fuzz/Sources/GANFuzz/FuzzTargets.swift); every Swift module is compiled with
# -sanitize=fuzzer,address (coverage + AddressSanitizer, LeakSanitizer at exit), HDF5 / zlib /
# OpenBLAS are the system libraries.
#
# Usage: scripts/fuzz.sh build
#        scripts/fuzz.sh run SECONDS [--jobs N] [TARGET...]     (default: every target, 1 job)
#
#        scripts/fuzz.sh seeds DIR      (writes the checkpoint target's seeds into DIR)
#
# A run starts from the committed seeds (Fuzz/Corpus/TARGET, never written; for the checkpoint
# target, two checkpoints the release gan-pipeline writes into .build-fuzz/seeds/checkpoint, since
# checkpoints are not committed) plus what earlier runs
# found (.build-fuzz/corpus/TARGET), and fails on any crash, Swift trap, leak, timeout (10 s per
# input) or allocation over 512 MB; the input is saved as .build-fuzz/artifacts/TARGET-*.
# It prints one line per target: executions, coverage (libFuzzer's cov: edges, ft: features).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRATCH="$ROOT/.build-fuzz"
BIN="$SCRATCH/gan-fuzz"
ALL=(idx csv npy png config checkpoint infer)
# The modules GANFuzz links: the readers and what they depend on (not the executables or tests).
MODULES=(GANFuzz GANServe GANPipeline GANCheckpoint GANData GANHDF5 GANFiles GANNN GANTensor GANEval GANPlot GANDistributed
         GANTensorBoard SwiftProtobuf Yams CYaml CMathShim CPlatform CDNNL)

build() {
    # SwiftPM does not notice a source file deleted from the local dependency (the root package):
    # its build plan keeps the file ("couldn't build ... because of missing inputs"), and the old
    # object would be linked below. When the list of source files changes, the build products go
    # (the corpus, logs and fetched packages stay).
    local list
    list=$(cd "$ROOT" && find Sources Fuzz -type f \( -name '*.swift' -o -name '*.c' -o -name '*.h' \) | LC_ALL=C sort | sha256sum)
    if [[ "$(cat "$SCRATCH/sources.sha256" 2>/dev/null)" != "$list" ]]; then
        rm -rf -- "$SCRATCH/x86_64-unknown-linux-gnu" "$SCRATCH/debug" "$SCRATCH/debug.yaml" "$SCRATCH/build.db" "$BIN"
    fi
    swift build --package-path "$ROOT/Fuzz" --scratch-path "$SCRATCH" --target GANFuzz \
        -Xswiftc -sanitize=fuzzer,address
    echo "$list" > "$SCRATCH/sources.sha256"
    local objects=() m
    for m in "${MODULES[@]}"; do
        while IFS= read -r o; do objects+=("$o"); done < <(find "$SCRATCH/debug/$m.build" -name '*.o' | sort)
    done
    # shellcheck disable=SC2046  # pkg-config prints several words on purpose
    swiftc -sanitize=fuzzer,address -o "$BIN" "${objects[@]}" $(pkg-config --libs hdf5 zlib openblas ompi-c) -ldnnl -lgomp \
        2> >(grep -v "Cannot export local symbol" >&2)
    echo "fuzz: built $BIN"
}

# seeds DIR: the checkpoint target's seeds, from two tiny runs of shipped pipelines: a
# pretrain-d checkpoint of gaussian-1d and a train checkpoint of ring8 with G's moving average.
seeds() {
    local dir=$1 pipeline="$ROOT/.build/release/gan-pipeline" work
    [[ -x "$pipeline" ]] || { echo "fuzz: $pipeline not built (make release)" >&2; exit 2; }
    work=$(mktemp -d "${TMPDIR:-/tmp}/gan-fuzz-seeds.XXXXXX")
    local small=(--quiet --set "generator.hidden=[3]" --set "discriminator.hidden=[3]")
    "$pipeline" run "$ROOT/Pipelines/gaussian-1d.yaml" --run-dir "$work/g" --stages prep,pretrain-d "${small[@]}" \
        --set pretrain_d.steps=2 --set data.size=1000 > "$work/log" 2>&1 &&
    "$pipeline" run "$ROOT/Pipelines/ring8.yaml" --run-dir "$work/r" --stages prep,train "${small[@]}" \
        --set train.steps=1 --set train.ema_decay=0.9 --set data.size=100 >> "$work/log" 2>&1 ||
        { cat "$work/log" >&2; rm -rf -- "$work"; echo "fuzz: could not write the checkpoint seeds" >&2; exit 2; }
    mkdir -p "$dir"
    cp -L "$work/g/pretrain-d/latest.h5" "$dir/pretrain-d-1d.h5"
    cp -L "$work/r/train/latest.h5" "$dir/train-2d-ema.h5"
    rm -rf -- "$work"
}

# run_one TARGET SECONDS: prints the summary line; returns non-zero on a finding.
run_one() {
    local target=$1 seconds=$2
    local corpus="$SCRATCH/corpus/$target" log="$SCRATCH/logs/$target.log" tmp="$SCRATCH/tmp/$target"
    mkdir -p "$corpus" "$SCRATCH/logs" "$SCRATCH/artifacts" "$tmp"
    local committed="$ROOT/Fuzz/Corpus/$target"
    if [[ $target == checkpoint ]]; then
        # Written again whenever gan-pipeline was rebuilt (the format may have moved).
        committed="$SCRATCH/seeds/checkpoint"
        [[ -f "$committed/train-2d-ema.h5" && ! "$ROOT/.build/release/gan-pipeline" -nt "$committed/train-2d-ema.h5" ]] ||
            seeds "$committed"
    fi
    local status=0 asan="detect_leaks=1:allocator_may_return_null=1"
    # HDF5 (the checkpoint target) is built without frame pointers: only the slow unwinder sees
    # past it, and a leak's whole stack is what tells HDF5's own known leaks (scripts/lsan.supp)
    # from ours.
    [[ $target != checkpoint ]] || asan+=":fast_unwind_on_malloc=0"
    SWIFTGAN_FUZZ_TARGET=$target SWIFTGAN_FUZZ_SCRATCH=$tmp TMPDIR=$tmp \
        ASAN_OPTIONS=${ASAN_OPTIONS:-$asan} \
        LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/scripts/lsan.supp:print_suppressions=0} \
        "$BIN" -max_total_time="$seconds" -timeout=10 -malloc_limit_mb=512 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$SCRATCH/artifacts/$target-" \
        "$corpus" "$committed" > "$log" 2>&1 || status=$?
    local runs cov ft
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
    if [[ $status -eq 0 ]]; then
        printf 'fuzz %-10s %4s s  %9s runs  cov %5s  ft %6s  corpus %4s  ok\n' "$target" "$seconds" "${runs:-?}" "${cov:-?}" \
            "${ft:-?}" "$(find "$corpus" -type f | wc -l)"
    else
        local saved
        saved=$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | tail -1)
        printf 'fuzz %-10s FAILED (exit %s): %s\n' "$target" "$status" \
            "$(grep -m1 -E 'ERROR|Fatal error|deadly signal|timeout|out-of-memory' "$log" || echo "see $log")"
        echo "fuzz $target: input saved as ${saved:-(none)}; log $log; reproduce: SWIFTGAN_FUZZ_TARGET=$target $BIN ${saved:-INPUT}"
        return 1
    fi
}

run() {
    local seconds=$1; shift
    local jobs=1 targets=()
    while [[ $# -gt 0 ]]; do
        case $1 in
            --jobs) jobs=$2; shift 2 ;;
            *) targets+=("$1"); shift ;;
        esac
    done
    [[ ${#targets[@]} -gt 0 ]] || targets=("${ALL[@]}")
    [[ -x "$BIN" ]] || { echo "fuzz: $BIN not built (scripts/fuzz.sh build)" >&2; exit 2; }
    local failed=0 pids=() outs=() t i
    for t in "${targets[@]}"; do
        [[ " ${ALL[*]} " == *" $t "* ]] || { echo "fuzz: unknown target $t (${ALL[*]})" >&2; exit 64; }
    done
    for ((i = 0; i < ${#targets[@]}; i += jobs)); do
        pids=() outs=()
        for t in "${targets[@]:i:jobs}"; do
            outs+=("$SCRATCH/logs/$t.summary")
            mkdir -p "$SCRATCH/logs"
            (run_one "$t" "$seconds" > "$SCRATCH/logs/$t.summary") & pids+=($!)
        done
        for j in "${!pids[@]}"; do
            wait "${pids[$j]}" || failed=1
            cat "${outs[$j]}"
        done
    done
    return $failed
}

case ${1:-} in
    build) build ;;
    run) shift; [[ $# -ge 1 ]] || { echo "usage: $0 run SECONDS [--jobs N] [TARGET...]" >&2; exit 64; }; run "$@" ;;
    seeds) [[ $# -eq 2 ]] || { echo "usage: $0 seeds DIR" >&2; exit 64; }; seeds "$2" ;;
    *) echo "usage: $0 build | run SECONDS [--jobs N] [TARGET...] | seeds DIR" >&2; exit 64 ;;
esac
