#!/usr/bin/env python3
"""Evaluate the exported chromosome classifier ONNX on the validation split with onnxruntime.

Writes <out>/chromosome_classifier.metrics.json, <out>/chromosome_classifier.card.md and
<out>/chromosome_classifier_confusion.png.

    python models/train/evaluate_classifier.py --data ../shared/data --out models
"""
import argparse
import datetime
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classifier_model import CLASS_NAMES, NUM_CLASSES  # noqa: E402
from train_classifier import (SPLIT_SEED, VAL_FRACTION, build_arrays, load_rows,  # noqa: E402
                              make_split, prepare)

DISCARD = [0.0, 0.01, 0.02, 0.05, 0.10]
SETS = ("pki3", "bioimlab", "mfish")
SET_TITLES = {"pki3": "Pki-3 (G-band)", "bioimlab": "BioImLab (Q-band, inverted)",
              "mfish": "M-FISH DAPI crops cut by the pipeline (inverted look)"}


def softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def run(sess, x, rel, bs=256):
    logits, pol, emb = [], [], []
    for i in range(0, len(x), bs):
        a, p, e = sess.run(None, {"image": x[i:i + bs], "rel_length": rel[i:i + bs]})
        logits.append(a), pol.append(p), emb.append(e)
    return np.concatenate(logits), np.concatenate(pol)[:, 0], np.concatenate(emb)


# The app's second look (src/infer/classifier.rs): crops whose top class has a
# probability below this are also run turned by 180 degrees, and the two
# probability vectors are averaged.
SECOND_LOOK_BELOW = 0.6


def second_look(sess, x, rel, prob):
    out = prob.copy()
    unc = np.nonzero(prob.max(1) < SECOND_LOOK_BELOW)[0]
    if len(unc) == 0:
        return out
    turned = np.ascontiguousarray(x[unc][..., ::-1, ::-1])
    out[unc] = 0.5 * (out[unc] + softmax(run(sess, turned, rel[unc])[0]))
    return out


def min_cost_assignment(cost):
    """Rows -> distinct columns (n <= m) minimising the total cost: the Hungarian algorithm with
    potentials (as src/domain/classify/hungarian.rs). Returns the column of each row."""
    n, m = cost.shape
    u, v = np.zeros(n + 1), np.zeros(m + 1)
    owner = np.zeros(m + 1, np.int64)  # owner[j] = 1-based row holding column j (0 = free)
    for i in range(1, n + 1):
        owner[0] = i
        j0 = 0
        minv = np.full(m + 1, np.inf)
        way = np.zeros(m + 1, np.int64)
        used = np.zeros(m + 1, bool)
        while True:
            used[j0] = True
            i0 = owner[j0]
            free = ~used[1:]
            cur = cost[i0 - 1] - u[i0] - v[1:]
            better = free & (cur < minv[1:])
            minv[1:][better] = cur[better]
            way[1:][better] = j0
            cand = np.where(free, minv[1:], np.inf)
            j1 = int(np.argmin(cand)) + 1
            delta = cand[j1 - 1]
            u[owner[used]] += delta
            v[used] -= delta
            minv[1:][free] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    cols = np.zeros(n, np.int64)
    for j in range(1, m + 1):
        if owner[j]:
            cols[owner[j] - 1] = j - 1
    return cols


# The app's whole-cell assignment (src/domain/classify/assign.rs, AssignParams::default()):
# two places per autosome, X places at cost 0 and 1, a Y place at 1, two surplus places per
# class at +2.5, and an "unassigned" place per object at 9 (nats; a place costs -ln p).
SURPLUS_PENALTY, UNASSIGNED_COST, SURPLUS_PLACES, SEX_PLACE_COST = 2.5, 9.0, 2, 1.0


def assign_cell(prob):
    """Class placed for each crop of one cell (-1 = unassigned), as the app arranges a karyogram."""
    classes, extra = [], []
    for c in range(NUM_CLASSES):
        regular = [0.0, SEX_PLACE_COST] if CLASS_NAMES[c] == "X" else \
            [SEX_PLACE_COST] if CLASS_NAMES[c] == "Y" else [0.0, 0.0]
        for e in regular + [SURPLUS_PENALTY] * SURPLUS_PLACES:
            classes.append(c)
            extra.append(e)
    n = len(prob)
    nll = -np.log(np.clip(prob, 1e-12, None))
    cost = np.concatenate([nll[:, classes] + np.array(extra)[None], np.full((n, n), UNASSIGNED_COST)], 1)
    cols = min_cost_assignment(cost)
    places = np.array(classes + [-1] * n)
    return places[cols]


def cell_assigned(prob, cells):
    """The class each crop gets when its whole cell is assigned at once."""
    out = np.full(len(prob), -1)
    for c in np.unique(cells):
        idx = np.nonzero(cells == c)[0]
        out[idx] = assign_cell(prob[idx])
    return out


def entropy_curve(prob, labels):
    ent = -(prob * np.log(np.clip(prob, 1e-12, 1))).sum(1)
    order = np.argsort(ent)  # most confident first
    correct = prob.argmax(1) == labels
    out = {}
    for f in DISCARD:
        keep = order[:len(order) - int(round(f * len(order)))]
        out[f"{f:.2f}"] = float(correct[keep].mean())
    return out


def per_class(pred, labels):
    return {CLASS_NAMES[c]: (float((pred[labels == c] == c).mean()) if (labels == c).any() else None,
                             int((labels == c).sum())) for c in range(NUM_CLASSES)}


def confusion(pred, labels):
    cm = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    np.add.at(cm, (labels, pred), 1)
    return cm


def plot_confusion(cms, titles, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(cms), figsize=(8 * len(cms), 7.5))
    for ax, cm, t in zip(np.atleast_1d(axes), cms, titles):
        norm = cm / np.maximum(1, cm.sum(1, keepdims=True))
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        for i in range(NUM_CLASSES):
            for j in range(NUM_CLASSES):
                if cm[i, j] and i != j:
                    ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=6, color="crimson")
        ax.set_xticks(range(NUM_CLASSES), CLASS_NAMES, fontsize=7)
        ax.set_yticks(range(NUM_CLASSES), CLASS_NAMES, fontsize=7)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(t)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data"))
    ap.add_argument("--out", default="models")
    ap.add_argument("--onnx", default=None, help="default: <out>/chromosome_classifier.onnx")
    ap.add_argument("--history", default="/work/ckpt/train_history.json", help="training log written by train_classifier.py")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--notes", default=None, help="markdown file appended to the card's training section (e.g. earlier stages)")
    ap.add_argument("--limit", type=int, default=0, help="smoke test: only the first N validation crops per dataset")
    ap.add_argument("--mfish-crops", default=None,
                    help="mfish_crops.csv written by `karyostation mfish-crops`: its validation slides "
                         "(models/train/segmenter_splits.json) join the evaluation as a third set")
    args = ap.parse_args()
    import onnxruntime as ort

    if not os.path.isdir(args.data):
        print(f"data folder {args.data} not found: skipped")
        return 0
    onnx_path = args.onnx or os.path.join(args.out, "chromosome_classifier.onnx")
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])

    mfish_csv = args.mfish_crops if args.mfish_crops and os.path.exists(args.mfish_crops) else None
    if args.mfish_crops and not mfish_csv:
        print(f"M-FISH crops {args.mfish_crops} not found: evaluating without M-FISH")
    rows = load_rows(args.data, mfish_csv)
    val_groups = make_split(rows)
    rows = [r for r in rows if r["group"] in val_groups]
    imgs, _, rel = build_arrays(rows)
    if args.limit:
        keep = [i for ds in SETS for i in [j for j, r in enumerate(rows) if r["ds"] == ds][:args.limit]]
        rows, imgs, rel = [rows[i] for i in keep], imgs[keep], rel[keep]
    x = (imgs.astype(np.float32) / 255.0)[:, None]
    rel = rel[:, None].astype(np.float32)
    labels = np.array([r["label"] for r in rows])
    ds_of = np.array([r["ds"] for r in rows])
    cells = np.array([r["cell"] for r in rows])
    is_pki = ds_of == "pki3"

    logits, pol, emb = run(sess, x, rel)
    logits0, pol0, _ = run(sess, x, np.zeros_like(rel))
    prob1, prob0 = softmax(logits), softmax(logits0)
    prob = second_look(sess, x, rel, prob1)
    pred, pred0, pred1 = prob.argmax(1), prob0.argmax(1), prob1.argmax(1)
    pred_cell = cell_assigned(prob, cells)

    # polarity: upright Pki-3 crops (p arm up) and the same crops rotated 180 degrees BEFORE preprocessing
    from PIL import Image
    pki_idx = np.nonzero(is_pki)[0]
    flipped = np.zeros((len(pki_idx), 1, 128, 64), np.float32)
    for k, i in enumerate(pki_idx):
        g = np.asarray(Image.open(rows[i]["path"]).convert("L"))[::-1, ::-1]
        flipped[k, 0] = prepare(np.ascontiguousarray(g))[0]
    logits_f, pol_f, _ = run(sess, flipped, rel[pki_idx])
    pol_up = float((pol[pki_idx] > 0).mean())
    pol_dn = float((pol_f < 0).mean())
    top1_flipped = float((logits_f.argmax(1) == labels[pki_idx]).mean())

    metrics = {"onnx": os.path.basename(onnx_path), "onnx_bytes": os.path.getsize(onnx_path),
               "split_seed": SPLIT_SEED, "val_fraction": VAL_FRACTION,
               "evaluated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    cms, titles = [], []
    for name in SETS:
        m = ds_of == name
        if not m.any():
            continue
        d = {"n": int(m.sum()),
             "top1": float((pred[m] == labels[m]).mean()),
             "top1_single_view": float((pred1[m] == labels[m]).mean()),
             "second_look_share": float((prob1[m].max(1) < SECOND_LOOK_BELOW).mean()),
             "top1_rel_length_unknown": float((pred0[m] == labels[m]).mean()),
             "top1_cell_assigned": float((pred_cell[m] == labels[m]).mean()),
             "top2": float((np.argsort(-prob[m], 1)[:, :2] == labels[m][:, None]).any(1).mean()),
             "accuracy_after_discarding_highest_entropy": entropy_curve(prob[m], labels[m]),
             "per_class": per_class(pred[m], labels[m])}
        if name == "pki3":
            d["polarity_upright"] = pol_up
            d["polarity_flipped"] = pol_dn
            d["polarity"] = 0.5 * (pol_up + pol_dn)
            d["top1_flipped_input"] = top1_flipped
        metrics[name] = d
        cms.append(confusion(pred[m], labels[m]))
        titles.append(f"{SET_TITLES[name]} validation:\ntop-1 {100 * d['top1']:.2f}% (n={d['n']})")
        metrics[name]["confusion"] = cms[-1].tolist()

    # inference time: batch of 46 crops, median of 20 runs, threads as given
    xb, rb = x[:46], rel[:46]
    for _ in range(3):
        sess.run(None, {"image": xb, "rel_length": rb})
    ts = []
    for _ in range(20):
        t = time.perf_counter()
        sess.run(None, {"image": xb, "rel_length": rb})
        ts.append(time.perf_counter() - t)
    metrics["timing"] = {"batch": 46, "runs": 20, "threads": args.threads, "median_ms": 1000 * float(np.median(ts)),
                         "min_ms": 1000 * float(np.min(ts)), "onnxruntime": ort.__version__}
    metrics["embedding_dim"] = int(emb.shape[1])

    hist = None
    if args.history and os.path.exists(args.history):
        hist = json.load(open(args.history))
        metrics["training"] = {k: hist[k] for k in ("best_epoch", "train_time_s", "params", "args") if k in hist}
        metrics["training"]["epochs_run"] = len({h["epoch"] for h in hist.get("history", [])})

    os.makedirs(args.out, exist_ok=True)
    png = os.path.join(args.out, "chromosome_classifier_confusion.png")
    plot_confusion(cms, titles, png)
    with open(os.path.join(args.out, "chromosome_classifier.metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    with open(os.path.join(args.out, "chromosome_classifier.card.md"), "w") as f:
        notes = open(args.notes).read() if args.notes and os.path.exists(args.notes) else ""
        f.write(model_card(metrics, hist, notes))
    short = {k: v for k, v in metrics.items() if k not in SETS}
    for n in SETS:
        if n in metrics:
            short[n] = {k: v for k, v in metrics[n].items() if k not in ("per_class", "confusion")}
    print(json.dumps(short, indent=1))
    return 0


def pct(v):
    return "n/a" if v is None else f"{100 * v:.2f}%"


def model_card(m, hist, notes=""):
    p, b, mf = m.get("pki3", {}), m.get("bioimlab", {}), m.get("mfish", {})
    tr = m.get("training", {})
    targs = tr.get("args", {})
    mfish_csv = targs.get("mfish_crops")
    mfish_eval = mfish_csv or ("/work/ckpt/mfish_crops/mfish_crops.csv" if mf else None)
    L = []
    L.append("# Model card: KaryoStation chromosome classifier (`chromosome_classifier.onnx`)\n")
    L.append("Classifies one chromosome crop into 24 classes (1-22, X, Y), predicts its polarity "
             "(is the p arm at the top?) and gives an embedding for pairing/similarity. "
             "Trained on CPU with `models/train/train_classifier.py`; numbers below were measured by "
             f"`models/train/evaluate_classifier.py` with onnxruntime {m['timing']['onnxruntime']} on the validation split "
             f"({m['evaluated']}).\n")
    L.append("## Contract (what the Rust side implements)\n")
    L.append(CONTRACT)
    L.append("## Data\n")
    L.append("- **Pki-3** (Passau Chromosome Image Data), G-band bright-field crops cut from arranged karyograms, "
             "upright (p arm up). Research use; cite Ritter & Gao, *Pattern Recognition* 41 (2008) 38-55.\n"
             "- **BioImLab** (Univ. Padova: Poletti, Grisan, Ruggeri) Q-band crops, bright on dark, inverted (255-v) "
             "to G-band polarity; orientation is not polarity-normalised, so their polarity loss is masked. "
             "Research use; cite Poletti et al. 2008/2012.\n"
             "- **ADIR M-FISH** DAPI spreads (free to use with the notice in the data's ADIR_README_AND_LICENSE.md): "
             "crops cut by KaryoStation's own pipeline (`karyostation mfish-crops`, straightened along the label map's "
             "instances, G-band look), so the model also sees chromosomes cut automatically from a spread; orientation "
             "unknown, so their polarity loss is masked.\n"
             "- The images are NOT in this repository (licences); they live in the project's `../shared/data`. "
             "A further held-back portion of each set was not used.\n")
    L.append(f"Split (seed {m['split_seed']}, {int(100 * m['val_fraction'])}% of units to validation, never one "
             "patient in both): Pki-3 by the `case` column (patient), BioImLab by `karyotype` folder. The validation "
             "lists are in `models/train/splits.json`. M-FISH by slide, the validation slides being those of "
             "`models/train/segmenter_splits.json` (`mfish_val`), shared with the segmenter so end-to-end figures on "
             "them are clean. "
             f"Validation crops: Pki-3 {p.get('n', 0)}, BioImLab {b.get('n', 0)}, M-FISH {mf.get('n', 0)}.\n")
    L.append("rel_length during training/evaluation: Pki-3 length = crop height (upright crop); BioImLab length = "
             "extent of the foreground along the principal axis (crops are tilted); M-FISH length = the pipeline's "
             "axis length (`length_px`); divided by the mean length over the same karyogram / karyotype folder / "
             "M-FISH image.\n")
    L.append("## Training\n")
    L.append("- Augmentation (batched, torch, seeded): 180-degree flip with p=0.5 (defines the polarity label: "
             "upright Pki-3 = 1, flipped = 0), left-right mirror p=0.5, rotation +-10 deg (white fill), scale +-10%, "
             "shift +-3 px, bending (quadratic + sinusoidal horizontal row shear, p=0.6"
             + (f"; instead, for a share of {targs['strong_bend']:g}, a C-shaped arc of 40-130 degrees that keeps "
                "the chromosome's width, scaled down for stout crops: `arc_bend`" if targs.get("strong_bend") else "")
             + (f"; instead, for a share of {targs['kink']:g} of the others, a bend at one place (J and hook shapes, "
                "60-180 degrees over 15-45% of the length: `kink_bend`)" if targs.get("kink") else "")
             + "), neighbour fragments "
             "(piece of another crop pasted partly off-canvas at an edge, p=0.35), Gaussian blur sigma 0-1.2 px, "
             "gamma 0.7-1.4, contrast 0.7-1.15, grey background level inside the crop rectangle (p=0.5, up to 12%), "
             "Gaussian noise sigma 0-0.04; rel_length set to 0 for 30% of samples, else x U(0.92,1.08).\n"
             "- Loss: cross-entropy with label smoothing 0.05 + 0.5 x BCE polarity (masked for BioImLab and M-FISH).\n"
             f"- AdamW lr {targs.get('lr', '?')}, weight decay 5e-4, batch {targs.get('batch', '?')}, linear warm-up then "
             f"cosine decay, {targs.get('epochs', '?')} epochs planned, {tr.get('epochs_run', '?')} run; BioImLab training "
             f"crops repeated x{targs.get('bio_oversample', '?')} per epoch; best-on-validation epoch "
             f"{tr.get('best_epoch', '?')} kept (score = mean of Pki-3 top-1, BioImLab top-1, M-FISH top-1 (when used) "
             "and polarity)"
             + (f"; an exponential moving average of the weights (decay {targs['ema']} per step) was scored "
                "beside them each epoch, and the better of the two kept" if targs.get("ema") else "")
             + ".\n"
             f"- Seed {targs.get('seed', '?')}; {targs.get('threads', 2)} CPU threads; training wall time "
             f"{tr.get('train_time_s', 0) / 60:.0f} min on a 2-core CPU shared with other work.\n"
             "- Reproduce (this stage): "
             + ("first `cargo run --release -- mfish-crops --out /work/ckpt/mfish_crops` (no `--val-split`: the CSV "
                "must include the validation slides), then " if mfish_eval else "")
             + "`python models/train/train_classifier.py --data ../shared/data --out models "
             f"--epochs {targs.get('epochs', '?')} --seed {targs.get('seed', '?')} --lr {targs.get('lr', '?')}"
             + (f" --init {targs['init']}" if targs.get('init') else "")
             + (f" --init-onnx {targs['init_onnx']}" if targs.get('init_onnx') else "")
             + (f" --steps-per-epoch {targs.get('steps_per_epoch')} --warmup {targs.get('warmup')}"
                if targs.get('init') or targs.get('init_onnx') else "")
             + (f" --bio-oversample {targs['bio_oversample']}" if targs.get('bio_oversample', 2) != 2 else "")
             + (f" --ema {targs['ema']}" if targs.get('ema') else "")
             + (f" --strong-bend {targs['strong_bend']:g}" if targs.get('strong_bend') else "")
             + (f" --kink {targs['kink']:g}" if targs.get('kink') else "")
             + (f" --max-minutes {targs['max_minutes']:g}" if targs.get('max_minutes') else "")
             + (f" --mfish-crops {mfish_csv}" if mfish_csv else "")
             + "` then `python models/train/evaluate_classifier.py --data ../shared/data --out models"
             + (f" --mfish-crops {mfish_eval}" if mfish_eval else "") + "`.\n")
    if notes:
        L.append(notes.rstrip() + "\n")
    if hist and hist.get("history"):
        L.append("| epoch | weights | train loss | train acc (aug.) | Pki-3 top-1 | BioImLab top-1 | M-FISH top-1 | "
                 "polarity | min |\n|---|---|---|---|---|---|---|---|---|")
        for h in hist["history"]:
            L.append(f"| {h['epoch']} | {h.get('weights', 'model')} | {h['train_loss']:.3f} | {pct(h['train_acc'])} | "
                     f"{pct(h.get('pki3_top1'))} | "
                     f"{pct(h.get('bioimlab_top1'))} | {pct(h.get('mfish_top1'))} | {pct(h.get('pki3_polarity'))} | "
                     f"{h['time_s'] / 60:.1f} |")
        L.append("")
    L.append("## Architecture\n")
    L.append(f"Compact ResNet (BatchNorm, ReLU): stem conv3x3/2 (24) -> block 32 -> block 64/2 -> block 128/2 -> "
             "2 blocks 160 (first /2) giving a 160x8x4 map; averaged over the width only (an 8-row vertical profile, "
             "keeps which end is which) plus a global average, concatenated with rel_length and a `rel_length > 0` flag "
             f"-> dropout 0.2 -> linear -> BN -> ReLU = embedding ({m['embedding_dim']}) -> linear heads for the 24 "
             f"classes and the polarity. Parameters: {tr.get('params', '?')}; ONNX file {m['onnx_bytes'] / 1e6:.2f} MB "
             "(float32, opset 17, dynamic batch).\n")
    L.append("## Results (validation split, onnxruntime)\n")
    L.append("As the app classifies: crops whose most probable class is below "
             f"{SECOND_LOOK_BELOW} get a second look (also turned 180 degrees, the two probability vectors "
             "averaged); polarity and embedding come from the crop as given.\n")
    L.append("| metric | Pki-3 | BioImLab | M-FISH | target (Pki-3 / BioImLab / M-FISH) |\n|---|---|---|---|---|")
    L.append(f"| top-1 | {pct(p.get('top1'))} | {pct(b.get('top1'))} | {pct(mf.get('top1'))} | >= 98.5% / >= 96% / - |")
    L.append(f"| top-1 without the second look (one view of every crop) | {pct(p.get('top1_single_view'))} | "
             f"{pct(b.get('top1_single_view'))} | {pct(mf.get('top1_single_view'))} | |")
    L.append(f"| crops given the second look (top class below {SECOND_LOOK_BELOW}) | "
             f"{pct(p.get('second_look_share'))} | {pct(b.get('second_look_share'))} | "
             f"{pct(mf.get('second_look_share'))} | |")
    L.append(f"| top-1, rel_length = 0 (unknown) (one view) | {pct(p.get('top1_rel_length_unknown'))} | "
             f"{pct(b.get('top1_rel_length_unknown'))} | {pct(mf.get('top1_rel_length_unknown'))} | |")
    L.append(f"| class placed by the whole-cell assignment (each karyogram / spread assigned at once, as the app "
             f"arranges a cell) | {pct(p.get('top1_cell_assigned'))} | {pct(b.get('top1_cell_assigned'))} | "
             f"{pct(mf.get('top1_cell_assigned'))} | |")
    L.append(f"| top-2 | {pct(p.get('top2'))} | {pct(b.get('top2'))} | {pct(mf.get('top2'))} | |")
    L.append(f"| polarity (upright / flipped) | {pct(p.get('polarity'))} ({pct(p.get('polarity_upright'))} / "
             f"{pct(p.get('polarity_flipped'))}) | n/a (no label) | n/a (no label) | >= 99% |")
    L.append(f"| top-1 on 180-degree-rotated input | {pct(p.get('top1_flipped_input'))} | | | |")
    L.append("")
    L.append("Accuracy after discarding the highest-entropy predictions (reject option):\n")
    L.append("| discarded | Pki-3 | BioImLab | M-FISH |\n|---|---|---|---|")
    for f in DISCARD:
        k = f"{f:.2f}"
        L.append(f"| {int(round(100 * f))}% | {pct(p.get('accuracy_after_discarding_highest_entropy', {}).get(k))} | "
                 f"{pct(b.get('accuracy_after_discarding_highest_entropy', {}).get(k))} | "
                 f"{pct(mf.get('accuracy_after_discarding_highest_entropy', {}).get(k))} |")
    L.append("")
    L.append("Per-class top-1 (n):\n")
    L.append("| class | Pki-3 | BioImLab | M-FISH |\n|---|---|---|---|")
    for c in CLASS_NAMES:
        pa, pn = p.get("per_class", {}).get(c, (None, 0))
        ba, bn = b.get("per_class", {}).get(c, (None, 0))
        ma, mn = mf.get("per_class", {}).get(c, (None, 0))
        L.append(f"| {c} | {pct(pa)} ({pn}) | {pct(ba)} ({bn}) | {pct(ma)} ({mn}) |")
    L.append("")
    L.append("Confusion matrices: `chromosome_classifier_confusion.png` (off-diagonal counts in red).\n")
    t = m["timing"]
    L.append(f"Inference: batch of {t['batch']} crops, onnxruntime CPU, {t['threads']} threads: median "
             f"{t['median_ms']:.1f} ms over {t['runs']} runs (min {t['min_ms']:.1f} ms), measured on the 2-core "
             "development machine (shared with other work, so an upper bound).\n")
    L.append("## Limitations\n")
    L.append("- Pki-3 crops come from arranged karyograms (clean, upright, tight); crops cut automatically from "
             "spreads will be worse"
             + (" (the M-FISH column measures this on the pipeline's own crops, DAPI rather than G-banded)" if mf else
                ": check on the Rust side's own segmentation output before trusting it") + ".\n"
             "- BioImLab is Q-band inverted; Q-bright bands correspond only roughly to G-dark bands.\n"
             "- Only normal 46,XX / 46,XY cells: no abnormal chromosomes (derivatives, markers) were seen in training; "
             "use the entropy / reject option for those.\n"
             "- BioImLab validation has few crops per class (~30), so its per-class numbers are coarse.\n")
    return "\n".join(L) + "\n"


CONTRACT = """- Inputs
  - `image`: float32 `[N,1,128,64]` (N dynamic). Preprocessing of one crop (8-bit grey, chromosome dark on
    light, i.e. G-band look; invert fluorescence crops first with `255 - v`):
    0. upright: foreground = `255 - v > max(20, 0.25 max(255 - v) + 0.5 mean(255 - v))`; when the principal axis
       of the foreground pixels leans more than 15 degrees from the vertical, turn the crop by that lean (the
       smallest angle, so the top stays the top; bilinear, white fill) and cut it to the turned foreground's
       bounding box plus 2 px (`upright` in `crop_preprocess.py`, `src/infer/preprocess.rs`);
    0b. trim: every crop is cut to the bounding box of its pixels with `255 - v > 20` plus 2 px (`trim`), so a
       chromosome on a padded canvas (some BioImLab karyotypes are cut as 200x100 canvases) fills the input as a
       tight crop does; a tight crop is unchanged;
    1. `s = min(128/h, 64/w, 4)` (never upscale beyond 4x);
    2. resize with bilinear filtering (PIL `Image.BILINEAR`, which antialiases when shrinking) to
       `nw = clamp(floor(w*s + 0.5), 1, 64)`, `nh = clamp(floor(h*s + 0.5), 1, 128)`;
    3. paste at `x0 = (64 - nw) / 2`, `y0 = (128 - nh) / 2` (integer division, floor) on a 64x128 canvas of 255 (white);
    4. `x = 1 - v/255` (chromosome high, background 0).
  - `rel_length`: float32 `[N,1]`: the chromosome's length (crop height for an upright crop) divided by the mean
    length of all chromosomes of the same cell (~2.0 for chr1, ~0.4 for chr21). `0.0` = unknown (single crop).
- Outputs
  - `class_logits` `[N,24]`: index 0..21 = chromosomes 1..22, 22 = X, 23 = Y (softmax for probabilities).
  - `polarity_logit` `[N,1]`: > 0 means the p arm is at the TOP of the input image (rotate 180 degrees if < 0).
  - `embedding` `[N,128]`: penultimate layer (after ReLU), for homologue pairing / similarity.
- ONNX opset 17, dynamic batch axis `N` on every input and output; exported in inference mode (BatchNorm with running statistics, conv BatchNorms folded; no dropout). Plain float32, CPU onnxruntime.
"""

if __name__ == "__main__":
    sys.exit(main())
