#!/usr/bin/env bash
# The whole test suite: unit, integration and doc tests, plus a one-shot run
# of the benchmarks so they cannot rot. Works on a fresh Debian machine with
# Rust; tests that need ../shared/data skip cleanly when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --all-targets
cargo test --doc
