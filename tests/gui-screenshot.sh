#!/usr/bin/env bash
# Runs the real window under Xvfb on a fresh database (the demo case is
# created and analysed on first start), saves a screenshot once the case is
# shown, and checks the PNG is not blank. Usage: tests/gui-screenshot.sh
# [BINARY] [OUT.png]. System packages come from tests/setup-system.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/debug/karyostation}"
out="${2:-target/gui-screenshot.png}"
tests/setup-system.sh
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export XDG_RUNTIME_DIR="$work/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR"
# Keep the user's own preferences and window state out of the check, but
# still find the ONNX Runtime library fetched into the user data folder.
ort="${XDG_DATA_HOME:-$HOME/.local/share}/karyostation/lib/libonnxruntime.so"
[ -e "$ort" ] && export KARYOSTATION_ORT_LIB="${KARYOSTATION_ORT_LIB:-$ort}"
export XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config"
rm -f "$out"
timeout 300 xvfb-run -a -s "-screen 0 1400x900x24" \
    "$bin" --db "$work/cases.sqlite" --screenshot "$out"
[ -s "$out" ] || { echo "no screenshot written" >&2; exit 1; }
size="$(identify -format '%w %h' "$out")"
sd="$(identify -format '%[fx:standard_deviation]' "$out")"
echo "screenshot $out: ${size}, standard deviation ${sd}"
# A blank (single-colour) window has deviation 0; the demo gallery is far above.
awk -v sd="$sd" 'BEGIN { exit !(sd > 0.05) }' || { echo "the screenshot is blank" >&2; exit 1; }
