// ONNX Runtime's batched inference on a bpnet export (made with
// --raw-pixels, so pixel values 0..255 go straight in and the normalisation
// runs in the graph, as bpnet's does): the MNIST test set in batches of 1000,
// median of 5 passes after a warm-up, and one image at a time.
// Usage: node bench/ort_inference.mjs MODEL.onnx DATA_DIR THREADS
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';

const [file, data, threadsText] = process.argv.slice(2);
const threads = Number(threadsText ?? 2);
const buffer = readFileSync(join(data, 't10k-images-idx3-ubyte'));
const count = buffer.readUInt32BE(4);
const features = buffer.readUInt32BE(8) * buffer.readUInt32BE(12);
const pixels = Float32Array.from(buffer.subarray(16, 16 + count * features));

const session = await ort.InferenceSession.create(file, { intraOpNumThreads: threads, interOpNumThreads: 1 });
const batch = 1000;
async function pass() {
  const start = process.hrtime.bigint();
  for (let first = 0; first < count; first += batch) {
    const rows = Math.min(batch, count - first);
    const input = pixels.subarray(first * features, (first + rows) * features);
    await session.run({ input: new ort.Tensor('float32', input, [rows, features]) });
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}
const median = (v) => v.sort((a, b) => a - b)[v.length >> 1];
await pass();  // warm-up
const passes = [];
for (let i = 0; i < 5; ++i) passes.push(await pass());
const one = new ort.Tensor('float32', pixels.subarray(0, features), [1, features]);
for (let i = 0; i < 200; ++i) await session.run({ input: one });
const calls = [];
for (let rep = 0; rep < 5; ++rep) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < 2000; ++i) await session.run({ input: one });
  calls.push(Number(process.hrtime.bigint() - start) / 1e3 / 2000);
}
console.log(`onnxruntime ${ort.env.versions?.common ?? ''} inference: ${(count / median(passes)).toFixed(0)} images/s ` +
            `(batches of ${batch}, ${threads} threads), one image ${median(calls).toFixed(2)} us (from JavaScript)`);
