#!/usr/bin/env bash
# Side-by-side speed comparison: our gan-bench vs the peer training loops in ../shared/peers
# (PyTorch, JAX, TensorFlow, TensorFlow+XLA), run alternately, printed as one markdown table.
#
# Usage: Benchmarks/compare.sh [--models mlp_gan,toy_1d,dcgan28,dcgan64] [--threads 1,2] [--repeats 3]
#                              [--iters-scale F] [--ranks N]
#
# --ranks N: the data-parallel comparison instead (mlp_gan and dcgan28, 1 thread per process): ours
# on one process and under `mpirun -np N`, PyTorch on one process and DistributedDataParallel under
# `torchrun --nproc_per_node N` (../shared/peers/torch_ddp_gan.py); one table with our scaling and
# the ratio to DDP.
#
# Environment overrides:
#   GAN_BENCH   our benchmark binary        (default: <repo>/.build/release/gan-bench; not built here)
#   PEERS_DIR   the peer scripts            (default: <repo>/../shared/peers)
#   PEERS_VENV  the peers' Python venv      (default: $HOME/.cache/gan-peers-venv)
#
# Per model (before --iters-scale): mlp_gan 600 iters / 20 warm-up, toy_1d 1500 G steps / 20 warm-up
# (1 thread only), dcgan28 60 iters / 5 warm-up, dcgan64 8 iters / 2 warm-up (PyTorch is its only
# peer). The table's ceiling column is our matmul-only ceiling (the model's GEMMs alone, the
# im2col + sgemm design's limit). Every configuration of one (model, threads) cell is
# run in turn (ours, peer 1, peer 2, ...) and that round is repeated --repeats times; medians are
# reported. A peer that is not installed gets "not installed" instead of failing the script.
# OPENBLAS_CORETYPE is never set here (if it is set in the caller's environment it is reported).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
BIN="${GAN_BENCH:-$ROOT/.build/release/gan-bench}"
PEERS_DIR="${PEERS_DIR:-$ROOT/../shared/peers}"
PEERS_VENV="${PEERS_VENV:-$HOME/.cache/gan-peers-venv}"

MODELS="mlp_gan,toy_1d,dcgan28,dcgan64"
THREADS="1,2"
REPEATS=3
SCALE=1
RANKS=0
MPIRUN="${MPIRUN:-mpirun --allow-run-as-root --oversubscribe}"

usage() {
    sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --models) MODELS="${2:?--models needs a value}"; shift 2 ;;
        --models=*) MODELS="${1#*=}"; shift ;;
        --threads) THREADS="${2:?--threads needs a value}"; shift 2 ;;
        --threads=*) THREADS="${1#*=}"; shift ;;
        --repeats) REPEATS="${2:?--repeats needs a value}"; shift 2 ;;
        --repeats=*) REPEATS="${1#*=}"; shift ;;
        --iters-scale) SCALE="${2:?--iters-scale needs a value}"; shift 2 ;;
        --iters-scale=*) SCALE="${1#*=}"; shift ;;
        --ranks) RANKS="${2:?--ranks needs a value}"; shift 2 ;;
        --ranks=*) RANKS="${1#*=}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "compare.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

die() { echo "compare.sh: $*" >&2; exit 2; }
[[ "$REPEATS" =~ ^[1-9][0-9]*$ ]] || die "--repeats must be a positive integer"
[[ "$SCALE" =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)$ ]] || die "--iters-scale must be a positive number"
[[ "$THREADS" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "--threads must be like 1,2"
[[ "$RANKS" =~ ^[0-9]+$ && "$RANKS" != 1 ]] || die "--ranks must be a number of processes >= 2"
if [[ "$RANKS" -ge 2 ]]; then
    MODELS="${MODELS/toy_1d,/}"; MODELS="${MODELS/,toy_1d/}"; THREADS=1
    command -v mpirun >/dev/null || die "--ranks needs mpirun (make deps installs openmpi-bin)"
fi
command -v python3 >/dev/null || die "python3 is needed to parse the RESULT json"
[[ -x "$BIN" ]] || die "$BIN not found: build it first (make release / swift build -c release)"

IFS=',' read -r -a MODEL_LIST <<< "$MODELS"
IFS=',' read -r -a THREAD_LIST <<< "$THREADS"
for m in "${MODEL_LIST[@]}"; do
    case "$m" in mlp_gan|toy_1d|dcgan28|dcgan64) ;; *) die "unknown model '$m' (mlp_gan, toy_1d, dcgan28, dcgan64)" ;; esac
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/gan-compare.XXXXXX")"
trap 'rm -rf -- "$WORK"' EXIT
RESULTS="$WORK/results.tsv"   # kind model threads config rep status json
: > "$RESULTS"

# iterations / warm-up scaled by --iters-scale (at least 1 each; warm-up covers JIT compilation)
scaled() { python3 -c 'import sys; print(max(1, round(float(sys.argv[1]) * float(sys.argv[2]))))' "$1" "$SCALE"; }
base_iters() { case "$1" in mlp_gan|mlp_gan_gemms) echo 600 ;; toy_1d) echo 1500 ;; dcgan28|dcgan28_gemms) echo 60 ;; dcgan64) echo 8 ;; esac; }
base_warmup() { case "$1" in dcgan28|dcgan28_gemms) echo 5 ;; dcgan64) echo 2 ;; *) echo 20 ;; esac; }

# ---------------------------------------------------------------------------- peer availability
PY="$PEERS_VENV/bin/python"
declare -A PEER_OK=()
declare -A PEER_WHY=()
check_import() {  # name module
    local name="$1" module="$2"
    if [[ ! -x "$PY" ]]; then
        PEER_OK[$name]=0; PEER_WHY[$name]="no venv at $PEERS_VENV"
    elif [[ ! -f "$PEERS_DIR/${name}_gan.py" ]]; then
        PEER_OK[$name]=0; PEER_WHY[$name]="no $PEERS_DIR/${name}_gan.py"
    elif "$PY" -c "import $module" >/dev/null 2>&1; then
        PEER_OK[$name]=1
    else
        PEER_OK[$name]=0; PEER_WHY[$name]="import $module fails in $PEERS_VENV"
    fi
}
echo "compare.sh: checking peers in $PEERS_VENV ..." >&2
check_import torch torch
check_import jax jax
check_import tf tensorflow
# configurations: name -> peer availability key
PEER_CONFIGS=(torch jax tf tf_xla)
peer_key() { case "$1" in tf_xla) echo tf ;; *) echo "$1" ;; esac; }
NOT_INSTALLED=""
for p in torch jax tf; do
    if [[ "${PEER_OK[$p]}" != 1 ]]; then
        NOT_INSTALLED+="$p (${PEER_WHY[$p]}); "
        echo "compare.sh: peer $p not installed: ${PEER_WHY[$p]}" >&2
    fi
done

# ---------------------------------------------------------------------------- one run
# run_one kind model threads config rep iters warmup
run_one() {
    local kind="$1" model="$2" threads="$3" config="$4" rep="$5" iters="$6" warmup="$7"
    local out="$WORK/run.out" err="$WORK/run.err" status=ok json
    local -a cmd
    case "$config" in
        ours)   cmd=("$BIN" --model "$model") ;;
        torch)  cmd=("$PY" "$PEERS_DIR/torch_gan.py" --model "$model") ;;
        jax)    cmd=("$PY" "$PEERS_DIR/jax_gan.py" --model "$model")
                if [[ "$model" == dcgan28 ]]; then cmd+=(--convt-vjp); fi ;;
        tf)     cmd=("$PY" "$PEERS_DIR/tf_gan.py" --model "$model") ;;
        tf_xla) cmd=("$PY" "$PEERS_DIR/tf_gan.py" --model "$model" --jit) ;;
        ours_mpi) read -r -a cmd <<< "$MPIRUN"; cmd+=(-np "$RANKS" "$BIN" --model "$model") ;;
        torch_ddp) cmd=("$PEERS_VENV/bin/torchrun" --standalone --nproc_per_node "$RANKS" "$PEERS_DIR/torch_ddp_gan.py" --model "$model") ;;
    esac
    cmd+=(--threads "$threads" --iters "$iters" --warmup "$warmup")
    echo "compare.sh: [$model t=$threads rep $rep] $config" >&2
    if "${cmd[@]}" > "$out" 2> "$err"; then
        json="$(grep -m1 '^RESULT ' "$out" | sed 's/^RESULT //' || true)"
        [[ -n "$json" ]] || status=failed
    else
        status=failed
        json=""
    fi
    if [[ "$status" != ok ]]; then
        echo "compare.sh: $config $model t=$threads failed: $(tail -n 3 "$err" | tr '\n' ' ')" >&2
        json="{}"
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kind" "$model" "$threads" "$config" "$rep" "$status" "$json" >> "$RESULTS"
}

# ---------------------------------------------------------------------------- data-parallel mode
if [[ "$RANKS" -ge 2 ]]; then
    configs=(ours ours_mpi)
    [[ "${PEER_OK[torch]}" == 1 && -x "$PEERS_VENV/bin/torchrun" ]] && configs+=(torch torch_ddp)
    for model in "${MODEL_LIST[@]}"; do
        iters="$(scaled "$(base_iters "$model")")"
        warmup="$(scaled "$(base_warmup "$model")")"
        for ((rep = 1; rep <= REPEATS; rep++)); do
            for c in "${configs[@]}"; do run_one dp "$model" 1 "$c" "$rep" "$iters" "$warmup"; done
        done
    done
    CPU="$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)"
    python3 - "$RESULTS" "$RANKS" "${CPU:-unknown CPU}" "$(date '+%Y-%m-%d %H:%M %Z')" "$REPEATS" <<'PY'
import json, statistics, sys
path, ranks, cpu, date, repeats = sys.argv[1:]
cells = {}
for line in open(path):
    kind, model, threads, config, rep, status, js = line.rstrip("\n").split("\t", 6)
    if status == "ok":
        cells.setdefault((model, config), []).append(json.loads(js))
def med(model, config, field="it_per_s"):
    v = [r[field] for r in cells.get((model, config), []) if field in r]
    return statistics.median(v) if v else None
def f(x): return "—" if x is None else ("%.0f" % x if x >= 100 else "%.1f" % x)
def ratio(a, b): return "—" if a is None or not b else "%.2fx" % (a / b)
print("| model it/s | ours 1 process | ours %s ranks | our scaling | torch 1 process | torch DDP %s ranks | DDP scaling | ours / DDP at %s ranks | max foreign_load |" % (ranks, ranks, ranks))
print("|---|---|---|---|---|---|---|---|---|")
for model in ["mlp_gan", "dcgan28"]:
    if not any(m == model for m, _ in cells):
        continue
    o1, on, t1, tn = (med(model, c) for c in ["ours", "ours_mpi", "torch", "torch_ddp"])
    loads = [r.get("foreign_load", 0) for (m, _), rs in cells.items() if m == model for r in rs]
    print("| %s | %s | %s | %s | %s | %s | %s | %s | %.2f |" % (model, f(o1), f(on), ratio(on, o1), f(t1), f(tn), ratio(tn, t1), ratio(on, tn), max(loads or [0])))
print()
print("Machine: %s; 1 thread per process; %s; medians of %s alternating repeats." % (cpu, date, repeats))
PY
    exit 0
fi

# ---------------------------------------------------------------------------- main loop
for model in "${MODEL_LIST[@]}"; do
    iters="$(scaled "$(base_iters "$model")")"
    warmup="$(scaled "$(base_warmup "$model")")"
    for threads in "${THREAD_LIST[@]}"; do
        if [[ "$model" == toy_1d && "$threads" != 1 ]]; then continue; fi
        configs=(ours)
        for c in "${PEER_CONFIGS[@]}"; do
            k="$(peer_key "$c")"
            if [[ "$model" == dcgan64 && "$c" != torch ]]; then continue; fi   # only torch_gan.py has it
            if [[ "${PEER_OK[$k]}" == 1 ]]; then
                configs+=("$c")
            else
                printf 'train\t%s\t%s\t%s\t0\tnot_installed\t{}\n' "$model" "$threads" "$c" >> "$RESULTS"
            fi
        done
        for ((rep = 1; rep <= REPEATS; rep++)); do
            for c in "${configs[@]}"; do
                run_one train "$model" "$threads" "$c" "$rep" "$iters" "$warmup"
            done
        done
    done
done

# our matmul-only ceilings (ours only)
for model in "${MODEL_LIST[@]}"; do
    case "$model" in mlp_gan) g=mlp_gan_gemms ;; dcgan28) g=dcgan28_gemms ;; *) continue ;; esac
    iters="$(scaled "$(base_iters "$g")")"
    warmup="$(scaled "$(base_warmup "$g")")"
    for threads in "${THREAD_LIST[@]}"; do
        for ((rep = 1; rep <= REPEATS; rep++)); do
            run_one ceiling "$g" "$threads" ours "$rep" "$iters" "$warmup"
        done
    done
done

# ---------------------------------------------------------------------------- machine line
CPU="$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)"
[[ -n "$CPU" ]] || CPU="unknown CPU"
CORE="$({ OPENBLAS_VERBOSE=2 "$BIN" --model mlp_gan_gemms --threads 1 --iters 1 --warmup 0 >/dev/null; } 2>&1 \
        | sed -n 's/^Core:[[:space:]]*//p' | head -n 1 || true)"
[[ -n "$CORE" ]] || CORE="not detected"
CORETYPE_NOTE="unset"
if [[ -n "${OPENBLAS_CORETYPE:-}" ]]; then CORETYPE_NOTE="set to ${OPENBLAS_CORETYPE} by the caller"; fi

# ---------------------------------------------------------------------------- table
python3 - "$RESULTS" "$CPU" "$(nproc 2>/dev/null || echo '?')" "$CORE" "$CORETYPE_NOTE" \
    "$(date '+%Y-%m-%d %H:%M %Z')" "$REPEATS" "$SCALE" "$NOT_INSTALLED" <<'PY'
import json, statistics, sys
path, cpu, ncpu, core, coretype, date, repeats, scale, not_installed = sys.argv[1:]
PEERS = ["torch", "jax", "tf", "tf_xla"]
LABEL = {"torch": "torch", "jax": "jax", "tf": "tf", "tf_xla": "tf+xla"}
UNIT = {"toy_1d": "G-steps/s"}

runs = {}       # (kind, model, threads) -> config -> list of dicts / status
versions = {}
order = []
for line in open(path):
    kind, model, threads, config, rep, status, js = line.rstrip("\n").split("\t", 6)
    key = (kind, model, int(threads))
    if key not in runs:
        runs[key] = {}
        order.append(key)
    cell = runs[key].setdefault(config, {"status": status, "res": []})
    if status == "ok":
        r = json.loads(js)
        cell["res"].append(r)
        cell["status"] = "ok"
        if config != "ours":
            versions[config] = r.get("version", "?")
        else:
            versions["ours"] = "%s %s" % (r.get("framework", "swift"), r.get("version", "?"))
    elif cell["status"] != "ok":
        cell["status"] = status

def med(cell):
    v = [r["it_per_s"] for r in cell["res"] if "it_per_s" in r]
    return statistics.median(v) if v else None

def rss(cell):
    v = [r["peak_rss_mb"] for r in cell["res"] if "peak_rss_mb" in r]
    return max(v) if v else None

def fmt(x):
    if x is None:
        return "—"
    return "%.0f" % x if x >= 100 else "%.1f" % x if x >= 10 else "%.2f" % x

def describe(cell):
    if cell is None:
        return "—"
    if cell["status"] == "not_installed":
        return "not installed"
    m = med(cell)
    if m is None:
        return "failed"
    return fmt(m)

present = [p for p in PEERS if any(p in runs[k] for k in order if k[0] == "train")]
CEILING = {"mlp_gan": "mlp_gan_gemms", "dcgan28": "dcgan28_gemms"}
print("| model | threads | ours | " + " | ".join(LABEL[p] for p in present)
      + " | best peer | ours / best | our matmul-only ceiling | peak RSS MB ours / leanest peer | max foreign_load |")
print("|---|---|---|" + "---|" * len(present) + "---|---|---|---|---|")
for key in order:
    kind, model, threads = key
    if kind != "train":
        continue
    cells = runs[key]
    ours = cells.get("ours")
    om = med(ours) if ours else None
    best, best_name = None, None
    lean, lean_name = None, None
    for p in present:
        c = cells.get(p)
        if c is None:
            continue
        m = med(c)
        if m is not None and (best is None or m > best):
            best, best_name = m, LABEL[p]
        r = rss(c)
        if r is not None and (lean is None or r < lean):
            lean, lean_name = r, LABEL[p]
    loads = [r["foreign_load"] for c in cells.values() for r in c["res"] if "foreign_load" in r]
    ratio = "%.2fx" % (om / best) if om is not None and best else "—"
    best_s = "%s %s" % (best_name, fmt(best)) if best is not None else "no peer ran"
    orss = rss(ours) if ours else None
    if orss is not None and lean is not None:
        rss_s = "%.0f / %.0f (%s) = %.2fx" % (orss, lean, lean_name, orss / lean)
    elif orss is not None:
        rss_s = "%.0f / —" % orss
    else:
        rss_s = "—"
    ml = max(loads) if loads else None
    load_s = "—" if ml is None else ("%.2f" % ml) + (" (suspect)" if ml > 0.3 else "")
    name = "%s %s" % (model, UNIT.get(model, "it/s"))
    ceiling_cell = runs.get(("ceiling", CEILING.get(model, ""), threads), {}).get("ours")
    print("| %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
        name, threads, describe(ours), " | ".join(describe(cells.get(p)) for p in present),
        best_s, ratio, describe(ceiling_cell), rss_s, load_s))

ceil = [k for k in order if k[0] == "ceiling"]
if ceil:
    print()
    print("| our matmul-only ceiling | threads | ours it/s | GFLOP/s | max foreign_load |")
    print("|---|---|---|---|---|")
    for key in ceil:
        _, model, threads = key
        c = runs[key]["ours"]
        g = [r["achieved_gflops"] for r in c["res"] if "achieved_gflops" in r]
        loads = [r["foreign_load"] for r in c["res"] if "foreign_load" in r]
        ml = max(loads) if loads else None
        print("| %s | %d | %s | %s | %s |" % (
            model, threads, describe(c), "%.1f" % statistics.median(g) if g else "—",
            "—" if ml is None else ("%.2f" % ml) + (" (suspect)" if ml > 0.3 else "")))

print()
vers = ", ".join("%s %s" % (k, v) for k, v in sorted(versions.items()))
print("Machine: %s (%s CPUs); OpenBLAS core: %s (OPENBLAS_CORETYPE %s); %s; medians of %s "
      "alternating repeats, iterations x%s%s." % (
          cpu, ncpu, core, coretype, date, repeats, scale, ("; " + vers) if vers else ""))
if not_installed:
    print("Not installed: %s." % not_installed.rstrip("; "))
PY
