#!/usr/bin/env bash
# Runs the plain GAN and each stabilisation remedy (issue 8) with the same step budget and prints
# one markdown table from their eval/metrics.json. Usage:
#   scripts/compare-remedies.sh [fashion|ring8|grid25] [STEPS] [JOBS]
# Runs go to Checkpoints/compare-<set>/<label>/ (rerunning skips finished runs); JOBS runs
# in parallel with 1 thread each (default 2 on a 2-core machine). Needs `make release` first.
set -euo pipefail
cd "$(dirname "$0")/.."
SET=${1:-fashion}
STEPS=${2:-}
JOBS=${3:-2}
BIN=.build/release/gan-pipeline
OUT=Checkpoints/compare-$SET
mkdir -p "$OUT"

case "$SET" in
  fashion)
    STEPS=${STEPS:-10000}
    RUNS=(
      "plain|fashion-mlp|"
      "one-sided label smoothing 0.9|fashion-mlp|--set loss.real_label=0.9"
      "feature matching (D block 1)|fashion-mlp|--set loss.feature_matching_layer=1"
      "virtual batch norm in G|fashion-mlp|--set generator.virtual_batch_norm=true --set train.reference_batch_size=64"
      "spectral norm in D|fashion-mlp|--set discriminator.spectral_norm=true"
      "EMA of G (0.999)|fashion-mlp|--set train.ema_decay=0.999"
      "k = 2 D steps per G step|fashion-mlp|--set train.d_steps_per_g_step=2"
      "WGAN, clipping 0.01, n_critic 5|fashion-wgan|"
      "tricks: FM + smoothing + VBN|fashion-tricks|"
    )
    KEYS=(fd classes_covered class_kl parzen_ll) ;;
  ring8|grid25)
    STEPS=${STEPS:-40000}
    # Every row but PacGAN's without packing and every row but EMA's without the moving average
    # (the shipped grid25 packs 2 and averages G's weights).
    RUNS=(
      "plain|$SET|--set train.pack=1 --set train.ema_decay=0"
      "one-sided label smoothing 0.9|$SET|--set train.pack=1 --set train.ema_decay=0 --set loss.real_label=0.9"
      "feature matching (D block 2)|$SET|--set train.pack=1 --set train.ema_decay=0 --set loss.feature_matching_layer=2"
      "spectral norm in D|$SET|--set train.pack=1 --set train.ema_decay=0 --set discriminator.spectral_norm=true"
      "EMA of G (0.999)|$SET|--set train.pack=1 --set train.ema_decay=0.999"
      "PacGAN pack 2|$SET|--set train.pack=2 --set train.ema_decay=0"
    )
    KEYS=(modes_covered high_quality_fraction) ;;
  *) echo "usage: $0 [fashion|ring8|grid25] [STEPS] [JOBS]" >&2; exit 64 ;;
esac

slug() { echo "$1" | tr 'A-Z' 'a-z' | tr -cs 'a-z0-9' '-' | sed 's/-$//'; }

run_one() {
  local label=$1 pipeline=$2 args=$3 dir
  dir=$OUT/$(slug "$label")
  # A finished run keeps its result (and its measured wall time); delete DIR.result to redo it.
  if [ -f "$dir.result" ] && [ "$(cut -d' ' -f1 "$dir.result")" = 0 ] && [ -f "$dir/eval/metrics.json" ]; then return; fi
  local start=$SECONDS status=0
  # shellcheck disable=SC2086
  $BIN run Pipelines/$pipeline.yaml --run-dir "$dir" --threads 1 --quiet --set train.steps=$STEPS \
    --set train.checkpoint_every=$((STEPS / 4)) $args > "$dir.log" 2>&1 || status=$?
  echo "$status $((SECONDS - start))" > "$dir.result"
}

i=0
for r in "${RUNS[@]}"; do
  IFS='|' read -r label pipeline args <<< "$r"
  mkdir -p "$OUT/$(slug "$label")"
  run_one "$label" "$pipeline" "$args" &
  i=$((i + 1))
  if (( i % JOBS == 0 )); then wait; fi
done
wait

printf '| remedy | command |'; for k in "${KEYS[@]}"; do printf ' %s |' "$k"; done; printf ' stable | wall (s) | curves |\n'
printf '|---|---|'; for _ in "${KEYS[@]}"; do printf -- '---|'; done; printf -- '---|---|---|\n'
for r in "${RUNS[@]}"; do
  IFS='|' read -r label pipeline args <<< "$r"
  dir=$OUT/$(slug "$label")
  read -r status wall < "$dir.result"
  printf '| %s | `make pipeline P=%s ARGS="--set train.steps=%s%s"` |' "$label" "$pipeline" "$STEPS" "${args:+ $args}"
  for k in "${KEYS[@]}"; do
    v=$(python3 -c "import json,sys; m=json.load(open('$dir/eval/metrics.json')); print('%.4g' % m['$k'] if m.get('$k') is not None else '—')" 2>/dev/null || echo "—")
    printf ' %s |' "$v"
  done
  if [ "$status" = 0 ]; then stable=yes; elif [ "$status" = 1 ]; then stable="diverged"; else stable="failed ($status)"; fi
  printf ' %s | %s | `%s/eval/losses.png` |\n' "$stable" "$wall" "$dir"
done
