// The draw-a-digit page in a real browser: Debian's chromium, headless,
// driven by npm playwright-core, against `bpnet serve` with a torch-seed model
// trained here. Draws a "1" and a "7" with mouse strokes, paints real MNIST
// test digits (10x) onto the canvas and expects what `bpnet predict --index`
// says of them, uploads a PNG, and takes a screenshot.
//   SCREENSHOT=docs/images/draw-a-digit.png node --test tests/node/page.test.mjs
// keeps the screenshot (the README's).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { deflateSync, crc32 } from 'node:zlib';
import { chromium } from 'playwright-core';

const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const bpnet = process.env.BPNET_CLI ?? join(root, 'build/release/apps/bpnet/bpnet');
const data = process.env.BPNET_DATA ?? join(root, 'data/mnist');
const work = mkdtempSync(join(tmpdir(), 'bpnet-page-'));
const model = join(work, 'model.bpn');
let server, url, browser, page;

function run(...args) {
  return execFileSync(bpnet, args, { cwd: work, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

const images = readFileSync(join(data, 't10k-images-idx3-ubyte'));
const digit = (i) => images.subarray(16 + 784 * i, 16 + 784 * (i + 1));

// An 8-bit grey PNG, for the upload.
function png(width, height, pixels) {
  const chunk = (type, body) => {
    const out = Buffer.alloc(12 + body.length);
    out.writeUInt32BE(body.length, 0);
    out.write(type, 4, 'latin1');
    body.copy(out, 8);
    out.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), body])) >>> 0, 8 + body.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth; colour type 0 (grey)
  const raw = Buffer.alloc(height * (width + 1));
  for (let y = 0; y < height; ++y) Buffer.from(pixels.subarray(y * width, (y + 1) * width)).copy(raw, y * (width + 1) + 1);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

before(async () => {
  run('train', '--data', data, '--save', model, '--quiet-progress', '--run-dir', join(work, 'run'));
  server = spawn(bpnet, ['serve', '--model', model, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise((ok, fail) => {
    server.stdout.once('data', (line) => {
      const found = /http:\/\/127\.0\.0\.1:\d+\//.exec(line.toString());
      found ? ok(found[0]) : fail(new Error(`no URL in: ${line}`));
    });
    server.once('exit', (code) => fail(new Error(`bpnet serve exited with ${code}`)));
  });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 900, height: 760 } });
  await page.goto(url);
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

// Waits for the page's answer to settle (no request in flight) and returns it.
async function answer() {
  await page.waitForFunction(() => document.body.dataset.label !== '' && !window.pendingRequest());
  return Number(await page.evaluate(() => document.body.dataset.label));
}

async function strokes(lines) {
  await page.click('#clear');
  const box = await page.locator('#canvas').boundingBox();
  const at = (x, y) => [box.x + (x * box.width) / 280, box.y + (y * box.height) / 280];
  for (const line of lines) {
    await page.mouse.move(...at(...line[0]));
    await page.mouse.down();
    for (const point of line.slice(1)) await page.mouse.move(...at(...point), { steps: 12 });
    await page.mouse.up();
  }
  return answer();
}

test('a "1" drawn with the mouse is a 1', async () => {
  assert.equal(await strokes([[[150, 40], [140, 240]]]), 1);
});

test('a "7" drawn with the mouse is a 7', async () => {
  assert.equal(await strokes([[[70, 60], [210, 60], [130, 240]]]), 7);
});

test('MNIST test digits painted on the canvas get bpnet predict\'s answers', async () => {
  const indices = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const expected = run('predict', '--model', model, '--data', data, '--json', '--index', ...indices.map(String))
    .trim().split('\n').map((line) => JSON.parse(line).predicted);
  const got = [];
  for (const i of indices) {
    await page.click('#clear');
    // Dark ink on white, each MNIST pixel a 10x10 square, as a user's drawing is.
    await page.evaluate((pixels) => {
      const pen = document.getElementById('canvas').getContext('2d');
      pixels.forEach((v, k) => {
        pen.fillStyle = `rgb(${255 - v},${255 - v},${255 - v})`;
        pen.fillRect((k % 28) * 10, Math.floor(k / 28) * 10, 10, 10);
      });
      window.markInked();
      window.predictSoon();
    }, Array.from(digit(i)));
    got.push(await answer());
  }
  assert.deepEqual(got, expected);
});

test('an uploaded PNG is recognised and shown', async () => {
  const file = join(work, 'digit.png');
  writeFileSync(file, png(28, 28, digit(0).map((v) => 255 - v))); // a 7, dark on white
  await page.click('#clear');
  await page.setInputFiles('#file', file);
  assert.equal(await answer(), 7);
  const screenshot = process.env.SCREENSHOT ?? join(work, 'page.png');
  await strokes([[[70, 60], [210, 60], [130, 240]]]);
  await page.screenshot({ path: screenshot, fullPage: true });
});
