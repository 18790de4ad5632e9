#!/usr/bin/env bash
# Set up (if needed) and run the dataset job on the bundled sample videos.
# Shards, videos.jsonl, report.json and dataset.json land in out/demo/ (or $1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
out="${1:-out/demo}"
rm -rf "$out"
.venv/bin/python -m pipelines.build_dataset \
  --input tests/data/demo_manifest.csv --output "$out" --num_shards 2 "${@:2}"
echo "demo output: $out"
ls -l "$out" "$out"/runs/*
