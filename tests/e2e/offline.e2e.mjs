// Offline and updates (issue #15): the built site served from a copy of dist/ by a server this
// script owns. First visit online: the service worker installs and takes control, caching the
// site's files but no weight shard. Then the server is shut down and the browser put offline: a
// reload opens the app from the service worker's cache, the demo model's shard comes from OPFS,
// and "find the red circles" gives the same boxes as online. Then a "new
// build" (the copy's sw.js with another version) is served again: the page offers to reload,
// "Reload" puts the new worker in control, and the old build's cache is gone.
//
// Usage: node tests/e2e/offline.e2e.mjs   (after `trunk build --release`; run.sh runs it)
import { check, fail, finish, launch, runInstruction } from './harness.mjs';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS || 300000);
const SCENE = path.join(ROOT, 'public/examples/scene-1000006005.png');
const SUB = '/site/';

// A copy of the build, so the test can publish a "new build" without touching dist/.
const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'visionllm-offline-'));
fs.cpSync(path.join(ROOT, 'dist'), copy, { recursive: true });
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.css': 'text/css',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.webmanifest': 'application/manifest+json' };
const handler = (req, res) => {
  const url = new URL(req.url, 'http://x');
  if (!url.pathname.startsWith(SUB)) { res.writeHead(404); return res.end(); }
  const rel = decodeURIComponent(url.pathname.slice(SUB.length)) || 'index.html';
  const file = path.join(copy, rel);
  if (!file.startsWith(copy) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.writeHead(404); return res.end(); }
  res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-cache' });
  fs.createReadStream(file).pipe(res);
};
let server = http.createServer(handler);
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;
const APP_URL = `http://127.0.0.1:${port}${SUB}`;
const sockets = new Set();
server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });

const browser = await launch('offline');
const { context } = browser;
const page = context.pages()[0] || await context.newPage();
page.on('pageerror', (e) => console.log(`[pageerror] ${e}`));

const ready = () => page.locator('[data-testid=model-status][data-ready=true]').waitFor({ timeout: TIMEOUT });
const boxesOf = async () => {
  const doc = JSON.parse(await page.locator('[data-testid=result-json]').textContent());
  return doc.results[0]?.answer?.['<OPEN_VOCABULARY_DETECTION>']?.bboxes || [];
};
const swVersion = () => page.evaluate(() => new Promise((resolve) => {
  navigator.serviceWorker.addEventListener('message', (e) => resolve(e.data.version), { once: true });
  navigator.serviceWorker.controller.postMessage('version');
}));

try {
  await page.goto(APP_URL);
  await ready();
  await page.locator('[data-testid=decoding]').selectOption('fast');
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: TIMEOUT });
  const version = await swVersion();
  const cached = await page.evaluate(async () => (await (await caches.open((await caches.keys())[0])).keys()).map((r) => r.url));
  check(cached.some((u) => u.endsWith('/models/demo/manifest.json')) && cached.some((u) => u.endsWith('.wasm')) && cached.some((u) => u.endsWith('/index.html')),
    `the service worker (version ${version}) cached the app shell and the demo model's files (${cached.length} files)`);
  check(!cached.some((u) => u.endsWith('.safetensors')), 'no weight shard in its cache (they live in OPFS only)');
  await runInstruction(page, { pngPath: SCENE, instruction: 'find the red circles', timeout: TIMEOUT });
  const online = await boxesOf();
  check(online.length > 0, `online: ${online.length} boxes`);

  // Offline: the server is gone and the browser has no network.
  await new Promise((r) => { server.close(r); for (const s of sockets) s.destroy(); });
  await context.setOffline(true);
  await page.reload();
  await ready();
  check(true, 'offline: the app opened and the demo model loaded');
  await page.locator('[data-testid=decoding]').selectOption('fast');
  await runInstruction(page, { pngPath: SCENE, instruction: 'find the red circles', timeout: TIMEOUT });
  const offline = await boxesOf();
  check(JSON.stringify(offline) === JSON.stringify(online), `offline: the same boxes (${JSON.stringify(offline)})`);

  // A new build: the same files, a new sw.js version.
  const swPath = path.join(copy, 'sw.js');
  fs.writeFileSync(swPath, fs.readFileSync(swPath, 'utf8').replace(`const VERSION = "${version}"`, 'const VERSION = "next-build"'));
  check(fs.readFileSync(swPath, 'utf8').includes('"next-build"'), 'the copy now holds a new build');
  server = http.createServer(handler);
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  await context.setOffline(false);
  await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
  await page.locator('[data-testid=update-banner]').waitFor({ timeout: TIMEOUT });
  check(true, 'the page offers to reload for the new build');
  await Promise.all([page.waitForEvent('load', { timeout: TIMEOUT }), page.locator('[data-testid=update-reload]').click()]);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: TIMEOUT });
  const next = await swVersion();
  const cacheNames = await page.evaluate(() => caches.keys());
  check(next === 'next-build' && JSON.stringify(cacheNames) === '["visionllm-next-build"]', `after Reload: version ${next}, caches ${JSON.stringify(cacheNames)}`);
  await ready();
} catch (e) {
  fail(e);
}
server.close();
fs.rmSync(copy, { recursive: true, force: true });
await finish(browser, 'offline e2e passed');
