#!/usr/bin/env bash
# On a GPU host, from the repository root, beside the publish that bench/gpu/publish.sh made in .gpu/app:
#   1. fp32 correctness: `Moe.Bench export` (on the CPU, through PyTorch's libtorch) then
#      `moe_reference.py check` for small presets: logits and losses must agree to 1e-4;
#   2. bf16 training-step tokens/s and MFU of TorchSharp and of the PyTorch reference on the GPU presets,
#      both against the same measured bf16 8192^3 matmul peak;
#   3. the MoE-layer vs dense-SwiGLU (equal active parameters) time ratio on the GPU presets;
#   4. end-to-end bf16 training with the trainer's own loop (TrainingRun: Brown windows, AdamW with fp32 masters,
#      evaluation, a checkpoint) of the ~0.5B mixtral preset and its dense twin (configs/train/brown-gpu.json);
# then one table. Logs and JSON lines go to $OUT (when set) or /tmp/moe-gpu-bench.
# Knobs (environment): CHECK_CONFIGS, GPU_CONFIGS, BATCH, SEQ, STEPS, WARMUP, TRAIN_STEPS, PYTHON, APP,
#   DISPATCH (segments|padded: the routed-expert kernel of both implementations; default: the configs' own).
set -uo pipefail
cd "$(dirname "$0")/../.."

APP=${APP:-.gpu/app/Moe.Bench}
PY=${PYTHON:-python3}
REF=bench/reference/moe_reference.py
LOG=${OUT:-/tmp/moe-gpu-bench}
CHECK_CONFIGS=${CHECK_CONFIGS:-"default switch st-moe mixtral dbrx openmoe deepseek-v2 deepseek-v3"}
GPU_CONFIGS=${GPU_CONFIGS:-"mixtral deepseek-v3 switch dense-mixtral"}
BATCH=${BATCH:-4}; SEQ=${SEQ:-2048}; STEPS=${STEPS:-10}; WARMUP=${WARMUP:-3}
DISPATCH_SET=(); [[ -n "${DISPATCH:-}" ]] && DISPATCH_SET=(--set "moe.dispatch=$DISPATCH")

mkdir -p "$LOG"
RESULTS=$LOG/results.jsonl
: > "$RESULTS"
say() { echo "[run.sh $(date +%H:%M:%S)] $*" | tee -a "$LOG/run.log" >&2; }
# Runs a command, logs everything, keeps its JSON lines; returns its exit code.
measure() {
  local name=$1; shift
  "$@" > "$LOG/$name.out" 2> "$LOG/$name.err"
  local rc=$?
  grep '^{' "$LOG/$name.out" >> "$RESULTS" || true
  [[ $rc -eq 0 ]] || say "FAILED ($rc): $* -- see $LOG/$name.err: $(tail -n 2 "$LOG/$name.err" | tr '\n' ' ')"
  return $rc
}

[[ -x "$APP" ]] || { say "$APP not found: run bench/gpu/publish.sh first and carry .gpu"; exit 1; }
TL=$("$PY" -c "import torch,os;print(os.path.join(os.path.dirname(torch.__file__),'lib'))") \
  || { say "$PY cannot import torch"; exit 1; }
export MOE_LIBTORCH_DIR=$TL
export LD_LIBRARY_PATH=$TL${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
say "libtorch: $TL ($("$PY" -c 'import torch;print(torch.__version__, torch.cuda.get_device_name(0))' 2>&1))"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >> "$LOG/run.log" 2>&1 || true

# 1. fp32 correctness on the CPU (deterministic), TorchSharp vs the reference, both on PyTorch's libtorch.
failed_checks=0
for c in $CHECK_CONFIGS; do
  dir=$LOG/export/$c
  measure "export-$c" "$APP" export --config "configs/$c.json" --out "$dir" --backend cuda --device cpu --batch 2 --seq 160 --json || { failed_checks=$((failed_checks+1)); continue; }
  "$PY" "$REF" check "$dir" --device cpu > "$LOG/check-$c.out" 2>&1
  rc=$?
  diff=$(awk '/logits +max/ {print $4}' "$LOG/check-$c.out")
  verdict=$([[ $rc -eq 0 ]] && echo PASS || echo FAIL)
  [[ $rc -eq 0 ]] || failed_checks=$((failed_checks+1))
  echo "{\"kind\":\"check\",\"config\":\"$c\",\"verdict\":\"$verdict\",\"logits_max_abs_diff\":\"${diff:-?}\"}" >> "$RESULTS"
  say "check $c: $verdict (logits max |diff| ${diff:-?})"
done

# 2. One peak for both implementations.
measure peak "$APP" peak --device cuda --json
PEAK=$("$PY" -c "import json,sys;print(next(r['peak_tflops'] for r in map(json.loads, open(sys.argv[1])) if r['kind'] == 'peak'))" "$RESULTS" 2>/dev/null)
[[ -n "$PEAK" ]] || { say "no peak measured; using 989 (H100 SXM dense bf16 datasheet)"; PEAK=989; }
say "bf16 matmul peak: $PEAK TFLOP/s"

# 3. Training-step throughput, then the MoE layer vs its dense twin.
for c in $GPU_CONFIGS; do
  cfg=configs/gpu/$c.json
  common=(--config "$cfg" --batch "$BATCH" --seq "$SEQ" --steps "$STEPS" --warmup "$WARMUP" --device cuda --dtype bf16 --peak-tflops "$PEAK" --json)
  grep -q '"moe"' "$cfg" && common+=("${DISPATCH_SET[@]}")
  measure "step-torchsharp-$c" "$APP" step "${common[@]}" && say "$(grep -v '^{' "$LOG/step-torchsharp-$c.out" | tail -n 1)"
  measure "step-pytorch-$c" "$PY" "$REF" bench "${common[@]}" && say "$(grep -v '^{' "$LOG/step-pytorch-$c.out" | tail -n 1)"
  if grep -q '"moe"' "$cfg"; then
    measure "moe-vs-dense-$c" "$APP" moe-vs-dense --config "$cfg" --batch "$BATCH" --seq "$SEQ" --steps $(( STEPS > 30 ? STEPS : 30 )) --warmup "$WARMUP" \
      --device cuda --dtype bf16 "${DISPATCH_SET[@]}" --json && say "$(grep -v '^{' "$LOG/moe-vs-dense-$c.out" | tail -n 1)"
  fi
done

# 4. End-to-end training on Brown (needs .gpu/data from publish.sh).
if [[ -d .gpu/data/brown-4k ]]; then
  measure train-brown "$APP" train --run-config configs/train/brown-gpu.json --steps "${TRAIN_STEPS:-100}" \
    --variants moe-switch,dense --dense-model configs/gpu/dense-mixtral.json --out "$LOG/runs" --device cuda --dtype bf16 --json \
    && grep '^|' "$LOG/train-brown.out" | tee -a "$LOG/run.log"
else
  say "skipping the training benchmark: .gpu/data is missing (run ./platform train, then bench/gpu/publish.sh)"
fi

# 5. One table.
"$PY" - "$RESULTS" <<'PYEOF' | tee "$LOG/table.md"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
checks = [r for r in rows if r["kind"] == "check"]
steps = {}
for r in rows:
    if r["kind"] == "step":
        steps.setdefault(r["config"], {})[r["impl"]] = r
layers = {r["config"]: r for r in rows if r["kind"] == "moe_vs_dense"}
print("\nfp32 TorchSharp vs PyTorch reference (CPU, tol 1e-4): " +
      ", ".join(f'{r["config"]} {r["verdict"]} ({r["logits_max_abs_diff"]})' for r in checks))
first = next((r for s in steps.values() for r in s.values()), {})
print(f'\nbf16 training steps on {first.get("device", "?")}, batch {first.get("batch")} x seq {first.get("seq")}, '
      f'peak {first.get("peak_tflops")} TFLOP/s ({first.get("peak_source")})\n')
def f(v, fmt): return "-" if v is None else format(v, fmt)
def pct(r): return "-" if r.get("mfu") is None else f'{100 * r["mfu"]:.1f}%'
print("| config | TorchSharp tok/s | PyTorch tok/s | TorchSharp/PyTorch | TorchSharp MFU | PyTorch MFU | MoE/dense layer |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, s in steps.items():
    ts, pt, layer = s.get("torchsharp", {}), s.get("pytorch", {}), layers.get(name, {})
    a, b = ts.get("tokens_per_s"), pt.get("tokens_per_s")
    print(f'| {name} | {f(a, ".0f")} | {f(b, ".0f")} | {f(a / b if a and b else None, ".2f")} | '
          f'{pct(ts)} | {pct(pt)} | '
          f'{f(layer.get("ratio"), ".2f")} |')
PYEOF

say "logs in $LOG"
[[ $failed_checks -eq 0 ]] || { say "$failed_checks correctness check(s) failed"; exit 1; }
