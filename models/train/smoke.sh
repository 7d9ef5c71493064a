#!/usr/bin/env bash
# CI smoke test of the Python training side: train_classifier.py --tiny and train_segmenter.py --tiny
# (a few steps each, throwaway ONNX in a temp dir), then onnxruntime loads both exports and checks
# the output shapes of the model contracts (models/train/README.md), and the classifier export
# rebuilt as a trainable network (classifier_model.from_onnx) gives the export's outputs.
#
# Works on a clean clone: without ../shared/data both --tiny runs train on a generated FAKE dataset.
#
#   bash models/train/smoke.sh
#   KARYOSTATION_TRAIN_VENV=/work/venv-train bash models/train/smoke.sh   # reuse a prepared venv
#
# Environment:
#   KARYOSTATION_TRAIN_VENV     venv to use / create (default ~/.cache/karyostation-ci/venv-train);
#                               packages from requirements.txt are installed when the imports fail
#   KARYOSTATION_DATA           data folder (default: the scripts' own default, ../shared/data)
#   KARYOSTATION_SMOKE_FAKE=1   force the fake-data path even when the data are present
#   KARYOSTATION_TRAIN_THREADS  torch threads (default 2)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${KARYOSTATION_TRAIN_VENV:-$HOME/.cache/karyostation-ci/venv-train}"
threads="${KARYOSTATION_TRAIN_THREADS:-2}"
py="$venv/bin/python"

if [ ! -x "$py" ]; then
    echo "smoke: creating venv $venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv"
fi
if ! "$py" -c "import torch, numpy, PIL, onnx, onnxscript, onnxruntime" 2>/dev/null; then
    echo "smoke: installing models/train/requirements.txt into $venv"
    "$py" -m pip install --quiet --upgrade pip
    "$py" -m pip install --quiet -r "$here/requirements.txt"
fi

data_args=()
if [ "${KARYOSTATION_SMOKE_FAKE:-0}" = "1" ]; then
    data_args=(--data /nonexistent/karyostation-smoke-fake)
elif [ -n "${KARYOSTATION_DATA:-}" ]; then
    data_args=(--data "$KARYOSTATION_DATA")
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/karyostation-smoke.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
cd "$repo"

echo "smoke: classifier --tiny"
"$py" models/train/train_classifier.py --tiny --ema 0.9 --strong-bend 0.5 --kink 0.5 ${data_args[@]+"${data_args[@]}"} --out "$tmp/clf" --ckpt "$tmp/ckpt-clf" --threads "$threads"
echo "smoke: segmenter --tiny"
"$py" models/train/train_segmenter.py --tiny ${data_args[@]+"${data_args[@]}"} --out "$tmp/seg" --ckpt "$tmp/ckpt-seg" --threads "$threads"

echo "smoke: onnxruntime checks"
"$py" - "$tmp/clf/chromosome_classifier.onnx" "$tmp/seg/chromosome_segmenter.onnx" <<'EOF'
import sys

import numpy as np
import onnxruntime as ort

clf_path, seg_path = sys.argv[1:3]
clf = ort.InferenceSession(clf_path, providers=["CPUExecutionProvider"])
assert [i.name for i in clf.get_inputs()] == ["image", "rel_length"], clf.get_inputs()
names = ["class_logits", "polarity_logit", "embedding"]
assert [o.name for o in clf.get_outputs()] == names, clf.get_outputs()
for n in (1, 3):
    outs = clf.run(names, {"image": np.random.rand(n, 1, 128, 64).astype(np.float32),
                           "rel_length": np.ones((n, 1), np.float32)})
    shapes = [o.shape for o in outs]
    assert shapes == [(n, 24), (n, 1), (n, 128)], shapes
    assert all(np.isfinite(o).all() for o in outs)
print(f"classifier ok: {clf_path}")

# The export rebuilt as a trainable network (train_classifier.py --init-onnx) runs like the export.
sys.path.insert(0, "models/train")
import torch  # noqa: E402
from classifier_model import from_onnx  # noqa: E402

gen = torch.Generator().manual_seed(0)
calib = torch.rand(64, 1, 128, 64, generator=gen), torch.rand(64, 1, generator=gen)
net = from_onnx(clf_path, *calib).eval()
x, r = torch.rand(5, 1, 128, 64, generator=gen), torch.rand(5, 1, generator=gen)
with torch.no_grad():
    mine = [t.numpy() for t in net(x, r)]
theirs = clf.run(names, {"image": x.numpy(), "rel_length": r.numpy()})
worst = max(float(np.abs(a - b).max()) for a, b in zip(mine, theirs))
assert worst < 1e-3, f"from_onnx differs from the export by {worst}"
print(f"classifier from_onnx round trip ok (max abs difference {worst:.2e})")

seg = ort.InferenceSession(seg_path, providers=["CPUExecutionProvider"])
assert [i.name for i in seg.get_inputs()] == ["image"], seg.get_inputs()
assert [o.name for o in seg.get_outputs()] == ["maps"], seg.get_outputs()
for h, w in ((96, 128), (576, 768), (512, 640)):
    (maps,) = seg.run(["maps"], {"image": np.random.rand(1, 1, h, w).astype(np.float32)})
    assert maps.shape == (1, 3, h, w), maps.shape
    assert maps.dtype == np.float32 and (maps >= 0).all() and (maps <= 1).all(), "maps must be probabilities"
print(f"segmenter ok: {seg_path}")
EOF
echo "smoke: all ok"
