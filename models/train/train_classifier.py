#!/usr/bin/env python3
"""Train the KaryoStation chromosome classifier (class + polarity + embedding) on CPU.

Data: Pki-3 G-band crops and BioImLab Q-band crops (inverted to G-band polarity),
read from --data (the project's ../shared/data). Images are never copied into
the repository; a preprocessed cache goes to --cache (outside the repo).

    python models/train/train_classifier.py --data ../shared/data --out models --epochs 14 --seed 1
    python models/train/train_classifier.py --data ../shared/data --out /tmp/x --tiny   # CI smoke test

--tiny without the data (a clean clone) trains on a small generated FAKE crop dataset instead.

See models/train/README.md for the model contract.
"""
import argparse
import atexit
import csv
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classifier_model import CLASS_NAMES, ChromosomeNet, from_onnx  # noqa: E402
from crop_preprocess import IMG_H, IMG_W, axis_length, prepare  # noqa: E402  (the contract)

CLASS_INDEX = {n: i for i, n in enumerate(CLASS_NAMES)}
VAL_FRACTION = 0.15
SPLIT_SEED = 20240611  # fixed: the split must not change with --seed


# ---------------------------------------------------------------- data
def load_rows(data, mfish_csv=None):
    """List of dicts: path, label, cell, group (split unit), ds ('pki3'|'bioimlab'|'mfish'), [length]."""
    rows = []
    p = os.path.join(data, "pki3", "crops.csv")
    if os.path.exists(p):
        for r in csv.DictReader(open(p)):
            rows.append(dict(path=os.path.join(data, "pki3", r["path"]), label=CLASS_INDEX[r["class"]],
                             cell="pki3/" + r["karyogram"], group="pki3/" + r["case"], ds="pki3"))
    p = os.path.join(data, "bioimlab", "crops.csv")
    if os.path.exists(p):
        for r in csv.DictReader(open(p)):
            rows.append(dict(path=os.path.join(data, "bioimlab", r["path"]), label=CLASS_INDEX[r["class"]],
                             cell="bioimlab/" + r["karyotype"], group="bioimlab/" + r["karyotype"], ds="bioimlab"))
    if mfish_csv and os.path.exists(mfish_csv):
        # Straightened crops cut by the Rust pipeline from the labelled M-FISH spreads
        # (`karyostation mfish-crops`): already G-band look, long axis vertical, p arm
        # up or down unknown (polarity loss masked). length_px is the pipeline's own
        # length measure, the one the Rust side turns into rel_length.
        base = os.path.dirname(os.path.abspath(mfish_csv))
        for r in csv.DictReader(open(mfish_csv)):
            rows.append(dict(path=os.path.join(base, r["path"]), label=CLASS_INDEX[r["class"]],
                             cell="mfish/" + r["image"], group="mfish/" + r["slide"], ds="mfish",
                             length=float(r["length_px"])))
    return rows


DS_CODES = {"pki3": 0, "bioimlab": 1, "mfish": 2}
SEGMENTER_SPLITS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "segmenter_splits.json")


def make_split(rows):
    """Seeded split by patient case (Pki-3) / karyotype folder (BioImLab): returns set of validation groups."""
    val = set()
    for ds in ("pki3", "bioimlab"):
        groups = sorted({r["group"] for r in rows if r["ds"] == ds})
        rng = random.Random(SPLIT_SEED)
        rng.shuffle(groups)
        nval = max(1, round(len(groups) * VAL_FRACTION)) if groups else 0
        val.update(groups[:nval])
    # M-FISH: the segmenter's validation slides, so end-to-end figures on them are clean.
    if any(r["ds"] == "mfish" for r in rows) and os.path.exists(SEGMENTER_SPLITS):
        val.update("mfish/" + f for f in json.load(open(SEGMENTER_SPLITS))["mfish_val"])
    return val


def write_splits(rows, val_groups, path):
    out = {"split_seed": SPLIT_SEED, "val_fraction": VAL_FRACTION,
           "note": "validation units: Pki-3 by 'case' column, BioImLab by 'karyotype' folder; everything else is training",
           "pki3_val_cases": sorted(g.split("/", 1)[1] for g in val_groups if g.startswith("pki3/")),
           "bioimlab_val_karyotypes": sorted((g.split("/", 1)[1] for g in val_groups if g.startswith("bioimlab/")),
                                             key=lambda v: (len(v), v))}
    for ds in ("pki3", "bioimlab"):
        out[ds + "_counts"] = {
            "train_crops": sum(1 for r in rows if r["ds"] == ds and r["group"] not in val_groups),
            "val_crops": sum(1 for r in rows if r["ds"] == ds and r["group"] in val_groups)}
    with open(path, "w") as f:
        json.dump(out, f, indent=1)


def build_arrays(rows):
    """Preprocess every crop once (no augmentation): canvases uint8, rects, rel_length."""
    n = len(rows)
    imgs = np.zeros((n, IMG_H, IMG_W), np.uint8)
    rects = np.zeros((n, 4), np.int16)
    lengths = np.zeros(n, np.float32)
    for i, r in enumerate(rows):
        g = np.asarray(Image.open(r["path"]).convert("L"))
        if r["ds"] == "bioimlab":
            g = 255 - g  # fluorescence -> G-band polarity
            lengths[i] = axis_length(g)
        elif r["ds"] == "mfish":
            lengths[i] = r["length"]
        else:
            lengths[i] = g.shape[0]  # upright crop: height is the length
        x, rect = prepare(g)
        imgs[i] = np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8)
        rects[i] = rect
    cells = {}
    for i, r in enumerate(rows):
        cells.setdefault(r["cell"], []).append(i)
    rel = np.zeros(n, np.float32)
    for idx in cells.values():
        m = lengths[idx].mean()
        rel[idx] = lengths[idx] / m
    return imgs, rects, rel


def cached_arrays(rows, cache):
    key = f"{len(rows)}_{rows[0]['path'][-40:]}_{rows[-1]['path'][-40:]}".replace("/", "_")
    f = os.path.join(cache, f"prep_v3_{key}.npz") if cache else None
    if f and os.path.exists(f):
        z = np.load(f)
        return z["imgs"], z["rects"], z["rel"]
    imgs, rects, rel = build_arrays(rows)
    if f:
        os.makedirs(cache, exist_ok=True)
        np.savez(f, imgs=imgs, rects=rects, rel=rel)
    return imgs, rects, rel


def has_crop_data(data):
    return any(os.path.exists(os.path.join(data, ds, "crops.csv")) for ds in ("pki3", "bioimlab"))


def _fake_crop(rng, cls, fluorescence):
    """One fake chromosome crop: a dark banded capsule on white (G-band look), or bright on dark."""
    length = int(80 - 2.2 * cls + rng.integers(-4, 5))
    width = int(rng.integers(14, 20))
    h, w = length + 6, width + 6
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx, r = h / 2, w / 2, width / 2
    dy = np.maximum(np.abs(yy - cy) - (length / 2 - r), 0)
    inside = np.clip(r - np.hypot(dy, xx - cx) + 0.5, 0, 1)  # anti-aliased capsule
    bands = 0.55 + 0.45 * np.sin(yy * (0.35 + 0.02 * cls) + cls) ** 2
    dark = inside * bands * rng.uniform(0.6, 0.9)
    v = 255.0 * (1 - dark) + rng.normal(0, 3, (h, w)) * inside
    if fluorescence:
        v = 255.0 - v
    return np.clip(np.round(v), 0, 255).astype(np.uint8)


def write_fake_crops(root, seed=0, n_pki_cases=3, n_bio_karyotypes=2):
    """Write a small FAKE crop dataset in the real layout (pki3/ and bioimlab/ crops + crops.csv).

    Used only by --tiny when --data has no crops, so CI on a clean clone still exercises
    loading, training and export.
    """
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(root, "pki3"), exist_ok=True)
    with open(os.path.join(root, "pki3", "crops.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["path", "class", "karyogram", "case"])
        for c in range(n_pki_cases):
            case = f"9900{c:04d}"
            kg = f"{case}.1"
            os.makedirs(os.path.join(root, "pki3", "crops", kg), exist_ok=True)
            for ci, name in enumerate(CLASS_NAMES):
                for k in range(2):
                    rel = f"crops/{kg}/{name}_{k}.png"
                    Image.fromarray(_fake_crop(rng, ci + 1, False)).save(os.path.join(root, "pki3", rel))
                    wr.writerow([rel, name, kg, case])
    os.makedirs(os.path.join(root, "bioimlab"), exist_ok=True)
    with open(os.path.join(root, "bioimlab", "crops.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["path", "class", "karyotype"])
        for kt in range(1, n_bio_karyotypes + 1):
            os.makedirs(os.path.join(root, "bioimlab", "crops", str(kt)), exist_ok=True)
            for ci, name in enumerate(CLASS_NAMES):
                for hom in "ab":
                    rel = f"crops/{kt}/{name}{hom}.png"
                    Image.fromarray(_fake_crop(rng, ci + 1, True)).save(os.path.join(root, "bioimlab", rel))
                    wr.writerow([rel, name, str(kt)])


# ---------------------------------------------------------------- augmentation (batched, torch, seeded)
def arc_bend(xn, yn, angle, side):
    """Bends an upright chromosome into a circular arc, as strongly bent (C-shaped) ones lie in a spread.

    xn, yn: [B,H,W] normalised output coordinates (affine_grid's, -1..1). angle: [B] total turn of the
    arc in radians (0 = straight); side: [B] +1 / -1, the side the arc's centre lies on. Returns the
    input coordinates each output pixel comes from: the distance from the arc becomes the distance from
    the upright axis, and the arc length from the arc's middle the height, so the chromosome keeps its
    width along the bend (a row shear would thin it). The view is zoomed so that the bent chromosome's
    height and sideways bulge fill the canvas as the crop's fit to IMG_H x IMG_W would.
    """
    length = 0.9 * IMG_H  # the part of the canvas a fitted chromosome spans, in pixels
    theta = angle.clamp_min(1e-3)[:, None, None]
    side = side[:, None, None]
    radius = length / theta
    chord = 2 * radius * torch.sin(theta / 2)
    sagitta = radius * (1 - torch.cos(theta / 2))
    zoom = torch.maximum(chord / length, (sagitta + 0.35 * IMG_W) / IMG_W).clamp(max=1.0)
    # output pixel, in pixels from the canvas centre, zoomed
    px, py = xn * (IMG_W / 2) * zoom, yn * (IMG_H / 2) * zoom
    # the arc's middle sits half its bulge off-centre, so the bent chromosome is centred
    cx = -side * sagitta / 2 + side * radius
    dx, dy = px - cx, py
    r = torch.sqrt(dx * dx + dy * dy)
    phi = torch.atan2(dy, side * (cx - px))
    x_in = side * (radius - r)
    y_in = radius * phi
    return x_in / (IMG_W / 2), y_in / (IMG_H / 2)


def kink_bend(xn, yn, length, width, centre, bend_len, angle, side):
    """Bends an upright chromosome at one place only: straight, then an arc turning `angle` over `bend_len`
    pixels around `centre` (pixels from the chromosome's middle along it), then straight again; J and hook
    shapes, which a single arc (`arc_bend`) does not make.

    xn, yn: [B,H,W] normalised output coordinates; length, width: [B] the chromosome's length and width
    in canvas pixels (its crop rectangle); the rest [B]. Every output pixel is given the nearest of the
    three pieces (the straight start, the arc, the straight end) that it lies beside, and the input
    position at its distance from that piece and its arc length along the chromosome. The view is zoomed
    so that the bent chromosome fills the canvas as the crop's fit to IMG_H x IMG_W would.
    """
    def col(v):  # [B] -> [B,1,1], to broadcast over the canvas
        return v[:, None, None]

    theta = angle.clamp_min(1e-3)
    radius = bend_len / theta
    s0 = centre - bend_len / 2  # where the arc starts, in pixels from the middle along the chromosome
    half = length / 2

    def centreline(s):  # [B,K] arc lengths -> points of the bent centre line
        phi = ((s - s0[:, None]) / radius[:, None]).clamp(0, 1) * theta[:, None]
        before = (s - s0[:, None]).clamp(max=0)
        after = (s - s0[:, None] - bend_len[:, None]).clamp(min=0)
        x = side[:, None] * radius[:, None] * (1 - torch.cos(phi)) + after * side[:, None] * torch.sin(theta)[:, None]
        y = s0[:, None] + before + radius[:, None] * torch.sin(phi) + after * torch.cos(theta)[:, None]
        return x, y

    samples = torch.linspace(-1, 1, 33)[None] * half[:, None]
    cx_, cy_ = centreline(samples)
    x_lo, x_hi, y_lo, y_hi = cx_.amin(1), cx_.amax(1), cy_.amin(1), cy_.amax(1)
    zoom = torch.maximum((y_hi - y_lo + width) / IMG_H, (x_hi - x_lo + width) / IMG_W).clamp(max=1.6)
    px = col((x_lo + x_hi) / 2) + xn * (IMG_W / 2) * col(zoom)
    py = col((y_lo + y_hi) / 2) + yn * (IMG_H / 2) * col(zoom)

    sd, th, R, S0 = col(side), col(theta), col(radius), col(s0)
    big = torch.full_like(px, 1e9)
    # the straight start: along y, up to s0
    d_a, s_a = px, py
    ok_a = py <= S0
    # the arc: centre (side * R, s0)
    rx, ry = px - sd * R, py - S0
    r = torch.sqrt(rx * rx + ry * ry)
    phi = torch.atan2(ry, -sd * rx)
    d_b, s_b = sd * (R - r), S0 + R * phi
    ok_b = (phi >= 0) & (phi <= th)
    # the straight end, from the arc's end E along its tangent
    ex, ey = sd * R * (1 - torch.cos(th)), S0 + R * torch.sin(th)
    along = (px - ex) * sd * torch.sin(th) + (py - ey) * torch.cos(th)
    d_c = (px - ex) * torch.cos(th) - (py - ey) * sd * torch.sin(th)
    s_c = S0 + R * th + along
    ok_c = along >= 0
    dist = torch.stack([torch.where(ok_a, d_a.abs(), big), torch.where(ok_b, d_b.abs(), big),
                        torch.where(ok_c, d_c.abs(), big)])
    pick = dist.argmin(0)
    d = torch.where(pick == 0, d_a, torch.where(pick == 1, d_b, d_c))
    s = torch.where(pick == 0, s_a, torch.where(pick == 1, s_b, s_c))
    return d / (IMG_W / 2), s / (IMG_H / 2)


def augment(x, rect_mask, rel, pol_known, gen, strong_bend=0.0, kink=0.0):
    """x: [B,1,H,W] in [0,1] (chromosome high). Returns augmented x, rel, polarity target, polarity mask.

    strong_bend: share of samples bent into a C-shaped arc turning 40-130 degrees (arc_bend); kink: share
    of the others bent at one place, 60-180 degrees (kink_bend). Both bend stouter crops less (rectangle
    height / width 4 and more: in full; 1.5 and less: not at all), and replace the mild row shear."""
    B = x.shape[0]
    dev = x.device

    def U(lo, hi, n=B):
        return lo + (hi - lo) * torch.rand(n, generator=gen)

    # 180 degree flip: defines the polarity label (1 = p arm at top)
    flip = torch.rand(B, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1, -2), x)
    rect_mask = torch.where(flip[:, None, None, None], rect_mask.flip(-1, -2), rect_mask)
    pol = (~flip).float()
    # left-right mirror keeps class and p-up
    mir = torch.rand(B, generator=gen) < 0.5
    x = torch.where(mir[:, None, None, None], x.flip(-1), x)
    rect_mask = torch.where(mir[:, None, None, None], rect_mask.flip(-1), rect_mask)

    # geometry: rotation +-10 deg, scale +-10%, shift +-3px, bending (quadratic / sinusoidal row shear)
    th = U(-10, 10) * math.pi / 180
    sc = torch.exp(U(math.log(0.9), math.log(1.1)))
    tx, ty = U(-3, 3) / (IMG_W / 2), U(-3, 3) / (IMG_H / 2)
    c, s = torch.cos(th) / sc, torch.sin(th) / sc
    a = IMG_H / IMG_W
    theta = torch.stack([torch.stack([c, -s * a, tx], 1), torch.stack([s / a, c, ty], 1)], 1)
    grid = F.affine_grid(theta, (B, 1, IMG_H, IMG_W), align_corners=False)
    if strong_bend > 0 or kink > 0:
        # strong bends, applied before the affine step (output -> bend -> affine -> input): long thin
        # chromosomes bend, short stout ones hardly do (aspect of the crop's rectangle)
        base = F.affine_grid(torch.eye(2, 3).expand(B, 2, 3), (B, 1, IMG_H, IMG_W), align_corners=False)
        rows = (rect_mask[:, 0].amax(2) > 0.5).sum(1).float().clamp_min(1)
        cols = (rect_mask[:, 0].amax(1) > 0.5).sum(1).float().clamp_min(1)
        slender = ((rows / cols - 1.5) / 2.5).clamp(0, 1)

        def then_affine(bx, by):
            return torch.einsum("bij,bhwj->bhwi", theta[:, :, :2], torch.stack([bx, by], -1)) + theta[:, None, None, :, 2]

    arc = kinked = torch.zeros(B, dtype=torch.bool)
    if strong_bend > 0:
        arc = torch.rand(B, generator=gen) < strong_bend
        if arc.any():
            side = torch.where(torch.rand(B, generator=gen) < 0.5, -1.0, 1.0)
            bx, by = arc_bend(base[..., 0], base[..., 1], U(40, 130) * slender * math.pi / 180, side)
            grid = torch.where(arc[:, None, None, None], then_affine(bx, by), grid)
    if kink > 0:
        # a bend at one place (J and hook shapes) for some of the samples the arc left alone
        kinked = (torch.rand(B, generator=gen) < kink) & ~arc
        if kinked.any():
            side = torch.where(torch.rand(B, generator=gen) < 0.5, -1.0, 1.0)
            bend_len = U(0.15, 0.45) * rows
            centre = U(-0.3, 0.3) * rows
            bx, by = kink_bend(base[..., 0], base[..., 1], rows, cols, centre, bend_len,
                               U(60, 180) * slender * math.pi / 180, side)
            grid = torch.where(kinked[:, None, None, None], then_affine(bx, by), grid)
    yn = grid[..., 1]
    bend_q = U(-0.25, 0.25)[:, None, None] * (yn ** 2 - 0.33)
    bend_s = U(0, 0.12)[:, None, None] * torch.sin(U(1, 3)[:, None, None] * math.pi * yn + U(0, 6.3)[:, None, None])
    use_bend = ((torch.rand(B, generator=gen) < 0.6) & ~arc & ~kinked).float()[:, None, None]
    grid = grid.clone()
    grid[..., 0] = grid[..., 0] + use_bend * (bend_q + bend_s)
    both = F.grid_sample(torch.cat([x, rect_mask], 1), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    x, rect_mask = both[:, :1], both[:, 1:]

    # neighbour fragments: a random piece of another crop pasted at an edge, partly off-canvas
    nb = torch.roll(x, 1, 0)
    sel = torch.nonzero(torch.rand(B, generator=gen) < 0.35).flatten().tolist()
    for i in sel:
        ph = int(torch.randint(16, 70, (1,), generator=gen))
        pw = int(torch.randint(8, 32, (1,), generator=gen))
        sy = int(torch.randint(0, IMG_H - ph + 1, (1,), generator=gen))
        sx = int(torch.randint(0, IMG_W - pw + 1, (1,), generator=gen))
        piece = nb[i, 0, sy:sy + ph, sx:sx + pw]
        side = int(torch.randint(0, 4, (1,), generator=gen))
        if side < 2:  # left / right edge, anywhere vertically
            dy = int(torch.randint(-ph // 2, IMG_H - ph // 2, (1,), generator=gen))
            ov = int(torch.randint(pw // 3, pw + 1, (1,), generator=gen))  # visible width
            dx = ov - pw if side == 0 else IMG_W - ov
        else:  # top / bottom edge
            dx = int(torch.randint(-pw // 2, IMG_W - pw // 2, (1,), generator=gen))
            ov = int(torch.randint(ph // 4, ph // 2 + 1, (1,), generator=gen))
            dy = ov - ph if side == 2 else IMG_H - ov
        y0, y1, x0, x1 = max(0, dy), min(IMG_H, dy + ph), max(0, dx), min(IMG_W, dx + pw)
        if y1 > y0 and x1 > x0:
            src = piece[y0 - dy:y1 - dy, x0 - dx:x1 - dx]
            x[i, 0, y0:y1, x0:x1] = torch.maximum(x[i, 0, y0:y1, x0:x1], src)

    # Gaussian blur sigma 0..1.2 (per sample, separable, grouped conv)
    sig = U(0, 1.2).clamp_min(1e-3)
    k = torch.arange(-3, 4, dtype=torch.float32)
    ker = torch.exp(-(k[None] ** 2) / (2 * sig[:, None] ** 2))
    ker = ker / ker.sum(1, keepdim=True)
    xb = x.permute(1, 0, 2, 3)  # [1,B,H,W]
    xb = F.conv2d(F.pad(xb, (0, 0, 3, 3), mode="replicate"), ker[:, None, :, None], groups=B)
    xb = F.conv2d(F.pad(xb, (3, 3, 0, 0), mode="replicate"), ker[:, None, None, :], groups=B)
    x = xb.permute(1, 0, 2, 3)

    # photometric: gamma, contrast, background level inside the crop rectangle, noise
    x = x.clamp(0, 1)
    g = torch.exp(U(math.log(0.7), math.log(1.4)))[:, None, None, None]
    cst = U(0.7, 1.15)[:, None, None, None]
    x = x.pow(g) * cst
    bg = (U(0, 0.12) * (torch.rand(B, generator=gen) < 0.5).float())[:, None, None, None]
    x = x + bg * rect_mask.clamp(0, 1) * (1 - x)
    x = x + U(0, 0.04)[:, None, None, None] * torch.randn(x.shape, generator=gen)
    x = x.clamp(0, 1)

    # rel_length: unknown (0) for 30%, else +-8% multiplicative jitter
    rel = rel * U(0.92, 1.08)
    rel = torch.where(torch.rand(B, generator=gen) < 0.3, torch.zeros_like(rel), rel)
    return x.to(dev), rel[:, None], pol, pol_known


# ---------------------------------------------------------------- training
def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def evaluate(model, imgs, rel, labels, ds, bs=256):
    """Top-1 per dataset (with rel_length and with rel_length=0) and Pki-3 polarity (upright+flipped)."""
    model.eval()
    res = {}
    with torch.no_grad():
        def run(x, r):
            outs = []
            for i in range(0, len(x), bs):
                a, p, _ = model(x[i:i + bs], r[i:i + bs])
                outs.append((a, p))
            return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])[:, 0]
        x = imgs.float()[:, None] / 255.0
        r = rel[:, None]
        logits, pol = run(x, r)
        logits0, _ = run(x, torch.zeros_like(r))
        pred, pred0 = logits.argmax(1), logits0.argmax(1)
        ds_is_pki = ds == DS_CODES["pki3"]
        for name, code in DS_CODES.items():
            m = ds == code
            if m.any():
                res[name + "_top1"] = (pred[m] == labels[m]).float().mean().item()
                res[name + "_top1_norel"] = (pred0[m] == labels[m]).float().mean().item()
        if ds_is_pki.any():
            xp = x[ds_is_pki]
            _, polf = run(xp.flip(-1, -2), r[ds_is_pki])
            res["pki3_polarity"] = 0.5 * ((pol[ds_is_pki] > 0).float().mean().item() + (polf < 0).float().mean().item())
    model.train()
    return res


def export_onnx(model, path):
    model.eval()
    dummy = (torch.zeros(2, 1, IMG_H, IMG_W), torch.ones(2, 1))
    torch.onnx.export(model, dummy, path, input_names=["image", "rel_length"],
                      output_names=["class_logits", "polarity_logit", "embedding"],
                      dynamic_axes={"image": {0: "N"}, "rel_length": {0: "N"}, "class_logits": {0: "N"},
                                    "polarity_logit": {0: "N"}, "embedding": {0: "N"}},
                      opset_version=17, dynamo=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data"))
    ap.add_argument("--out", default="models")
    ap.add_argument("--epochs", type=int, default=14)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--bio-oversample", type=int, default=2, help="BioImLab training crops are repeated this often per epoch")
    ap.add_argument("--ckpt", default="/work/ckpt", help="checkpoint + cache folder (outside the repository)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-minutes", type=float, default=0, help="stop after the epoch that passes this wall time (0 = no limit)")
    ap.add_argument("--init", default=None, help="start from this checkpoint (e.g. a stage-1 run) instead of random weights")
    ap.add_argument("--init-onnx", default=None,
                    help="start from the weights of this exported classifier (e.g. models/chromosome_classifier.onnx); "
                         "the BatchNorms the export folded away are rebuilt from training crops (classifier_model.from_onnx)")
    ap.add_argument("--steps-per-epoch", type=int, default=0, help="0 = one pass over the training set")
    ap.add_argument("--warmup", type=int, default=300, help="linear warm-up steps (capped at 10%% of all steps)")
    ap.add_argument("--mfish-crops", default=None,
                    help="mfish_crops.csv written by `karyostation mfish-crops` (crops cut by the pipeline from M-FISH spreads)")
    ap.add_argument("--ema", type=float, default=0.0,
                    help="also keep an exponential moving average of the weights (and BatchNorm statistics) with this "
                         "decay per step, e.g. 0.998; each epoch both are evaluated and the better one can be kept (0 = off)")
    ap.add_argument("--strong-bend", type=float, default=0.0,
                    help="share of training samples bent into a C-shaped arc of 40-130 degrees (0 = off; the "
                         "mild row-shear bends are always on)")
    ap.add_argument("--kink", type=float, default=0.0,
                    help="share of training samples bent at one place (J and hook shapes: 60-180 degrees over "
                         "15-45%% of the length; 0 = off)")
    ap.add_argument("--tiny", action="store_true", help="smoke test: a few dozen crops, 2 steps, throwaway ONNX")
    args = ap.parse_args()
    if args.init and args.init_onnx:
        ap.error("--init and --init-onnx exclude each other")

    torch.set_num_threads(args.threads)
    set_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    if args.tiny and not has_crop_data(args.data):
        fake = tempfile.mkdtemp(prefix="karyostation-fake-crops-")
        atexit.register(shutil.rmtree, fake, True)
        write_fake_crops(fake, args.seed)
        print(f"FAKE DATA: {args.data} has no crops.csv; --tiny trains on a generated fake crop dataset in {fake}",
              flush=True)
        args.data = fake
    if not os.path.isdir(args.data):
        print(f"data folder {args.data} not found: nothing to train (skipped)")
        return 0
    rows = load_rows(args.data, None if args.tiny else args.mfish_crops)
    if not rows:
        print("no crops.csv found: nothing to train (skipped)")
        return 0
    val_groups = make_split(rows)
    os.makedirs(args.out, exist_ok=True)
    if args.tiny:
        rng = random.Random(args.seed)
        pick = []
        for ds in ("pki3", "bioimlab"):
            for part in (False, True):
                cand = [r for r in rows if r["ds"] == ds and (r["group"] in val_groups) == part]
                pick += rng.sample(cand, min(12, len(cand)))
        rows = pick
        args.batch = 16
        # rel_length within this subset is meaningless but exercises the code path
    else:
        write_splits(rows, val_groups, os.path.join(os.path.dirname(os.path.abspath(__file__)), "splits.json"))

    t0 = time.time()
    imgs, rects, rel = cached_arrays(rows, None if args.tiny else os.path.join(args.ckpt, "cache"))
    print(f"preprocessed {len(rows)} crops in {time.time() - t0:.1f}s", flush=True)
    labels = torch.tensor([r["label"] for r in rows])
    is_pki = torch.tensor([r["ds"] == "pki3" for r in rows])
    ds_code = torch.tensor([DS_CODES[r["ds"]] for r in rows])
    is_val = torch.tensor([r["group"] in val_groups for r in rows])
    imgs_t = torch.from_numpy(imgs)
    rel_t = torch.from_numpy(rel)
    rmask = torch.zeros(len(rows), IMG_H, IMG_W, dtype=torch.uint8)
    for i, (x0, y0, nw, nh) in enumerate(rects.tolist()):
        rmask[i, y0:y0 + nh, x0:x0 + nw] = 1

    tr_idx = torch.nonzero(~is_val).flatten()
    tr_idx = torch.cat([tr_idx] + [tr_idx[ds_code[tr_idx] == DS_CODES["bioimlab"]]] * (args.bio_oversample - 1))
    va_idx = torch.nonzero(is_val).flatten()
    counts = {ds: (int(((ds_code == c) & ~is_val).sum()), int(((ds_code == c) & is_val).sum())) for ds, c in DS_CODES.items()}
    print(f"train samples/epoch {len(tr_idx)} (bioimlab x{args.bio_oversample}); train/val crops per set {counts}", flush=True)

    model = ChromosomeNet()
    if args.init:
        model.load_state_dict(torch.load(args.init)["model"])
        print(f"initialised from {args.init}", flush=True)
    elif args.init_onnx:
        calib = tr_idx[torch.randperm(len(tr_idx), generator=torch.Generator().manual_seed(args.seed))[:1024]]
        model = from_onnx(args.init_onnx, imgs_t[calib].float()[:, None] / 255.0, rel_t[calib][:, None])
        print(f"initialised from {args.init_onnx} (BatchNorms calibrated on {len(calib)} training crops)", flush=True)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"model params {nparams}", flush=True)
    steps_per_epoch = 2 if args.tiny else (args.steps_per_epoch or len(tr_idx) // args.batch)
    epochs = 1 if args.tiny else args.epochs
    total = steps_per_epoch * epochs
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    ema = None
    if args.ema:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
        ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(args.ema), use_buffers=True)
    warm = min(args.warmup, total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / max(1, warm) if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total - warm))))
    best, best_ep, history = -1.0, -1, []
    ckpt_path = os.path.join(args.ckpt, "classifier_best.pt") if not args.tiny else None
    model.train()
    step = 0
    t_train = time.time()
    for ep in range(epochs):
        perm = tr_idx[torch.randperm(len(tr_idx), generator=gen)]
        te = time.time()
        tl, tc, tn = 0.0, 0, 0
        for b in range(steps_per_epoch):
            idx = perm[b * args.batch:(b + 1) * args.batch]
            x = imgs_t[idx].float()[:, None] / 255.0
            m = rmask[idx].float()[:, None]
            x, r, pol, pk = augment(x, m, rel_t[idx].clone(), is_pki[idx].float(), gen,
                                     strong_bend=args.strong_bend, kink=args.kink)
            y = labels[idx]
            logits, pl, _ = model(x, r)
            lc = F.cross_entropy(logits, y, label_smoothing=0.05)
            lp = (F.binary_cross_entropy_with_logits(pl[:, 0], pol, reduction="none") * pk).sum() / pk.sum().clamp_min(1)
            loss = lc + 0.5 * lp
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if ema is not None:
                ema.update_parameters(model)
            step += 1
            tl += loss.item() * len(idx)
            tc += (logits.argmax(1) == y).sum().item()
            tn += len(idx)
            if b % 50 == 0:
                print(f"  ep {ep + 1} step {b}/{steps_per_epoch} loss {loss.item():.3f} lr {sched.get_last_lr()[0]:.2e} "
                      f"{(time.time() - te) / (b + 1):.2f}s/step", flush=True)
        # The weights as trained and, with --ema, their moving average: each is scored on validation.
        for kind, net in (("model", model), ("ema", None if ema is None else ema.module)):
            if net is None:
                continue
            res = evaluate(net, imgs_t[va_idx], rel_t[va_idx], labels[va_idx], ds_code[va_idx])
            score = np.mean([res[k] for k in ("pki3_top1", "bioimlab_top1", "mfish_top1", "pki3_polarity") if k in res])
            rec = dict(epoch=ep + 1, weights=kind, train_loss=tl / max(1, tn), train_acc=tc / max(1, tn),
                       time_s=time.time() - te, **res)
            history.append(rec)
            print("epoch " + json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in rec.items()}),
                  flush=True)
            if score > best:
                best, best_ep = score, f"{ep + 1} ({kind})"
                if ckpt_path:
                    os.makedirs(args.ckpt, exist_ok=True)
                    torch.save({"model": net.state_dict(), "epoch": ep + 1, "weights": kind, "val": res,
                                "args": vars(args)}, ckpt_path)
        if args.max_minutes and time.time() - t_train > args.max_minutes * 60 and ep + 1 < epochs:
            print(f"time limit reached after epoch {ep + 1}: stopping early", flush=True)
            break
    train_time = time.time() - t_train
    print(f"training done in {train_time / 60:.1f} min; best epoch {best_ep} score {best:.4f}", flush=True)
    if ckpt_path:
        model.load_state_dict(torch.load(ckpt_path)["model"])
        with open(os.path.join(args.ckpt, "train_history.json"), "w") as f:
            json.dump({"history": history, "best_epoch": best_ep, "train_time_s": train_time, "params": nparams,
                       "args": vars(args)}, f, indent=1)
    onnx_path = os.path.join(args.out, "chromosome_classifier.onnx")
    export_onnx(model, onnx_path)
    print(f"exported {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.2f} MB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
