// The app where WebGPU is missing, and where it is only a software emulation: the CPU backend
// (our kernels compiled to WebAssembly SIMD, in the worker) runs the same model.
// 1. Chromium without --enable-unsafe-webgpu and `navigator.gpu` deleted from the page: the app
//    opens ready on the demo model; the capability panel names the CPU backend, why, and that this
//    build is single-threaded; "find the red circles" draws the boxes the native CPU backend gives
//    (`visionllm run --backend cpu --instruction`), greedy and with 3 beams; a 3-image batch labels
//    what `visionllm label --backend cpu` labels; choosing "GPU" in the panel (remembered) falls back
//    to the CPU with the reason; offline, a reload still answers the same.
// 2. Chromium with WebGPU on SwiftShader: "Automatic" takes the CPU backend and names the software
//    adapter it passed over; `?backend=gpu` runs WebGPU.
//
// Usage: APP_URL=... VISIONLLM_BIN=target/debug/visionllm node tests/e2e/cpu.e2e.mjs (run.sh)
import { check, fail, finish, launch, runInstruction } from './harness.mjs';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const APP_URL = process.env.APP_URL || 'http://127.0.0.1:8765/';
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const BIN = process.env.VISIONLLM_BIN || path.join(ROOT, 'target/debug/visionllm');
const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS || 300000);
const DEMO = path.join(ROOT, 'public/models/demo');
const SCENES = ['1000006020', '1000006005', '1000006185'];
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'visionllm-cpu-e2e-'));
const scenePng = (s) => path.join(ROOT, `public/examples/scene-${s}.png`);

/** What the native CPU backend draws for `instruction` on `png`: [label, x1, y1, x2, y2] rows. */
function native(png, instruction, greedy) {
  const args = ['run', '--model', DEMO, '--image', png, '--instruction', instruction, '--backend', 'cpu', '--json', ...(greedy ? ['--greedy'] : [])];
  const out = JSON.parse(execFileSync(BIN, args, { encoding: 'utf8' }));
  check(out.backend === 'cpu', `the native run is on the CPU backend (${out.backend})`);
  return out.instances.map((i) => [i.label, ...i.box]);
}

/** The item list the page shows: [label, x1, y1, x2, y2] (pixels, rounded as listed). */
const listed = (page) => page.evaluate(() => [...document.querySelectorAll('[data-testid=items] li')].map((li) => {
  const [x1, y1, x2, y2] = JSON.parse(li.querySelector('.coords').innerText);
  return [li.querySelector('.label').innerText, x1, y1, x2, y2];
}));

/** Same labels in the same order, every coordinate within 1 pixel (the page lists them rounded). */
function sameInstances(page, cli) {
  return page.length === cli.length && page.every((p, i) => p[0] === cli[i][0] && p.slice(1).every((v, k) => Math.abs(v - cli[i][k + 1]) <= 1));
}

async function ready(page) {
  await page.locator('[data-testid=model-status][data-ready=true]').waitFor({ timeout: TIMEOUT });
}

async function withoutWebGpu() {
  const browser = await launch('cpu', { webgpu: false, viewport: { width: 1280, height: 860 } });
  const page = browser.context.pages()[0] || await browser.context.newPage();
  page.on('pageerror', (e) => console.log(`[pageerror] ${e}`));
  page.on('console', (m) => { if (m.type() === 'error') console.log(`[console.error] ${m.text()}`); });
  // As a browser without WebGPU: the page's navigator has no `gpu` (and the flag is off, so the
  // worker's gives no adapter either).
  await browser.context.addInitScript(() => { delete Navigator.prototype.gpu; });
  try {
    await page.goto(APP_URL);
    await ready(page);
    check(await page.evaluate(() => navigator.gpu === undefined), 'the page has no navigator.gpu');
    check(await page.locator('[data-testid=no-engine]').count() === 0, 'no "cannot start" page: the app opened');
    const summary = (await page.locator('[data-testid=capabilities] summary').innerText()).trim();
    await page.locator('[data-testid=capabilities] summary').click();
    const backend = await page.locator('[data-testid=backend]').textContent();
    const why = await page.locator('[data-testid=backend-why]').textContent();
    const panel = await page.locator('[data-testid=capabilities]').innerText();
    check(summary.startsWith('CPU') && backend.includes('CPU backend'), `the capability panel names the CPU backend (“${summary}”, “${backend}”)`);
    check(/no WebGPU|gave no device/.test(why), `and why (“${why}”)`);
    check(/1 \(this build is single-threaded/.test(panel), 'and that this build runs one thread (no cross-origin isolation, no wasm atomics)');
    check(await page.locator('[data-testid=decoding]').inputValue() === 'fast', 'the CPU starts on fast (greedy) decoding');

    // "find the red circles" on a scene: the boxes of the native CPU backend, greedy then 3 beams.
    const png = scenePng(SCENES[0]);
    const t = await runInstruction(page, { pngPath: png, instruction: 'find the red circles', timeout: TIMEOUT });
    const greedy = await listed(page);
    const cliGreedy = native(png, 'find the red circles', true);
    check(greedy.length > 0 && sameInstances(greedy, cliGreedy), `greedy: the page draws what the native CPU backend finds (${JSON.stringify(greedy)} vs ${JSON.stringify(cliGreedy)}), ${t.wall_ms} ms`);
    await page.locator('[data-testid=decoding]').selectOption('accurate');
    await runInstruction(page, { pngPath: png, name: 'beams.png', instruction: 'find the red circles', timeout: TIMEOUT });
    const beams = await listed(page);
    const cliBeams = native(png, 'find the red circles', false);
    check(beams.length > 0 && sameInstances(beams, cliBeams), `3 beams: the same as natively (${JSON.stringify(beams)} vs ${JSON.stringify(cliBeams)})`);
    await page.locator('[data-testid=decoding]').selectOption('fast');

    // Nothing to find: the page says so, and the demo model says what it knows and offers base.
    await runInstruction(page, { pngPath: png, name: 'cat.png', instruction: 'find the cat', timeout: TIMEOUT });
    if (await page.locator('[data-testid=items] li').count() === 0) {
      check((await page.locator('[data-testid=nothing-found]').innerText()).includes('cat'), 'an empty answer says nothing was found for “cat”');
    } else {
      console.log('note: the demo model drew something for "find the cat"; the nothing-found line is checked in web/tests/ui_logic.rs');
    }
    const hint = await page.locator('[data-testid=model-hint]').innerText();
    check(/knows only synthetic scenes/.test(hint) && /Florence-2-base/.test(hint) && /MB/.test(hint), `beside the answer: what the demo knows and Florence-2-base one click away (“${hint}”)`);

    // A 3-image batch: what `visionllm label --backend cpu` labels.
    const folder = path.join(TMP, 'three');
    fs.mkdirSync(folder);
    for (const s of SCENES) fs.copyFileSync(scenePng(s), path.join(folder, `scene-${s}.png`));
    await page.locator('[data-testid=instruction]').fill('find the red circles');
    await page.locator('[data-testid=folder-input]').setInputFiles(folder);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=batch-items] li').length === 3, null, { timeout: 30000 });
    await page.locator('[data-testid=batch-start]').click();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=batch-progress]')?.dataset.done) === 3
      && !document.querySelector('[data-testid=batch][data-running=true]'), null, { timeout: TIMEOUT });
    const [file] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=batch-jsonl]').click()]);
    const jsonl = path.join(TMP, 'batch.jsonl');
    await file.saveAs(jsonl);
    const lines = fs.readFileSync(jsonl, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const cliOut = path.join(TMP, 'cli.jsonl');
    execFileSync(BIN, ['label', '--model', DEMO, '--instruction', 'find the red circles', '--input', folder, '--out', cliOut, '--backend', 'cpu'], { stdio: 'ignore' });
    const cli = Object.fromEntries(fs.readFileSync(cliOut, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).map((l) => [path.basename(l.image), l]));
    const rows = (l) => (l?.instances ?? []).map((i) => [i.label, ...i.box]);
    check(lines.length === 3 && lines.reduce((n, l) => n + rows(l).length, 0) > 0 && lines.every((l) => {
      const c = cli[path.basename(l.image)];
      return c && sameInstances(rows(l), rows(c));
    }), `a 3-image batch labels what visionllm label --backend cpu labels (${lines.map((l) => `${path.basename(l.image)}: ${rows(l).length}`).join(', ')})`);

    // Choosing the GPU where there is none: remembered, and the CPU still runs it, saying why.
    const caption = await page.locator('.image-view .caption').innerText();
    await page.locator('[data-testid=backend-choice]').selectOption('gpu');
    await ready(page);
    check(await page.evaluate(() => localStorage.getItem('visionllm.backend')) === 'gpu', 'the backend choice is remembered in this browser');
    const whyGpu = await page.locator('[data-testid=backend-why]').textContent();
    check((await page.locator('[data-testid=backend]').textContent()).includes('CPU') && /no WebGPU|gave no device/.test(whyGpu),
      `“GPU” chosen without WebGPU: the CPU runs the model and says why (“${whyGpu}”)`);
    check(await page.locator('.image-view .caption').innerText() === caption, `switching kept the image on the page (${caption})`);
    await page.locator('[data-testid=backend-choice]').selectOption('auto');
    await ready(page);

    // Offline: the service worker serves the app; a reload answers the same.
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: TIMEOUT });
    await browser.context.setOffline(true);
    await page.reload();
    await ready(page);
    await runInstruction(page, { pngPath: png, name: 'offline.png', instruction: 'find the red circles', timeout: TIMEOUT });
    check(JSON.stringify(await listed(page)) === JSON.stringify(greedy), 'offline, after a reload: the same boxes');
    await browser.context.setOffline(false);
  } catch (e) {
    fail(e);
  }
  await browser.context.close().catch(() => {});
  fs.rmSync(browser.profile, { recursive: true, force: true });
}

async function onSwiftShader() {
  const browser = await launch('cpu-swiftshader');
  const page = browser.context.pages()[0] || await browser.context.newPage();
  page.on('pageerror', (e) => console.log(`[pageerror] ${e}`));
  try {
    await page.goto(APP_URL);
    await ready(page);
    const why = await page.locator('[data-testid=backend-why]').textContent();
    check((await page.locator('[data-testid=backend]').textContent()).includes('CPU') && /software emulation/.test(why),
      `a software WebGPU adapter: Automatic takes the CPU backend (“${why}”)`);
    await page.goto(`${APP_URL}?backend=gpu`);
    await ready(page);
    check((await page.locator('[data-testid=backend]').textContent()) === 'GPU (WebGPU)', '?backend=gpu runs WebGPU on it');
  } catch (e) {
    fail(e);
  }
  return browser;
}

await withoutWebGpu();
const last = await onSwiftShader();
fs.rmSync(TMP, { recursive: true, force: true });
await finish(last, 'cpu e2e passed');
