#!/usr/bin/env bash
# The README's run command: provides the ONNX Runtime library (for the learned
# models; the app falls back to its built-in algorithms without it), then runs
# KaryoStation in release mode. Without arguments it opens the demo case.
set -euo pipefail
cd "$(dirname "$0")/.."
./packaging/fetch-onnxruntime.sh >/dev/null || echo "note: ONNX Runtime could not be fetched; the built-in algorithms will be used" >&2
exec cargo run --release -- "$@"
