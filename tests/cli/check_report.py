#!/usr/bin/python3
"""Opens a pipeline run's report.html in headless Chromium, as a user would,
and checks the page from its rendered DOM against the run's own files:

  - no "nan" or "inf" anywhere in the page's text;
  - every <text> of every SVG (chart ticks, titles, legends, cell captions)
    lies inside its SVG's box; each chart's tick labels are distinct, do not
    overlap, are round (steps of 1, 2, 2.5 or 5 x 10^k) and whole numbers on
    the x axis (epochs, steps, generations);
  - the search's cost chart is in the run's unit (MAdds or ms);
  - the chosen network's figures equal search/result.json, measured.json and
    train/log.jsonl (to the digits shown), every layer's probability equal to
    result.json's layers[].probs[choice];
  - a chart of a single epoch shows that epoch's point inside its frame.

A full-page screenshot is written to SCREENSHOT for a person to look at.
Chromium is driven through the DevTools protocol over a pipe
(--remote-debugging-pipe: NUL-terminated JSON messages on fds 3 and 4), so no
websocket library or network is needed and the page is left as users see it.

usage: check_report.py RUN_DIR SCREENSHOT.png"""
import base64
import fcntl
import json
import math
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

TIMEOUT_S = 120  # for the whole browser session; a hang is a failure, not a wait

MEASURE_JS = r"""
(() => {
  const box = r => ({l: r.left, t: r.top, r: r.right, b: r.bottom, w: r.width, h: r.height});
  const out = {text: document.body.innerText + "\n" + document.body.textContent, svgs: [], tables: {}};
  for (const svg of document.querySelectorAll("svg")) {
    const s = {cls: svg.getAttribute("class") || "", box: box(svg.getBoundingClientRect()), texts: [], points: []};
    for (const t of svg.querySelectorAll("text"))
      s.texts.push({cls: t.getAttribute("class") || "", text: t.textContent, box: box(t.getBoundingClientRect())});
    for (const c of svg.querySelectorAll("circle.point"))
      s.points.push(box(c.getBoundingClientRect()));
    const frame = svg.querySelector("rect.frame");
    if (frame) s.frame = box(frame.getBoundingClientRect());
    out.svgs.push(s);
  }
  for (const id of ["network", "layers"]) {
    const t = document.getElementById(id);
    out.tables[id] = t ? [...t.rows].map(r => [...r.cells].map(c => c.innerText.trim())) : null;
  }
  return out;
})()
"""


class Browser:
    """Chromium over --remote-debugging-pipe."""

    def __init__(self, exe):
        self.profile = tempfile.mkdtemp(prefix="asvk-chromium-")
        to_r, self.to_w = os.pipe()     # we write, Chromium reads on fd 3
        self.from_r, from_w = os.pipe()  # Chromium writes on fd 4
        # moved above 9 so that putting them on 3 and 4 cannot overwrite one with the other
        hi_r, hi_w = fcntl.fcntl(to_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_w, fcntl.F_DUPFD, 10)
        os.close(to_r), os.close(from_w)
        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
                "--hide-scrollbars", "--force-device-scale-factor=1", f"--user-data-dir={self.profile}",
                "--remote-debugging-pipe", "about:blank"]
        self.log = tempfile.TemporaryFile()  # Chromium's chatter (D-Bus, ...); read back only on failure
        self.proc = subprocess.Popen(["bash", "-c", f'exec "$@" 3<&{hi_r} 4>&{hi_w} {hi_r}<&- {hi_w}>&-', "bash"] + args,
                                     pass_fds=(hi_r, hi_w), stdout=subprocess.DEVNULL, stderr=self.log)
        os.close(hi_r), os.close(hi_w)
        self.buf, self.next_id, self.events, self.deadline = b"", 0, [], time.time() + TIMEOUT_S

    def _read(self):
        while b"\0" not in self.buf:
            left = self.deadline - time.time()
            if left <= 0 or not select.select([self.from_r], [], [], left)[0]:
                raise RuntimeError(f"Chromium did not answer within {TIMEOUT_S} s")
            chunk = os.read(self.from_r, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its pipe: " + self.stderr_tail())
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def stderr_tail(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-2000:]

    def call(self, method, session=None, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m["result"]
            self.events.append(m)

    def wait_event(self, method):
        while True:
            for i, m in enumerate(self.events):
                if m.get("method") == method:
                    return self.events.pop(i)
            self.events.append(self._read())

    def close(self):
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_w), os.close(self.from_r)
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def render(url, screenshot, width=1200):
    exe = shutil.which("chromium")
    if not exe:
        sys.exit("FAIL: no chromium on PATH (scripts/setup.sh installs Debian's chromium package)")
    b = Browser(exe)
    try:
        target = b.call("Target.createTarget", url="about:blank")["targetId"]
        s = b.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        b.call("Page.enable", s)
        b.call("Emulation.setDeviceMetricsOverride", s, width=width, height=900, deviceScaleFactor=1, mobile=False)
        b.call("Page.navigate", s, url=url)
        b.wait_event("Page.loadEventFired")
        page = b.call("Runtime.evaluate", s, expression=MEASURE_JS, returnByValue=True)
        if "exceptionDetails" in page:
            raise RuntimeError(f"measuring the page failed: {page['exceptionDetails']}")
        height = math.ceil(b.call("Page.getLayoutMetrics", s)["cssContentSize"]["height"])
        b.call("Emulation.setDeviceMetricsOverride", s, width=width, height=min(height, 16000), deviceScaleFactor=1,
               mobile=False)
        png = b.call("Page.captureScreenshot", s, format="png")["data"]
        with open(screenshot, "wb") as f:
            f.write(base64.b64decode(png))
        return page["result"]["value"]
    finally:
        b.close()


# ---- the checks ----

SI = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def si_value(text):
    """'3.13 M MAdds' -> 3.13e6, '2.28 ms' -> 2.28, '85.0%' -> 85.0; None when it is not a number."""
    m = re.match(r"^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([kMGT]?)(?![A-Za-z])", text.replace("\u2212", "-"))
    return float(m.group(1)) * SI[m.group(2)] if m else None


def close(shown, value, what):
    """shown (3 significant digits) equals value."""
    if shown is None or not math.isfinite(value) or abs(shown - value) > 0.006 * abs(value) + 1e-12:
        fail(f"{what}: the page shows {shown}, the run's files hold {value}")


def overlaps(a, b):
    return a["l"] < b["r"] - 0.5 and b["l"] < a["r"] - 0.5 and a["t"] < b["b"] - 0.5 and b["t"] < a["b"] - 0.5


def round_step(values):
    """True when sorted values are evenly spaced by 1, 2, 2.5 or 5 x 10^k."""
    if len(values) < 2:
        return True
    steps = [b - a for a, b in zip(values, values[1:])]
    step = steps[0]
    if step <= 0 or any(abs(s - step) > 1e-6 * step for s in steps):
        return False
    mant = step / 10 ** math.floor(math.log10(step))
    return any(abs(mant - m) < 1e-6 for m in (1, 2, 2.5, 5, 10))


def check(run, page):
    text = page["text"]
    for m in re.finditer(r"\b(nan|inf|infinity)\b", text, re.I):
        fail(f"the page says '{m.group(0)}': ...{text[max(0, m.start() - 80):m.end() + 40]!r}...")

    result = json.load(open(f"{run}/search/result.json"))
    unit = "ms" if result["budget_kind"] == "latency_ms" else "MAdds"
    log = [json.loads(l) for l in open(f"{run}/train/log.jsonl") if l.strip()]
    charts = 0
    for s in page["svgs"]:
        sb = s["box"]
        for t in s["texts"]:
            tb = t["box"]
            if tb["w"] == 0 and t["text"].strip():
                fail(f"SVG text {t['text']!r} is not rendered")
            if tb["l"] < sb["l"] - 0.5 or tb["r"] > sb["r"] + 0.5 or tb["t"] < sb["t"] - 0.5 or tb["b"] > sb["b"] + 0.5:
                fail(f"SVG text {t['text']!r} ({tb}) is clipped by its SVG's box ({sb})")
        if "chart" not in s["cls"].split():
            continue
        charts += 1
        title = next((t["text"] for t in s["texts"] if t["cls"] == "title"), "?")
        for axis in ("x", "y"):
            ticks = [t for t in s["texts"] if t["cls"] == f"tick {axis}"]
            labels = [t["text"] for t in ticks]
            if not ticks:
                fail(f"chart '{title}': no {axis} tick labels")
                continue
            if len(set(labels)) != len(labels):
                fail(f"chart '{title}': {axis} tick labels repeat: {labels}")
            for a, b in zip(ticks, ticks[1:]):
                if overlaps(a["box"], b["box"]):
                    fail(f"chart '{title}': {axis} tick labels {a['text']!r} and {b['text']!r} overlap")
            values = [si_value(l) for l in labels]
            if None in values:
                fail(f"chart '{title}': {axis} tick labels that are not numbers: {labels}")
                continue
            if not round_step(sorted(values)):
                fail(f"chart '{title}': {axis} ticks are not round: {labels}")
            if axis == "x" and any(v != int(v) for v in values):
                fail(f"chart '{title}': x ticks are not whole numbers: {labels}")
        if "frame" not in s:
            fail(f"chart '{title}': no frame")
            continue
        fr, xs = s["frame"], set()
        for p in s["points"]:
            cx, cy = (p["l"] + p["r"]) / 2, (p["t"] + p["b"]) / 2
            xs.add(round(cx, 1))
            if not (fr["l"] - 1 <= cx <= fr["r"] + 1 and fr["t"] - 1 <= cy <= fr["b"] + 1):
                fail(f"chart '{title}': a point at ({cx}, {cy}) is outside the frame {fr}")
        if len(xs) == 1:  # one x (one epoch): its points stand inside the frame, not on an edge of it
            cx = xs.pop()
            if not fr["l"] + 0.1 * fr["w"] < cx < fr["r"] - 0.1 * fr["w"]:
                fail(f"chart '{title}': its single x is drawn at {cx}, at an edge of the frame {fr}")
        if title.startswith("expected cost"):
            ylabel = next((t["text"] for t in s["texts"] if t["cls"] == "ylabel"), "")
            if ylabel != unit:
                fail(f"chart '{title}': its y axis says {ylabel!r}, the run priced in {unit}")
        if title.startswith("training"):
            xt = [si_value(t["text"]) for t in s["texts"] if t["cls"] == "tick x"]
            for row in log:
                if row["epoch"] not in xt:
                    fail(f"chart '{title}': epoch {row['epoch']} has no tick ({xt})")
            if len(s["points"]) != 2 * len(log):
                fail(f"chart '{title}': {len(s['points'])} points for {len(log)} epochs of two series")
    # training loss and accuracy, search loss and cost; the evolution's loss, accuracy and fitness
    want = 4 + (3 if os.path.exists(f"{run}/evolve/history.jsonl") else 0)
    if charts != want:
        fail(f"{charts} charts on the page, expected {want}")

    # the chosen network: figures and probabilities
    net = {r[0]: r[1] for r in (page["tables"]["network"] or []) if len(r) == 2}
    if not net:
        fail("no table#network of the chosen network")
    else:
        measured = json.load(open(f"{run}/measured.json"))
        row = lambda prefix: next((v for k, v in net.items() if k.startswith(prefix)), None)
        close(si_value(row("params") or ""), result["params"], "params")
        close(si_value(row("MAdds") or ""), result["madds"], "MAdds")
        budget = row("budget") or ""
        close(si_value(budget), result["budget"], "budget")
        if not budget.endswith(unit):
            fail(f"the budget '{budget}' is not in {unit}")
        close(si_value(row("latency, predicted") or ""), measured.get("predicted_latency_ms", math.nan), "predicted latency")
        lat = (row("latency, measured") or "").split("/")
        close(si_value(lat[0]), measured["latency_min_ms"], "fastest measured latency")
        close(si_value(lat[1] if len(lat) > 1 else ""), measured["latency_ms"], "median measured latency")
        acc_key = next((k for k in net if k.startswith("test accuracy")), "")
        close(si_value(net.get(acc_key, "")), 100 * log[-1]["test_acc"], "test accuracy")
        n = len(log)
        if acc_key != f"test accuracy after {n} epoch{'s' if n != 1 else ''}":
            fail(f"the accuracy row is titled {acc_key!r} for {n} epoch(s)")
    rows = (page["tables"]["layers"] or [])[1:]
    if len(rows) != len(result["layers"]):
        fail(f"the layer table has {len(rows)} rows, result.json {len(result['layers'])} layers")
    for i, (r, l) in enumerate(zip(rows, result["layers"])):
        want = l["probs"][l["choice"]]
        got = si_value(r[2]) if len(r) > 2 else None
        if r[1] != l["cell"]:
            fail(f"layer {i + 1}: the page names cell {r[1]!r}, result.json {l['cell']!r}")
        if got is None or abs(got - want) > 0.0005 + 1e-9:
            fail(f"layer {i + 1}: the page shows probability {r[2] if len(r) > 2 else None!r}, result.json holds {want}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    run, shot = os.path.abspath(sys.argv[1]), sys.argv[2]
    try:
        page = render("file://" + run + "/report.html", shot)
    except RuntimeError as e:
        sys.exit(f"FAIL: {e}")
    if not os.path.getsize(shot):
        fail(f"the screenshot {shot} is empty")
    check(run, page)
    if failures:
        sys.exit(f"{len(failures)} failure(s) in {run}/report.html (screenshot {shot})")
    print(f"report.html of {run} passed in Chromium; screenshot {shot}")


if __name__ == "__main__":
    main()
