// Runs an ONNX model written by `asvk export` in ONNX Runtime (CPU) on the
// inputs of its --check-io file and compares the logits with asvk's.
//   node tools/onnx/check_onnx.js MODEL.onnx IO.safetensors [TOLERANCE]
// Prints one JSON line {batch, classes, rel_err, max_abs, tolerance, ok};
// exit 0 when ||ort - asvk|| / ||asvk|| <= TOLERANCE (default 1e-4), 1 when
// not, 2 on bad input. Needs `npm install --ignore-scripts` in tools/onnx
// (scripts/setup.sh does it).
'use strict';
const fs = require('fs');
const path = require('path');

function readSafetensors(file) {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const base = 8 + n;
  const out = {};
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (t.dtype !== 'F32') throw new Error(`${file}: ${name} is ${t.dtype}, not F32`);
    const [b, e] = t.data_offsets;
    const bytes = buf.subarray(base + b, base + e);
    const data = new Float32Array(bytes.length / 4);
    for (let i = 0; i < data.length; i++) data[i] = bytes.readFloatLE(4 * i);
    out[name] = { shape: t.shape, data };
  }
  return out;
}

async function main() {
  const [model, io, tolArg] = process.argv.slice(2);
  if (!model || !io) {
    console.error('usage: node check_onnx.js MODEL.onnx IO.safetensors [TOLERANCE]');
    process.exit(2);
  }
  const tol = tolArg ? Number(tolArg) : 1e-4;
  let ort;
  try {
    ort = require(path.join(__dirname, 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    console.error(`onnxruntime-node is not installed in ${__dirname} (npm install --ignore-scripts there): ${e.message}`);
    process.exit(2);
  }
  const t = readSafetensors(io);
  const session = await ort.InferenceSession.create(model);
  const x = new ort.Tensor('float32', t.input.data, t.input.shape);
  const res = await session.run({ input: x });
  const y = res.logits;
  const want = t.logits.data;
  if (y.data.length !== want.length) {
    console.log(JSON.stringify({ ok: false, error: `logits of shape ${y.dims}, asvk's ${t.logits.shape}` }));
    process.exit(1);
  }
  let num = 0, den = 0, maxAbs = 0;
  for (let i = 0; i < want.length; i++) {
    const d = y.data[i] - want[i];
    num += d * d;
    den += want[i] * want[i];
    maxAbs = Math.max(maxAbs, Math.abs(d));
  }
  const rel = Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
  const ok = rel <= tol;
  console.log(JSON.stringify({ batch: t.input.shape[0], classes: t.logits.shape[1], output_dims: y.dims, rel_err: rel,
                               max_abs: maxAbs, tolerance: tol, ok }));
  process.exit(ok ? 0 : 1);
}

main().catch((e) => { console.error(e.message || String(e)); process.exit(2); });
