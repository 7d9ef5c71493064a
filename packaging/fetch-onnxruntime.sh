#!/usr/bin/env bash
# Puts the ONNX Runtime shared library where KaryoStation looks for it:
# <user data dir>/lib/libonnxruntime.so (~/.local/share/karyostation/lib on
# Linux), or the folder given as $1. The library comes from the PyPI wheel
# `onnxruntime` (the only offline-reachable source); nothing is installed into
# Python. Its licence and third-party notices are put beside it
# (onnxruntime-LICENSE.txt, onnxruntime-ThirdPartyNotices.txt) for the
# packages. Does nothing when the library and its licence are already there.
set -euo pipefail
VERSION="${ORT_VERSION:-1.31.1}"
DEST="${1:-${XDG_DATA_HOME:-$HOME/.local/share}/karyostation/lib}"
LIB="$DEST/libonnxruntime.so"
if [ -e "$LIB" ] && [ -e "$DEST/onnxruntime-LICENSE.txt" ]; then
  echo "ONNX Runtime already present: $LIB"
  exit 0
fi
PY="$(command -v python3 || command -v python || true)"
if [ -z "$PY" ]; then
  echo "error: python3 with pip is needed to fetch the onnxruntime wheel from PyPI" >&2
  exit 1
fi
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$PY" -m pip download --quiet --no-deps --only-binary=:all: \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --python-version 3.11 --implementation cp "onnxruntime==$VERSION" -d "$TMP"
WHEEL="$(ls "$TMP"/onnxruntime-*.whl | head -n 1)"
mkdir -p "$DEST"
"$PY" - "$WHEEL" "$DEST" <<'PYEOF'
import sys, zipfile, os
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if "/capi/libonnxruntime.so" in n and "providers" not in n]
    if not names:
        sys.exit("error: no libonnxruntime.so in " + wheel)
    name = sorted(names, key=len)[-1]
    target = os.path.join(dest, os.path.basename(name))
    with z.open(name) as src, open(target, "wb") as out:
        out.write(src.read())
    link = os.path.join(dest, "libonnxruntime.so")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(os.path.basename(target), link)
    for wanted, out in (("LICENSE", "onnxruntime-LICENSE.txt"),
                        ("ThirdPartyNotices.txt", "onnxruntime-ThirdPartyNotices.txt")):
        found = [n for n in z.namelist()
                 if n.startswith("onnxruntime/") and os.path.basename(n) == wanted]
        if not found:
            sys.exit("error: no onnxruntime/" + wanted + " in " + wheel)
        with z.open(sorted(found, key=len)[0]) as src, open(os.path.join(dest, out), "wb") as f:
            f.write(src.read())
    print("ONNX Runtime installed:", target)
PYEOF
