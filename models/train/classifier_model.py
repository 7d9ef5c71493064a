"""Compact chromosome classifier network (shared by training and evaluation)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_CLASSES = 24
CLASS_NAMES = [str(i) for i in range(1, 23)] + ["X", "Y"]
IMG_H, IMG_W = 128, 64


class Block(nn.Module):
    """ResNet basic block (two 3x3 convs, BN, ReLU) with optional stride."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        s = x if self.short is None else self.short(x)
        return F.relu(y + s)


class ChromosomeNet(nn.Module):
    """Input [N,1,128,64] + rel_length [N,1]; outputs class logits, polarity logit, embedding.

    Feature map 8x4 at the end is averaged over the WIDTH only, keeping a coarse
    8-row vertical profile (banding pattern / which end is which) plus a global
    average; both go into the embedding MLP together with rel_length.
    """

    def __init__(self, widths=(24, 32, 64, 128, 160), emb=128):
        super().__init__()
        w0, w1, w2, w3, w4 = widths
        self.stem = nn.Sequential(nn.Conv2d(1, w0, 3, 2, 1, bias=False), nn.BatchNorm2d(w0), nn.ReLU(inplace=True))  # 64x32
        self.s1 = nn.Sequential(Block(w0, w1, 1))            # 64x32
        self.s2 = nn.Sequential(Block(w1, w2, 2))            # 32x16
        self.s3 = nn.Sequential(Block(w2, w3, 2))            # 16x8
        self.s4 = nn.Sequential(Block(w3, w4, 2), Block(w4, w4))  # 8x4
        self.rows = IMG_H // 16
        feat = w4 * self.rows + w4 + 2
        self.fc = nn.Sequential(nn.Dropout(0.2), nn.Linear(feat, emb, bias=False), nn.BatchNorm1d(emb), nn.ReLU(inplace=True))
        self.cls = nn.Linear(emb, NUM_CLASSES)
        self.pol = nn.Linear(emb, 1)

    def forward(self, image, rel_length):
        x = self.s4(self.s3(self.s2(self.s1(self.stem(image)))))
        prof = x.mean(dim=3)                 # [N,C,8] vertical profile
        glob = prof.mean(dim=2)              # [N,C]
        known = (rel_length > 0).to(image.dtype)
        f = torch.cat([prof.flatten(1), glob, rel_length, known], dim=1)
        emb = self.fc(f)
        return self.cls(emb), self.pol(emb), emb
