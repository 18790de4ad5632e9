#!/usr/bin/env bash
# The GPU check of issue 23 (benchmarks/gpu_check.py says what it measures), from anywhere:
#
#   bash benchmarks/gpu_check.sh                      # on a machine with an NVIDIA GPU
#   bash benchmarks/gpu_check.sh --device CPU --small # end to end on any machine
#   GPU_CHECK_SMALL=1 bash benchmarks/gpu_check.sh --device CPU
#
# Numbers go to one JSON file (--out, default gpu_check.json in the current folder); every
# other option goes to benchmarks/gpu_check.py. Uses the repository's .venv when there is one.
# Under 8 minutes on a GPU machine (most of it bench_pipeline's CPU decode floor; its
# corpus is encoded once, about 1.5 minutes more, and cached in --work).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-$repo/.venv/bin/python}
[ -x "$python" ] || python=python3
args=("$@")
[ "${GPU_CHECK_SMALL:-0}" = 1 ] && args+=(--small)
out=gpu_check.json
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = --out ] && out=${args[$((i + 1))]}
done
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
cd "$repo"
exec "$python" -m benchmarks.gpu_check "${args[@]}" --out "$out"
