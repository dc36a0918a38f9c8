#!/usr/bin/env bash
# Builds, on this (CPU) machine, the GPU-host publish of Moe.Bench: self-contained linux-x64 single file, compressed,
# TorchBackend=cuda-path (TorchSharp only, no libtorch: the GPU host's PyTorch provides it), into .gpu/app
# (git-ignored; about 40 MB, within the 64 MiB a device call may carry). Then run bench/gpu/run.sh on the GPU host.
set -euo pipefail
cd "$(dirname "$0")/../.."

out=.gpu/app
artifacts=${MOE_ARTIFACTS:-artifacts/gpu-publish}
rm -rf "$out"
dotnet publish bench/Moe.Bench/Moe.Bench.csproj -c Release -r linux-x64 --self-contained \
  -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -p:TorchBackend=cuda-path \
  --artifacts-path "$artifacts" -o "$out"

for f in Moe.Bench libLibTorchSharp.so; do
  [[ -f "$out/$f" ]] || { echo "publish.sh: $out/$f is missing" >&2; exit 1; }
done
if ls "$out" | grep -q '^libtorch_cpu\.so'; then
  echo "publish.sh: $out contains a CPU libtorch; TorchBackend=cuda-path was not honoured" >&2; exit 1
fi
du -sh "$out"
ls -la "$out"

# The prepared Brown data for the training benchmark (run.sh step 4): ./platform train makes it.
if [[ -f .data/datasets/brown-4k/manifest.json && -f .data/tokenizers/brown-4k/tokenizer.json ]]; then
  rm -rf .gpu/data && mkdir -p .gpu/data
  cp .data/tokenizers/brown-4k/tokenizer.json .gpu/data/
  cp -r .data/datasets/brown-4k .gpu/data/brown-4k
  du -sh .gpu/data
else
  echo "publish.sh: no prepared Brown data (.data/datasets/brown-4k); run ./platform train first for run.sh's training benchmark" >&2
fi
