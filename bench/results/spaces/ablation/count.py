#!/usr/bin/python3
"""Counts a learned space's cells by expansion ratio (bench/results/spaces/ablation/README.md).
    count.py RUN_DIR..."""
import json, sys
for d in sys.argv[1:]:
    s = json.load(open(d + "/space.json"))
    h = [json.loads(l) for l in open(d + "/history.jsonl")]
    ex = {}
    for l in s["layers"]:
        for c in l["cells"]:
            e = c["genome"]["expand"]; ex[e] = ex.get(e, 0) + 1
    madds = [round(sum(c["madds"] for c in l["cells"]) / len(l["cells"]) / 1e3) for l in s["layers"]]
    print(d, "gens", s["generations"], "expand counts", dict(sorted(ex.items())), "mean madds k", madds,
          "val acc last %s" % (h[-1].get("val_accuracy"),), "ce %.3f cost %.4f" % (h[-1]["alpha_grad_ce"], h[-1]["alpha_grad_cost"]),
          "s/gen %.0f" % (sum(x["seconds"] for x in h) / len(h)))
