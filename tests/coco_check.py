#!/usr/bin/env python3
"""Checks a KaryoStation training export with pycocotools.

Usage: coco_check.py EXPORT_DIR EXPECTED_JSON

EXPECTED_JSON maps split -> annotation id -> [[x, y], ...], the stored mask
pixels (written by tests/export.rs from the case database). Every split's
annotations.json must load in pycocotools.coco.COCO, every annotation's mask
(annToMask) must have exactly the expected pixels, and area and bbox must
agree with it. Exit status 0 when everything matches.
"""
import json
import os
import sys

import numpy as np
from pycocotools import mask as mask_util
from pycocotools.coco import COCO


def main() -> int:
    export, expected_path = sys.argv[1], sys.argv[2]
    with open(expected_path) as f:
        expected = json.load(f)
    names = None
    checked = 0
    for split in ("train", "val"):
        path = os.path.join(export, split, "annotations.json")
        coco = COCO(path)
        cats = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
        names = names or cats
        want = expected.get(split, {})
        if len(want) != len(coco.getAnnIds()):
            print(f"{split}: {len(coco.getAnnIds())} annotations, expected {len(want)}")
            return 1
        for ann_id, pixels in want.items():
            ann = coco.loadAnns([int(ann_id)])[0]
            img = coco.loadImgs([ann["image_id"]])[0]
            m = coco.annToMask(ann)
            if m.shape != (img["height"], img["width"]):
                print(f"{split} annotation {ann_id}: mask shape {m.shape}")
                return 1
            ys, xs = np.nonzero(m)
            got = set(zip(xs.tolist(), ys.tolist()))
            if got != {tuple(p) for p in pixels}:
                print(f"{split} annotation {ann_id}: mask differs from the stored one")
                return 1
            rle = ann["segmentation"]
            if int(mask_util.area(rle)) != ann["area"] or ann["area"] != len(pixels):
                print(f"{split} annotation {ann_id}: area {ann['area']}")
                return 1
            if [round(v) for v in mask_util.toBbox(rle).tolist()] != [round(v) for v in ann["bbox"]]:
                print(f"{split} annotation {ann_id}: bbox {ann['bbox']}")
                return 1
            checked += 1
    expected_names = [str(i) for i in range(1, 23)] + ["X", "Y", "rejected"]
    if [names[k] for k in sorted(names)] != expected_names:
        print(f"categories: {names}")
        return 1
    print(f"coco_check: {checked} masks match the stored masks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
