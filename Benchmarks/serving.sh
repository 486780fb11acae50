#!/usr/bin/env bash
# Serving throughput of gan-sample: `generate` and `score` on a toy (ring8, 2-D points) and an image
# (fashion-mlp, 28x28) checkpoint, as samples per second of the whole command (process start,
# checkpoint load and validation, the forward passes, writing the output), plus peak RSS.
#
# Usage: Benchmarks/serving.sh [--repeats 3] [--threads 1]
#
# The checkpoints are trained here for a few steps (their quality does not matter for speed) in a
# temporary directory; binaries come from <repo>/.build/release (make release). Medians of the repeats.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/.build/release"
REPEATS=3
THREADS=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --repeats) REPEATS="${2:?--repeats needs a value}"; shift 2 ;;
        --threads) THREADS="${2:?--threads needs a value}"; shift 2 ;;
        -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "serving.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done
[[ "$REPEATS" =~ ^[1-9][0-9]*$ ]] || { echo "serving.sh: --repeats must be a positive integer" >&2; exit 2; }
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || { echo "serving.sh: --threads must be a positive integer" >&2; exit 2; }
for b in gan-pipeline gan-sample; do
    [[ -x "$BIN/$b" ]] || { echo "serving.sh: $BIN/$b not found: run make release" >&2; exit 2; }
done
[[ -x /usr/bin/time ]] || { echo "serving.sh: /usr/bin/time is needed (apt install time)" >&2; exit 2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/gan-serving.XXXXXX")"
trap 'rm -rf -- "$WORK"' EXIT

echo "serving.sh: training two short checkpoints in $WORK ..." >&2
"$BIN/gan-pipeline" run "$ROOT/Pipelines/ring8.yaml" --run-dir "$WORK/ring8" --stages prep,train \
    --set train.steps=200 --set train.checkpoint_every=200 > "$WORK/train.log" 2>&1
"$BIN/gan-pipeline" run "$ROOT/Pipelines/fashion-mlp.yaml" --run-dir "$WORK/fashion" --stages prep,train \
    --set train.steps=20 --set train.checkpoint_every=20 >> "$WORK/train.log" 2>&1

# measure LABEL SAMPLES cmd... : appends "label samples wall_s rss_kb" per repeat
measure() {
    local label="$1" samples="$2"; shift 2
    for ((r = 1; r <= REPEATS; r++)); do
        /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" > /dev/null 2> "$WORK/err" \
            || { echo "serving.sh: failed: $* ($(tail -n 2 "$WORK/err"))" >&2; exit 1; }
        printf '%s\t%s\t%s\n' "$label" "$samples" "$(cat "$WORK/time")" >> "$WORK/results"
    done
}
: > "$WORK/results"
S="$BIN/gan-sample"
T=(--threads "$THREADS")
measure "ring8 generate 1,000,000 -> .npy" 1000000 "$S" generate "$WORK/ring8" -n 1000000 -o "$WORK/r.npy" "${T[@]}"
measure "ring8 generate 100,000 -> .csv" 100000 "$S" generate "$WORK/ring8" -n 100000 -o "$WORK/r.csv" "${T[@]}"
measure "ring8 score 1,000,000 .npy rows" 1000000 "$S" score "$WORK/ring8" "$WORK/r.npy" -o "$WORK/s.npy" "${T[@]}"
measure "fashion-mlp generate 20,000 -> .npy" 20000 "$S" generate "$WORK/fashion" -n 20000 -o "$WORK/f.npy" "${T[@]}"
measure "fashion-mlp generate 20,000 -> .idx" 20000 "$S" generate "$WORK/fashion" -n 20000 -o "$WORK/f.idx" "${T[@]}"
measure "fashion-mlp generate 1,024 -> .png grid" 1024 "$S" generate "$WORK/fashion" -n 1024 -o "$WORK/f.png" "${T[@]}"
measure "fashion-mlp score 20,000 .idx images" 20000 "$S" score "$WORK/fashion" "$WORK/f.idx" -o "$WORK/fs.npy" "${T[@]}"
measure "fashion-mlp info" 1 "$S" info "$WORK/fashion"

python3 - "$WORK/results" "$THREADS" "$REPEATS" <<'PY'
import statistics, sys
path, threads, repeats = sys.argv[1:]
rows = {}
for line in open(path):
    label, n, t = line.rstrip("\n").split("\t")
    wall, rss = t.split()
    rows.setdefault(label, (int(n), []))[1].append((float(wall), int(rss)))
print(f"gan-sample, --threads {threads}, median of {repeats} (whole command: start, load, compute, write)\n")
print("| command | samples | wall s | samples/s | peak RSS MB |")
print("|---|---|---|---|---|")
for label, (n, runs) in rows.items():
    wall = statistics.median(w for w, _ in runs)
    rss = statistics.median(r for _, r in runs) / 1024
    rate = f"{n / wall:,.0f}" if n > 1 else "-"
    print(f"| {label} | {n:,} | {wall:.3f} | {rate} | {rss:.0f} |")
PY
