#!/usr/bin/python3
"""PyTorch twin of an asvk architecture.

Builds a torch.nn.Module from an asvk architecture file ("format": "asvk-arch/1",
docs/architecture.md) with the same semantics as asvk (BN eps/momentum,
activations, squeeze-excitation, residuals, dropout, padding, AutoSpace
cells), whose
state_dict keys are exactly asvk's parameter names, and moves weights between
it and asvk safetensors checkpoints (asvk stores conv weights OHWI, PyTorch
OIHW). Used by the parity test and the speed benchmark.

Run it with Debian's interpreter, which has torch and numpy:

    /usr/bin/python3 tools/torch_arch.py --check               # mbv2 at 224: params, MAdds, forward
    /usr/bin/python3 tools/torch_arch.py ARCH.json [--checkpoint CKPT.safetensors] [--resolution R]

As a module: build(load_arch(path)), load_checkpoint(model, path),
save_checkpoint(model, path), read_safetensors(path), write_safetensors(...).
"""
import argparse
import json
import struct
import sys

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # `python3` on PATH may be another interpreter
    sys.exit(f"torch_arch.py: {e}; run it with /usr/bin/python3 (Debian's python3-torch and python3-numpy)")

FORMAT = "asvk-arch/1"
ACTS = {"none": nn.Identity, "relu": nn.ReLU, "relu6": nn.ReLU6, "hswish": nn.Hardswish, "swish": nn.SiLU,
        "sigmoid": nn.Sigmoid}

REQ = object()  # a key without a default
# Keys and defaults of each layer type, as asvk reads them. mbconv residual
# None: automatic (stride 1 and equal channels); pool stride None: the kernel.
LAYER_KEYS = {
    "conv": {"out": REQ, "kernel": REQ, "stride": 1, "groups": 1, "bn": True, "bias": False, "act": "relu6"},
    "mbconv": {"out": REQ, "kernel": REQ, "stride": 1, "expand": REQ, "mid": 0, "act": "relu6", "se": False,
               "residual": None},
    "skip": {},
    "pool": {"mode": REQ, "kernel": REQ, "stride": None, "pad": 0},
    "global_pool": {},
    "dropout": {"rate": REQ},
    "linear": {"out": REQ, "bias": True, "act": "none"},
    "cell": {"out": REQ, "stride": 1, "genome": REQ},
}
GENOME_KEYS = {"nodes": REQ, "edges": REQ, "mix": None, "expand": REQ, "se": False, "act": "relu6"}
CELL_OPS = ("identity", "conv1x1", "conv3x3", "dw3x3", "dw5x5", "dw7x7", "avgpool3x3", "maxpool3x3")
TOP_KEYS = {"format", "name", "in_channels", "resolution", "num_classes", "bn", "layers"}


class ArchError(ValueError):
    pass


def make_divisible(v, divisor=8):
    """torchvision / ProxylessNAS: nearest multiple, at least divisor, never 10% below v."""
    n = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return n + divisor if n < 0.9 * v else n


def load_arch(path):
    with open(path) as f:
        return parse_arch(json.load(f), path)


def parse_arch(d, source="architecture"):
    """Checks an asvk-arch/1 dict as strictly as asvk does and fills defaults."""
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise ArchError(f'{source}: not an asvk architecture (needs "format": "{FORMAT}"); '
                        "convert a net.config with: asvk cost FILE --save out.json")
    unknown = set(d) - TOP_KEYS
    if unknown:
        raise ArchError(f"{source}: unknown key(s) {sorted(unknown)}")
    bn = dict({"momentum": 0.1, "eps": 1e-5}, **d.get("bn", {}))
    arch = {"name": d["name"], "in_channels": d.get("in_channels", 3), "resolution": d.get("resolution", 224),
            "num_classes": d["num_classes"], "bn": bn, "layers": []}
    for i, layer in enumerate(d["layers"]):
        t = layer.get("type")
        if t not in LAYER_KEYS:
            raise ArchError(f"{source}: layers[{i}].type {t!r} is not a layer type")
        spec = {"type": t}
        for k, v in LAYER_KEYS[t].items():
            if k not in layer and v is REQ:
                raise ArchError(f"{source}: layers[{i}].{k} is missing")
            spec[k] = layer.get(k, v)
        if t == "pool" and spec["stride"] is None:
            spec["stride"] = spec["kernel"]
        unknown = set(layer) - set(LAYER_KEYS[t]) - {"type"}
        if unknown:
            raise ArchError(f"{source}: layers[{i}]: unknown key(s) {sorted(unknown)}")
        if spec.get("act", "none") not in ACTS:
            raise ArchError(f"{source}: layers[{i}].act {spec['act']!r} is not an activation")
        if t == "cell":
            spec["genome"] = parse_genome(spec["genome"], f"{source}: layers[{i}].genome")
        arch["layers"].append(spec)
    return arch


def parse_genome(g, where):
    """A cell genome (runtime/cell.h) as asvk reads it: {"nodes", "edges": [[from, to, op]], "mix", "expand",
    "se", "act"}; returns it with defaults and op[(to, from)] filled, checked for what building needs."""
    unknown = set(g) - set(GENOME_KEYS)
    if unknown:
        raise ArchError(f"{where}: unknown key(s) {sorted(unknown)}")
    out = {k: g.get(k, v) for k, v in GENOME_KEYS.items()}
    for k, v in GENOME_KEYS.items():
        if v is REQ and k not in g:
            raise ArchError(f"{where}.{k} is missing")
    n = out["nodes"]
    out["mix"] = out["mix"] or ["sum"] * n
    if len(out["mix"]) != n or any(m not in ("sum", "weighted") for m in out["mix"]):
        raise ArchError(f"{where}.mix must hold {n} modes, 'sum' or 'weighted'")
    if out["act"] not in ACTS:
        raise ArchError(f"{where}.act {out['act']!r} is not an activation")
    op = {}
    for j, i, name in out["edges"]:
        if not 0 <= j < i < n or name not in CELL_OPS or (i, j) in op:
            raise ArchError(f"{where}: bad edge {[j, i, name]}")
        op[(i, j)] = name
    for i in range(1, n):
        if not any((i, j) in op for j in range(i)):
            raise ArchError(f"{where}: node {i} has no input")
    for j in range(n - 1):
        if not any((i, j) in op for i in range(j + 1, n)):
            raise ArchError(f"{where}: node {j} feeds no other node")
    out["op"] = op
    return out


def mbv2(width=1.0, resolution=224, classes=1000, in_channels=3, dropout=0.2):
    """asvk's built-in "mbv2" (runtime/io/builtin_arch.c), rebuilt independently."""
    rows = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
            (6, 320, 1, 1)]
    layers = [{"type": "conv", "out": make_divisible(32 * width), "kernel": 3, "stride": 2}]
    for t, c, n, s in rows:
        for k in range(n):
            layers.append({"type": "mbconv", "out": make_divisible(c * width), "kernel": 3,
                           "stride": s if k == 0 else 1, "expand": t})
    layers += [{"type": "conv", "out": make_divisible(1280 * max(1.0, width)), "kernel": 1},
               {"type": "global_pool"}]
    if dropout > 0:
        layers.append({"type": "dropout", "rate": dropout})
    layers.append({"type": "linear", "out": classes})
    return parse_arch({"format": FORMAT, "name": "mbv2", "in_channels": in_channels, "resolution": resolution,
                       "num_classes": classes, "bn": {"momentum": 0.1, "eps": 1e-5}, "layers": layers})


# ---- modules: attribute names are asvk's parameter names ----

def _bn(c, arch):
    return nn.BatchNorm2d(c, eps=arch["bn"]["eps"], momentum=arch["bn"]["momentum"])


class ConvLayer(nn.Module):
    """conv k x k (padding k//2) -> BN -> act: layers.{i}.conv.*, layers.{i}.bn.*"""

    def __init__(self, cin, s, arch):
        super().__init__()
        k = s["kernel"]
        self.conv = nn.Conv2d(cin, s["out"], k, s["stride"], k // 2, groups=s["groups"], bias=s["bias"])
        self.bn = _bn(s["out"], arch) if s["bn"] else None
        self.act = ACTS[s["act"]]()

    def forward(self, x):
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return self.act(x)


class SqueezeExcite(nn.Module):
    """global mean -> 1x1 reduce + ReLU -> 1x1 expand + h-sigmoid -> channel scale."""

    def __init__(self, c, r):
        super().__init__()
        self.reduce = nn.Conv2d(c, r, 1, bias=True)
        self.expand = nn.Conv2d(r, c, 1, bias=True)

    def forward(self, x):
        y = x.mean((2, 3), keepdim=True)
        return x * F.hardsigmoid(self.expand(F.relu(self.reduce(y))))


class MBConv(nn.Module):
    """[1x1 expand-BN-act] -> dw k x k-BN-act -> [SE] -> 1x1 project-BN [+ x]."""

    def __init__(self, cin, s, arch):
        super().__init__()
        k, e, out = s["kernel"], s["expand"], s["out"]
        mid = cin if e == 1 else (s["mid"] or round(cin * e))  # round(): half to even, as asvk
        self.expand = self.expand_bn = None
        if e != 1:
            self.expand = nn.Conv2d(cin, mid, 1, bias=False)
            self.expand_bn = _bn(mid, arch)
        self.dw = nn.Conv2d(mid, mid, k, s["stride"], k // 2, groups=mid, bias=False)
        self.dw_bn = _bn(mid, arch)
        self.se = SqueezeExcite(mid, make_divisible(mid // 4)) if s["se"] else None
        self.project = nn.Conv2d(mid, out, 1, bias=False)
        self.project_bn = _bn(out, arch)
        self.act = ACTS[s["act"]]()
        keeps = s["stride"] == 1 and cin == out
        self.residual = keeps if s["residual"] is None else s["residual"]
        if self.residual and not keeps:
            raise ArchError("a residual add needs stride 1 and equal input and output channels")

    def forward(self, x):
        y = x
        if self.expand is not None:
            y = self.act(self.expand_bn(self.expand(y)))
        y = self.act(self.dw_bn(self.dw(y)))
        if self.se is not None:
            y = self.se(y)
        y = self.project_bn(self.project(y))
        return x + y if self.residual else y


class Alpha(nn.Module):
    """A WEIGHTED node's logits: layers.{i}.mix{n}.alpha, one per input, initialised to 0."""

    def __init__(self, k):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(k))


class Cell(nn.Module):
    """An AutoSpace cell (runtime/cell.h, runtime/cell_ops.h): [1x1 expand-BN-act] -> DAG of edge ops at width
    mid (edges leaving node 0 carry the stride) -> [SE] -> 1x1 project-BN [+ x]. Conv edges j -> i are
    e{i}_{j} (conv -> BN -> act); a node with several inputs sums them or, when weighted, mixes them by
    softmax(mix{i}.alpha); a node with one input is that input."""

    def __init__(self, cin, s, arch):
        super().__init__()
        g, out, stride = s["genome"], s["out"], s["stride"]
        e = float(np.float32(g["expand"]))  # asvk holds the ratio as a float
        mid = cin if e == 1 else round(cin * e)  # round(): half to even, as asvk
        self.g, self.stride, self.mid = g, stride, mid
        self.expand = self.expand_bn = None
        if e != 1:
            self.expand = nn.Conv2d(cin, mid, 1, bias=False)
            self.expand_bn = _bn(mid, arch)
        self.act = ACTS[g["act"]]()
        for i in range(1, g["nodes"]):
            for j in range(i):
                name = g["op"].get((i, j))
                if name is None:
                    continue
                st = stride if j == 0 else 1
                if name in ("conv1x1", "conv3x3", "dw3x3", "dw5x5", "dw7x7"):
                    k = 1 if name == "conv1x1" else int(name[-1])
                    conv = nn.Conv2d(mid, mid, k, st, k // 2, groups=mid if name.startswith("dw") else 1, bias=False)
                    setattr(self, f"e{i}_{j}", conv)
                    setattr(self, f"e{i}_{j}_bn", _bn(mid, arch))
                elif name in ("avgpool3x3", "maxpool3x3"):
                    setattr(self, f"e{i}_{j}", Pool({"mode": name[:3], "kernel": 3, "stride": st, "pad": 1}))
            k = sum((i, j) in g["op"] for j in range(i))
            if g["mix"][i] == "weighted" and k >= 2:
                setattr(self, f"mix{i}", Alpha(k))
        self.se = SqueezeExcite(mid, make_divisible(mid // 4)) if g["se"] else None
        self.project = nn.Conv2d(mid, out, 1, bias=False)
        self.project_bn = _bn(out, arch)
        self.residual = stride == 1 and cin == out

    def edge(self, i, j, x):
        name, st = self.g["op"][(i, j)], self.stride if j == 0 else 1
        if name == "identity":
            if st == 1:
                return x
            h, w = x.shape[2], x.shape[3]
            if h % st == 0 and w % st == 0:  # s x s average pool
                return F.avg_pool2d(x, st, st, 0)
            k = 2 * (st // 2) + 1  # odd sizes: ceil(H / s) rows, averaging in-bounds elements
            return F.avg_pool2d(x, k, st, st // 2, count_include_pad=False)
        m = getattr(self, f"e{i}_{j}")
        if isinstance(m, Pool):
            return m(x)
        return self.act(getattr(self, f"e{i}_{j}_bn")(m(x)))

    def forward(self, x):
        v = [self.act(self.expand_bn(self.expand(x))) if self.expand is not None else x]
        for i in range(1, self.g["nodes"]):
            ins = [self.edge(i, j, v[j]) for j in range(i) if (i, j) in self.g["op"]]
            if len(ins) == 1:
                v.append(ins[0])
            elif self.g["mix"][i] == "weighted":
                w = torch.softmax(getattr(self, f"mix{i}").alpha, 0)
                v.append(sum(w[q] * t for q, t in enumerate(ins)))
            else:
                y = ins[0]
                for t in ins[1:]:
                    y = y + t
                v.append(y)
        y = v[-1]
        if self.se is not None:
            y = self.se(y)
        y = self.project_bn(self.project(y))
        return x + y if self.residual else y


class Pool(nn.Module):
    """Average pooling divides by the in-bounds count (count_include_pad=False)."""

    def __init__(self, s):
        super().__init__()
        self.s = s

    def forward(self, x):
        s = self.s
        if s["mode"] == "max":
            return F.max_pool2d(x, s["kernel"], s["stride"], s["pad"])
        return F.avg_pool2d(x, s["kernel"], s["stride"], s["pad"], count_include_pad=False)


class GlobalPool(nn.Module):
    def forward(self, x):
        return x.mean((2, 3), keepdim=True)


class Skip(nn.Module):
    def forward(self, x):
        return x


class Linear(nn.Linear):
    """Fully connected on a C x 1 x 1 input: layers.{i}.weight [out][in], layers.{i}.bias."""

    def __init__(self, cin, s):
        super().__init__(cin, s["out"], bias=s["bias"])
        self.act = ACTS[s["act"]]()

    def forward(self, x):
        return self.act(super().forward(x.flatten(1)))


class AsvkNet(nn.Module):
    def __init__(self, arch):
        super().__init__()
        self.arch = arch
        layers, c = [], arch["in_channels"]
        for s in arch["layers"]:
            t = s["type"]
            if t == "conv":
                layers.append(ConvLayer(c, s, arch))
            elif t == "mbconv":
                layers.append(MBConv(c, s, arch))
            elif t == "cell":
                layers.append(Cell(c, s, arch))
            elif t == "linear":
                layers.append(Linear(c, s))
            elif t == "pool":
                layers.append(Pool(s))
            elif t == "global_pool":
                layers.append(GlobalPool())
            elif t == "dropout":
                layers.append(nn.Dropout(s["rate"]))
            else:
                layers.append(Skip())
            c = s.get("out", c) if t in ("conv", "mbconv", "linear", "cell") else c
        self.layers = nn.ModuleList(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x.flatten(1)


def build(arch):
    return AsvkNet(arch)


# ---- safetensors, in pure Python (the safetensors package may be absent) ----

def read_safetensors(path):
    """Returns ({name: float32 numpy array}, metadata dict), with the checks asvk makes."""
    with open(path, "rb") as f:
        b = f.read()
    if len(b) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    n = struct.unpack("<Q", b[:8])[0]
    if n > 100_000_000 or 8 + n > len(b):
        raise ValueError(f"{path}: header length {n} is not plausible for a {len(b)}-byte file")
    header = json.loads(b[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = memoryview(b)[8 + n:]
    out, end = {}, 0
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        if e["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name!r} has dtype {e['dtype']}, not F32")
        lo, hi = e["data_offsets"]
        count = int(np.prod(e["shape"], dtype=np.int64))
        if lo != end or hi - lo != 4 * count or hi > len(data):
            raise ValueError(f"{path}: tensor {name!r} has bad data_offsets {lo}..{hi}")
        out[name] = np.frombuffer(data[lo:hi], dtype="<f4").reshape(e["shape"]).copy()
        end = hi
    if end != len(data):
        raise ValueError(f"{path}: {len(data) - end} bytes follow the last tensor")
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: array-like}; written F32, in the given order, header padded to 8 bytes."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        a = np.ascontiguousarray(np.asarray(t, dtype="<f4"))
        raw = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def _state(model):
    return {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def load_checkpoint(model, path, strict=True):
    """Copies an asvk checkpoint into the model; conv weights OHWI -> OIHW. Returns the metadata."""
    tensors, meta = read_safetensors(path)
    state = _state(model)
    missing = [k for k in state if k not in tensors]
    # Optimizer state (optimizer.<name>.<slot>, docs/architecture.md) is not part of the model.
    extra = [k for k in tensors if k not in state and not k.startswith("optimizer.")]
    if strict and (missing or extra):
        raise ValueError(f"{path}: checkpoint does not match the architecture: missing {missing[:5]}, "
                         f"unexpected {extra[:5]}")
    with torch.no_grad():
        for k, v in state.items():
            if k not in tensors:
                continue
            a = torch.from_numpy(tensors[k])
            if a.dim() == 4:
                a = a.permute(0, 3, 1, 2)  # OHWI -> OIHW
            if tuple(a.shape) != tuple(v.shape):
                raise ValueError(f"{path}: {k} has shape {tuple(a.shape)}, the model {tuple(v.shape)}")
            v.copy_(a)
    return meta


def save_checkpoint(model, path, metadata=None):
    """Writes the model as an asvk checkpoint: asvk names, conv weights OIHW -> OHWI."""
    out = {}
    for k, v in _state(model).items():
        v = v.detach().cpu().float()
        out[k] = (v.permute(0, 2, 3, 1) if v.dim() == 4 else v).contiguous().numpy()
    write_safetensors(path, out, metadata)


# ---- counting (ProxylessNAS convention, as asvk cost) ----

def count_params(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_madds(model, resolution=None):
    arch = model.arch
    r = resolution or arch["resolution"]
    total = [0]

    def conv_hook(m, inp, out):
        total[0] += m.weight.numel() * out.shape[2] * out.shape[3]  # Cout*Cin/g*k*k*Ho*Wo

    def linear_hook(m, inp, out):
        total[0] += m.weight.numel()

    hooks = [m.register_forward_hook(conv_hook if isinstance(m, nn.Conv2d) else linear_hook)
             for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was = model.training
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(1, arch["in_channels"], r, r))
    model.train(was)
    for h in hooks:
        h.remove()
    return total[0], tuple(out.shape)


def check(asvk=None):
    """Self-test: mbv2 at 224 against asvk's figures, and a checkpoint round trip."""
    import os
    import subprocess
    import tempfile
    torch.manual_seed(0)
    model = build(mbv2())
    params, (madds, shape) = count_params(model), count_madds(model)
    print(f"mbv2 at 224: params {params / 1e6:.3f} M ({params}), MAdds {madds / 1e6:.3f} M ({madds}), "
          f"output {shape}")
    ok = params == 3504872 and madds == 300774272 and shape == (1, 1000)
    if asvk:
        d = json.loads(subprocess.run([asvk, "cost", "mbv2", "--json"], check=True, capture_output=True,
                                      text=True).stdout)
        print(f"asvk cost mbv2: params {d['params']}, MAdds {d['madds']}")
        ok &= d["params"] == params and d["madds"] == madds
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mbv2.safetensors")
        for p in model.parameters():
            p.data.normal_()
        save_checkpoint(model, path, {"arch": "mbv2"})
        twin = build(mbv2())
        meta = load_checkpoint(twin, path)
        same = all(torch.equal(a, b) for a, b in zip(_state(model).values(), _state(twin).values()))
        stored, _ = read_safetensors(path)
        ohwi = stored["layers.0.conv.weight"].shape == (32, 3, 3, 3) and stored["layers.1.dw.weight"].shape == (
            32, 3, 3, 1)
        print(f"checkpoint round trip: {'equal' if same else 'DIFFERS'}, conv weights stored OHWI: {ohwi}, "
              f"metadata {meta}")
        ok &= same and ohwi
    print("check passed" if ok else "check FAILED")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("arch", nargs="?", help="asvk architecture JSON (asvk-arch/1)")
    ap.add_argument("--checkpoint", help="asvk safetensors checkpoint to load")
    ap.add_argument("--resolution", type=int, help="input size (default: the architecture's)")
    ap.add_argument("--check", action="store_true", help="self-test with mbv2 at 224")
    ap.add_argument("--asvk", help="with --check: an asvk binary to compare 'asvk cost mbv2' with")
    a = ap.parse_args()
    if a.check:
        return check(a.asvk)
    if not a.arch:
        ap.error("give an architecture file, or --check")
    try:
        model = build(load_arch(a.arch))
        if a.checkpoint:
            load_checkpoint(model, a.checkpoint)
        madds, shape = count_madds(model, a.resolution)
    except (ArchError, ValueError, OSError, KeyError) as e:
        print(f"torch_arch.py: {e}", file=sys.stderr)
        return 2
    print(f"{model.arch['name']}: params {count_params(model) / 1e6:.3f} M ({count_params(model)}), "
          f"MAdds {madds / 1e6:.3f} M ({madds}), output {shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
