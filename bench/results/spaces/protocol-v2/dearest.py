#!/usr/bin/python3
"""dearest.py SPACE.json RESULT.json: a learned space's cells by expansion, the MAdds of
each layer's cheapest and dearest cells summed, and whether the search (RESULT.json) took
the dearest cell of every layer, with the share of its budget the network spent (the
figures docs/autospace.md quotes)."""
import collections
import json
import sys

space, result = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
cells = [c for l in space["layers"] for c in l["cells"]]
print("cells by expansion:", dict(sorted(collections.Counter(c["genome"]["expand"] for c in cells).items())))
dear = [max(l["cells"], key=lambda c: c["madds"]) for l in space["layers"]]
print(f"cheapest cells {sum(min(c['madds'] for c in l['cells']) for l in space['layers']) / 1e6:.3f} M MAdds, "
      f"dearest {sum(c['madds'] for c in dear) / 1e6:.3f} M")
madds = [{c["cell"]: c["madds"] for c in l["cells"]} for l in space["layers"]]
took = [m[l["cell"]] for m, l in zip(madds, result["layers"])]
print("the search took a dearest cell in every layer:", took == [c["madds"] for c in dear])
print(f"network {result['madds'] / 1e6:.3f} M MAdds of a {result['budget'] / 1e6:.3f} M budget: "
      f"{result['madds'] / result['budget']:.1%}")
