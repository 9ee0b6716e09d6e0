// Memory over a long batch, for the README (not in CI: each image takes about a second on
// SwiftShader). A folder of N images (copies of the example scenes under distinct names) is
// labelled with "find the red circles" (?max-new-tokens=8 keeps each job short); every 10% of the
// batch the page's JS heap (CDP Runtime.getHeapUsage), the page's DOM node count and the resident
// memory of all of Chromium's processes are printed, then the growth per 100 images after the first
// 10% (when the engine's buffers and the caches are warm).
//
// Usage: N=1000 APP_URL=http://127.0.0.1:PORT/visionllm/ node tests/e2e/batch_memory.mjs
import { check, chromiumRss, fail, finish, launch } from './harness.mjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const APP_URL = process.env.APP_URL || 'http://127.0.0.1:8765/';
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const N = Number(process.env.N || 1000);
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'visionllm-batch-memory-'));
const folder = path.join(TMP, 'images');
fs.mkdirSync(folder);
const scenes = ['1000006005', '1000006020', '1000006185'].map((s) => path.join(ROOT, `public/examples/scene-${s}.png`));
for (let i = 0; i < N; i++) fs.copyFileSync(scenes[i % scenes.length], path.join(folder, `img-${String(i).padStart(5, '0')}.png`));

const browser = await launch('batch-memory', { viewport: { width: 1280, height: 860 } });
try {
  const page = browser.context.pages()[0] || await browser.context.newPage();
  await page.goto(`${APP_URL}?max-new-tokens=8`);
  await page.locator('[data-testid=model-status][data-ready=true]').waitFor({ timeout: 300000 });
  const cdp = await browser.context.newCDPSession(page);
  const sample = async (done) => {
    await cdp.send('HeapProfiler.collectGarbage');
    const heap = await cdp.send('Runtime.getHeapUsage');
    const nodes = await page.evaluate(() => document.getElementsByTagName('*').length);
    return { done, heap_mb: heap.usedSize / 2 ** 20, nodes, rss_mb: chromiumRss().total / 2 ** 20 };
  };
  await page.locator('[data-testid=instruction]').fill('find the red circles');
  await page.locator('[data-testid=folder-input]').setInputFiles(folder);
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=batch-items] li').length === n, N, { timeout: 120000 });
  const rows = [await sample(0)];
  const t0 = Date.now();
  await page.locator('[data-testid=batch-start]').click();
  for (let k = 1; k <= 10; k++) {
    const target = Math.round((N * k) / 10);
    await page.waitForFunction((t) => Number(document.querySelector('[data-testid=batch-progress]')?.dataset.done) >= t, target, { timeout: 0, polling: 1000 });
    rows.push(await sample(target));
    console.log(`${target} images, ${((Date.now() - t0) / 60000).toFixed(1)} min: JS heap ${rows.at(-1).heap_mb.toFixed(1)} MB, ${rows.at(-1).nodes} DOM nodes, Chromium RSS ${rows.at(-1).rss_mb.toFixed(0)} MB`);
  }
  const [first, last] = [rows[1], rows.at(-1)];
  const per100 = (key) => ((last[key] - first[key]) / (last.done - first.done)) * 100;
  console.log(`growth per 100 images after the first ${first.done}: JS heap ${per100('heap_mb').toFixed(2)} MB, Chromium RSS ${per100('rss_mb').toFixed(1)} MB`);
  check(await page.locator('[data-testid=batch-items] li[data-status=done]').count() === N, `all ${N} images labelled`);
} catch (e) {
  fail(e);
}
fs.rmSync(TMP, { recursive: true, force: true });
await finish(browser, 'batch memory run finished');
