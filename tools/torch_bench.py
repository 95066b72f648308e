#!/usr/bin/python3
"""Times an asvk architecture in PyTorch on the CPU: training images/s (forward,
backward, SGD step), inference images/s at the same batch, and batch-1
latency — medians of repeated runs after warm-up, with as many threads as
asvk's device uses here (default: all cores). The baseline that
`asvk bench train` figures are compared with (docs/perf.md).

usage: /usr/bin/python3 tools/torch_bench.py ARCH.json [--batch 128] [--threads N]
       [--repeat 10] [--channels-last] [--default-malloc] [--json]
Built-ins: convert first with `build/asvk cost NAME --save ARCH.json`.

The baseline is tuned PyTorch: unless --default-malloc, the script runs itself
with MALLOC_TRIM_THRESHOLD_=17179869184 MALLOC_TOP_PAD_=536870912, which stop
glibc handing memory back to the system on every step (without them PyTorch
ran 143-192 img/s on fmnist here one day, with them 1000-1330). It also
reports its peak RSS after the training steps, as `asvk bench train` does."""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_arch as ta  # noqa: E402


def timed(fn, warmup, repeat):
    for _ in range(warmup):
        fn()
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return statistics.median(t), min(t), max(t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("arch")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--default-malloc", action="store_true", help="glibc's malloc settings (the untuned baseline)")
    a = ap.parse_args()
    tuned = {"MALLOC_TRIM_THRESHOLD_": "17179869184", "MALLOC_TOP_PAD_": "536870912"}
    if not a.default_malloc and any(os.environ.get(k) != v for k, v in tuned.items()):
        os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **tuned})
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    arch = ta.load_arch(a.arch)
    model = ta.build(arch)
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    res, cin, k = arch["resolution"], arch["in_channels"], arch["num_classes"]
    x = torch.randn(a.batch, cin, res, res).to(memory_format=fmt)
    y = torch.randint(0, k, (a.batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-5)
    lossf = torch.nn.CrossEntropyLoss(label_smoothing=0.1)

    def train_step():
        opt.zero_grad(set_to_none=True)
        lossf(model(x), y).backward()
        opt.step()

    model.train()
    tr = timed(train_step, a.warmup, a.repeat)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    model.eval()
    with torch.no_grad():
        inf = timed(lambda: model(x), a.warmup, a.repeat)
        x1 = x[:1].contiguous(memory_format=fmt)
        lat = timed(lambda: model(x1), a.warmup, a.repeat * 3)
    out = {"framework": f"pytorch {torch.__version__}", "threads": a.threads, "arch": arch["name"], "batch": a.batch,
           "channels_last": a.channels_last, "tuned_malloc": not a.default_malloc, "peak_rss_mb": rss_mb,
           "train_images_per_s": a.batch / tr[0], "infer_images_per_s": a.batch / inf[0],
           "latency_batch1_ms": lat[0] * 1e3,
           "train_step_ms": [v * 1e3 for v in tr], "infer_batch_ms": [v * 1e3 for v in inf]}
    if a.json:
        print(json.dumps(out, indent=1))
    else:
        print(f"{arch['name']} in PyTorch {torch.__version__}, {a.threads} threads, batch {a.batch}"
              f"{', channels-last' if a.channels_last else ''}{'' if a.default_malloc else ', tuned malloc'}:")
        print(f"  training step   {tr[0] * 1e3:9.2f} ms  {a.batch / tr[0]:9.1f} images/s")
        print(f"  inference       {inf[0] * 1e3:9.2f} ms  {a.batch / inf[0]:9.1f} images/s")
        print(f"  batch-1 latency {lat[0] * 1e3:9.3f} ms")
        print(f"  peak RSS after the training steps {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
