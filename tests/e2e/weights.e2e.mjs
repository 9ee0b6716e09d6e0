// The weights path in a real browser: the built site (dist/) served by a small Node server that
// can break the demo model's files on purpose. With one browser profile throughout:
//   a download cut mid-shard resumes with an HTTP Range request, is verified and runs the model;
//   a second visit loads from browser storage (OPFS) without fetching the shard;
//   storage cleared between visits downloads again; the model panel's Delete empties the cache;
//   a corrupt shard (one flipped byte), a truncated shard, a missing shard, a manifest that lies
//   about sizes and a full quota each give a clear message and never a shard marked complete;
//   a "Hugging Face repository" (the demo model dequantized to an f32 checkpoint of the
//   transformers layout) is quantized while it downloads: a cut resumes at the exact byte, the
//   stored shard has the sha256 of the shipped one (what `visionllm convert` makes), the model
//   runs, a second visit reads storage only, and a truncated source is a clear error;
//   with `?storage=cache` (the fallback where OPFS is missing) the same downloads, resume,
//   verification, conversion and deletion go through the Cache API.
//
// Usage: node tests/e2e/weights.e2e.mjs   (after `trunk build --release`; see run.sh)
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { nativeCheckpoint, shardedNativeCheckpoint } from './native_checkpoint.mjs';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const DIST = path.join(ROOT, 'dist');
const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS || 300000);
const SHARD = 'models/demo/model-00001-of-00001.safetensors';
const MANIFEST = 'models/demo/manifest.json';

let failures = 0;
const check = (ok, what) => { console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`); if (!ok) failures++; };

// The "repository": served under hub/demo/resolve/main/ (as huggingface.co lays out files).
const HUB = 'hub/demo/resolve/main/';
const HUB_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'visionllm-hub-'));
fs.writeFileSync(path.join(HUB_DIR, 'model.safetensors'), nativeCheckpoint(path.join(DIST, 'models/demo')));
for (const f of ['config.json', 'tokenizer.json', 'preprocessor_config.json']) fs.copyFileSync(path.join(DIST, 'models/demo', f), path.join(HUB_DIR, f));
// The same model published as two shards and an index (no model.safetensors: the loader falls
// back to the index on the 404).
const HUB2 = 'hub/demo-sharded/resolve/main/';
const HUB2_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'visionllm-hub2-'));
for (const [f, bytes] of Object.entries(shardedNativeCheckpoint(path.join(DIST, 'models/demo')))) fs.writeFileSync(path.join(HUB2_DIR, f), bytes);
for (const f of ['config.json', 'tokenizer.json', 'preprocessor_config.json']) fs.copyFileSync(path.join(DIST, 'models/demo', f), path.join(HUB2_DIR, f));
const HUB_MODEL = {
  id: 'demo-from-hub-q8', name: 'Demo, from a transformers-layout repository, quantized here', note: 'e2e', base_url: HUB,
  files: { config: 'config.json', tokenizer: 'tokenizer.json', preprocessor: 'preprocessor_config.json', weights: ['model.safetensors'], quantize: 'q8' },
  size_bytes: null, precision: 'Q8', available: true,
};

// ---- the server: static files with Range support, and the faults -------------------------------
let mode = 'normal';
let shardRequests = [];
let hubRequests = [];
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.json': 'application/json', '.png': 'image/png' };
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  let rel = decodeURIComponent(url.pathname).replace(/^\/+/, '');
  if (rel === '' || rel.endsWith('/')) rel += 'index.html';
  const hub = rel.startsWith(HUB) || rel.startsWith(HUB2);
  const base = rel.startsWith(HUB) ? HUB_DIR : rel.startsWith(HUB2) ? HUB2_DIR : DIST;
  const file = hub ? path.join(base, rel.slice((rel.startsWith(HUB) ? HUB : HUB2).length)) : path.join(DIST, rel);
  if (!file.startsWith(base) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.writeHead(404); return res.end('not found'); }
  let body = fs.readFileSync(file);
  if (rel === 'models/catalog.json' && mode.startsWith('hub')) {
    const c = JSON.parse(body);
    c.models.push(HUB_MODEL, { ...HUB_MODEL, id: 'demo-sharded-q4', base_url: HUB2, files: { ...HUB_MODEL.files, quantize: 'q4' } });
    c.default_model = mode === 'hub-sharded' ? 'demo-sharded-q4' : HUB_MODEL.id;
    body = Buffer.from(JSON.stringify(c));
  }
  const headers = { 'Content-Type': types[path.extname(file)] || 'application/octet-stream', 'Accept-Ranges': 'bytes', 'Cache-Control': 'no-store' };
  if (rel === 'worker_loader.js' && mode === 'quota') {
    // The worker sees a nearly full quota (what a full disk looks like to the page).
    body = Buffer.concat([Buffer.from("Object.defineProperty(StorageManager.prototype, 'estimate', { value: async () => ({ quota: 2000000, usage: 1500000 }) });\n"), body]);
  }
  if (rel === MANIFEST && mode === 'lying-manifest') {
    const m = JSON.parse(body);
    m.shards[0].bytes += 100; m.total_bytes += 100;
    body = Buffer.from(JSON.stringify(m));
  }
  if (rel === SHARD) {
    shardRequests.push(req.headers.range || '');
    if (mode === 'missing') { res.writeHead(404); return res.end('not found'); }
    if (mode === 'corrupt') { body = Buffer.from(body); body[body.length >> 1] ^= 0x01; }
    if (mode === 'truncate') body = body.subarray(0, body.length >> 1);
    if (mode === 'cut-once') {
      // Headers for the whole file, 40% of it, then the connection drops; later requests are served.
      mode = 'normal';
      res.writeHead(200, { ...headers, 'Content-Length': body.length });
      res.write(body.subarray(0, Math.floor(body.length * 0.4)));
      return setTimeout(() => res.destroy(), 200);
    }
  }
  if (hub && rel.endsWith('.safetensors')) {
    hubRequests.push(req.headers.range || '');
    if (mode === 'hub-truncated') body = body.subarray(0, Math.floor(body.length * 0.6));
  }
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || '');
  if (range && Number(range[1]) < body.length) {
    const start = Number(range[1]);
    const end = Math.min(range[2] ? Number(range[2]) + 1 : body.length, body.length);
    res.writeHead(206, { ...headers, 'Content-Length': end - start, 'Content-Range': `bytes ${start}-${end - 1}/${body.length}` });
    if (mode === 'hub-cut-once' && hub && end - start > 1000000) {
      // 40% of the tensor bytes, then the connection drops; later requests are served.
      mode = 'hub';
      res.write(body.subarray(start, start + Math.floor((end - start) * 0.4)));
      return setTimeout(() => res.destroy(), 200);
    }
    return res.end(body.subarray(start, end));
  }
  res.writeHead(200, { ...headers, 'Content-Length': body.length });
  res.end(body);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const APP_URL = `http://127.0.0.1:${server.address().port}/`;

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'visionllm-weights-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-first-run', '--disable-quic', '--no-sandbox', '--disable-dev-shm-usage'],
});
const page = context.pages()[0] || await context.newPage();
page.on('pageerror', (e) => console.log(`[pageerror] ${e}`));
page.on('console', (m) => { if (m.text().includes('wasm heap')) console.log(`[page] ${m.text()}`); });

// What the origin's storage holds for a model: { file: size }.
const stored = (id = 'demo-shapes') => page.evaluate(async (id) => {
  const out = {};
  try {
    const root = await navigator.storage.getDirectory();
    const dir = await (await root.getDirectoryHandle('visionllm-models')).getDirectoryHandle(id);
    for await (const [name, h] of dir.entries()) out[name] = (await h.getFile()).size;
  } catch (e) { /* nothing stored */ }
  return out;
}, id);
const storedText = (id, name) => page.evaluate(async ([id, name]) => {
  const root = await navigator.storage.getDirectory();
  const dir = await (await root.getDirectoryHandle('visionllm-models')).getDirectoryHandle(id);
  return (await (await dir.getFileHandle(name)).getFile()).text();
}, [id, name]);

// Drop the example scene, ask for a caption, return it.
const scene = fs.readFileSync(path.join(ROOT, 'public/examples/scene-1000006020.png')).toString('base64');
async function captionOfScene() {
  await page.locator('[data-testid=drop-zone]').dispatchEvent('drop', {
    dataTransfer: await page.evaluateHandle((b64) => {
      const dt = new DataTransfer();
      dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'scene.png', { type: 'image/png' }));
      return dt;
    }, scene),
  });
  await page.locator('[data-testid=result-canvas]').waitFor();
  await page.locator('[data-testid=instruction]').fill('caption');
  await page.locator('[data-testid=instruction]').press('Enter');
  await page.locator('[data-testid=result-json]').waitFor({ state: 'attached', timeout: TIMEOUT });
  return JSON.parse(await page.locator('[data-testid=result-json]').textContent()).results[0]?.answer?.['<CAPTION>'];
}

// Open the app with `m` in force; resolves to 'ready' or the error shown.
async function visit(m, query = '') {
  mode = m;
  shardRequests = [];
  hubRequests = [];
  await page.goto(APP_URL + query);
  const ready = page.locator('[data-testid=model-status][data-ready=true]').waitFor({ timeout: TIMEOUT }).then(() => 'ready');
  const error = page.locator('[data-testid=error]').waitFor({ timeout: TIMEOUT }).then(() => page.locator('[data-testid=error]').innerText());
  return Promise.race([ready, error]);
}

try {
  const shardSize = fs.statSync(path.join(DIST, SHARD)).size;

  // 1. A download cut at 40% resumes (Range) within the same load, is verified, and the model runs.
  let outcome = await visit('cut-once');
  check(outcome === 'ready', `cut download: the model loaded (${outcome})`);
  const resumed = shardRequests.find((r) => /^bytes=[1-9]\d*-$/.test(r));
  check(!!resumed, `cut download: resumed with a Range request (${shardRequests.map((r) => r || 'full').join(', ')})`);
  let files = await stored();
  check(files['model-00001-of-00001.safetensors'] === shardSize && files['model-00001-of-00001.safetensors.sha256'] === 64,
    `the shard is stored whole and marked verified (${JSON.stringify(files)})`);
  let caption = await captionOfScene();
  check(typeof caption === 'string' && caption.includes('circle'), `the loaded weights run: caption “${caption}”`);

  // 2. The next visit reads the verified shard from storage: no shard request.
  outcome = await visit('normal');
  check(outcome === 'ready' && shardRequests.length === 0, `second visit: loaded from browser storage (${outcome}, ${shardRequests.length} shard requests)`);

  // 3. Storage cleared between visits: downloaded again.
  await page.evaluate(async () => (await navigator.storage.getDirectory()).removeEntry('visionllm-models', { recursive: true }));
  outcome = await visit('normal');
  check(outcome === 'ready' && shardRequests.length === 1, `storage cleared: downloaded again (${outcome}, ${shardRequests.length} shard requests)`);

  // 4. Delete from the model panel.
  await page.locator('.model-panel summary').click();
  const entry = page.locator('[data-testid=cached-models] li[data-model=demo-shapes]');
  await entry.waitFor({ timeout: 20000 });
  await entry.locator('button').click();
  await entry.waitFor({ state: 'detached', timeout: 20000 });
  files = await stored();
  check(Object.keys(files).length === 0, `Delete emptied the model's storage (${JSON.stringify(files)})`);

  // 5. Faults: a clear message each, and never a shard marked complete.
  const faults = [
    ['corrupt', /sha256.*corrupt|corrupt/i],
    ['truncate', /truncated/i],
    ['missing', /404/],
    ['lying-manifest', /manifest/i],
    ['quota', /Not enough browser storage/],
  ];
  for (const [fault, expected] of faults) {
    outcome = await visit(fault);
    check(outcome !== 'ready' && expected.test(outcome), `${fault}: “${outcome.split('\n')[0].slice(0, 200)}”`);
    files = await stored();
    check(!files['model-00001-of-00001.safetensors.sha256'], `${fault}: no shard marked complete (${JSON.stringify(files)})`);
  }

  // 6. And after the faults a normal visit recovers.
  outcome = await visit('normal');
  check(outcome === 'ready', `recovered after the faults (${outcome})`);

  // 7. A repository of the transformers layout, quantized while it downloads.
  const hubId = HUB_MODEL.id;
  const shipped = JSON.parse(fs.readFileSync(path.join(DIST, MANIFEST), 'utf8'));
  const sourceSize = fs.statSync(path.join(HUB_DIR, 'model.safetensors')).size;
  outcome = await visit('hub-cut-once');
  check(outcome === 'ready', `repository: converted while downloading and loaded (${outcome})`);
  const ranges = hubRequests.map((r) => /^bytes=(\d+)-(\d+)$/.exec(r)).filter(Boolean).map((r) => [Number(r[1]), Number(r[2])]);
  const tensorFetches = ranges.filter(([a, b]) => b - a > 1000000);
  check(tensorFetches.length === 2 && tensorFetches[1][0] > tensorFetches[0][0] && tensorFetches[1][1] === tensorFetches[0][1],
    `repository: headers, then the tensors; the cut resumed at a later byte (${hubRequests.join(', ')})`);
  files = await stored(hubId);
  const converted = JSON.parse(await storedText(hubId, 'manifest.json'));
  check(JSON.stringify(converted.shards) === JSON.stringify(shipped.shards),
    `repository: the stored shard is the shipped one, byte for byte (sha256 ${converted.shards[0]?.sha256?.slice(0, 12)}…, ${JSON.stringify(files)})`);
  check(files[shipped.shards[0].file] === shipped.shards[0].bytes && files[`${shipped.shards[0].file}.sha256`] === 64 && !files['model.safetensors'],
    `repository: the quantized shard is stored and marked, the ${(sourceSize / 1e6).toFixed(1)} MB source is not`);
  caption = await captionOfScene();
  check(typeof caption === 'string' && caption.includes('circle'), `repository: the quantized weights run: caption “${caption}”`);
  outcome = await visit('hub');
  check(outcome === 'ready' && hubRequests.length === 0, `repository, second visit: from storage (${outcome}, ${hubRequests.length} source requests)`);
  // A repository published as two files and an index, converted at Q4: exactly what
  // `visionllm convert --quant q4` makes of the same files.
  outcome = await visit('hub-sharded');
  const shardedQ4 = JSON.parse(await storedText('demo-sharded-q4', 'manifest.json'));
  const cliOut = fs.mkdtempSync(path.join(os.tmpdir(), 'visionllm-cli-q4-'));
  execFileSync(process.env.VISIONLLM_BIN || path.join(ROOT, 'target/debug/visionllm'), ['convert', '--from', HUB2_DIR, '--to', cliOut, '--quant', 'q4'], { stdio: 'ignore' });
  const cliQ4 = JSON.parse(fs.readFileSync(path.join(cliOut, 'manifest.json'), 'utf8'));
  fs.rmSync(cliOut, { recursive: true, force: true });
  check(outcome === 'ready' && hubRequests.filter((r) => /^bytes=\d+-\d+$/.test(r)).length === 6,
    `repository in two files + index: both headers, then both files (${outcome}, ${hubRequests.join(', ')})`);
  check(JSON.stringify(shardedQ4.shards) === JSON.stringify(cliQ4.shards) && JSON.stringify(shardedQ4.tensors) === JSON.stringify(cliQ4.tensors),
    `repository in two files + index: the browser's Q4 shards are the CLI's (sha256 ${shardedQ4.shards[0]?.sha256?.slice(0, 12)}… vs ${cliQ4.shards[0]?.sha256?.slice(0, 12)}…)`);
  // A repository typed into the model panel (owner/name under the "Remote models from" host).
  outcome = await visit('normal', `?models=${encodeURIComponent(APP_URL.replace(/\/$/, ''))}`);
  await page.locator('.model-panel summary').click();
  await page.locator('[data-testid=repository]').fill('hub/demo');
  await page.locator('[data-testid=repository-quant]').selectOption('q8');
  await page.locator('.repository button[type=submit]').click();
  await page.locator('[data-testid=model-status][data-ready=true]', { hasText: 'hf-hub--demo-q8' }).waitFor({ timeout: TIMEOUT });
  const typed = JSON.parse(await storedText('hf-hub--demo-q8', 'manifest.json'));
  check(JSON.stringify(typed.shards) === JSON.stringify(shipped.shards), `a typed repository “hub/demo” at Q8: loaded, the shipped shard (${await page.locator('[data-testid=model-status]').innerText()})`);
  await page.locator('[data-testid=repository]').fill('not a repo');
  await page.locator('.repository button[type=submit]').click();
  const typedError = await page.locator('[data-testid=error]').innerText();
  check(/owner\/name/.test(typedError), `a mistyped repository: “${typedError.split('\n')[0]}”`);

  // The same repository with the shard gone from storage and the source now truncated: an error
  // naming the problem, no shard marked complete.
  await page.evaluate(async (id) => (await (await navigator.storage.getDirectory()).getDirectoryHandle('visionllm-models')).removeEntry(id, { recursive: true }), hubId);
  outcome = await visit('hub-truncated');
  check(outcome !== 'ready' && /shorter than its header says/.test(outcome), `repository, truncated source: “${outcome.split('\n')[0].slice(0, 200)}”`);
  files = await stored(hubId);
  check(!Object.keys(files).some((f) => f.endsWith('.sha256')) && !files['manifest.json'], `repository, truncated source: nothing marked complete (${JSON.stringify(files)})`);

  // 8. The Cache API fallback (forced with ?storage=cache; OPFS emptied first).
  await page.evaluate(async () => (await navigator.storage.getDirectory()).removeEntry('visionllm-models', { recursive: true }));
  const cached = () => page.evaluate(async () => {
    const out = {};
    const cache = await caches.open('visionllm-models');
    for (const req of await cache.keys()) out[decodeURIComponent(new URL(req.url).pathname).replace('/visionllm-models/', '')] = (await (await cache.match(req)).blob()).size;
    return out;
  });
  const CACHE = '?storage=cache';
  outcome = await visit('cut-once', CACHE);
  check(outcome === 'ready' && shardRequests.some((r) => /^bytes=[1-9]\d*-$/.test(r)), `Cache API: a cut download resumed and loaded (${outcome}, ${shardRequests.join(', ')})`);
  let entries = await cached();
  check(entries[`demo-shapes/${shipped.shards[0].file}`] === shardSize && entries[`demo-shapes/${shipped.shards[0].file}.sha256`] === 64 && Object.keys(await stored()).length === 0,
    `Cache API: the shard and its marker are there, nothing in OPFS (${JSON.stringify(entries)})`);
  caption = await captionOfScene();
  check(typeof caption === 'string' && caption.includes('circle'), `Cache API: the weights read back run: caption “${caption}”`);
  outcome = await visit('normal', CACHE);
  check(outcome === 'ready' && shardRequests.length === 0, `Cache API, second visit: from the cache (${outcome}, ${shardRequests.length} shard requests)`);
  await page.evaluate(async () => caches.delete('visionllm-models'));
  outcome = await visit('corrupt', CACHE);
  entries = await cached();
  check(outcome !== 'ready' && /corrupt/.test(outcome) && Object.keys(entries).length === 0, `Cache API, corrupt shard: “${outcome.split('\n')[0].slice(0, 120)}”, nothing stored (${JSON.stringify(entries)})`);
  outcome = await visit('hub', CACHE);
  entries = await cached();
  const viaCache = JSON.parse(await page.evaluate(async (id) => (await (await caches.open('visionllm-models')).match(`/visionllm-models/${id}/manifest.json`)).text(), hubId));
  check(outcome === 'ready' && JSON.stringify(viaCache.shards) === JSON.stringify(shipped.shards),
    `Cache API: a repository converted while downloading, the shipped sha256 (${outcome}, ${JSON.stringify(entries)})`);
  await page.locator('.model-panel summary').click();
  const hubEntry = page.locator(`[data-testid=cached-models] li[data-model=${hubId}]`);
  await hubEntry.waitFor({ timeout: 20000 });
  await hubEntry.locator('button').click();
  await hubEntry.waitFor({ state: 'detached', timeout: 20000 });
  entries = await cached();
  check(!Object.keys(entries).some((k) => k.startsWith(`${hubId}/`)), `Cache API: Delete removed the model's entries (${JSON.stringify(entries)})`);
} catch (e) {
  console.log(`FAIL ${e.stack || e}`);
  failures++;
} finally {
  await context.close();
  server.close();
  fs.rmSync(profile, { recursive: true, force: true });
  fs.rmSync(HUB_DIR, { recursive: true, force: true });
  fs.rmSync(HUB2_DIR, { recursive: true, force: true });
}
console.log(failures ? `${failures} check(s) failed` : 'all weights checks passed');
process.exit(failures ? 1 : 0);
