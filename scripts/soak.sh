#!/usr/bin/env bash
# Soak test (make soak; not part of make test): train with a checkpoint every 10 steps for
# MINUTES while `gan-sample generate` reads RUN/train/latest.h5 in a loop, then stop the run with
# SIGTERM. Fails when a read fails, when the trainer's open file descriptors grow, when its
# resident set grows by more than the metric history explains, or when the run does not stop
# cleanly (exit 130 with a complete last checkpoint, no .tmp left).
#
# The history: every G step appends 5 float64 metrics (40 bytes) that every checkpoint stores
# (Checkpoints/README.md). The trainer holds them in growing arrays (up to 2x), a recorded copy and
# the checkpoint's file image (grown 2x) while one is written, and the allocator keeps some of the
# ever larger freed buffers: growth up to 8 x 40 bytes per step (+16 MiB) is the history; a leak
# per checkpoint (100 a second here) or per read would exceed it within minutes. Descriptors may
# vary by the 2 a save has open; they must not grow.
#
# Usage: scripts/soak.sh [MINUTES (default 20)] [BIN_DIR (default .build/release)]
# Prints one sample line every SAMPLE seconds (default 30) and a summary.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MINUTES=${1:-20}
BIN="$(cd "${2:-$ROOT/.build/release}" && pwd)"
SAMPLE=${SAMPLE:-30}
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gan-soak.XXXXXX")"
RUN="$WORK/run"
trainer=""
cleanup() {
    [[ -n $trainer ]] && kill -KILL "$trainer" 2>/dev/null || true
    rm -rf -- "$WORK"
}
trap cleanup EXIT

# The 1-D system, one thread: ~1k G steps/s, so ~100 checkpoints a second (each written, fsynced,
# renamed, pointed at by latest.h5 and pruned to the last 3).
"$BIN/gan-pipeline" run "$ROOT/Pipelines/gaussian-1d.yaml" --run-dir "$RUN" --threads 1 --quiet \
    --stages prep,pretrain-d,train --set train.steps=100000000 --set train.checkpoint_every=10 \
    --set train.eval_every=0 2> "$WORK/train.log" &
trainer=$!
for _ in $(seq 600); do [[ -e "$RUN/train/latest.h5" ]] && break; sleep 0.1; done
[[ -e "$RUN/train/latest.h5" ]] || { echo "soak: training never wrote a checkpoint" >&2; cat "$WORK/train.log" >&2; exit 1; }

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$trainer/status"; }
fds() { find "/proc/$trainer/fd" -mindepth 1 -maxdepth 1 | wc -l; }
step() { "$BIN/gan-sample" info "$RUN/train/latest.h5" --json 2>/dev/null | sed -n 's/.*"stage": "[^"]*", "step": \([0-9]*\).*/\1/p'; }

reads=0 failed=0
end=$(( $(date +%s) + MINUTES * 60 ))
next=$(date +%s)
samples=()
printf 'soak: %s min, checkpoint every 10 steps, reading latest.h5 in a loop (%s)\n' "$MINUTES" "$RUN"
printf '%8s %10s %8s %8s %9s %7s\n' elapsed step reads failed rss_kib fds
start=$(date +%s)
while (( $(date +%s) < end )); do
    kill -0 "$trainer" 2>/dev/null || { echo "soak: the trainer died:" >&2; tail -5 "$WORK/train.log" >&2; exit 1; }
    if "$BIN/gan-sample" generate "$RUN/train/latest.h5" -n 16 --seed "$reads" -o "$WORK/samples.csv" 2> "$WORK/read.err"; then
        reads=$((reads + 1))
    else
        reads=$((reads + 1)) failed=$((failed + 1))
        echo "soak: read $reads failed: $(cat "$WORK/read.err")" >&2
    fi
    if (( $(date +%s) >= next )); then
        r=$(rss) f=$(fds) s=$(step)
        samples+=("$r $f ${s:-0}")
        printf '%7ss %10s %8s %8s %9s %7s\n' $(( $(date +%s) - start )) "$s" "$reads" "$failed" "$r" "$f"
        next=$(( next + SAMPLE ))
    fi
done

kill -TERM "$trainer"
status=0
wait "$trainer" || status=$?
trainer=""
last_step=$(step)
left=$(find "$RUN" -name '*.tmp' | wc -l)
ok=1
[[ $status -eq 130 ]] || { echo "soak: the trainer exited $status on SIGTERM, expected 130" >&2; ok=0; }
[[ $left -eq 0 ]] || { echo "soak: $left .tmp files left" >&2; ok=0; }
for f in "$RUN"/train/step-*.h5; do
    "$BIN/gan-sample" info "$f" > /dev/null 2>&1 || { echo "soak: $f does not open" >&2; ok=0; }
done
[[ $failed -eq 0 ]] || ok=0

# From the first sample after warm-up to the last: descriptors equal, RSS within the history's share.
first=(${samples[1]:-${samples[0]}}) last=(${samples[-1]})
max_rss=0 max_fds=0
for s in "${samples[@]}"; do
    set -- $s
    (( $1 > max_rss )) && max_rss=$1
    (( $2 > max_fds )) && max_fds=$2
done
steps=$(( last[2] - first[2] ))
allowed=$(( steps * 8 * 40 / 1024 + 16384 ))
(( last[0] - first[0] <= allowed )) || { echo "soak: RSS grew by $(( last[0] - first[0] )) KiB over $steps steps (history allows $allowed)" >&2; ok=0; }
(( max_fds <= first[1] + 2 && last[1] <= first[1] + 2 )) || { echo "soak: open descriptors went from ${first[1]} to ${last[1]} (max $max_fds)" >&2; ok=0; }
per_step=$(( steps > 0 ? (last[0] - first[0]) * 1024 / steps : 0 ))
echo "soak: $MINUTES min, trainer stopped at step $last_step (~$(( last_step / 10 )) checkpoints), $reads reads of latest.h5, $failed failed;" \
     "trainer RSS ${first[0]} -> ${last[0]} KiB (max $max_rss; $per_step bytes per step, the history allows 320), open fds ${first[1]} -> ${last[1]} (max $max_fds); SIGTERM exit $status"
[[ $ok -eq 1 ]] && echo "soak: ok" || { echo "soak: FAILED" >&2; exit 1; }
