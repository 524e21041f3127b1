// bpnet's ONNX exports run by a runtime that is not bpnet's: ONNX Runtime
// (npm onnxruntime-node, its bundled CPU build). For each model, trained here
// with the bpnet command line, the probabilities ONNX Runtime computes for all
// 10,000 MNIST test images must equal those `bpnet eval --probabilities`
// writes within 1e-5, both for the plain export (normalised input, fed by
// this file) and for --raw-pixels (pixel values 0..255 straight in).
//
//   node --test tests/node/        (after scripts/build.sh release and
//                                   scripts/fetch-mnist.sh; npm ci first)
// BPNET_CLI and BPNET_DATA override the binary and the data folder.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import ort from 'onnxruntime-node';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const bpnet = process.env.BPNET_CLI ?? join(root, 'build/release/apps/bpnet/bpnet');
const data = process.env.BPNET_DATA ?? join(root, 'data/mnist');
const work = mkdtempSync(join(tmpdir(), 'bpnet-ort-'));
after(() => rmSync(work, { recursive: true, force: true }));

function run(...args) {
  return execFileSync(bpnet, args, { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

// An unsigned-byte IDX file, raw or gzip: { dims, bytes }.
function readIdx(path) {
  let buffer;
  try {
    buffer = readFileSync(path);
  } catch {
    buffer = gunzipSync(readFileSync(path + '.gz'));
  }
  const rank = buffer[3];
  const dims = Array.from({ length: rank }, (_, i) => buffer.readUInt32BE(4 + 4 * i));
  return { dims, bytes: buffer.subarray(4 + 4 * rank) };
}

const images = readIdx(join(data, 't10k-images-idx3-ubyte'));
const labels = readIdx(join(data, 't10k-labels-idx1-ubyte')).bytes;
const [count, rows, cols] = images.dims;
const features = rows * cols;

// bpnet's CSV: index,label,predicted,p0..p9 -> Float64Array per class row-major.
function readProbabilities(path) {
  const lines = readFileSync(path, 'utf8').trim().split('\n').slice(1);
  const classes = lines[0].split(',').length - 3;
  const p = new Float64Array(lines.length * classes);
  lines.forEach((line, r) => line.split(',').slice(3).forEach((v, c) => (p[r * classes + c] = Number(v))));
  return { p, classes };
}

// ONNX Runtime's class probabilities for every test image.
async function ortProbabilities(file, input, outputKind) {
  const session = await ort.InferenceSession.create(file, { intraOpNumThreads: 2 });
  const feeds = { input: new ort.Tensor('float32', input, [count, features]) };
  const out = (await session.run(feeds)).output;
  const classes = out.dims[1];
  const p = Float64Array.from(out.data);
  for (let r = 0; r < count; ++r) {
    const row = p.subarray(r * classes, (r + 1) * classes);
    if (outputKind === 'log_probabilities') row.forEach((v, c) => (row[c] = Math.exp(v)));
    if (outputKind === 'logits') {
      const max = Math.max(...row);
      row.forEach((v, c) => (row[c] = Math.exp(v - max)));
      const sum = row.reduce((a, b) => a + b, 0);
      row.forEach((v, c) => (row[c] = v / sum));
    }
  }
  await session.release();
  return { p, classes };
}

function accuracy({ p, classes }) {
  let correct = 0;
  for (let r = 0; r < count; ++r) {
    const row = p.subarray(r * classes, (r + 1) * classes);
    correct += row.indexOf(Math.max(...row)) === labels[r];
  }
  return correct / count;
}

function largestDifference(a, b) {
  let worst = 0;
  for (let i = 0; i < a.p.length; ++i) worst = Math.max(worst, Math.abs(a.p[i] - b.p[i]));
  return worst;
}

// What `bpnet summary` says of a model: its normalisation, and what its
// last layer's output holds (the export's "output" tensor).
function describe(bpn) {
  const text = run('summary', '--model', bpn);
  const normalize = /normalize (\w+)/.exec(text)[1];
  const layers = [...text.matchAll(/^layer_\d+ \((\w+)\)/gm)].map((m) => m[1]);
  const last = layers.at(-1);
  const output = last === 'LogSoftmax' ? 'log_probabilities' : last === 'Softmax' ? 'probabilities' : 'logits';
  return { normalize, output };
}

const models = [
  { name: 'torch-seed', train: ['--preset', 'torch-seed'] },
  { name: 'keras-seed', train: ['--preset', 'keras-seed'] },
  {
    name: 'batch norm + dropout',
    train: ['--layers', '784,256,128,10', '--batchnorm', '--dropout', '0.2', '--optimizer', 'adam', '--epochs', '3'],
  },
];

for (const [i, model] of models.entries()) {
  test(`ONNX Runtime runs the ${model.name} export as bpnet does`, async () => {
    const bpn = `model${i}.bpn`;
    run('train', ...model.train, '--data', data, '--save', bpn, '--quiet-progress', '--seed', '1');
    run('export', '--model', bpn, '--out', `model${i}.onnx`);
    run('export', '--model', bpn, '--out', `model${i}_raw.onnx`, '--raw-pixels');
    run('eval', '--model', bpn, '--data', data, '--probabilities', `model${i}.csv`);
    const ours = readProbabilities(join(work, `model${i}.csv`));

    const file = join(work, `model${i}.onnx`);
    const { normalize, output: kind } = describe(bpn);
    // The plain export takes normalised pixels: this is bpnet's PixelScale.
    const [scale, offset] = normalize === 'torch' ? [Math.fround(2 / 255), -1] : [Math.fround(1 / 255), 0];
    const normalised = new Float32Array(count * features);
    for (let k = 0; k < normalised.length; ++k) normalised[k] = Math.fround(images.bytes[k] * scale) + offset;
    const theirs = await ortProbabilities(file, normalised, kind);
    const raw = await ortProbabilities(join(work, `model${i}_raw.onnx`), Float32Array.from(images.bytes.subarray(0, count * features)), kind);

    const report = `${model.name}: bpnet ${(100 * accuracy(ours)).toFixed(2)}%, ONNX Runtime ${(100 * accuracy(theirs)).toFixed(2)}% ` +
      `(raw-pixel input ${(100 * accuracy(raw)).toFixed(2)}%), largest probability difference ` +
      `${largestDifference(ours, theirs).toExponential(2)} (raw ${largestDifference(ours, raw).toExponential(2)})`;
    console.log(report);
    assert.equal(theirs.classes, ours.classes);
    assert.ok(largestDifference(ours, theirs) <= 1e-5, report);
    assert.ok(largestDifference(ours, raw) <= 1e-5, report);
  });
}
