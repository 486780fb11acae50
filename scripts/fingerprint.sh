#!/usr/bin/env bash
# Bit-identity fingerprint of a build: trains shrunk runs of every shipped pipeline (plus the
# switches no shipped file turns on: spectral norm, top-k, minimax), and records per run the
# SHA-256 of every checkpoint's contents (h5dump without the save time), of metrics.json (without
# wall_seconds) and of `gan-sample generate` / `score` outputs, plus gan-bench's final losses.
# Two builds that print the same fingerprint trained, saved and served the same bits.
#
# Usage: scripts/fingerprint.sh [BIN_DIR (default .build/release)] > fingerprint.txt
#        diff before.txt after.txt
# Needs h5dump (hdf5-tools, installed by make deps). Takes ~3 minutes on 2 cores.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$(cd "${1:-$ROOT/.build/release}" && pwd)"
for b in gan-pipeline gan-sample gan-bench; do
    [[ -x "$BIN/$b" ]] || { echo "fingerprint.sh: $BIN/$b not found (make release)" >&2; exit 2; }
done
command -v h5dump >/dev/null || { echo "fingerprint.sh: h5dump not found (apt install hdf5-tools)" >&2; exit 2; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gan-fingerprint.XXXXXX")"
trap 'rm -rf -- "$WORK"' EXIT

# The contents of an HDF5 file without the attributes that record when and by which build it was
# written (created_utc, tool_version) and without the temporary directory's name.
h5sum() {
    h5dump "$1" | sed "s|$WORK|WORK|g" | awk '
        /ATTRIBUTE "(created_utc|tool_version)"/ { skip = 1; depth = 0 }
        skip { depth += gsub(/{/, "{") - gsub(/}/, "}"); if (depth <= 0) skip = 0; next }
        { print }' \
        | sha256sum | cut -c1-16
}

# run NAME PIPELINE THREADS STAGES ARGS...: train, then fingerprint every file the run wrote.
run() {
    local name=$1 pipeline=$2 threads=$3 stages=$4; shift 4
    local dir="$WORK/runs/$name"
    "$BIN/gan-pipeline" run "$ROOT/Pipelines/$pipeline.yaml" --run-dir "$dir" --threads "$threads" \
        --stages "$stages" --quiet "$@" > "$WORK/$name.log" 2>&1 \
        || { echo "fingerprint.sh: $name failed:" >&2; tail -5 "$WORK/$name.log" >&2; exit 1; }
    local f
    for f in $(cd "$dir" && find . -name '*.h5' -type f | sort); do
        echo "$name $f $(h5sum "$dir/$f")"
    done
    if [[ -f "$dir/eval/metrics.json" ]]; then
        echo "$name metrics.json $(grep -v wall_seconds "$dir/eval/metrics.json" | sha256sum | cut -c1-16)"
    fi
    local out="$WORK/$name.samples"
    for t in 1 2; do
        "$BIN/gan-sample" generate "$dir" -n 300 --seed 7 --threads "$t" -o "$out.$t.npy" 2>/dev/null
        echo "$name generate --threads $t $(sha256sum < "$out.$t.npy" | cut -c1-16)"
    done
    if [[ "$pipeline" != fashion-* ]]; then
        # A packed D (train.pack > 1) judges packs, not single samples: score refuses it.
        if "$BIN/gan-sample" score "$dir" "$out.1.npy" -o "$out.scores.csv" 2>"$out.err"; then
            echo "$name score $(sha256sum < "$out.scores.csv" | cut -c1-16)"
        else
            echo "$name score refused: $(sed "s|$WORK|WORK|g" "$out.err")"
        fi
    fi
}

echo "# fingerprint of $BIN" >&2
run gaussian-1d gaussian-1d 1 prep,pretrain-d,train,evaluate --set pretrain_d.steps=300 --set train.steps=700 --set train.checkpoint_every=350
run parabola-2d parabola-2d 1 prep,train,evaluate --set train.steps=150 --set train.checkpoint_every=50
run ring8 ring8 2 prep,train,evaluate --set train.steps=600 --set train.checkpoint_every=300 --set train.eval_every=200
run grid25 grid25 1 prep,train,evaluate --set train.steps=600 --set train.checkpoint_every=300 \
    --set generator_optimizer.decay_every=200 --set discriminator_optimizer.decay_every=250
run grid25-topk grid25 1 prep,train --set train.steps=300 --set train.checkpoint_every=300 --set train.pack=1 \
    --set train.top_k_min_fraction=0.5 --set train.top_k_decay=0.9 --set train.top_k_decay_every=50
run ring8-minimax ring8 1 prep,train --set train.steps=300 --set train.checkpoint_every=300 --set loss.objective=minimax \
    --set loss.real_label=0.9
run fashion-mlp fashion-mlp 2 prep,train,evaluate --set train.steps=40 --set train.checkpoint_every=20 --set evaluate.samples=500
run fashion-mlp-sn fashion-mlp 1 prep,train --set train.steps=20 --set train.checkpoint_every=20 --set discriminator.spectral_norm=true
run fashion-maxout fashion-maxout 1 prep,train --set train.steps=10 --set train.checkpoint_every=10
run fashion-wgan fashion-wgan 1 prep,train --set train.steps=10 --set train.checkpoint_every=10
run fashion-tricks fashion-tricks 2 prep,train --set train.steps=10 --set train.checkpoint_every=10
run fashion-dcgan fashion-dcgan 2 prep,train --set train.steps=4 --set train.checkpoint_every=2 --set train.batch_size=32

for m in toy_1d:400 mlp_gan:20 dcgan28:3; do
    for t in 1 2; do
        line=$("$BIN/gan-bench" --model "${m%%:*}" --threads "$t" --iters "${m##*:}" --warmup 1 2>/dev/null | grep '^RESULT')
        echo "gan-bench ${m%%:*} --threads $t $(echo "$line" | grep -o '"final_loss[DG]": *[-0-9.e]*' | tr -d ' ' | paste -sd' ')"
    done
done
