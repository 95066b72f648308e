#!/usr/bin/python3
"""Params and MAdds of a published net.config, counted in PyTorch without asvk.

usage: netconfig_counts.py NET.CONFIG [RESOLUTION]   (prints {"params", "madds", "resolution"} as JSON)

Builds the network the way the ProxylessNAS and once-for-all code does from the file
(ConvLayer, MBInvertedConvLayer with SE, ZeroLayer + IdentityLayer, the classifier;
ProxylessNASNets: feature mix before the global pool; MobileNetV3: final expand before
it, feature mix after it), written from those projects' layer definitions, not from
asvk's code. Counts follow the ProxylessNAS convention: params are every parameter
tensor (weights, biases, BN gamma and beta); MAdds are every convolution's
C_in/groups * C_out * k * k * H_out * W_out and every linear layer's in * out, taken
by forward hooks on a real forward pass at the resolution (the run.config beside the
file gives it when none is given, else 224). tests/cli/test_phone.sh compares the
figures with `asvk cost --json`."""
import json
import os
import sys

import torch
import torch.nn as nn


def make_divisible(v, divisor=8, min_val=None):
    min_val = min_val or divisor
    new_v = max(min_val, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class HSigmoid(nn.Module):
    def forward(self, x):
        return nn.functional.relu6(x + 3.0) / 6.0


class HSwish(nn.Module):
    def forward(self, x):
        return x * nn.functional.relu6(x + 3.0) / 6.0


def act(name):
    return {None: None, "relu": nn.ReLU(), "relu6": nn.ReLU6(), "h_swish": HSwish(), "swish": nn.SiLU(),
            "sigmoid": nn.Sigmoid()}[name]


def seq(*mods):
    return nn.Sequential(*[m for m in mods if m is not None])


def conv_layer(c):
    k = c.get("kernel_size", 3)
    return seq(nn.Conv2d(c["in_channels"], c["out_channels"], k, c.get("stride", 1), k // 2,
                         groups=c.get("groups", 1), bias=c.get("bias", False)),
               nn.BatchNorm2d(c["out_channels"]) if c.get("use_bn", True) else None, act(c.get("act_func", "relu")))


class SE(nn.Module):
    def __init__(self, ch):
        super().__init__()
        mid = make_divisible(ch // 4, 8)
        self.reduce = nn.Conv2d(ch, mid, 1, bias=True)
        self.expand = nn.Conv2d(mid, ch, 1, bias=True)

    def forward(self, x):
        y = x.mean((2, 3), keepdim=True)
        return x * HSigmoid()(self.expand(nn.functional.relu(self.reduce(y))))


def mb_conv(c):
    cin, cout, k, s = c["in_channels"], c["out_channels"], c.get("kernel_size", 3), c.get("stride", 1)
    e = c.get("expand_ratio", 6)
    mid = c.get("mid_channels") or round(cin * e)
    a = c.get("act_func", "relu6")
    parts = []
    if e != 1:
        parts.append(seq(nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), act(a)))
    else:
        mid = cin
    parts.append(seq(nn.Conv2d(mid, mid, k, s, k // 2, groups=mid, bias=False), nn.BatchNorm2d(mid), act(a)))
    if c.get("use_se") or c.get("has_se"):
        parts.append(SE(mid))
    parts.append(seq(nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout)))
    return nn.Sequential(*parts)


class Block(nn.Module):
    def __init__(self, b):
        super().__init__()
        conv = b["mobile_inverted_conv"]
        self.zero = conv["name"] == "ZeroLayer"
        if not self.zero and conv["name"] not in ("MBInvertedConvLayer", "MBConvLayer"):
            raise SystemExit(f"{conv['name']}: not handled by this script")
        self.conv = None if self.zero else mb_conv(conv)
        self.shortcut = b.get("shortcut") is not None

    def forward(self, x):
        if self.zero:
            return x
        y = self.conv(x)
        return y + x if self.shortcut else y


class Net(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.v3 = cfg.get("name") == "MobileNetV3"
        self.first = conv_layer(cfg["first_conv"])
        self.blocks = nn.Sequential(*[Block(b) for b in cfg["blocks"]])
        self.final_expand = conv_layer(cfg["final_expand_layer"]) if self.v3 else None
        mix = cfg.get("feature_mix_layer")
        self.mix = conv_layer(mix) if mix else None
        cl = cfg["classifier"]
        self.drop = nn.Dropout(cl.get("dropout_rate", 0))
        self.linear = nn.Linear(cl["in_features"], cl["out_features"], bias=cl.get("bias", True))

    def forward(self, x):
        x = self.blocks(self.first(x))
        if self.v3:
            x = self.final_expand(x)
            x = x.mean((2, 3), keepdim=True)
            x = self.mix(x)
        else:
            if self.mix is not None:
                x = self.mix(x)
            x = x.mean((2, 3), keepdim=True)
        return self.linear(self.drop(torch.flatten(x, 1)))


def main():
    path = sys.argv[1]
    cfg = json.load(open(path))
    res = int(sys.argv[2]) if len(sys.argv) > 2 else 224
    run = os.path.join(os.path.dirname(path), "run.config")
    if len(sys.argv) <= 2 and os.path.exists(run):
        size = json.load(open(run))["image_size"]
        res = max(size) if isinstance(size, list) else size
    net = Net(cfg).eval()
    madds = [0]

    def conv_hook(m, inp, out):
        madds[0] += m.in_channels // m.groups * m.out_channels * m.kernel_size[0] * m.kernel_size[1] * \
            out.shape[2] * out.shape[3]

    def linear_hook(m, inp, out):
        madds[0] += m.in_features * m.out_features

    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            m.register_forward_hook(conv_hook)
        elif isinstance(m, nn.Linear):
            m.register_forward_hook(linear_hook)
    with torch.no_grad():
        out = net(torch.zeros(1, cfg["first_conv"]["in_channels"], res, res))
    assert out.shape == (1, cfg["classifier"]["out_features"]), out.shape
    params = sum(p.numel() for p in net.parameters())
    print(json.dumps({"params": params, "madds": madds[0], "resolution": res}))


if __name__ == "__main__":
    main()
