#!/usr/bin/env python3
"""The classifier's crop preprocessing (the model contract), numpy and Pillow only.

Shared by training and evaluation, and run by the Rust test suite (tests/preprocess_parity.rs)
to check that src/infer/preprocess.rs prepares a crop as training did:

    python models/train/crop_preprocess.py OUT.f32 CROP.png [CROP.png ...]

writes, for each crop (8-bit grey, G-band look), the 128x64 float32 model input, row-major,
little-endian, one after another.
"""
import math
import sys

import numpy as np
from PIL import Image

IMG_H, IMG_W = 128, 64
MAX_UPSCALE = 4.0


def round_half_up(v):
    return int(math.floor(v + 0.5))


def preprocess_crop(gray):
    """uint8 HxW crop (dark chromosome on light) -> float32 [128,64], chromosome high, background 0.

    Returns (canvas, (x0, y0, nw, nh)) where the second item is the pasted rectangle.
    """
    h, w = gray.shape
    s = min(IMG_H / h, IMG_W / w, MAX_UPSCALE)
    nw = min(IMG_W, max(1, round_half_up(w * s)))
    nh = min(IMG_H, max(1, round_half_up(h * s)))
    im = Image.fromarray(gray, mode="L").resize((nw, nh), Image.BILINEAR)
    canvas = Image.new("L", (IMG_W, IMG_H), 255)
    x0, y0 = (IMG_W - nw) // 2, (IMG_H - nh) // 2
    canvas.paste(im, (x0, y0))
    x = 1.0 - np.asarray(canvas, dtype=np.float32) / 255.0
    return x, (x0, y0, nw, nh)


def _foreground(gray_dark_on_light):
    """Foreground mask of a crop (dark chromosome on light) and the threshold it used."""
    a = 255.0 - gray_dark_on_light.astype(np.float32)
    thr = max(20.0, 0.25 * float(a.max()) + 0.5 * float(np.mean(a)))
    return a > thr, thr


def _principal_axis(mask):
    """Foreground points centred, and the unit principal axis (x, y) pointing down; None if too few."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 5:
        return None
    pts = np.stack([xs, ys], 1).astype(np.float64)
    pts -= pts.mean(0)
    _, _, vt = np.linalg.svd(pts, full_matrices=False)
    axis = vt[0] if vt[0][1] >= 0 else -vt[0]
    return pts, axis


def axis_length(gray_dark_on_light):
    """Length of a possibly tilted chromosome: extent of foreground pixels along the principal axis."""
    found = _principal_axis(_foreground(gray_dark_on_light)[0])
    if found is None:
        return float(gray_dark_on_light.shape[0])
    pts, axis = found
    proj = pts @ axis
    return float(proj.max() - proj.min() + 1.0)


# Crops whose principal axis leans further than this from the vertical are turned upright
# before preprocessing (src/infer/preprocess.rs does the same): BioImLab crops are cut from
# karyograms at whatever angle the chromosome lay, about 40% of them more than 20 degrees off.
UPRIGHT_ABOVE_DEG = 15.0


def upright(gray_dark_on_light):
    """The crop turned by the smallest angle that makes its principal axis vertical, when it leans
    more than UPRIGHT_ABOVE_DEG (the top stays the top: the turn is always below 90 degrees),
    cropped to the foreground with a 2 px margin; otherwise the crop as given."""
    mask, thr = _foreground(gray_dark_on_light)
    found = _principal_axis(mask)
    if found is None:
        return gray_dark_on_light
    vx, vy = found[1]
    lean = math.degrees(math.atan2(vx, vy))  # > 0: the lower end lies to the right
    if abs(lean) <= UPRIGHT_ABOVE_DEG:
        return gray_dark_on_light
    turned = np.asarray(Image.fromarray(gray_dark_on_light, mode="L").rotate(
        -lean, resample=Image.BILINEAR, expand=True, fillcolor=255))
    cut = _darker_than(turned, thr)
    return gray_dark_on_light if cut is None else cut


def _darker_than(gray_dark_on_light, threshold):
    """The crop cut to the bounding box of its pixels with 255 - v > threshold plus a 2 px margin;
    None when there are none."""
    ys, xs = np.nonzero(255.0 - gray_dark_on_light.astype(np.float32) > threshold)
    if len(xs) == 0:
        return None
    h, w = gray_dark_on_light.shape
    y0, y1 = max(0, ys.min() - 2), min(h, ys.max() + 3)
    x0, x1 = max(0, xs.min() - 2), min(w, xs.max() + 3)
    return np.ascontiguousarray(gray_dark_on_light[y0:y1, x0:x1])


# Every crop is then cut to the bounding box of its pixels darker than 255 - TRIM_ABOVE, plus a
# 2 px margin (src/infer/preprocess.rs does the same). A fixed, low level: it removes a blank
# border and leaves a pale chromosome end alone. Some BioImLab karyotypes are cut as 200x100
# padded canvases with the chromosome a small part of them; Pki-3 crops and the pipeline's
# straightened crops are tight already and barely change.
TRIM_ABOVE = 20.0


def trim(gray_dark_on_light):
    """The crop cut to its pixels with 255 - v > TRIM_ABOVE plus a 2 px margin (as given when none)."""
    cut = _darker_than(gray_dark_on_light, TRIM_ABOVE)
    return gray_dark_on_light if cut is None else cut


def prepare(gray_dark_on_light):
    """The whole preprocessing of one crop in G-band look: upright, trim, fit. See preprocess_crop."""
    return preprocess_crop(trim(upright(gray_dark_on_light)))


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = np.concatenate([prepare(np.asarray(Image.open(p).convert("L")))[0].ravel() for p in argv[1:]])
    out.astype("<f4").tofile(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
