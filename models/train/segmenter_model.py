"""Small U-Net chromosome segmenter (shared by training and export).

Input  [N,1,H,W] preprocessed spread (chromosome high, background 0), H and W multiples of 16.
Output [N,3,H,W] probabilities (sigmoid applied inside the model):
  0 = chromosome (any chromosome, overlap included), 1 = boundary (1-px inner rim of each
  instance), 2 = overlap (pixel in >= 2 chromosomes).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT_CHANNELS = 3
CHANNEL_NAMES = ("chromosome", "boundary", "overlap")
STRIDE = 16  # H and W must be multiples of this


def conv_bn_relu(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def double_conv(cin, cout):
    return nn.Sequential(conv_bn_relu(cin, cout), conv_bn_relu(cout, cout))


class Up(nn.Module):
    """Bilinear x2 upsampling, concatenation with the skip, then `nconv` conv-BN-ReLU."""

    def __init__(self, cin, cskip, cout, nconv=2):
        super().__init__()
        layers = [conv_bn_relu(cin + cskip, cout)] + [conv_bn_relu(cout, cout) for _ in range(nconv - 1)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x, skip):
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.conv(torch.cat([x, skip], 1))


class SegUNet(nn.Module):
    """U-Net with 4 max-pool downsamplings (/16), widths (8, 16, 32, 64, 96) by default.

    The full-resolution stages are kept to a single conv each (encoder and decoder): they
    dominate the CPU time at 768x576 and the rims only need a few channels there.
    """

    def __init__(self, widths=(8, 16, 32, 64, 96), full_res_convs=1):
        super().__init__()
        w0, w1, w2, w3, w4 = widths
        self.widths = tuple(widths)
        self.inc = conv_bn_relu(1, w0) if full_res_convs == 1 else double_conv(1, w0)
        self.d1 = double_conv(w0, w1)   # /2
        self.d2 = double_conv(w1, w2)   # /4
        self.d3 = double_conv(w2, w3)   # /8
        self.d4 = double_conv(w3, w4)   # /16
        self.u3 = Up(w4, w3, w3)        # /8
        self.u2 = Up(w3, w2, w2)        # /4
        self.u1 = Up(w2, w1, w1)        # /2
        self.u0 = Up(w1, w0, w0, nconv=full_res_convs)  # /1
        self.head = nn.Conv2d(w0, OUT_CHANNELS, 1)
        # start with low boundary / overlap probabilities (rare classes): faster, stabler start
        with torch.no_grad():
            self.head.bias.copy_(torch.tensor([-1.0, -2.5, -4.0]))

    def logits(self, image):
        x0 = self.inc(image)
        x1 = self.d1(F.max_pool2d(x0, 2))
        x2 = self.d2(F.max_pool2d(x1, 2))
        x3 = self.d3(F.max_pool2d(x2, 2))
        x4 = self.d4(F.max_pool2d(x3, 2))
        y = self.u3(x4, x3)
        y = self.u2(y, x2)
        y = self.u1(y, x1)
        y = self.u0(y, x0)
        return self.head(y)

    def forward(self, image):
        return torch.sigmoid(self.logits(image))
