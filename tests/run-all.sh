#!/usr/bin/env bash
# The whole test suite: unit, integration and doc tests, plus a one-shot run
# of the benchmarks so they cannot rot. Works on a fresh Debian machine with
# Rust and python3/pip: it first fetches the ONNX Runtime library from PyPI
# (packaging/fetch-onnxruntime.sh), and the model tests then require it; and
# it installs pycocotools into a venv (tests/setup-python.sh) for the COCO
# check of the training export (tests/export.rs), which then must run.
# Tests that need ../shared/data skip cleanly when it is absent. The window
# tests (tests/gui.rs, egui_kittest) render headless on Mesa lavapipe; the
# last step runs the real window under Xvfb (tests/gui-screenshot.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
./tests/setup-system.sh
./packaging/fetch-onnxruntime.sh
export KARYOSTATION_REQUIRE_ORT=1
KARYOSTATION_PYTHON="$(tests/setup-python.sh)"
export KARYOSTATION_PYTHON
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
chmod 700 "$XDG_RUNTIME_DIR"
cargo test --all-targets
cargo test --doc
# The real window under Xvfb: demo case, screenshot, not blank.
cargo build
./tests/gui-screenshot.sh target/debug/karyostation target/gui-screenshot.png
