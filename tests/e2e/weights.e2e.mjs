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
// Hardening (issue 12): a manifest whose tensor offsets lie (shard hashes right) is refused by
//   the shard's own header, on download and from storage; a read error is not damage (the shard
//   stays); a resume sends If-Range and a Content-Range that starts elsewhere makes a clean
//   restart; a repository is stored under host + revision: a new commit is converted afresh, a
//   file changing mid-download or a sha256 ETag that does not match keeps nothing; a manifest
//   naming `../other-model/...` is refused and the other model's entries stay; two tabs loading
//   one model both load (or one says it is in use), never a raw DOMException.
//
// Usage: node tests/e2e/weights.e2e.mjs   (after `trunk build --release`; see run.sh)
import { check, fail, finish, launch } from './harness.mjs';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
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


// The "repository": served under hub/demo/resolve/main/ (as huggingface.co lays out files).
const HUB = 'hub/demo/resolve/main/';
const HUB_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'visionllm-hub-'));
const HUB_V1 = nativeCheckpoint(path.join(DIST, 'models/demo'));
fs.writeFileSync(path.join(HUB_DIR, 'model.safetensors'), HUB_V1);
// A second revision of the repository: the same header (so the same plan), every value negated.
const HUB_V2 = Buffer.from(HUB_V1);
for (let i = 8 + Number(HUB_V1.readBigUInt64LE(0)) + 3; i < HUB_V2.length; i += 4) HUB_V2[i] ^= 0x80;
const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
// Bytes a hostile manifest points another model's shard name at: the demo shard, one byte flipped.
const FOREIGN = Buffer.from(fs.readFileSync(path.join(DIST, SHARD)));
FOREIGN[FOREIGN.length >> 1] ^= 1;
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
let ifRanges = [];
// The "repository" HUB's revision: 1 or 2 (HUB_V1 / HUB_V2), sent as X-Repo-Commit like Hugging Face.
let hubVersion = 1;
const commitOf = (v) => sha256(`commit ${v}`).slice(0, 40);
// The directory the "traversal" manifest aims at (another model's Cache API entries).
let traversalTarget = '';
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.json': 'application/json', '.png': 'image/png' };
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  let rel = decodeURIComponent(url.pathname).replace(/^\/+/, '');
  if (rel === '' || rel.endsWith('/')) rel += 'index.html';
  if (mode === 'traversal' && rel.endsWith('.safetensors')) {
    // Whatever shard path the browser asks for (a `../` in the manifest resolves in the URL too).
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': FOREIGN.length });
    return res.end(FOREIGN);
  }
  const hub = rel.startsWith(HUB) || rel.startsWith(HUB2);
  const base = rel.startsWith(HUB) ? HUB_DIR : rel.startsWith(HUB2) ? HUB2_DIR : DIST;
  const file = hub ? path.join(base, rel.slice((rel.startsWith(HUB) ? HUB : HUB2).length)) : path.join(DIST, rel);
  if (!file.startsWith(base) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.writeHead(404); return res.end('not found'); }
  let body = rel.startsWith(HUB) && rel.endsWith('model.safetensors') && hubVersion === 2 ? HUB_V2 : fs.readFileSync(file);
  if (rel === 'models/catalog.json' && mode.startsWith('hub')) {
    const c = JSON.parse(body);
    c.models.push(HUB_MODEL, { ...HUB_MODEL, id: 'demo-sharded-q4', base_url: HUB2, files: { ...HUB_MODEL.files, quantize: 'q4' } });
    c.default_model = mode === 'hub-sharded' ? 'demo-sharded-q4' : HUB_MODEL.id;
    body = Buffer.from(JSON.stringify(c));
  }
  const headers = { 'Content-Type': types[path.extname(file)] || 'application/octet-stream', 'Accept-Ranges': 'bytes', 'Cache-Control': 'no-store' };
  // Strong ETags as Hugging Face sends them for large files: the sha256 of the content.
  if (rel.endsWith('.safetensors')) headers.ETag = `"${sha256(body)}"`;
  if (hub && mode === 'hub-bad-etag') headers.ETag = `"${sha256(Buffer.from('something else'))}"`;
  if (rel.startsWith(HUB)) headers['X-Repo-Commit'] = commitOf(hubVersion);
  if (rel === 'worker_loader.js' && mode === 'read-error') {
    // The first read of a stored shard fails once (what a transient storage error looks like).
    body = Buffer.concat([Buffer.from("{ const read = FileSystemSyncAccessHandle.prototype.read; let n = 0; FileSystemSyncAccessHandle.prototype.read = function (...a) { if (n++ === 0) throw new DOMException('injected read failure', 'NotReadableError'); return read.apply(this, a); }; }\n"), body]);
  }
  if (rel === 'worker_loader.js' && mode === 'quota') {
    // The worker sees a nearly full quota (what a full disk looks like to the page).
    body = Buffer.concat([Buffer.from("Object.defineProperty(StorageManager.prototype, 'estimate', { value: async () => ({ quota: 2000000, usage: 1500000 }) });\n"), body]);
  }
  if (rel === MANIFEST && mode === 'lying-manifest') {
    const m = JSON.parse(body);
    m.shards[0].bytes += 100; m.total_bytes += 100;
    body = Buffer.from(JSON.stringify(m));
  }
  if (rel === MANIFEST && mode === 'lying-offsets') {
    // Two tensors of one size and dtype trade places: every size and hash still adds up.
    const m = JSON.parse(body);
    const [a, b] = m.tensors.filter((t) => t.length === 39168 && t.dtype === 'q8');
    [a.offset, b.offset] = [b.offset, a.offset];
    body = Buffer.from(JSON.stringify(m));
  }
  if (rel === MANIFEST && mode === 'traversal') {
    // The shard is "../<other model>/<its shard>", with the hash of bytes the server has there.
    const m = JSON.parse(body);
    m.shards[0].file = `../${traversalTarget}/${m.shards[0].file}`;
    m.shards[0].sha256 = sha256(FOREIGN);
    body = Buffer.from(JSON.stringify(m));
  }
  if (rel === SHARD) {
    shardRequests.push(req.headers.range || '');
    ifRanges.push(req.headers['if-range'] || '');
    if (mode === 'slow') {
      // Slow enough that two tabs loading at once overlap.
      res.writeHead(200, { ...headers, 'Content-Length': body.length });
      res.write(body.subarray(0, body.length >> 1));
      return setTimeout(() => res.end(body.subarray(body.length >> 1)), 3000);
    }
    if (mode === 'cut-misplaced' && req.headers.range) {
      // The resumed request gets a 206 that starts 1000 bytes before what was asked.
      mode = 'normal';
      const start = Math.max(0, Number(/^bytes=(\d+)-/.exec(req.headers.range)?.[1] || 0) - 1000);
      res.writeHead(206, { ...headers, 'Content-Length': body.length - start, 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` });
      return res.end(body.subarray(start));
    }
    if (mode === 'missing') { res.writeHead(404); return res.end('not found'); }
    if (mode === 'corrupt') { body = Buffer.from(body); body[body.length >> 1] ^= 0x01; }
    if (mode === 'truncate') body = body.subarray(0, body.length >> 1);
    if (mode === 'cut-once' || mode === 'cut-misplaced') {
      // Headers for the whole file, 40% of it, then the connection drops; later requests are served.
      if (mode === 'cut-once') mode = 'normal';
      res.writeHead(200, { ...headers, 'Content-Length': body.length });
      res.write(body.subarray(0, Math.floor(body.length * 0.4)));
      return setTimeout(() => res.destroy(), 200);
    }
  }
  if (hub && rel.endsWith('.safetensors')) {
    hubRequests.push(req.headers.range || '');
    if (req.headers.range) ifRanges.push(req.headers['if-range'] || '');
    if (mode === 'hub-truncated') body = body.subarray(0, Math.floor(body.length * 0.6));
  }
  let range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || '');
  // If-Range as HTTP has it: a validator that is not the current one gets the whole file.
  if (range && req.headers['if-range'] && req.headers['if-range'] !== headers.ETag) range = null;
  let [start, end, status] = [0, body.length, 200];
  if (range && Number(range[1]) < body.length) {
    start = Number(range[1]);
    end = Math.min(range[2] ? Number(range[2]) + 1 : body.length, body.length);
    status = 206;
    if (mode === 'hub-misplace-next' && hub && start > 0 && end - start > 100000) {
      mode = 'hub';
      start = Math.max(0, start - 1000); // a partial answer that starts elsewhere
    }
  }
  res.writeHead(status, { ...headers, 'Content-Length': end - start, ...(status === 206 ? { 'Content-Range': `bytes ${start}-${end - 1}/${body.length}` } : {}) });
  if (hub && end - start > 1000000 && ['hub-cut-once', 'hub-cut-misplaced', 'hub-cut-then-change'].includes(mode)) {
    // 40% of the tensor bytes, then the connection drops; later requests are served (in
    // 'hub-cut-then-change', from the repository's next revision).
    if (mode === 'hub-cut-then-change') hubVersion = 2;
    mode = mode === 'hub-cut-misplaced' ? 'hub-misplace-next' : 'hub';
    res.write(body.subarray(start, start + Math.floor((end - start) * 0.4)));
    return setTimeout(() => res.destroy(), 200);
  }
  res.end(body.subarray(start, end));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const APP_URL = `http://127.0.0.1:${server.address().port}/`;

const browser = await launch('weights');
const { context } = browser;
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
// The OPFS directories of a model converted from a repository: `<id>_<host>_<revision>`.
const dirsOf = (id) => page.evaluate(async (id) => {
  const out = [];
  try {
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('visionllm-models');
    for await (const [name] of root.entries()) if (name.startsWith(`${id}_`)) out.push(name);
  } catch (e) { /* nothing stored */ }
  return out.sort();
}, id);
const removeDirs = async (id) => {
  for (const d of await dirsOf(id)) await page.evaluate(async (d) => (await (await navigator.storage.getDirectory()).getDirectoryHandle('visionllm-models')).removeEntry(d, { recursive: true }), d);
};
const HOST = `127.0.0.1_${new URL(APP_URL).port}`;
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
  // The answer grows while it decodes: read it once the job is done.
  await page.locator('[data-testid=results][data-status=done]').waitFor({ state: 'attached', timeout: TIMEOUT });
  return JSON.parse(await page.locator('[data-testid=result-json]').textContent()).results[0]?.answer?.['<CAPTION>'];
}

// Open the app with `m` in force; resolves to 'ready' or the error shown.
async function visit(m, query = '', on = page) {
  mode = m;
  shardRequests = [];
  hubRequests = [];
  ifRanges = [];
  await on.goto(APP_URL + query);
  return outcomeOf(on);
}
const outcomeOf = (on) => {
  const ready = on.locator('[data-testid=model-status][data-ready=true]').waitFor({ timeout: TIMEOUT }).then(() => 'ready');
  const error = on.locator('[data-testid=error]').waitFor({ timeout: TIMEOUT }).then(() => on.locator('[data-testid=error]').innerText());
  return Promise.race([ready, error]);
};

try {
  const shardSize = fs.statSync(path.join(DIST, SHARD)).size;

  // 1. A download cut at 40% resumes (Range) within the same load, is verified, and the model runs.
  let outcome = await visit('cut-once');
  check(outcome === 'ready', `cut download: the model loaded (${outcome})`);
  const resumed = shardRequests.find((r) => /^bytes=[1-9]\d*-$/.test(r));
  check(!!resumed, `cut download: resumed with a Range request (${shardRequests.map((r) => r || 'full').join(', ')})`);
  const etag = `"${sha256(fs.readFileSync(path.join(DIST, SHARD)))}"`;
  check(ifRanges[shardRequests.indexOf(resumed)] === etag, `cut download: the resumed request sent If-Range with the first answer's ETag (${JSON.stringify(ifRanges)})`);
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
    // Sizes and hashes right, two tensors' offsets swapped: the shard's own header disagrees.
    ['lying-offsets', /manifest and shard disagree/],
    ['corrupt', /sha256.*corrupt|corrupt/i],
    ['truncate', /truncated/i],
    ['missing', /404/],
    ['lying-manifest', /manifest/i],
    ['quota', /Not enough browser storage/],
  ];
  for (const [fault, expected] of faults) {
    // Each from empty storage: bytes a fault leaves (a partial shard is kept: only a hash
    // mismatch removes stored bytes) must not decide the next one.
    await page.evaluate(async () => (await navigator.storage.getDirectory()).removeEntry('visionllm-models', { recursive: true }).catch(() => {}));
    outcome = await visit(fault);
    check(outcome !== 'ready' && expected.test(outcome), `${fault}: “${outcome.split('\n')[0].slice(0, 200)}”`);
    files = await stored();
    check(!files['model-00001-of-00001.safetensors.sha256'], `${fault}: no shard marked complete (${JSON.stringify(files)})`);
  }

  // 6. And after the faults a normal visit recovers.
  outcome = await visit('normal');
  check(outcome === 'ready', `recovered after the faults (${outcome})`);

  // 6b. Stored and marked, then a manifest whose offsets lie: refused by the re-hash path too;
  // the shard (the true one) keeps its marker.
  outcome = await visit('lying-offsets');
  files = await stored();
  check(outcome !== 'ready' && /manifest and shard disagree/.test(outcome) && files['model-00001-of-00001.safetensors.sha256'] === 64,
    `lying offsets, from storage: “${outcome.split('\n')[0].slice(0, 160)}”, the shard kept (${JSON.stringify(files)})`);
  // A read error while re-hashing is not damage: a message, the shard stays, the next visit loads it.
  outcome = await visit('read-error');
  files = await stored();
  check(outcome !== 'ready' && /could not read it back/.test(outcome) && files['model-00001-of-00001.safetensors.sha256'] === 64,
    `read error: “${outcome.split('\n')[0].slice(0, 160)}”, the shard kept (${JSON.stringify(files)})`);
  outcome = await visit('normal');
  check(outcome === 'ready' && shardRequests.length === 0, `after the read error: loaded from storage (${outcome}, ${shardRequests.length} shard requests)`);
  // A resume answered with a Content-Range that starts elsewhere: dropped, fetched whole, verified.
  await page.evaluate(async () => (await navigator.storage.getDirectory()).removeEntry('visionllm-models', { recursive: true }));
  outcome = await visit('cut-misplaced');
  files = await stored();
  check(outcome === 'ready' && shardRequests.length === 3 && /^bytes=[1-9]/.test(shardRequests[1]) && shardRequests[2] === '' && files['model-00001-of-00001.safetensors.sha256'] === 64,
    `a misplaced Content-Range: started over cleanly and loaded (${outcome}, ${shardRequests.map((r) => r || 'full').join(', ')})`);

  // 7. A repository of the transformers layout, quantized while it downloads.
  const hubId = HUB_MODEL.id;
  const shipped = JSON.parse(fs.readFileSync(path.join(DIST, MANIFEST), 'utf8'));
  const sourceSize = fs.statSync(path.join(HUB_DIR, 'model.safetensors')).size;
  outcome = await visit('hub-cut-once');
  check(outcome === 'ready', `repository: converted while downloading and loaded (${outcome})`);
  // The source's ETag is its sha256, so the whole file streams (and is hashed) from byte 0; the
  // cut resumes at a later byte with If-Range.
  const sourceEtag = `"${sha256(HUB_V1)}"`;
  check(hubRequests.length === 4 && /^bytes=0-\d+$/.test(hubRequests[0]) && /^bytes=0-\d+$/.test(hubRequests[1]) && hubRequests[2] === '' && /^bytes=[1-9]\d*-$/.test(hubRequests[3]) && ifRanges.at(-1) === sourceEtag,
    `repository: headers, then the whole file; the cut resumed at a later byte with If-Range (${hubRequests.map((r) => r || 'full').join(', ')}; If-Range ${ifRanges.at(-1)?.slice(0, 14)}…)`);
  // Stored under id, host and the repository's commit.
  const hubDir = `${hubId}_${HOST.replace(':', '_')}_${commitOf(1).slice(0, 12)}`;
  check(JSON.stringify(await dirsOf(hubId)) === JSON.stringify([hubDir]), `repository: stored as ${hubDir} (${JSON.stringify(await dirsOf(hubId))})`);
  files = await stored(hubDir);
  const converted = JSON.parse(await storedText(hubDir, 'manifest.json'));
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
  const shardedDirs = await dirsOf('demo-sharded-q4');
  const shardedQ4 = JSON.parse(await storedText(shardedDirs[0], 'manifest.json'));
  const cliOut = fs.mkdtempSync(path.join(os.tmpdir(), 'visionllm-cli-q4-'));
  let cliQ4 = {};
  try {
    execFileSync(process.env.VISIONLLM_BIN || path.join(ROOT, 'target/debug/visionllm'), ['convert', '--from', HUB2_DIR, '--to', cliOut, '--quant', 'q4'], { stdio: 'ignore' });
    cliQ4 = JSON.parse(fs.readFileSync(path.join(cliOut, 'manifest.json'), 'utf8'));
  } catch (e) {
    console.log(`(the CLI could not convert: ${e.message.split('\n')[0]}; the comparison below fails)`);
  }
  fs.rmSync(cliOut, { recursive: true, force: true });
  check(outcome === 'ready' && hubRequests.filter((r) => /^bytes=0-\d+$/.test(r)).length === 4 && hubRequests.filter((r) => r === '').length === 2,
    `repository in two files + index: both headers, then both files (${outcome}, ${hubRequests.map((r) => r || 'full').join(', ')})`);
  // No commit from this host: the revision is the files' ETags (a hash of them names the directory).
  check(shardedDirs.length === 1 && new RegExp(`^demo-sharded-q4_${HOST}_r[0-9a-f]{16}$`).test(shardedDirs[0]), `repository without a commit: stored as ${shardedDirs[0]}`);
  outcome = await visit('hub-sharded');
  check(outcome === 'ready' && hubRequests.every((r) => /^bytes=0-\d+$/.test(r)), `repository without a commit, second visit: headers only, then storage (${outcome}, ${hubRequests.join(', ')})`);
  check(JSON.stringify(shardedQ4.shards) === JSON.stringify(cliQ4.shards) && JSON.stringify(shardedQ4.tensors) === JSON.stringify(cliQ4.tensors),
    `repository in two files + index: the browser's Q4 shards are the CLI's (sha256 ${shardedQ4.shards[0]?.sha256?.slice(0, 12)}… vs ${cliQ4.shards?.[0]?.sha256?.slice(0, 12)}…)`);
  // A repository typed into the model panel (owner/name under the "Remote models from" host).
  outcome = await visit('normal', `?models=${encodeURIComponent(APP_URL.replace(/\/$/, ''))}`);
  await page.locator('.model-panel summary').click();
  await page.locator('[data-testid=repository]').fill('hub/demo');
  await page.locator('[data-testid=repository-quant]').selectOption('q8');
  await page.locator('.repository button[type=submit]').click();
  await page.locator('[data-testid=model-status][data-ready=true]', { hasText: 'hf-hub--demo-q8' }).waitFor({ timeout: TIMEOUT });
  const typed = JSON.parse(await storedText((await dirsOf('hf-hub--demo-q8'))[0], 'manifest.json'));
  check(JSON.stringify(typed.shards) === JSON.stringify(shipped.shards), `a typed repository “hub/demo” at Q8: loaded, the shipped shard (${await page.locator('[data-testid=model-status]').innerText()})`);
  await page.locator('[data-testid=repository]').fill('not a repo');
  await page.locator('.repository button[type=submit]').click();
  const typedError = await page.locator('[data-testid=error]').innerText();
  check(/owner\/name/.test(typedError), `a mistyped repository: “${typedError.split('\n')[0]}”`);

  // The same repository with the shard gone from storage and the source now truncated: an error
  // naming the problem, no shard marked complete.
  await removeDirs(hubId);
  outcome = await visit('hub-truncated');
  check(outcome !== 'ready' && /shorter than its header says/.test(outcome), `repository, truncated source: “${outcome.split('\n')[0].slice(0, 200)}”`);
  files = await stored(hubDir);
  check(!Object.keys(files).some((f) => f.endsWith('.sha256')) && !files['manifest.json'], `repository, truncated source: nothing marked complete (${JSON.stringify(files)})`);

  // 7b. Identity of what is cached. The repository moves to a new commit between visits: converted
  // afresh into its own directory (the new values, not the old shard), the old revision removed.
  await removeDirs(hubId);
  outcome = await visit('hub');
  hubVersion = 2;
  outcome = await visit('hub');
  const v2Dir = `${hubId}_${HOST}_${commitOf(2).slice(0, 12)}`;
  const v2 = JSON.parse(await storedText(v2Dir, 'manifest.json').catch(() => '{}'));
  check(outcome === 'ready' && hubRequests.includes('') && JSON.stringify(await dirsOf(hubId)) === JSON.stringify([v2Dir]) && v2.shards?.[0]?.sha256 !== shipped.shards[0].sha256,
    `repository, new commit: reconverted into ${v2Dir}, the old one gone (${outcome}, ${JSON.stringify(await dirsOf(hubId))}, sha256 ${v2.shards?.[0]?.sha256?.slice(0, 12)}…)`);
  // The file changes while it downloads (a cut, then the next revision): If-Range brings the new
  // file whole, which is refused; nothing is mixed, no manifest is written.
  await removeDirs(hubId);
  hubVersion = 1;
  outcome = await visit('hub-cut-then-change');
  let dirs = await dirsOf(hubId);
  let manifests = await Promise.all(dirs.map((d) => stored(d).then((f) => f['manifest.json'])));
  check(outcome !== 'ready' && /changed/.test(outcome) && manifests.every((m) => m === undefined),
    `repository changed mid-download: “${outcome.split('\n')[0].slice(0, 200)}”, no manifest (${JSON.stringify(dirs)})`);
  // An ETag that promises another sha256 than the bytes have: refused before any manifest, nothing kept.
  await removeDirs(hubId);
  hubVersion = 1;
  outcome = await visit('hub-bad-etag');
  dirs = await dirsOf(hubId);
  files = Object.assign({}, ...(await Promise.all(dirs.map((d) => stored(d)))));
  check(outcome !== 'ready' && /ETag/.test(outcome) && !files['manifest.json'] && !Object.keys(files).some((f) => f.endsWith('.sha256')),
    `repository, sha256 ETag mismatch: “${outcome.split('\n')[0].slice(0, 200)}”, nothing kept (${JSON.stringify(files)})`);
  // A resumed request answered from another byte than asked: started over cleanly, the right shard.
  await removeDirs(hubId);
  outcome = await visit('hub-cut-misplaced');
  const misplaced = JSON.parse(await storedText(hubDir, 'manifest.json').catch(() => '{}'));
  check(outcome === 'ready' && JSON.stringify(misplaced.shards) === JSON.stringify(shipped.shards) && hubRequests.slice(2).map((r) => r || 'full').join(',').match(/^full,bytes=[1-9]\d*-,full$/),
    `repository, misplaced Content-Range: fetched again whole, the shipped shard (${outcome}, ${hubRequests.map((r) => r || 'full').join(', ')})`);

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
  const viaCache = JSON.parse(await page.evaluate(async (id) => (await (await caches.open('visionllm-models')).match(`/visionllm-models/${id}/manifest.json`))?.text() ?? '{}', hubDir));
  check(outcome === 'ready' && JSON.stringify(viaCache.shards) === JSON.stringify(shipped.shards),
    `Cache API: a repository converted while downloading, the shipped sha256 (${outcome}, ${JSON.stringify(entries)})`);
  // A manifest naming "../<that model>/<its shard>": refused; the other model's entries stay as they were.
  const entryDigest = () => page.evaluate(async (dir) => {
    const cache = await caches.open('visionllm-models');
    const out = {};
    for (const req of await cache.keys()) {
      const key = decodeURIComponent(new URL(req.url).pathname);
      if (!key.startsWith(`/visionllm-models/${dir}/`)) continue;
      const bytes = await (await cache.match(req)).arrayBuffer();
      out[key] = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
    }
    return out;
  }, hubDir);
  const before = await entryDigest();
  traversalTarget = hubDir;
  outcome = await visit('traversal', CACHE);
  const after = await entryDigest();
  check(outcome !== 'ready' && /file name/.test(outcome) && Object.keys(before).length >= 3 && JSON.stringify(after) === JSON.stringify(before),
    `a manifest naming ../${hubDir}/…: “${outcome.split('\n')[0].slice(0, 160)}”, the other model's ${Object.keys(before).length} entries untouched`);
  mode = 'normal';
  await page.goto(APP_URL + CACHE);
  await page.locator('.model-panel summary').click();
  const hubEntry = page.locator(`[data-testid=cached-models] li[data-model="${hubDir}"]`);
  await hubEntry.waitFor({ timeout: 20000 });
  await hubEntry.locator('button').click();
  await hubEntry.waitFor({ state: 'detached', timeout: 20000 });
  entries = await cached();
  check(!Object.keys(entries).some((k) => k.startsWith(`${hubDir}/`)), `Cache API: Delete removed the model's entries (${JSON.stringify(entries)})`);

  // 9. Two tabs load the same model at once (the shard arrives slowly, so they overlap): both
  // load, the second from what the first stored, or one says the model is in use; never a raw
  // DOMException.
  await page.evaluate(async () => { await caches.delete('visionllm-models'); await (await navigator.storage.getDirectory()).removeEntry('visionllm-models', { recursive: true }).catch(() => {}); });
  const page2 = await context.newPage();
  mode = 'slow';
  shardRequests = [];
  const both = await Promise.all([page, page2].map(async (p) => { await p.goto(APP_URL); return outcomeOf(p); }));
  const fine = (o) => o === 'ready' || /in use in another tab/.test(o);
  check(both.every(fine) && both.includes('ready') && shardRequests.length === 1,
    `two tabs, one model: ${both.map((o) => `“${o.split('\n')[0].slice(0, 120)}”`).join(' and ')}; ${shardRequests.length} shard download(s)`);
  const notices = await Promise.all([page, page2].map((p) => p.locator('[data-testid=notice]').innerText({ timeout: 2000 }).catch(() => '')));
  check(notices.some((n) => /loaded in another tab/.test(n)), `the waiting tab says why it waits (${notices.map((n) => `“${n.split('\n')[0].slice(0, 100)}”`).join(', ')})`);
  await page2.close();
} catch (e) {
  fail(e);
} finally {
  server.close();
  fs.rmSync(HUB_DIR, { recursive: true, force: true });
  fs.rmSync(HUB2_DIR, { recursive: true, force: true });
}
await finish(browser, 'all weights checks passed');
