#!/usr/bin/env python3
"""Train the KaryoStation chromosome segmenter (U-Net: chromosome / boundary / overlap maps) on CPU.

Data, read from --data (the project's ../shared/data; never copied into the repository):
BioImLab Q-band spreads (polygons), ADIR M-FISH DAPI spreads (per-pixel class maps) and
synthetic G-band spreads composed on the fly from Pki-3 crops of training cases. Decoded
images and instance labels are cached in --ckpt (outside the repo).

    python models/train/train_segmenter.py --data ../shared/data --out models --steps 3000 --threads 2
    python models/train/train_segmenter.py --data ../shared/data --out /tmp/x --tiny   # CI smoke test

--tiny without the data (a clean clone) trains on a small generated FAKE dataset instead.
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
from PIL import Image, ImageDraw, ImageFilter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from segmenter_model import OUT_CHANNELS, STRIDE, SegUNet  # noqa: E402
import train_classifier as clf  # noqa: E402  (Pki-3 case split rule, fake crop writer)

SPLIT_SEED = 20240611  # fixed: the split must not change with --seed
VAL_FRACTION = 0.15
SPLITS_FILE = os.path.join(HERE, "segmenter_splits.json")
CACHE_VERSION = "seg_v1"
CANVAS_H, CANVAS_W = 576, 768  # synthetic G-band spread size
MIN_COMPONENT_PX = 30          # M-FISH label components smaller than this are noise (background)
SOURCE_MIX = (("bioimlab", 0.40), ("mfish", 0.35), ("composite", 0.25))


# ---------------------------------------------------------------- preprocessing (the contract)
def density(gray, fluorescence):
    """Stain density, chromosomes high: fluorescence d = v, bright field d = 255 - v."""
    g = np.asarray(gray, dtype=np.uint8)
    return g.copy() if fluorescence else (255 - g)


def density_range(d):
    """lo / hi = smallest levels whose cumulative histogram count reaches 0.5% / 99.5% of the pixels."""
    cum = np.cumsum(np.bincount(d.ravel(), minlength=256))
    n = d.size
    return int(np.argmax(cum >= 0.005 * n)), int(np.argmax(cum >= 0.995 * n))


def normalise(d, lo, hi):
    return np.clip((d.astype(np.float32) - np.float32(lo)) / np.float32(max(hi - lo, 1)), 0.0, 1.0)


def preprocess_spread(gray_uint8, fluorescence):
    """uint8 grey spread as acquired -> float32 [H16, W16] model input (the contract).

    1. density d (fluorescence d = v, bright field d = 255 - v); 2. lo/hi = 0.5%/99.5% histogram
    levels of d over the whole image; 3. x = clip((d - lo) / max(hi - lo, 1), 0, 1);
    4. pad right and bottom with 0 up to a multiple of 16.
    """
    d = density(gray_uint8, fluorescence)
    lo, hi = density_range(d)
    x = normalise(d, lo, hi)
    h, w = x.shape
    return np.pad(x, ((0, (-h) % STRIDE), (0, (-w) % STRIDE)))


# ---------------------------------------------------------------- connected components (no scipy)
def label_components(a, conn8=True):
    """Connected components of pixels with equal non-zero value (run-length union-find).

    Returns (labels int32 [H,W], count); 0 = background.
    """
    a = np.ascontiguousarray(a)
    h, w = a.shape
    start = np.ones((h, w), bool)
    start[:, 1:] = a[:, 1:] != a[:, :-1]
    ys, xs = np.nonzero(start)  # runs in row-major order; every row starts a run
    lengths = np.diff(np.append(ys * w + xs, h * w))
    vals = a[ys, xs]
    ends = xs + lengths
    n = len(xs)
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    fg = (vals != 0).tolist()
    vl, xl, el = vals.tolist(), xs.tolist(), ends.tolist()
    d = 1 if conn8 else 0
    row_first = np.searchsorted(ys, np.arange(h + 1)).tolist()

    def check(i, j):
        if fg[i] and vl[i] == vl[j] and xl[i] < el[j] + d and xl[j] < el[i] + d:
            ri, rj = find(i), find(j)
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)

    for y in range(1, h):
        i, i1 = row_first[y - 1], row_first[y]
        j, j1 = row_first[y], row_first[y + 1]
        while i < i1 and j < j1:
            check(i, j)
            if el[i] < el[j]:
                i += 1
            elif el[j] < el[i]:
                j += 1
            else:
                if d and i + 1 < i1:
                    check(i + 1, j)  # corner contact after a common end
                j += 1
    run_label = np.zeros(n, np.int32)
    roots = {}
    for k in range(n):
        if fg[k]:
            r = find(k)
            if r not in roots:
                roots[r] = len(roots) + 1
            run_label[k] = roots[r]
    return np.repeat(run_label, lengths).reshape(h, w), len(roots)


def fill_holes(m):
    """Fill background regions not connected to the border (PIL flood fill)."""
    im = Image.fromarray(np.pad(m, 1).astype(np.uint8) * 255).copy()  # fromarray images are read-only views
    ImageDraw.floodfill(im, (0, 0), 128)
    return np.asarray(im)[1:-1, 1:-1] != 128


def dilate(m, r=1):
    """Square (2r+1)^2 binary dilation."""
    t = torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32))[None, None]
    return F.max_pool2d(t, 2 * r + 1, 1, r)[0, 0].numpy() > 0


# ---------------------------------------------------------------- instance labels -> targets
# Instance labels of a spread are three maps: L1 (an instance id per chromosome pixel), L2 (the
# second instance id where two chromosomes overlap, else 0) and ovl (overlap flag). Scaling with
# nearest-neighbour keeps them consistent; targets are recomputed from them after augmentation.
def labels_from_masks(masks, shape):
    l1 = np.zeros(shape, np.int16)
    l2 = np.zeros(shape, np.int16)
    cnt = np.zeros(shape, np.uint8)
    for k, m in enumerate(masks, 1):
        a = m & (l1 == 0)
        l1[a] = k
        b = m & ~a & (l2 == 0)
        l2[b] = k
        cnt += m
    return l1, l2, (cnt >= 2).astype(np.uint8)


def bioimlab_labels(json_path, shape):
    """Rasterise each polygon (PIL polygon fill) into an instance mask."""
    polys = json.load(open(json_path))["polygons"]
    h, w = shape
    masks = []
    for p in polys:
        pts = [(float(x), float(y)) for x, y in p["points"]]
        if len(pts) < 3:
            continue
        im = Image.new("L", (w, h), 0)
        ImageDraw.Draw(im).polygon(pts, fill=1, outline=1)
        masks.append(np.asarray(im) > 0)
    return labels_from_masks(masks, shape)


def mfish_labels(lab):
    """Per-pixel class map (0 bg, 1-24, 255 overlap) -> (L1, L2, ovl).

    Instances: 8-connected components of each class value (< 30 px: noise -> background); each
    connected component of 255 pixels is added to every instance it touches (4-neighbour
    adjacency; the first two are kept in L1/L2) and counts as overlap.
    """
    comp, n = label_components(lab, conn8=True)
    sizes = np.bincount(comp.ravel(), minlength=n + 1)
    val = np.zeros(n + 1, np.int32)
    val[comp.ravel()] = lab.ravel()
    is_ovl = val == 255
    is_ovl[0] = False
    inst = (~is_ovl) & (sizes >= MIN_COMPONENT_PX)
    inst[0] = False
    newid = np.zeros(n + 1, np.int32)
    ids = np.flatnonzero(inst)
    newid[ids] = np.arange(1, len(ids) + 1)
    l1 = newid[comp].astype(np.int16)
    l2 = np.zeros_like(l1)
    ovl = np.zeros(lab.shape, np.uint8)
    pairs = []
    for a, b in ((comp[:, :-1], comp[:, 1:]), (comp[:-1, :], comp[1:, :])):
        for p, q in ((a, b), (b, a)):
            sel = is_ovl[p] & inst[q]
            pairs.append(np.stack([p[sel], q[sel]], 1))
    pairs = np.unique(np.concatenate(pairs), axis=0)
    adj = {}
    for o, i in pairs.tolist():
        adj.setdefault(o, []).append(i)
    nxt = len(ids) + 1
    for o in np.flatnonzero(is_ovl & (sizes > 0)).tolist():
        m = comp == o
        nb = adj.get(o, [])
        if nb:
            l1[m] = newid[nb[0]]
            if len(nb) > 1:
                l2[m] = newid[nb[1]]
            ovl[m] = 1
        elif sizes[o] >= MIN_COMPONENT_PX:  # an isolated overlap blob: one chromosome of its own
            l1[m] = nxt
            nxt += 1
    return l1, l2, ovl


def make_targets(l1, l2, ovl):
    """[B,H,W] int label maps -> float targets [B,3,H,W]: chromosome, boundary, overlap.

    boundary = union over instances of (M_i minus 3x3 erosion of M_i); pixels outside the array
    count as the same instance (crop edges are not boundaries).
    """
    l1 = l1.long()
    l2 = l2.long()
    h, w = l1.shape[-2:]
    p1 = F.pad(l1[:, None].float(), (1, 1, 1, 1), mode="replicate")[:, 0].long()
    p2 = F.pad(l2[:, None].float(), (1, 1, 1, 1), mode="replicate")[:, 0].long()
    in1, in2 = l1 > 0, l2 > 0
    bnd = torch.zeros_like(in1)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            n1 = p1[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
            n2 = p2[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
            bnd |= in1 & (n1 != l1) & (n2 != l1)
            bnd |= in2 & (n1 != l2) & (n2 != l2)
    ov = (ovl > 0) | in2
    return torch.stack([in1 | in2, bnd, ov], 1).float()


# ---------------------------------------------------------------- data
def natural_key(s):
    import re
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def list_sources(data):
    """BioImLab stems and M-FISH (folder, image) pairs present under data."""
    bio_dir = os.path.join(data, "bioimlab", "metaphases")
    stems = []
    if os.path.isdir(bio_dir):
        stems = sorted((f[:-5] for f in os.listdir(bio_dir)
                        if f.endswith(".json") and os.path.exists(os.path.join(bio_dir, f[:-5] + ".png"))), key=natural_key)
    mf_dir = os.path.join(data, "mfish")
    mfish = []
    if os.path.isdir(mf_dir):
        for folder in sorted(os.listdir(mf_dir)):
            fd = os.path.join(mf_dir, folder)
            if "__" not in folder or not os.path.isdir(fd):
                continue
            for f in sorted(os.listdir(fd)):
                if f.endswith("_dapi.png") and os.path.exists(os.path.join(fd, f[:-9] + "_labels.png")):
                    mfish.append((folder, f[:-9]))
    return stems, mfish


def bioimlab_group(stem):
    """original_116a / original_116b are acquisitions of the SAME metaphase: split them together."""
    return stem.rstrip("abcdefghijklmnopqrstuvwxyz") if stem[-1:].isalpha() else stem


def make_split(stems, mfish):
    """Seeded (SPLIT_SEED) 15% validation: BioImLab by metaphase (stem without a/b/c suffix),
    M-FISH by slide (folder part before '__'). Returns (val stems, val folders)."""
    def pick(units):
        units = sorted(set(units), key=natural_key)
        rng = random.Random(SPLIT_SEED)
        rng.shuffle(units)
        return set(units[:max(1, round(len(units) * VAL_FRACTION))]) if units else set()
    vgroups = pick(bioimlab_group(s) for s in stems)
    vslides = pick(f.split("__")[0] for f, _ in mfish)
    val_stems = sorted((s for s in stems if bioimlab_group(s) in vgroups), key=natural_key)
    val_folders = sorted({f for f, _ in mfish if f.split("__")[0] in vslides})
    return val_stems, val_folders


def write_splits(val_stems, val_folders, path=SPLITS_FILE):
    with open(path, "w") as f:
        json.dump({"bioimlab_val": val_stems, "mfish_val": val_folders, "seed": SPLIT_SEED,
                   "val_fraction": VAL_FRACTION,
                   "note": "BioImLab split by metaphase (original_116a/b/... together), M-FISH by slide "
                           "(folder part before '__'); Pki-3 composites use the classifier's case split "
                           "(splits.json); everything else is training"}, f, indent=1)
        f.write("\n")


def make_record(name, src, d, l1, l2, ovl):
    lo, hi = density_range(d)
    fg = np.flatnonzero((l1 > 0).ravel())[::7].astype(np.int32)  # crop centres on chromosomes
    return dict(name=name, src=src, d=d, lo=lo, hi=hi, l1=l1, l2=l2, ovl=ovl, fg=fg)


def load_spreads(data, stems, mfish, cache):
    """Decoded density images + instance labels, cached in one .npz per source."""
    out = {}
    for src, items in (("bioimlab", stems), ("mfish", mfish)):
        if not items:
            out[src] = []
            continue
        names = [s if src == "bioimlab" else f"{s[0]}/{s[1]}" for s in items]
        f = None
        if cache:
            key = f"{len(names)}_{names[0]}_{names[-1]}".replace("/", "_")
            f = os.path.join(cache, f"{CACHE_VERSION}_{src}_{key}.npz")
        if f and os.path.exists(f):
            z = np.load(f)
            out[src] = [make_record(n, src, z[f"d{i}"], z[f"a{i}"], z[f"b{i}"], z[f"o{i}"]) for i, n in enumerate(names)]
            continue
        recs = []
        for item, n in zip(items, names):
            if src == "bioimlab":
                base = os.path.join(data, "bioimlab", "metaphases", item)
                g = np.asarray(Image.open(base + ".png").convert("L"))
                l1, l2, ovl = bioimlab_labels(base + ".json", g.shape)
            else:
                base = os.path.join(data, "mfish", item[0], item[1])
                g = np.asarray(Image.open(base + "_dapi.png").convert("L"))
                l1, l2, ovl = mfish_labels(np.asarray(Image.open(base + "_labels.png")))
            recs.append(make_record(n, src, density(g, fluorescence=True), l1, l2, ovl))
        out[src] = recs
        if f:
            os.makedirs(cache, exist_ok=True)
            arrs = {}
            for i, r in enumerate(recs):
                arrs.update({f"d{i}": r["d"], f"a{i}": r["l1"], f"b{i}": r["l2"], f"o{i}": r["ovl"]})
            np.savez_compressed(f + ".tmp.npz", **arrs)
            os.replace(f + ".tmp.npz", f)
    return out


# ---------------------------------------------------------------- synthetic G-band spreads from Pki-3 crops
def prepare_crop(g):
    """Pki-3 crop (dark on white) -> (darkness uint8 with stray fragments removed, mask bool)."""
    m = fill_holes(g < 240)
    comp, n = label_components(m.astype(np.uint8))
    if n > 1:
        m = comp == (np.argmax(np.bincount(comp.ravel())[1:]) + 1)
    a = (255 - g.astype(np.int16)).clip(0, 255).astype(np.uint8)
    a[~dilate(m, 1)] = 0
    return a, m


class CropPool:
    """Pki-3 crops as darkness images + masks (train / val cases kept apart)."""

    def __init__(self, data, val_cases, cache, limit=None, seed=0):
        rows = list(csv.DictReader(open(os.path.join(data, "pki3", "crops.csv"))))
        if limit:
            rng = random.Random(seed)
            tr = [r for r in rows if r["case"] not in val_cases]
            va = [r for r in rows if r["case"] in val_cases]
            rows = rng.sample(tr, min(limit, len(tr))) + rng.sample(va, min(limit // 2, len(va)))
        f = None
        if cache:
            f = os.path.join(cache, f"{CACHE_VERSION}_pki3crops_{len(rows)}.npz")
        if f and os.path.exists(f):
            z = np.load(f)
            flat_a, flat_m, shapes = z["a"], z["m"], z["shapes"]
        else:
            parts_a, parts_m, shapes = [], [], []
            for r in rows:
                a, m = prepare_crop(np.asarray(Image.open(os.path.join(data, "pki3", r["path"])).convert("L")))
                parts_a.append(a.ravel())
                parts_m.append(m.ravel())
                shapes.append(a.shape)
            flat_a, flat_m = np.concatenate(parts_a), np.concatenate(parts_m).astype(np.uint8)
            shapes = np.array(shapes, np.int32)
            if f:
                os.makedirs(cache, exist_ok=True)
                np.savez(f + ".tmp.npz", a=flat_a, m=flat_m, shapes=shapes)
                os.replace(f + ".tmp.npz", f)
        offs = np.concatenate([[0], np.cumsum(shapes[:, 0] * shapes[:, 1])])
        self.crops = [(flat_a[offs[i]:offs[i + 1]].reshape(shapes[i]), flat_m[offs[i]:offs[i + 1]].reshape(shapes[i]) > 0)
                      for i in range(len(rows))]
        is_val = np.array([r["case"] in val_cases for r in rows])
        self.train_idx = np.flatnonzero(~is_val)
        self.val_idx = np.flatnonzero(is_val)


def _place_ok(occ, m, y0, x0):
    h, w = m.shape
    return not (occ[y0:y0 + h, x0:x0 + w] & m).any()


def compose_spread(rng, pool, idx, h=CANVAS_H, w=CANVAS_W):
    """Synthetic bright-field spread: grey uint8 [h,w] + instance labels (L1, L2, ovl).

    30-46 rotated crops min-blended (darker wins) on an unevenly lit background, ~15% placed
    touching or overlapping another one; Gaussian blur 0-1 px, noise 0-6 grey levels, 0-3 debris
    dots and sometimes a pale nucleus-like blob (both background in the targets).
    """
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    bg = rng.uniform(200, 245)
    low = np.asarray(Image.fromarray(rng.normal(0, 4, (3, 4)).astype(np.float32), mode="F").resize((w, h), Image.BILINEAR))
    field = bg + rng.uniform(-15, 15) * (xx / w - 0.5) + rng.uniform(-15, 15) * (yy / h - 0.5) + low
    trans = np.ones((h, w), np.float32)  # transmission, min-blended
    occ = np.zeros((h, w), bool)          # union of masks dilated by 2 px (for "no touch" placement)
    masks, boxes = [], []
    cy, cx = h / 2 + rng.uniform(-60, 60), w / 2 + rng.uniform(-80, 80)
    sy, sx = rng.uniform(0.18, 0.3) * h, rng.uniform(0.18, 0.3) * w
    for _ in range(int(rng.integers(30, 47))):
        a, m = pool.crops[idx[rng.integers(len(idx))]]
        s = rng.uniform(0.85, 1.2)
        ang = rng.uniform(0, 360)
        size = (max(2, round(a.shape[1] * s)), max(2, round(a.shape[0] * s)))
        ai = Image.fromarray(a).resize(size, Image.BILINEAR).rotate(ang, Image.BILINEAR, expand=True, fillcolor=0)
        mi = Image.fromarray(m.astype(np.uint8) * 255).resize(size, Image.BILINEAR).rotate(ang, Image.BILINEAR, expand=True, fillcolor=0)
        ar = np.asarray(ai, np.float32) / 255.0 * rng.uniform(0.8, 1.1)
        mr = np.asarray(mi) >= 128
        if mr.sum() < 20:
            continue
        ch, cw = mr.shape
        if ch >= h - 4 or cw >= w - 4:
            continue
        touch = boxes and rng.random() < 0.15
        placed = None
        for _try in range(40):
            if touch:  # near another chromosome: bounding boxes overlapping, some contact, limited overlap
                by0, bx0, by1, bx1 = boxes[rng.integers(len(boxes))]
                y0 = int(rng.integers(by0 - ch + 2, by1 - 1))
                x0 = int(rng.integers(bx0 - cw + 2, bx1 - 1))
            else:
                y0 = int(rng.normal(cy, sy) - ch / 2)
                x0 = int(rng.normal(cx, sx) - cw / 2)
            if y0 < 1 or x0 < 1 or y0 + ch > h - 1 or x0 + cw > w - 1:
                continue
            if touch:
                inter = (occ[y0:y0 + ch, x0:x0 + cw] & mr).sum()
                if 0 < inter < 0.35 * mr.sum():
                    placed = (y0, x0)
                    break
            elif _place_ok(occ, mr, y0, x0):
                placed = (y0, x0)
                break
        if placed is None:
            continue
        y0, x0 = placed
        sl = (slice(y0, y0 + ch), slice(x0, x0 + cw))
        trans[sl] = np.minimum(trans[sl], 1.0 - ar)
        full = np.zeros((h, w), bool)
        full[sl] = mr
        masks.append(full)
        occ[sl] |= dilate(mr, 2)
        boxes.append((y0, x0, y0 + ch, x0 + cw))
    # debris dots and an optional nucleus-like blob: background in the targets
    for _ in range(int(rng.integers(0, 4))):
        r = rng.uniform(1.5, 4.0)
        py, px = rng.uniform(0, h), rng.uniform(0, w)
        dot = np.clip(r - np.hypot(yy - py, xx - px) + 0.5, 0, 1) * rng.uniform(0.3, 0.7)
        trans = np.minimum(trans, 1.0 - dot)
    if rng.random() < 0.3:
        ry, rx = rng.uniform(35, 70), rng.uniform(35, 70)
        py, px = rng.uniform(0, h), rng.uniform(0, w)
        rr = np.hypot((yy - py) / ry, (xx - px) / rx)
        blob = np.clip((1.0 - rr) * 4, 0, 1) * rng.uniform(0.25, 0.55)
        blob = blob * (0.8 + 0.2 * np.asarray(Image.fromarray(rng.random((8, 8)).astype(np.float32), mode="F").resize((w, h), Image.BILINEAR)))
        trans = np.minimum(trans, 1.0 - blob)
    img = Image.fromarray(np.clip(field * trans, 0, 255).astype(np.uint8))
    sig = rng.uniform(0, 1.0)
    if sig > 0.2:
        img = img.filter(ImageFilter.GaussianBlur(sig))
    g = np.asarray(img, np.float32) + rng.normal(0, rng.uniform(0, 6), (h, w))
    g = np.clip(np.round(g), 0, 255).astype(np.uint8)
    l1, l2, ovl = labels_from_masks(masks, (h, w))
    return g, l1, l2, ovl


def composite_record(rng, pool, idx, name="composite"):
    g, l1, l2, ovl = compose_spread(rng, pool, idx)
    return make_record(name, "composite", density(g, fluorescence=False), l1, l2, ovl)


# ---------------------------------------------------------------- augmentation
def crop_pad(a, y0, x0, s):
    """s x s window at (y0, x0), zero outside the array."""
    h, w = a.shape
    out = np.zeros((s, s), a.dtype)
    ya, yb, xa, xb = max(0, y0), min(h, y0 + s), max(0, x0), min(w, x0 + s)
    if yb > ya and xb > xa:
        out[ya - y0:yb - y0, xa - x0:xb - x0] = a[ya:yb, xa:xb]
    return out


def sample_crop(rec, crop, rng):
    """Random scaled (0.75-1.35), flipped / 90-degree rotated crop: image [1,c,c], labels 3x[c,c]."""
    h, w = rec["d"].shape
    sc = math.exp(rng.uniform(math.log(0.75), math.log(1.35)))
    r = max(8, int(round(crop / sc)))
    if rng.random() < 0.7 and len(rec["fg"]):
        c = int(rec["fg"][rng.integers(len(rec["fg"]))])
        cy, cx = c // w + int(rng.integers(-r // 4, r // 4 + 1)), c % w + int(rng.integers(-r // 4, r // 4 + 1))
    else:
        cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
    y0 = min(max(cy - r // 2, 0), max(0, h - r))
    x0 = min(max(cx - r // 2, 0), max(0, w - r))
    d = crop_pad(rec["d"], y0, x0, r)
    x = torch.from_numpy(normalise(d, rec["lo"], rec["hi"]))  # outside the spread: d = 0 -> x = 0 (the padding)
    x = F.interpolate(x[None, None], size=(crop, crop), mode="bilinear", align_corners=False, antialias=r > crop)[0]
    labs = torch.from_numpy(np.stack([crop_pad(rec[k], y0, x0, r).astype(np.int32) for k in ("l1", "l2", "ovl")]))
    labs = F.interpolate(labs[None].float(), size=(crop, crop), mode="nearest")[0].long()
    k = int(rng.integers(4))
    if k:
        x, labs = torch.rot90(x, k, (-2, -1)), torch.rot90(labs, k, (-2, -1))
    if rng.random() < 0.5:
        x, labs = x.flip(-1), labs.flip(-1)
    return x, labs


def photometric(x, gen):
    """Batched: gamma 0.7-1.4, contrast / offset, slight blur, Gaussian noise (x in [0,1])."""
    b = x.shape[0]

    def U(lo, hi):
        return (lo + (hi - lo) * torch.rand(b, generator=gen))[:, None, None, None]

    x = x.clamp(0, 1).pow(torch.exp(U(math.log(0.7), math.log(1.4))))
    x = x * U(0.75, 1.2) + U(-0.04, 0.04)
    sig = (U(0, 1.0) * (torch.rand(b, generator=gen) < 0.5).float()[:, None, None, None]).flatten().clamp_min(1e-3)
    k = torch.arange(-2, 3, dtype=torch.float32)
    ker = torch.exp(-(k[None] ** 2) / (2 * sig[:, None] ** 2))
    ker = ker / ker.sum(1, keepdim=True)
    xb = x.permute(1, 0, 2, 3)
    xb = F.conv2d(F.pad(xb, (0, 0, 2, 2), mode="replicate"), ker[:, None, :, None], groups=b)
    xb = F.conv2d(F.pad(xb, (2, 2, 0, 0), mode="replicate"), ker[:, None, None, :], groups=b)
    x = xb.permute(1, 0, 2, 3)
    x = x + U(0, 0.05) * torch.randn(x.shape, generator=gen)
    return x.clamp(0, 1)


class BatchSampler:
    def __init__(self, train, pool, crop, rng, gen, mix=SOURCE_MIX):
        self.train, self.pool, self.crop, self.rng, self.gen = train, pool, crop, rng, gen
        srcs = [(s, p) for s, p in mix if (s == "composite" and pool is not None and len(pool.train_idx)) or train.get(s)]
        tot = sum(p for _, p in srcs)
        self.srcs = [s for s, _ in srcs]
        self.probs = np.array([p / tot for _, p in srcs])
        self.comp_cache = []  # each composite serves two crops

    def record(self, src):
        if src != "composite":
            recs = self.train[src]
            return recs[self.rng.integers(len(recs))]
        if self.comp_cache:
            return self.comp_cache.pop()
        rec = composite_record(self.rng, self.pool, self.pool.train_idx)
        self.comp_cache.append(rec)
        return rec

    def batch(self, n):
        xs, ls = [], []
        for s in self.rng.choice(len(self.srcs), size=n, p=self.probs):
            x, lab = sample_crop(self.record(self.srcs[s]), self.crop, self.rng)
            xs.append(x)
            ls.append(lab)
        x = photometric(torch.stack(xs), self.gen)
        lab = torch.stack(ls)
        return x, make_targets(lab[:, 0], lab[:, 1], lab[:, 2])


# ---------------------------------------------------------------- loss, validation, export
POS_WEIGHT = torch.tensor([1.0, 3.0, 3.0])[:, None, None]
CH_WEIGHT = (1.0, 2.0, 1.0)


def seg_loss(logits, t):
    bce = F.binary_cross_entropy_with_logits(logits, t, pos_weight=POS_WEIGHT, reduction="none").mean((0, 2, 3))
    p = torch.sigmoid(logits[:, 0])
    dice = 1 - (2 * (p * t[:, 0]).sum() + 1) / (p.sum() + t[:, 0].sum() + 1)
    parts = [float(v) for v in bce.detach()] + [float(dice.detach())]
    return sum(w * b for w, b in zip(CH_WEIGHT, bce)) + dice, parts


def instance_f1(p_chrom, p_bnd, l1, l2, ovl, t_bnd):
    """Rust-like cores: components of (chromosome > 0.5 and boundary < 0.5), >= 15 px, matched to
    ground-truth cores (single-instance pixels off the boundary) when they share > 50% of both."""
    pred, npred = label_components((p_chrom > 0.5) & (p_bnd < 0.5))
    if npred:
        keep = np.bincount(pred.ravel(), minlength=npred + 1) >= 15
        keep[0] = False
        pred = np.where(keep[pred], pred, 0)
        npred = int(keep.sum())
    gt = np.where((l2 == 0) & (ovl == 0) & ~t_bnd, l1.astype(np.int64), 0)
    gsz = np.bincount(gt.ravel())
    ngt = int((gsz[1:] > 0).sum())
    both = (pred > 0) & (gt > 0)
    if not both.any() or not npred or not ngt:
        return 0, npred, ngt
    psz = np.bincount(pred.ravel())
    key = pred[both].astype(np.int64) * (gt.max() + 1) + gt[both]
    u, c = np.unique(key, return_counts=True)
    pi, gi = u // (gt.max() + 1), u % (gt.max() + 1)
    match = (c > 0.5 * psz[pi]) & (c > 0.5 * gsz[gi])
    return int(match.sum()), npred, ngt


def evaluate(model, val):
    """Full-resolution validation per source: chromosome IoU, boundary F1 (1-px tolerance),
    overlap IoU, instance-core F1."""
    model.eval()
    res = {}
    with torch.no_grad():
        for src, recs in val.items():
            if not recs:
                continue
            acc = np.zeros(11)
            for rec in recs:
                h, w = rec["d"].shape
                x = torch.from_numpy(preprocess_spread(rec["d"], fluorescence=True))[None, None]
                p = model(x)[0, :, :h, :w]
                t = make_targets(*(torch.from_numpy(rec[k].astype(np.int64))[None] for k in ("l1", "l2", "ovl")))[0]
                pb, tb = p > 0.5, t > 0.5
                dil = lambda m: F.max_pool2d(m[None, None].float(), 3, 1, 1)[0, 0] > 0  # noqa: E731
                m, npred, ngt = instance_f1(p[0].numpy(), p[1].numpy(), rec["l1"], rec["l2"], rec["ovl"], tb[1].numpy())
                acc += [(pb[0] & tb[0]).sum(), (pb[0] | tb[0]).sum(),
                        (pb[1] & dil(tb[1])).sum(), pb[1].sum(), (tb[1] & dil(pb[1])).sum(), tb[1].sum(),
                        (pb[2] & tb[2]).sum(), (pb[2] | tb[2]).sum(), m, npred, ngt]
            prec, rec_ = acc[2] / max(acc[3], 1), acc[4] / max(acc[5], 1)
            m, npred, ngt = acc[8:]
            res[src] = dict(n=len(recs), chrom_iou=acc[0] / max(acc[1], 1),
                            bnd_f1=2 * prec * rec_ / max(prec + rec_, 1e-9),
                            ovl_iou=acc[6] / max(acc[7], 1) if acc[7] else None,
                            inst_f1=2 * m / max(npred + ngt, 1))
    model.train()
    per = [np.mean([v["chrom_iou"], v["bnd_f1"], v["inst_f1"]]) for v in res.values()]
    res["score"] = float(np.mean(per)) if per else 0.0
    return res


def export_onnx(model, path):
    model.eval()
    torch.onnx.export(model, (torch.zeros(1, 1, 96, 128),), path, input_names=["image"], output_names=["maps"],
                      dynamic_axes={"image": {2: "H", 3: "W"}, "maps": {2: "H", 3: "W"}},
                      opset_version=17, dynamo=False)


def verify_onnx(model, path, threads):
    """onnxruntime runs 1x1x576x768 and 1x1x512x640 and agrees with torch."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    model.eval()
    for h, w in ((576, 768), (512, 640)):
        x = rng.random((1, 1, h, w), dtype=np.float32)
        t = time.perf_counter()
        (y,) = sess.run(["maps"], {"image": x})
        dt = time.perf_counter() - t
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        assert y.shape == (1, OUT_CHANNELS, h, w), y.shape
        diff = float(np.abs(y - ref).max())
        assert diff < 1e-3, f"onnxruntime and torch disagree by {diff}"
        print(f"onnx check {h}x{w}: shape {y.shape} max |ort - torch| {diff:.1e} ({dt * 1000:.0f} ms)", flush=True)


# ---------------------------------------------------------------- fake data for --tiny on a clean clone
def has_seg_data(data):
    return (os.path.isdir(os.path.join(data, "bioimlab", "metaphases")) and os.path.isdir(os.path.join(data, "mfish"))
            and os.path.exists(os.path.join(data, "pki3", "crops.csv")))


def _fake_blobs(rng, h, w, n):
    """n random capsule polygons (x, y points) inside an h x w image."""
    polys = []
    for _ in range(n):
        cx, cy = rng.uniform(12, w - 12), rng.uniform(12, h - 12)
        ln, r, ang = rng.uniform(10, 26), rng.uniform(2.5, 4.5), rng.uniform(0, math.pi)
        pts = []
        for k in range(16):  # capsule outline: two half circles
            t = math.pi * k / 7.5
            end = ln / 2 if t < math.pi else -ln / 2
            px, py = r * math.cos(t), end + r * math.sin(t)
            pts.append((cx + px * math.cos(ang) - py * math.sin(ang), cy + px * math.sin(ang) + py * math.cos(ang)))
        polys.append(pts)
    return polys


def write_fake_spreads(root, seed=0, h=96, w=128):
    """Small FAKE segmenter dataset in the real layout: BioImLab-like spreads (png + polygons json),
    M-FISH-like slides (dapi png + labels png with a 255 overlap), Pki-3 crops (+ crops.csv)."""
    rng = np.random.default_rng(seed)
    bio = os.path.join(root, "bioimlab", "metaphases")
    os.makedirs(bio, exist_ok=True)
    for k in range(4):
        polys = _fake_blobs(rng, h, w, 7)
        im = Image.new("L", (w, h), 12)
        dr = ImageDraw.Draw(im)
        for p in polys:
            dr.polygon(p, fill=int(rng.integers(120, 230)))
        g = np.asarray(im.filter(ImageFilter.GaussianBlur(0.7)), np.float32) + rng.normal(0, 3, (h, w))
        Image.fromarray(np.clip(g, 0, 255).astype(np.uint8)).save(os.path.join(bio, f"fake_{k + 1}.png"))
        json.dump({"image": f"fake_{k + 1}.png", "width": w, "height": h,
                   "polygons": [{"label": "chr", "points": [list(q) for q in p]} for p in polys]},
                  open(os.path.join(bio, f"fake_{k + 1}.json"), "w"))
    for s in range(3):
        fd = os.path.join(root, "mfish", f"F0{s + 1}__XY")
        os.makedirs(fd, exist_ok=True)
        polys = _fake_blobs(rng, h, w, 7)
        lab = Image.new("L", (w, h), 0)
        cnt = np.zeros((h, w), np.int32)
        for i, p in enumerate(polys):
            m = Image.new("L", (w, h), 0)
            ImageDraw.Draw(m).polygon(p, fill=1)
            m = np.asarray(m) > 0
            cnt += m
            lab = np.where(m, i + 1, np.asarray(lab))
        lab = np.where(cnt >= 2, 255, lab).astype(np.uint8)
        dapi = np.where(cnt > 0, 150 + 40 * np.minimum(cnt, 2), 10).astype(np.float32) + rng.normal(0, 3, (h, w))
        Image.fromarray(np.clip(dapi, 0, 255).astype(np.uint8)).save(os.path.join(fd, f"F0{s + 1}01XY_dapi.png"))
        Image.fromarray(lab).save(os.path.join(fd, f"F0{s + 1}01XY_labels.png"))
    clf.write_fake_crops(root, seed)


# ---------------------------------------------------------------- training
def set_seed(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pki3_val_cases(data):
    """The classifier's Pki-3 case split (same rule, same seed)."""
    rows = [r for r in clf.load_rows(data) if r["ds"] == "pki3"]
    return {g.split("/", 1)[1] for g in clf.make_split(rows) if g.startswith("pki3/")}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "..", "shared", "data"))
    ap.add_argument("--out", default="models", help="folder for chromosome_segmenter.onnx")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=256, help="training crop side (multiple of 16)")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ckpt", default="/work/ckpt-seg", help="checkpoint + cache folder (outside the repository)")
    ap.add_argument("--init", default=None, help="start from this checkpoint's weights")
    ap.add_argument("--max-minutes", type=float, default=0, help="stop after this wall time, validate, export best (0 = no limit)")
    ap.add_argument("--val-every", type=int, default=250)
    ap.add_argument("--val-composites", type=int, default=6, help="fixed synthetic G-band spreads from validation cases")
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--tiny", action="store_true", help="smoke test: a few spreads, 3 steps, throwaway ONNX")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    set_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    if args.tiny and not has_seg_data(args.data):
        fake = tempfile.mkdtemp(prefix="karyostation-fake-spreads-")
        atexit.register(shutil.rmtree, fake, True)
        write_fake_spreads(fake, args.seed)
        print(f"FAKE DATA: {args.data} lacks bioimlab/metaphases, mfish or pki3/crops.csv; "
              f"--tiny trains on a generated fake dataset in {fake}", flush=True)
        args.data = fake
    if not os.path.isdir(args.data):
        print(f"data folder {args.data} not found: nothing to train (skipped)")
        return 0
    stems, mfish = list_sources(args.data)
    if not stems and not mfish:
        print("no BioImLab metaphases or M-FISH spreads found: nothing to train (skipped)")
        return 0
    val_stems, val_folders = make_split(stems, mfish)
    vcases = pki3_val_cases(args.data)
    os.makedirs(args.out, exist_ok=True)
    cache = None if args.tiny else os.path.join(args.ckpt, "cache")
    if args.tiny:
        r = random.Random(args.seed)

        def few(items, is_val, k):
            c = [i for i in items if is_val(i)]
            return r.sample(c, min(k, len(c)))
        stems = few(stems, lambda s: s not in val_stems, 3) + few(stems, lambda s: s in val_stems, 2)
        mfish = few(mfish, lambda m: m[0] not in val_folders, 3) + few(mfish, lambda m: m[0] in val_folders, 2)
        args.batch, args.crop, args.steps, args.warmup = 4, 128, 3, 1
        args.val_every, args.val_composites = 0, 1
    else:
        write_splits(val_stems, val_folders)
        print(f"wrote {SPLITS_FILE}: {len(val_stems)} BioImLab val stems, {len(val_folders)} M-FISH val folders", flush=True)

    t0 = time.time()
    spreads = load_spreads(args.data, stems, mfish, cache)
    pool = None
    if os.path.exists(os.path.join(args.data, "pki3", "crops.csv")):
        pool = CropPool(args.data, vcases, cache, limit=80 if args.tiny else None, seed=args.seed)
    is_val = {"bioimlab": lambda r: r["name"] in val_stems, "mfish": lambda r: r["name"].split("/")[0] in val_folders}
    train = {s: [r for r in spreads[s] if not is_val[s](r)] for s in spreads}
    val = {s: [r for r in spreads[s] if is_val[s](r)] for s in spreads}
    if pool is not None and len(pool.val_idx):
        crng = np.random.default_rng(SPLIT_SEED)
        val["composite"] = [composite_record(crng, pool, pool.val_idx, f"val_composite_{i}") for i in range(args.val_composites)]
    print(f"data ready in {time.time() - t0:.1f}s: train bioimlab {len(train['bioimlab'])}, mfish {len(train['mfish'])}, "
          f"pki3 crops {len(pool.train_idx) if pool else 0}; val bioimlab {len(val['bioimlab'])}, mfish {len(val['mfish'])}, "
          f"composites {len(val.get('composite', []))}", flush=True)
    sampler = BatchSampler(train, pool, args.crop, rng, gen)

    model = SegUNet()
    if args.init:
        st = torch.load(args.init, map_location="cpu")
        model.load_state_dict(st.get("model", st))
        print(f"initialised from {args.init}", flush=True)
    nparams = sum(p.numel() for p in model.parameters())
    print(f"model params {nparams}", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    total = args.steps
    warm = min(args.warmup, max(1, total // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * min(1.0, (s - warm) / max(1, total - warm)))))
    ckpt_best = None if args.tiny else os.path.join(args.ckpt, "segmenter_best.pt")
    log_path = None if args.tiny else os.path.join(args.ckpt, "segmenter_log.jsonl")
    if log_path:
        os.makedirs(args.ckpt, exist_ok=True)
    best, best_step = -1.0, 0
    best_state = None

    def validate(step, train_loss):
        nonlocal best, best_step, best_state
        tv = time.time()
        res = evaluate(model, val)
        rec = dict(step=step, train_loss=train_loss, val_s=round(time.time() - tv, 1),
                   elapsed_min=round((time.time() - t_train) / 60, 2), **res)
        def rnd(v):
            if isinstance(v, dict):
                return {k: rnd(u) for k, u in v.items()}
            return round(float(v), 4) if isinstance(v, (float, np.floating)) else v
        line = json.dumps(rnd(rec))
        print("val " + line, flush=True)
        if log_path:
            with open(log_path, "a") as f:
                f.write(line + "\n")
        if res["score"] > best:
            best, best_step = res["score"], step
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if ckpt_best:
                torch.save({"model": best_state, "step": step, "val": res, "args": vars(args)}, ckpt_best)
        if not args.tiny:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "args": vars(args)},
                       os.path.join(args.ckpt, "segmenter_last.pt"))

    model.train()
    t_train = time.time()
    t_step = []
    run_loss, run_n = 0.0, 0
    step = 0
    for step in range(1, total + 1):
        ts = time.time()
        x, t = sampler.batch(args.batch)
        loss, parts = seg_loss(model.logits(x), t)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        t_step.append(time.time() - ts)
        run_loss += loss.item()
        run_n += 1
        if step % args.log_every == 0 or step == 1 or step == total:
            print(f"  step {step}/{total} loss {loss.item():.4f} (bce chr {parts[0]:.3f} bnd {parts[1]:.3f} ovl {parts[2]:.3f} "
                  f"dice {parts[3]:.3f}) lr {sched.get_last_lr()[0]:.2e} {np.mean(t_step[-args.log_every:]):.2f}s/step", flush=True)
        out_of_time = args.max_minutes and time.time() - t_train > args.max_minutes * 60
        if (args.val_every and step % args.val_every == 0) or step == total or out_of_time:
            validate(step, run_loss / max(run_n, 1))
            run_loss, run_n = 0.0, 0
        if out_of_time and step < total:
            print(f"time limit reached after step {step}: stopping", flush=True)
            break
    train_time = time.time() - t_train
    sps = float(np.mean(t_step[1:])) if len(t_step) > 1 else float(np.mean(t_step))
    print(f"training done: {step} steps in {train_time / 60:.1f} min ({sps:.2f} s/step excluding the first); "
          f"best step {best_step} score {best:.4f}", flush=True)
    if best_state is not None:
        model.load_state_dict(best_state)
    onnx_path = os.path.join(args.out, "chromosome_segmenter.onnx")
    export_onnx(model, onnx_path)
    print(f"exported {onnx_path} ({os.path.getsize(onnx_path) / 1e6:.2f} MB, {nparams} params, step {best_step})", flush=True)
    verify_onnx(model, onnx_path, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
