// Peak wasm heap while a full-size model loads in the browser (not part of CI: it needs GBs of
// disk and minutes). Make the model first:
//   python3 tests/e2e/make_random_checkpoint.py large /tmp/large-src
//   target/release/visionllm convert --from /tmp/large-src --to /tmp/large-q4 --quant q4
//   node tests/e2e/heap_large.mjs /tmp/large-q4      (after `trunk build --release`)
// or, quantizing the 1.5 GB transformers-layout checkpoint in the browser while it downloads:
//   node tests/e2e/heap_large.mjs /tmp/large-src q4
// Qwen3-VL-2B-Instruct the same way (its 4.26 GB bf16 checkpoint quantized to Q4 in the browser):
//   python3 tests/e2e/make_random_checkpoint.py qwen3vl-2b /tmp/qwen2b-src
//   node tests/e2e/heap_large.mjs /tmp/qwen2b-src q4
// Loads it twice (download into OPFS, then from OPFS) and prints the worker's wasm memory after
// each load: wasm memory never shrinks, so that is the peak of the whole load.
// BACKEND=cpu|gpu: the backend (`?backend=`; default: the app's choice). RUN=N: after the second
// load, "find every car and person" on a generated RUN x RUN image (greedy, at most 20 new tokens):
// the app's timings line and the worker's wasm heap after the job (the CPU backend's weights and
// activations live there).
import { launch, runInstruction } from './harness.mjs';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const DIST = path.join(ROOT, 'dist');
const MODEL = path.resolve(process.argv[2] || '/tmp/large-q4');
const QUANTIZE = process.argv[3];
const ENTRY = {
  id: 'large-random', name: `${path.basename(MODEL)} (full-size, random)`, note: 'measurement', base_url: 'large/',
  files: { config: 'config.json', tokenizer: 'tokenizer.json', preprocessor: 'preprocessor_config.json',
    ...(QUANTIZE ? { weights: ['model.safetensors'], quantize: QUANTIZE } : { manifest: 'manifest.json' }) },
  size_bytes: null, precision: QUANTIZE || 'converted', available: true,
};
const server = http.createServer((req, res) => {
  const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
  const file = rel.startsWith('large/') ? path.join(MODEL, rel.slice(6)) : path.join(DIST, rel);
  if (!fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.writeHead(404); return res.end(); }
  const type = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' }[path.extname(file)] || 'application/octet-stream';
  if (rel === 'models/catalog.json') {
    const c = JSON.parse(fs.readFileSync(file));
    c.models.push(ENTRY);
    c.default_model = ENTRY.id;
    res.writeHead(200, { 'Content-Type': type });
    return res.end(JSON.stringify(c));
  }
  const size = fs.statSync(file).size;
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || '');
  if (range) {
    const [start, end] = [Number(range[1]), Math.min(range[2] ? Number(range[2]) + 1 : size, size)];
    res.writeHead(206, { 'Content-Type': type, 'Content-Length': end - start, 'Content-Range': `bytes ${start}-${end - 1}/${size}` });
    return fs.createReadStream(file, { start, end: end - 1 }).pipe(res);
  }
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': size });
  fs.createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const QUERY = `?max-new-tokens=20${process.env.BACKEND ? `&backend=${process.env.BACKEND}` : ''}`;
const { context, profile } = await launch('heap');
const page = context.pages()[0] || await context.newPage();
const lines = [];
page.on('console', (m) => { if (/wasm heap|stored in/.test(m.text())) { lines.push(m.text()); console.log(`[page] ${m.text()}`); } });
page.on('worker', (w) => w.on('console', (m) => { if (/wasm heap/.test(m.text())) { lines.push(m.text()); console.log(`[worker] ${m.text()}`); } }));
let status = 0;
try {
  for (const visit of [QUANTIZE ? `download and quantize to ${QUANTIZE} into OPFS` : 'download into OPFS', 'from OPFS']) {
    const t = Date.now();
    await page.goto(`http://127.0.0.1:${server.address().port}/${QUERY}`);
    const ready = page.locator('[data-testid=model-status][data-ready=true]').waitFor({ timeout: 1800000 }).then(() => 'ready');
    const error = page.locator('[data-testid=error]').waitFor({ timeout: 1800000 }).then(() => page.locator('[data-testid=error]').innerText());
    const outcome = await Promise.race([ready, error]);
    const heap = lines.filter((l) => l.includes('wasm heap')).pop();
    console.log(`${visit}: ${outcome} in ${((Date.now() - t) / 1000).toFixed(0)} s; ${heap}`);
    if (outcome !== 'ready') status = 1;
  }
  console.log(`backend: ${(await page.locator('[data-testid=capabilities] summary').innerText()).trim()}`);
  if (process.env.RUN) {
    const side = Number(process.env.RUN);
    const png = path.join(fs.mkdtempSync(path.join(profile, 'img-')), 'image.png');
    const { execFileSync } = await import('node:child_process');
    // A plain gradient PNG of side x side (Python's zlib: no image library needed).
    execFileSync('python3', ['-c', `import struct, sys, zlib
s = ${side}
raw = b''.join(b'\\x00' + bytes((x * 255 // s, y * 255 // s, 128) [c] for x in range(s) for c in range(3)) for y in range(s))
chunk = lambda t, d: struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
open(sys.argv[1], 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', s, s, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))`, png]);
    await page.locator('[data-testid=decoding]').selectOption('fast');
    const r = await runInstruction(page, { pngPath: png, instruction: 'find every car and person', timeout: 1800000 });
    await page.waitForTimeout(500);
    console.log(`run at ${side}: ${JSON.stringify(r)}; ${await page.locator('[data-testid=timings]').innerText()}; ${lines.filter((l) => l.includes('wasm heap')).pop()}`);
  }
  // With COMPARE=<converted dir>: the browser's conversion must be the CLI's, shard for shard.
  if (QUANTIZE && process.env.COMPARE) {
    const mine = JSON.parse(await page.evaluate(async (id) => {
      const dir = await (await (await navigator.storage.getDirectory()).getDirectoryHandle('visionllm-models')).getDirectoryHandle(id);
      return (await (await dir.getFileHandle('manifest.json')).getFile()).text();
    }, ENTRY.id));
    const cli = JSON.parse(fs.readFileSync(path.join(process.env.COMPARE, 'manifest.json'), 'utf8'));
    const same = JSON.stringify(mine.shards) === JSON.stringify(cli.shards) && JSON.stringify(mine.tensors) === JSON.stringify(cli.tensors);
    console.log(`browser conversion ${same ? 'equals' : 'DIFFERS FROM'} ${process.env.COMPARE}: ${mine.shards.length} shards, ${mine.total_bytes} bytes`);
    if (!same) status = 1;
  }
} finally {
  await context.close();
  server.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
process.exit(status);
