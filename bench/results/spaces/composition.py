#!/usr/bin/env python3
"""composition.py [results.jsonl]: what each trained network of the spaces experiment is made
of, from its results line's `cells`: edges, how many are parameter-free (identity, max or
average pooling), the cells' expansions, beside its test accuracy, MAdds and parameters."""
import json, sys

FREE = {"id", "maxpool3x3", "avgpool3x3"}
path = sys.argv[1] if len(sys.argv) > 1 else "bench/results/spaces/results.jsonl"
print("| arm | seed | test acc. | MAdds | params | edges | parameter-free | cells (expansion) |")
print("|---|---|---|---|---|---|---|---|")
for line in open(path):
    r = json.loads(line)
    edges = [e.split()[1] for c in r["cells"] for e in c.split("|")[1:] if ">" in e]
    free = sum(e in FREE for e in edges)
    arm = r["arm"] + (f" ({r['variant']})" if r.get("variant") else "")
    print(f"| {arm} | {r['seed']} | {r['test_acc']:.2f} | {r['madds'] / 1e6:.2f} M | {r['params'] / 1e3:.0f} K | "
          f"{len(edges)} | {free} ({100 * free / max(1, len(edges)):.0f}%) | "
          f"{' '.join(c.split('|')[0].strip() for c in r['cells'])} |")
