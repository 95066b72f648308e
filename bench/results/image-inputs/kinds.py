#!/usr/bin/env python3
"""kinds.py DIR: per pair of `bench ops` JSONs in DIR (<i>_base.json, <i>_new.json), the training
step, inference and each op kind of both: device ms base -> new, and the new kernels'
fraction of the SGEMM rate measured in the same process."""
import glob, json, os, sys

d = sys.argv[1]
for nb in sorted(glob.glob(os.path.join(d, "*_base.json"))):
    b, n = json.load(open(nb)), json.load(open(nb.replace("_base", "_new")))
    print(f"== {os.path.basename(nb)[:-10]}: {b['git_commit']} -> {n['git_commit']}, SGEMM "
          f"{b['ceilings']['sgemm_gflops']:.1f} / {n['ceilings']['sgemm_gflops']:.1f} GFLOP/s, FMA "
          f"{b['ceilings']['fma_gflops']:.1f} / {n['ceilings']['fma_gflops']:.1f}")
    for part in ("train", "infer", "infer_batch1"):
        print(f"  {part:<16} {b[part]['ms']:8.1f} -> {n[part]['ms']:8.1f} ms  ({n[part]['ms'] / b[part]['ms'] - 1:+.1%})")
    for part in ("train", "infer"):
        print(f"  {part} by op kind:")
        kb = {k["op"]: k for k in b[part]["kinds"]}
        for k in sorted(n[part]["kinds"], key=lambda k: -k["ms"]):
            if k["ms"] < 1: continue
            o = kb[k["op"]]
            print(f"    {k['op']:<18} {o['ms']:7.1f} -> {k['ms']:7.1f} ms ({k['ms'] / o['ms'] - 1:+.1%})  "
                  f"of SGEMM {o['of_sgemm_peak']:.0%} -> {k['of_sgemm_peak']:.0%}")
