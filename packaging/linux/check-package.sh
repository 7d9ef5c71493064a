#!/usr/bin/env bash
# CI check of the Linux packages (run by .ci/run): builds the .deb and the
# portable .tar.gz (packaging/linux/package.sh), installs the .deb with
# `dpkg -i` (as root or with passwordless sudo; otherwise extracts it with
# `dpkg-deb -x` into a temporary root), then runs the installed program:
#   --version (packaged models verified, packaged ONNX Runtime loaded),
#   a headless `analyze` of a generated spread with the learned model,
#   the window under xvfb-run with a screenshot check,
#   the portable folder from a scratch directory,
#   bad input: an unwritable data directory, a missing library and a damaged
#   model each give a clear message naming the path,
# and finally removes the package and checks the case database is still there.
# Reports package sizes and the install time.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"

paths="$(packaging/linux/package.sh)"
deb="$(sed -n '1p' <<<"$paths")"
tarball="$(sed -n '2p' <<<"$paths")"
tests/setup-system.sh

work="$(mktemp -d)"
installed=""
cleanup() {
    if [ -n "$installed" ]; then $sudo dpkg -r karyostation >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# Nothing from the developer's environment may help the installed program.
unset KARYOSTATION_ORT_LIB ORT_DYLIB_PATH KARYOSTATION_MODELS KARYOSTATION_DB KARYOSTATION_BANDS
export XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" XDG_RUNTIME_DIR="$work/xdg"
mkdir -m 700 "$XDG_RUNTIME_DIR"

fail() { echo "check-package: FAILED: $*" >&2; exit 1; }
expect() { # expect NAME PATTERN TEXT
    grep -qF -- "$2" <<<"$3" || { printf '%s\n' "$3" >&2; fail "$1: expected to find '$2'"; }
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
if $sudo true 2>/dev/null; then
    if dpkg -s karyostation >/dev/null 2>&1; then fail "karyostation is already installed here; remove it first"; fi
    start="$(date +%s%N)"
    if ! $sudo dpkg -i "$deb" >"$work/dpkg.log" 2>&1; then
        # Missing dependencies: let apt bring them, then configure.
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -f -y -qq >>"$work/dpkg.log" 2>&1 ||
            { cat "$work/dpkg.log" >&2; fail "dpkg -i $deb"; }
    fi
    install_ms="$(ms_since "$start")"
    installed=1
    root=""
    how="dpkg -i"
else
    start="$(date +%s%N)"
    dpkg-deb -x "$deb" "$work/root"
    install_ms="$(ms_since "$start")"
    root="$work/root"
    how="dpkg-deb -x (no root)"
fi
bin="$root/usr/bin/karyostation"
[ -x "$bin" ] || fail "no installed binary at $bin"

# --version: the packaged models (hash-checked) and the packaged library.
v="$("$bin" --version)"
printf '%s\n' "$v"
expect "--version" "karyostation " "$v"
expect "--version models" "models: $root/usr/share/karyostation/models/models.json" "$v"
expect "--version model check" "[sha256 verified]" "$v"
expect "--version ONNX Runtime" "($root/usr/lib/karyostation/libonnxruntime.so)" "$v"
grep -qE '^karyostation [0-9.]+ \(git [0-9a-f]{7,}' <<<"$v" || fail "--version has no git hash"
grep -qE '^ONNX Runtime: [0-9]+\.[0-9]+' <<<"$v" || fail "--version has no ONNX Runtime version"

# A headless analysis with the packaged learned classifier.
"$bin" synth --out "$work/spread" --seed 11 --width 1024 --height 768 >/dev/null
"$bin" analyze "$work/spread/synth_11.png" --out "$work/analysis" --classifier onnx 2>"$work/analyze.err" ||
    { cat "$work/analyze.err" >&2; fail "analyze with the packaged model"; }
[ -s "$work/analysis/synth_11/karyogram.png" ] || fail "analyze wrote no karyogram"
karyotype="$(cat "$work/analysis/synth_11/karyotype.txt")"
expect "analysis model" "chromosome-classifier" "$(cat "$work/analysis/synth_11/analysis.json")"
echo "installed analyze: karyotype $karyotype"

# The window under Xvfb (demo case, screenshot, not blank).
tests/gui-screenshot.sh "$bin" "$work/installed-window.png"

# The portable folder, unpacked somewhere else and started from there.
mkdir -p "$work/portable"
tar -C "$work/portable" -xzf "$tarball"
pbin="$(ls -d "$work"/portable/karyostation-*/karyostation)"
pdir="$(dirname "$pbin")"
pv="$(cd / && "$pbin" --version)"
expect "portable models" "models: $pdir/models/models.json" "$pv"
expect "portable ONNX Runtime" "($pdir/lib/libonnxruntime.so)" "$pv"
(cd / && "$pbin" analyze "$work/spread/synth_11.png" --out "$work/portable-analysis" --classifier onnx >/dev/null 2>&1) ||
    fail "portable analyze"
echo "portable folder: runs from $pdir"

# Bad input, on an extracted copy so the installation stays intact.
broken="$work/broken"
dpkg-deb -x "$deb" "$broken"
bbin="$broken/usr/bin/karyostation"
# 1. Unwritable data directory (a file where the folder should be; root ignores permissions).
touch "$work/not-a-folder"
unwritable="$work/not-a-folder/data"
out="$(XDG_DATA_HOME="$unwritable" "$bbin" case new --accession BAD-1 2>&1)" && fail "case new with an unwritable data directory succeeded"
expect "unwritable data directory" "the case database $unwritable/karyostation/cases.sqlite cannot be created" "$out"
echo "unwritable data dir (CLI): $out"
# The window shows its "cannot be opened" screen (with the path) instead of crashing.
XDG_DATA_HOME="$unwritable" timeout 120 xvfb-run -a -s "-screen 0 1400x900x24" \
    "$bbin" --screenshot "$work/unwritable-window.png" 2>"$work/unwritable-window.err" ||
    { cat "$work/unwritable-window.err" >&2; fail "the window with an unwritable data directory"; }
sd="$(identify -format '%[fx:standard_deviation]' "$work/unwritable-window.png")"
awk -v sd="$sd" 'BEGIN { exit !(sd > 0.01) }' || fail "the unwritable-data-directory window is blank"
echo "unwritable data dir (window): failure screen shown, screenshot standard deviation $sd"
# A broken installation: `--version` names the problem; `analyze` notes it
# (naming PATH) and runs on the built-in algorithms; `--classifier onnx`
# refuses with MESSAGE. Usage: check_broken NAME PATH VERSION_TEXT MESSAGE
check_broken() {
    local name="$1" path="$2" version_text="$3" message="$4" out
    out="$("$bbin" --version)"
    expect "$name: --version" "$version_text" "$out"
    out="$("$bbin" analyze "$work/spread/synth_11.png" --out "$work/$name-auto" 2>&1)" ||
        fail "$name: analyze must fall back to the built-in algorithms"
    expect "$name: note" "$path" "$out"
    out="$("$bbin" analyze "$work/spread/synth_11.png" --out "$work/$name-onnx" --classifier onnx 2>&1)" &&
        fail "$name: --classifier onnx succeeded"
    expect "$name: error" "$message" "$out"
    echo "$name: $(grep -m1 -o "$message[^;(]*" <<<"$out")"
}
# 2. Missing library.
lib="$broken/usr/lib/karyostation/libonnxruntime.so"
rm "$lib"
check_broken "missing-library" "$lib" "ONNX Runtime: not available" "the ONNX Runtime library was not found (looked in: $broken/usr/bin"
# 3. Damaged model (library back in place).
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$broken" ./usr/lib/karyostation/libonnxruntime.so
model="$(ls "$broken"/usr/share/karyostation/models/*.onnx | head -n 1)"
printf 'damage' | dd of="$model" bs=1 seek=4096 conv=notrunc status=none
check_broken "damaged-model" "$model" "$model [NOT USABLE" "model file $model does not match its manifest entry"

# Removing the package leaves the case database in place.
db="$XDG_DATA_HOME/karyostation/cases.sqlite"
[ -f "$db" ] || "$bin" case new --accession PKG-1 >/dev/null
[ -f "$db" ] || fail "no case database at $db"
if [ -n "$installed" ]; then
    $sudo dpkg --purge karyostation >/dev/null
    installed=""
    [ ! -e /usr/bin/karyostation ] || fail "dpkg --purge left /usr/bin/karyostation"
    [ -f "$db" ] || fail "removing the package deleted $db"
    echo "package purged; case database kept: $db"
fi

deb_kb=$(( $(stat -c %s "$deb") / 1024 ))
tar_kb=$(( $(stat -c %s "$tarball") / 1024 ))
inst_kb="$(dpkg-deb -f "$deb" Installed-Size)"
echo "package sizes: $(basename "$deb") ${deb_kb} KiB (installed ${inst_kb} KiB), $(basename "$tarball") ${tar_kb} KiB"
echo "install time ($how): ${install_ms} ms"
echo "check-package: OK"
