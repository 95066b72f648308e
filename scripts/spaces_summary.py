#!/usr/bin/python3
"""The summary of the spaces experiment (scripts/experiment_spaces.py) from its
results file: per budget and arm, mean +- sd of test accuracy, cost spent and
measured latency; per budget, the paired per-seed difference learned - mbconv
(and learned - random) with a two-sided sign test and a paired t-test; and an
SVG of accuracy against cost, one point per trained network. A learned arm
of a --variant of the experiment (an evolve option's ablation) is its own row,
"learned (NAME)", paired with mbconv, random and the default learned arm; a
widen variant's arms are rows "learned (NAME)", "mbconv (NAME)", "random
(NAME)", and its learned arm is paired with the other two of the variant.

  scripts/spaces_summary.py RESULTS.jsonl [--protocol ID] [--out DIR]

Lines of one protocol are compared (default: the protocol of the most lines).
Writes DIR/summary.md and DIR/summary.svg (DIR: the results file's folder).
Standard library only.
"""
import argparse
import collections
import json
import math
import os
import statistics

ARMS = ("learned", "mbconv", "random")
COLOURS = {"learned": "#1f77b4", "mbconv": "#d62728", "random": "#7f7f7f"}
VARIANT_COLOURS = ("#ff7f0e", "#9467bd", "#2ca02c", "#8c564b", "#e377c2")


def label(r):
    """The arm of a line as the tables name it: ARM (NAME) for a variant's arm."""
    return f"{r['arm']} ({r['variant']})" if r.get("variant") else r["arm"]


def arm_order(labels):
    """The three arms, then the variants by name."""
    return [a for a in ARMS if a in labels] + sorted(l for l in labels if l not in ARMS)


def colour(lab, labels):
    if lab in COLOURS:
        return COLOURS[lab]
    extra = [l for l in arm_order(labels) if l not in ARMS]
    return VARIANT_COLOURS[extra.index(lab) % len(VARIANT_COLOURS)]


def betainc(a, b, x):
    """Regularized incomplete beta I_x(a, b) (Numerical Recipes' continued fraction)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    lbeta = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1 - x)
    if x > (a + 1) / (a + b + 2):
        return 1 - betainc(b, a, 1 - x)
    f, c, d = 1.0, 1.0, 0.0
    for i in range(400):
        m = i // 2
        if i == 0:
            num = 1.0
        elif i % 2 == 0:
            num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        else:
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1 + num * d
        d = 1 / (d if abs(d) > 1e-300 else 1e-300)
        c = 1 + num / (c if abs(c) > 1e-300 else 1e-300)
        f *= c * d
        if abs(1 - c * d) < 1e-15:
            break
    return math.exp(lbeta) * (f - 1) / a


def t_test(diffs):
    """Two-sided paired t-test p-value of mean(diffs) != 0 (None below 2 pairs)."""
    n = len(diffs)
    if n < 2:
        return None
    sd = statistics.stdev(diffs)
    if sd == 0:
        return 0.0 if statistics.mean(diffs) != 0 else 1.0
    t = statistics.mean(diffs) / (sd / math.sqrt(n))
    df = n - 1
    return betainc(df / 2, 0.5, df / (df + t * t))


def sign_test(diffs):
    """Two-sided exact sign test p-value (ties dropped)."""
    pos, neg = sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)
    n, k = pos + neg, min(pos, neg)
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)


def ms(xs, fmt="{:.2f}"):
    if not xs:
        return "–"
    if len(xs) == 1:  # no spread from one network: say so rather than print ± 0
        return (fmt + " (one)").format(xs[0])
    return (fmt + " ± " + fmt).format(statistics.mean(xs), statistics.stdev(xs))


def cost_of(r):
    return r["predicted_latency_ms"] if r["budget"] == "latency" else r["madds"] / 1e6


def svg(rows_by_budget):
    """One panel per budget: test accuracy against cost spent, a point per network."""
    labels = {label(r) for rows in rows_by_budget.values() for r in rows}
    panels = [b for b in ("madds-full", "madds-half", "latency") if b in rows_by_budget]
    w, h, ml, mr, mt, mb = 330, 260, 56, 12, 28, 44
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w * len(panels)}" height="{h + 20}" '
           'font-family="DejaVu Sans, sans-serif" font-size="11">']
    for i, b in enumerate(panels):
        rows = [r for r in rows_by_budget[b] if cost_of(r)]
        x0 = i * w
        xs, ys = [cost_of(r) for r in rows], [r["test_acc"] for r in rows]
        budget = rows[0]["budget_value"] if rows else 1
        budget = budget if b == "latency" else budget / 1e6
        lox, hix = min(xs + [budget]), max(xs + [budget])
        loy, hiy = min(ys), max(ys)
        padx, pady = (hix - lox) * 0.08 or 0.1, (hiy - loy) * 0.1 or 0.5
        lox, hix, loy, hiy = lox - padx, hix + padx, loy - pady, hiy + pady
        px = lambda v: x0 + ml + (v - lox) / (hix - lox) * (w - ml - mr)
        py = lambda v: mt + (hiy - v) / (hiy - loy) * (h - mt - mb)
        unit = "ms (predicted)" if b == "latency" else "M MAdds"
        out.append(f'<text x="{x0 + ml}" y="16" font-size="12">{b}: accuracy against cost</text>')
        out.append(f'<rect x="{x0 + ml}" y="{mt}" width="{w - ml - mr}" height="{h - mt - mb}" fill="none" stroke="#999"/>')
        for k in range(5):
            vy = loy + (hiy - loy) * k / 4
            vx = lox + (hix - lox) * k / 4
            out.append(f'<text x="{x0 + ml - 4}" y="{py(vy) + 4:.1f}" text-anchor="end">{vy:.1f}</text>')
            out.append(f'<text x="{px(vx):.1f}" y="{h - mb + 14}" text-anchor="middle">{vx:.3g}</text>')
        out.append(f'<line x1="{px(budget):.1f}" x2="{px(budget):.1f}" y1="{mt}" y2="{h - mb}" stroke="#2ca02c" '
                   'stroke-dasharray="4 3"/>')
        out.append(f'<text x="{x0 + ml + (w - ml - mr) / 2}" y="{h - mb + 30}" text-anchor="middle">{unit} '
                   '(dashed: the budget)</text>')
        out.append(f'<text transform="translate({x0 + 14},{mt + (h - mt - mb) / 2}) rotate(-90)" '
                   'text-anchor="middle">test accuracy %</text>')
        for r in rows:
            out.append(f'<circle cx="{px(cost_of(r)):.1f}" cy="{py(r["test_acc"]):.1f}" r="4" fill="{colour(label(r), labels)}" '
                       f'fill-opacity="0.8"><title>{label(r)} seed {r["seed"]}: {r["test_acc"]:.2f}%</title></circle>')
    lx = 8
    for a in arm_order(labels):
        out.append(f'<circle cx="{lx + 5}" cy="{h + 10}" r="4" fill="{colour(a, labels)}"/>'
                   f'<text x="{lx + 13}" y="{h + 14}">{a}</text>')
        lx += 80 + 6 * max(0, len(a) - 8)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results")
    ap.add_argument("--protocol")
    ap.add_argument("--out")
    o = ap.parse_args()
    if not os.path.exists(o.results):
        raise SystemExit(f"{o.results}: no such file; run scripts/experiment_spaces.py first")
    rows = [json.loads(l) for l in open(o.results) if l.strip()]
    if not rows:
        raise SystemExit(f"{o.results}: no results yet")
    protocol = o.protocol or collections.Counter(r["protocol"] for r in rows).most_common(1)[0][0]
    rows = [r for r in rows if r["protocol"] == protocol]
    out = o.out or os.path.dirname(os.path.abspath(o.results))
    by = collections.defaultdict(list)
    for r in rows:
        by[(r["budget"], label(r))].append(r)
    labels = arm_order({label(r) for r in rows})
    budgets = [b for b in ("madds-full", "madds-half", "latency") if any(k[0] == b for k in by)]
    md = [f"# Spaces experiment: protocol {protocol}", "",
          f"{len(rows)} trained networks from `{os.path.basename(o.results)}`; epochs "
          f"{sorted({r['epochs'] for r in rows})}; devices {sorted({r['device'] for r in rows})}; "
          f"commits {sorted({r['commit'] for r in rows})}; hosts "
          f"{sorted({r.get('host', 'not recorded') for r in rows})} (batch-1 latency is the host's).", "",
          "| budget | arm | n | test accuracy % | MAdds (M) | params (M) | latency ms (measured, batch 1) | "
          "spent / budget | off ±5% |", "|---|---|---|---|---|---|---|---|---|"]
    for b in budgets:
        for a in labels:
            rs = by.get((b, a), [])
            if not rs:
                continue
            used = [r["budget_used"] for r in rs if r.get("budget_used")]
            off = sum(abs(u - 1) > 0.05 for u in used)
            md.append(f"| {b} | {a} | {len(rs)} | {ms([r['test_acc'] for r in rs])} | "
                      f"{ms([r['madds'] / 1e6 for r in rs], '{:.3f}')} | {ms([r['params'] / 1e6 for r in rs], '{:.3f}')} | "
                      f"{ms([r['latency_ms'] for r in rs], '{:.3f}')} | {ms(used, '{:.3f}')} | {off} of {len(used)} |")
    md += ["", "Paired by seed (same seed: same data order and search draws in every arm):", "",
           "| budget | pair | seeds | mean difference (points) | positive | sign test p | paired t-test p |",
           "|---|---|---|---|---|---|---|"]
    for b in budgets:
        # a variant's learned arm against the variant's own mbconv and random arms where it has them (a widen
        # variant widens every arm), else against the plain ones (an evolve variant changes the learned arm only)
        pairs = []
        for l in labels:
            if l.startswith("learned"):
                v = l[len("learned ("):-1] if l.startswith("learned (") else None
                pairs += [(l, f"{o} ({v})" if v and f"{o} ({v})" in labels else o) for o in ("mbconv", "random")]
        pairs += [(l, "learned") for l in labels if l.startswith("learned (")]
        for mine, other in pairs:
            la = {r["seed"]: r["test_acc"] for r in by.get((b, mine), [])}
            ot = {r["seed"]: r["test_acc"] for r in by.get((b, other), [])}
            seeds = sorted(set(la) & set(ot))
            if not seeds:
                continue
            d = [la[s] - ot[s] for s in seeds]
            p = t_test(d)
            md.append(f"| {b} | {mine} − {other} | {len(seeds)} | {statistics.mean(d):+.2f} | "
                      f"{sum(x > 0 for x in d)} of {len(d)} | {sign_test(d):.3f} | "
                      f"{'–' if p is None else f'{p:.3f}'} |")
    md += ["", "![accuracy against cost](summary.svg)", ""]
    os.makedirs(out, exist_ok=True)
    for name, text in (("summary.md", "\n".join(md)), ("summary.svg", svg({b: [r for r in rows if r["budget"] == b]
                                                                           for b in budgets}))):
        tmp = os.path.join(out, name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, os.path.join(out, name))
    print("\n".join(md))


if __name__ == "__main__":
    main()
