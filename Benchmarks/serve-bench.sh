#!/usr/bin/env bash
# `make bench-server`: gan-sample serve against KServe's own Python model server
# (../shared/peers/kserve_gan.py) on loopback, with wrk, in one run.
#
# Both serve the mlp_gan networks (G 100-400-784 sigmoid, D 784-400-1): ours from a short
# fashion-mlp run (serving cost does not depend on the weights), the peer with random weights.
# Three request kinds, the same JSON bodies for both: generate count=1, generate count=64, score
# 64 rows; at 1 and 16 connections. Each server is pinned to CPU 1 with 1 compute thread
# (`--threads 1`; the peer: torch 1 thread, 1 worker), wrk to CPU 0. Requests/s count 2xx answers
# only. Then a soak: our server, 16 connections, the three kinds in turn, RSS at start and end.
#
# usage: Benchmarks/serve-bench.sh [--duration S (10)] [--soak S (300; 0 = none)] [--no-peer]
# env:   KSERVE_VENV (default ~/.cache/gan-kserve-venv; created with torch==2.13.0+cpu kserve when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=10 SOAK=300 PEER=1
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --soak) SOAK=$2; shift 2 ;;
    --no-peer) PEER=0; shift ;;
    *) echo "serve-bench: unknown option $1" >&2; exit 64 ;;
  esac
done
PEERS=$(cd .. && pwd)/shared/peers
VENV=${KSERVE_VENV:-$HOME/.cache/gan-kserve-venv}
OURS_PORT=18431 PEER_PORT=18432
WORK=.build/bench-serve
mkdir -p "$WORK"
command -v wrk >/dev/null || { echo "serve-bench: installing wrk (Debian)" >&2; apt-get install -y -qq wrk >/dev/null; }

# The model: the fashion-mlp networks after a few steps (prep reads Debian's Fashion-MNIST once).
RUN=$WORK/fashion-mlp
if [ ! -e "$RUN/train/latest.h5" ]; then
  .build/release/gan-pipeline run Pipelines/fashion-mlp.yaml --run-dir "$RUN" --stages prep,train \
    --set train.steps=20 --set train.checkpoint_every=20 --quiet
fi

if [ "$PEER" = 1 ] && ! "$VENV/bin/python" -c "import kserve, torch" 2>/dev/null; then
  echo "serve-bench: installing the KServe peer's venv into $VENV (torch CPU + kserve from PyPI)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "torch==2.13.0+cpu" kserve
fi

# Request bodies (identical for both servers) and one wrk script per kind.
.build/release/gan-sample generate "$RUN" --seed 5 -n 64 -o "$WORK/rows.csv"
ROWS=$(paste -sd, "$WORK/rows.csv")
GEN1='{"inputs":[{"name":"seed","shape":[1],"datatype":"INT64","data":[7]},{"name":"count","shape":[1],"datatype":"INT64","data":[1]}]}'
GEN64='{"inputs":[{"name":"seed","shape":[1],"datatype":"INT64","data":[7]},{"name":"count","shape":[1],"datatype":"INT64","data":[64]}]}'
SCORE64='{"inputs":[{"name":"x","shape":[64,784],"datatype":"FP32","data":['"$ROWS"']}]}'
for kind in gen1 gen64 score64; do
  case $kind in gen1) body=$GEN1 ;; gen64) body=$GEN64 ;; score64) body=$SCORE64 ;; esac
  printf '%s' "$body" > "$WORK/$kind.json"
  cat > "$WORK/$kind.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$WORK/$kind.json", "rb"); wrk.body = f:read("*a"); f:close()
EOF
done
# The soak script cycles through the three kinds (paths set per server by SOAK_G / SOAK_D).
cat > "$WORK/soak.lua" <<EOF
local function read(n) local f = io.open("$WORK/" .. n .. ".json", "rb"); local b = f:read("*a"); f:close(); return b end
local bodies = { read("gen1"), read("gen64"), read("score64") }
local paths = { os.getenv("SOAK_G"), os.getenv("SOAK_G"), os.getenv("SOAK_D") }
local i = 0
request = function()
  i = i % 3 + 1
  return wrk.format("POST", paths[i], { ["Content-Type"] = "application/json" }, bodies[i])
end
EOF

wait_ready() {  # port pid
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$1/v2/health/ready" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || { echo "serve-bench: server on :$1 died" >&2; return 1; }
    sleep 0.2
  done
  echo "serve-bench: server on :$1 not ready" >&2; return 1
}

cpu_seconds() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
peak_mb() { awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# wrk output -> "rps_2xx p50_ms p99_ms non2xx errors"
summarise() {
  awk -v d="$DURATION" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    / 50%/ { p50 = ms($2) } / 99%/ { p99 = ms($2) }
    /requests in/ { n = $1 } /Non-2xx/ { bad = $NF }
    /Socket errors/ { gsub(",", ""); err = $4 + $6 + $8 + $10 }
    END { printf "%.1f %.2f %.2f %d %d\n", (n - bad) / d, p50, p99, bad, err }'
}

RESULTS=$WORK/results.txt
: > "$RESULTS"
bench() {  # name port pid gpath dpath
  local name=$1 port=$2 pid=$3 g=$4 d=$5
  for kind in gen1 gen64 score64; do
    local path=$g; [ "$kind" = score64 ] && path=$d
    # warm-up (first requests, lazy initialisation), not counted
    taskset -c 0 wrk -t1 -c4 -d2s -s "$WORK/$kind.lua" "http://127.0.0.1:$port$path" >/dev/null
    for c in 1 16; do
      local load c0 out
      load=$(cut -d' ' -f1 /proc/loadavg)
      c0=$(cpu_seconds "$pid")
      out=$(taskset -c 0 wrk -t1 -c$c -d${DURATION}s --latency -s "$WORK/$kind.lua" "http://127.0.0.1:$port$path")
      local cpu; cpu=$(awk -v a="$c0" -v b="$(cpu_seconds "$pid")" -v d="$DURATION" 'BEGIN { printf "%.2f", (b - a) / d }')
      echo "$name $kind $c $(echo "$out" | summarise) $cpu $load" | tee -a "$RESULTS"
    done
  done
  echo "$name peak_rss_mb $(peak_mb "$pid")" | tee -a "$RESULTS"
}

echo "# $(date -u +%FT%TZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | xargs) model $(grep -m1 '^model' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RESULTS"
echo "# server kind connections rps_2xx p50_ms p99_ms non2xx socket_errors server_cpu_cores load1" | tee -a "$RESULTS"

taskset -c 1 .build/release/gan-sample serve "$RUN" --name mlp --port $OURS_PORT --threads 1 --reload-interval 0 \
  2> "$WORK/ours.log" & OURS=$!
trap 'kill $OURS ${PEER_PID:-} 2>/dev/null || true' EXIT
wait_ready $OURS_PORT $OURS
bench ours $OURS_PORT $OURS /v2/models/mlp-g/infer /v2/models/mlp-d/infer

if [ "$PEER" = 1 ]; then
  (cd "$PEERS" && exec taskset -c 1 "$VENV/bin/python" kserve_gan.py --http_port $PEER_PORT --threads 1 --workers 1) \
    > "$WORK/peer.log" 2>&1 & PEER_PID=$!
  wait_ready $PEER_PORT $PEER_PID
  bench kserve $PEER_PORT $PEER_PID /v2/models/gan-g/infer /v2/models/gan-d/infer
  kill $PEER_PID; wait $PEER_PID 2>/dev/null || true
fi

if [ "$SOAK" -gt 0 ]; then
  SOAK_G=/v2/models/mlp-g/infer SOAK_D=/v2/models/mlp-d/infer taskset -c 0 wrk -t1 -c16 -d10s -s "$WORK/soak.lua" \
    "http://127.0.0.1:$OURS_PORT" >/dev/null
  start=$(rss_mb $OURS)
  out=$(SOAK_G=/v2/models/mlp-g/infer SOAK_D=/v2/models/mlp-d/infer taskset -c 0 wrk -t1 -c16 -d${SOAK}s -s "$WORK/soak.lua" \
    "http://127.0.0.1:$OURS_PORT")
  end=$(rss_mb $OURS)
  total=$(echo "$out" | awk '/requests in/ {print $1}')
  bad=$(echo "$out" | awk '/Non-2xx/ {print $NF}'); bad=${bad:-0}
  errs=$(echo "$out" | awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}'); errs=${errs:-0}
  echo "soak ${SOAK}s 16 connections: $total requests, $bad non-2xx, $errs socket errors; RSS $start -> $end MB ($(awk -v a="$start" -v b="$end" 'BEGIN { printf "%+.1f", (b - a) / a * 100 }') %)" | tee -a "$RESULTS"
fi
kill $OURS; wait $OURS 2>/dev/null || true
echo "results: $RESULTS"
