#!/usr/bin/env bash
# CPU benchmark of the tiny presets in configs/: builds Moe.Bench (Release, CPU libtorch) and runs `all`,
# which prints one Markdown table (tokens/s, MFU against a measured fp32 matmul peak, MoE/dense cost) and
# writes the same as JSON. Extra arguments go to `all`, e.g. bench/cpu.sh --threads 1 --names default,switch
# Output: $OUT or artifacts/cpu-bench/results (cpu.md, cpu.json). See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

artifacts=${MOE_ARTIFACTS:-artifacts/cpu-bench}
results=${OUT:-$artifacts/results}
dotnet build bench/Moe.Bench/Moe.Bench.csproj -c Release -p:TorchBackend=cpu --artifacts-path "$artifacts" -v quiet -nologo
mkdir -p "$results"
echo "host: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%dT%H:%MZ)" | tee "$results/cpu.md"
dotnet "$artifacts/bin/Moe.Bench/release/Moe.Bench.dll" all --configs-dir configs --json "$results/cpu.json" "$@" | tee -a "$results/cpu.md"
