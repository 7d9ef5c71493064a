#!/usr/bin/env bash
# Prints the path of a Python that has pycocotools and Pillow (for
# tests/coco_check.py, run by tests/export.rs, and for
# models/train/crop_preprocess.py, run by tests/preprocess_parity.rs),
# installing them from PyPI into a virtual environment first when needed:
# ${KARYOSTATION_VENV:-~/.cache/karyostation-ci/venv}.
# Messages go to stderr; stdout is only the path. Exits 1 with a clear
# message when Python or pip is not available.
set -euo pipefail
VENV="${KARYOSTATION_VENV:-$HOME/.cache/karyostation-ci/venv}"
CHECK='import pycocotools.coco, numpy, PIL'
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "$CHECK" 2>/dev/null; then
  echo "$VENV/bin/python"
  exit 0
fi
PY="$(command -v python3 || command -v python || true)"
if [ -z "$PY" ]; then
  echo "error: python3 is needed for the COCO check (pycocotools)" >&2
  exit 1
fi
mkdir -p "$(dirname "$VENV")"
if "$PY" -m venv "$VENV" >&2 2>/dev/null && [ -x "$VENV/bin/python" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check pycocotools pillow >&2
  echo "$VENV/bin/python"
  exit 0
fi
# No venv module (Debian without python3-venv): install into a plain folder.
rm -rf "$VENV"
if ! "$PY" -m pip --version >/dev/null 2>&1; then
  echo "error: pip is not available: install python3-pip (or python3-venv) for the COCO check" >&2
  exit 1
fi
"$PY" -m pip install --quiet --disable-pip-version-check --target "$VENV/site" pycocotools pillow >&2
mkdir -p "$VENV/bin"
cat > "$VENV/bin/python" <<WRAP
#!/usr/bin/env bash
PYTHONPATH="$VENV/site\${PYTHONPATH:+:\$PYTHONPATH}" exec "$PY" "\$@"
WRAP
chmod +x "$VENV/bin/python"
"$VENV/bin/python" -c "$CHECK"
echo "$VENV/bin/python"
