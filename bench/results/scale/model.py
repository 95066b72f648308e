#!/usr/bin/python3
"""The scaling model of docs/scale.md: a data-parallel step on N GPUs in
machines of 4, gradients all-reduced by a ring (each rank sends and receives
2(N-1)/N of the gradient bytes; 2(N-1) latency terms), in buckets that overlap
the backward pass (asvk's dist_step, as DistributedDataParallel). Inputs:
measured here (the fmnist step and its gradient bytes, bench/results/scale/)
and stated assumptions for GPUs (below). Prints markdown tables.
    /usr/bin/python3 bench/results/scale/model.py"""

GB = 1e9
# asvk reduces host copies of the gradients (Vulkan has no GPU-direct path):
# each bucket is downloaded over PCIe, reduced by MPI, uploaded again.
PCIE = 12 * GB
LINKS = {  # effective bandwidth (bytes/s) and per-message latency (s) of the ring's slowest edge
    "one machine (MPI shared memory)": (8 * GB, 2e-6),
    "machines of 4 GPUs, 25 Gb/s Ethernet (TCP)": (25e9 / 8 * 0.9, 30e-6),
    "machines of 4 GPUs, 100 Gb/s InfiniBand": (100e9 / 8 * 0.9, 3e-6),
}


def mbconv_params(cin, cout, k, e):
    mid = cin * e
    return (cin * mid if e != 1 else 0) + mid * k * k + mid * cout + 2 * (2 * mid + cout)  # convs + BN scale/shift


def proxyless_supernet_params():
    """ProxylessNAS's ImageNet skeleton (width 1.0) with all six MBConv
    candidates (k 3/5/7 x e 3/6) in every searchable layer: what asvk's
    FBNet-style search trains and all-reduces each step."""
    p = 3 * 32 * 9 + mbconv_params(32, 16, 3, 1)
    cin = 16
    for cout, n in [(24, 4), (40, 4), (80, 4), (96, 4), (192, 4), (320, 1)]:
        for _ in range(n):
            p += sum(mbconv_params(cin, cout, k, e) for k in (3, 5, 7) for e in (3, 6))
            cin = cout
    return p + cin * 1280 + 1280 * 1000 + 1000


# Workloads: gradient bytes, and a training step's time per image on one GPU.
# GPU rates are assumptions (a 2020-class data-centre GPU in fp32): MobileNetV2
# training ~1000 img/s; the all-candidates supernet costs ~6x a network.
WORK = {
    "fmnist (measured here: 960.4 KiB, lavapipe 1 thread 11.3 ms/img)": (983450, 725.5e-3 / 64),
    "fmnist on a GPU (~50000 img/s)": (983450, 1 / 50000),
    "MobileNetV2-1.0 at 224 (3.5 M params)": (3.5e6 * 4, 1 / 1000),
    "proxyless supernet search at 224 (%.1f M params)" % (proxyless_supernet_params() / 1e6):
        (proxyless_supernet_params() * 4, 6 / 1000),
}
BACKWARD_SHARE = 2 / 3   # backward is ~2/3 of a step's compute
OVERLAP = 0.9            # share of the backward left once the first bucket is ready


def step(n, g_bytes, per_img, batch_per_gpu, link):
    bw, lat = link
    compute = per_img * batch_per_gpu
    buckets = 4
    comm = 0.0 if n == 1 else (2 * (n - 1) / n * g_bytes / bw + 2 * (n - 1) * lat * buckets
                               + 2 * g_bytes / PCIE)
    exposed = max(0.0, comm - OVERLAP * BACKWARD_SHARE * compute)
    return compute, comm, exposed


def main():
    print("### Weak scaling: 64 images per GPU, 8 GPUs (one machine of 8, or 2 machines x 4)\n")
    print("| workload | link | compute ms | all-reduce ms | exposed ms | efficiency |")
    print("|---|---|---:|---:|---:|---:|")
    for w, (g, t) in WORK.items():
        for l, link in LINKS.items():
            c, m, e = step(8, g, t, 64, link)
            print(f"| {w} | {l} | {c * 1e3:.1f} | {m * 1e3:.2f} | {e * 1e3:.2f} | {c / (c + e):.0%} |")
    print("\n### Strong scaling: global batch 512 (a search's), efficiency by GPU count\n")
    ns = [1, 2, 4, 8, 16, 32, 64]
    print("| workload | link | " + " | ".join(f"N={n}" for n in ns) + " |")
    print("|---|---|" + "---:|" * len(ns))
    for w, (g, t) in WORK.items():
        if "measured" in w:
            continue
        for l, link in LINKS.items():
            row = []
            for n in ns:
                c, _, e = step(n, g, t, 512 / n, link)
                row.append(f"{c / (c + e):.0%}")
            print(f"| {w} | {l} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
