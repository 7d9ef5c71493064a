#!/usr/bin/env bash
# The whole test suite: unit, integration and doc tests, plus a one-shot run
# of the benchmarks so they cannot rot. Works on a fresh Debian machine with
# Rust and python3/pip: it first fetches the ONNX Runtime library from PyPI
# (packaging/fetch-onnxruntime.sh), and the model tests then require it; and
# it installs pycocotools into a venv (tests/setup-python.sh) for the COCO
# check of the training export (tests/export.rs), which then must run.
# Tests that need ../shared/data skip cleanly when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
./packaging/fetch-onnxruntime.sh
export KARYOSTATION_REQUIRE_ORT=1
KARYOSTATION_PYTHON="$(tests/setup-python.sh)"
export KARYOSTATION_PYTHON
cargo test --all-targets
cargo test --doc
