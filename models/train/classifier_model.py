"""Compact chromosome classifier network (shared by training and evaluation)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from crop_preprocess import IMG_H  # one definition of the input size

NUM_CLASSES = 24
CLASS_NAMES = [str(i) for i in range(1, 23)] + ["X", "Y"]


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


def from_onnx(path, calib_image, calib_rel):
    """A ChromosomeNet (in inference mode) holding the weights of an exported ONNX classifier.

    The export folds each convolution's BatchNorm into the convolution (weight W', bias b'), so the
    BatchNorm parameters cannot be read back. They are rebuilt instead: the convolution keeps W' and
    its BatchNorm gets running mean m and variance v (the per-channel statistics of W'x over the
    calibration batch `calib_image`, `calib_rel`), weight sqrt(v + eps) and bias m + b'. In inference
    mode that is exactly W'x + b' whatever the batch; in training mode, where BatchNorm uses the
    statistics of each batch, it is the same as long as a batch looks like the calibration batch.
    The embedding layer's BatchNorm stays unfolded in the export and is read back as it is. The ONNX
    convolutions, and the linear layers after them, are taken in graph order, which is the order the
    network runs its layers in; every count and shape is checked.
    """
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(path).graph
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    onnx_convs = [n for n in graph.node if n.op_type == "Conv"]
    onnx_linears = [n for n in graph.node if n.op_type in ("Gemm", "MatMul")]
    onnx_bns = [n for n in graph.node if n.op_type == "BatchNormalization"]

    def constant(name, shape, transpose=False):
        if name not in init:
            raise ValueError(f"{path}: {name} is not a stored weight")
        value = torch.from_numpy(init[name].copy()).float()
        value = value.t() if transpose else value
        if tuple(value.shape) != tuple(shape):
            raise ValueError(f"{path}: {name} has shape {tuple(value.shape)}, the network needs {tuple(shape)}")
        return value

    model = ChromosomeNet().eval()
    # The convolutions in the order the network runs them, each with the BatchNorm after it.
    order = []
    hooks = [m.register_forward_hook(lambda mod, _i, _o: order.append(mod))
             for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model(calib_image[:2], calib_rel[:2])
    for h in hooks:
        h.remove()
    bn_after = {}
    for m in model.modules():
        if isinstance(m, nn.Sequential):
            for a, b in zip(m, list(m)[1:]):
                if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                    bn_after[a] = b
        if isinstance(m, Block):
            bn_after[m.c1], bn_after[m.c2] = m.b1, m.b2
    fc_lin, fc_bn = model.fc[1], model.fc[2]
    heads = (fc_lin, model.cls, model.pol)
    for what, found, needed in (("convolutions", len(onnx_convs), len(order)),
                                ("linear layers", len(onnx_linears), len(heads)),
                                ("BatchNormalization nodes (the embedding's)", len(onnx_bns), 1)):
        if found != needed:
            raise ValueError(f"{path}: {found} {what}, the network has {needed}")

    with torch.no_grad():
        for lin, node in zip(heads, onnx_linears):
            transposed = node.op_type == "MatMul" or not any(a.name == "transB" and a.i == 1 for a in node.attribute)
            lin.weight.copy_(constant(node.input[1], lin.weight.shape, transpose=transposed))
            if lin.bias is not None:
                lin.bias.copy_(constant(node.input[2], lin.bias.shape))
        bn_node = onnx_bns[0]
        for param, name in zip((fc_bn.weight, fc_bn.bias, fc_bn.running_mean, fc_bn.running_var), bn_node.input[1:5]):
            param.copy_(constant(name, param.shape))
        # Each convolution's folded weight, and a placeholder BatchNorm adding its folded bias (exact in
        # inference mode), then the calibration statistics of W'x.
        biases = {}
        for conv, node in zip(order, onnx_convs):
            conv.weight.copy_(constant(node.input[1], conv.weight.shape))
            b = constant(node.input[2], (conv.out_channels,)) if len(node.input) > 2 else torch.zeros(conv.out_channels)
            biases[conv] = b
            bn = bn_after[conv]
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0)
            bn.weight.fill_(math.sqrt(1.0 + bn.eps))
            bn.bias.copy_(b)
        stats = {}
        hooks = [conv.register_forward_hook(
            lambda mod, _i, out: stats.__setitem__(mod, out.transpose(0, 1).reshape(out.shape[1], -1)))
            for conv in order]
        model(calib_image, calib_rel)
        for h in hooks:
            h.remove()
        for conv in order:
            z, bn = stats[conv], bn_after[conv]
            mean, var = z.mean(dim=1), z.var(dim=1, unbiased=False)
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)
            bn.weight.copy_(torch.sqrt(var + bn.eps))
            bn.bias.copy_(mean + biases[conv])
    return model
