#!/usr/bin/env python3
"""Put a trained ONNX model into a models folder and its manifest (models.json).

Copies the file (unless it is already there), reads its input and output names and shapes
from the ONNX graph (symbolic dimensions become -1), computes its sha256 and writes or
replaces the manifest entry for the task. The Rust side (src/infer/manifest.rs) refuses a
model whose bytes, inputs or outputs do not match this entry.

    python models/train/register_model.py --onnx /work/ckpt-seg/out/chromosome_segmenter.onnx \
        --task segmenter --version 0.1.0 --models models
"""
import argparse
import hashlib
import json
import os
import shutil
import sys

TASKS = {
    "chromosome-classifier": dict(name="chromosome-classifier", file="chromosome_classifier.onnx",
                                  normalisation="gband_upright15_trim20_fit_128x64",
                                  classes=[str(i) for i in range(1, 23)] + ["X", "Y"],
                                  card="chromosome_classifier.card.md"),
    "segmenter": dict(name="chromosome-segmenter", file="chromosome_segmenter.onnx",
                      normalisation="density_p0.5_p99.5_pad16", classes=[],
                      card="chromosome_segmenter.card.md"),
}


def shapes(values):
    out = []
    for v in values:
        dims = [d.dim_value if d.HasField("dim_value") else -1 for d in v.type.tensor_type.shape.dim]
        out.append({"name": v.name, "shape": dims})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--task", required=True, choices=sorted(TASKS))
    ap.add_argument("--version", required=True)
    ap.add_argument("--models", default="models", help="models folder holding models.json")
    args = ap.parse_args()
    import onnx

    spec = TASKS[args.task]
    os.makedirs(args.models, exist_ok=True)
    target = os.path.join(args.models, spec["file"])
    if os.path.abspath(args.onnx) != os.path.abspath(target):
        shutil.copyfile(args.onnx, target)
    model = onnx.load(target)
    onnx.checker.check_model(model)
    with open(target, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    init = {i.name for i in model.graph.initializer}
    entry = {"name": spec["name"], "version": args.version, "task": args.task, "file": spec["file"],
             "sha256": digest, "inputs": shapes(i for i in model.graph.input if i.name not in init),
             "outputs": shapes(model.graph.output), "normalisation": spec["normalisation"],
             "classes": spec["classes"], "card": spec["card"]}
    manifest_path = os.path.join(args.models, "models.json")
    manifest = {"models": []}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    manifest["models"] = [m for m in manifest["models"] if m.get("task") != args.task] + [entry]
    manifest["models"].sort(key=lambda m: m["task"])
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"{manifest_path}: {args.task} {spec['name']} {args.version} sha256 {digest[:12]}... "
          f"inputs {entry['inputs']} outputs {entry['outputs']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
