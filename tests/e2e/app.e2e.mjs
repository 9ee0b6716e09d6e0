// End-to-end test of the built site (dist/) in headless Chromium on SwiftShader WebGPU (`?backend=gpu`).
// Drops a generated scene (public/examples/scene-*.png, made by `visionllm scene`, with its ground
// truth beside it), types "find the red circles", waits for the answer of the embedded demo model,
// and checks that every true red circle is found (box IoU >= 0.5) and the canvas: pixels inside
// every result box changed, pixels outside all of them did not. On the Shapes example, "segment the
// biggest square" must outline its square (polygon IoU >= 0.6). Then bad files must give a clear
// message and leave the image alone, and no request may leave the page's origin (the only data
// fetched are the site's own files and the model files). Takes the README screenshots.
//
// Usage: APP_URL=http://127.0.0.1:PORT/sub/path/ node tests/e2e/app.e2e.mjs  (see run.sh)
import { check, fail, finish, launch, dropFileOn } from './harness.mjs';
import fs from 'node:fs';
import path from 'node:path';

const APP_URL = process.env.APP_URL || 'http://127.0.0.1:8765/';
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const SHOTS = process.env.SCREENSHOT_DIR || path.join(ROOT, 'docs/screenshots');
const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS || 300000);


const browser = await launch('e2e', { viewport: { width: 1280, height: 860 } });
const { context } = browser;
const origin = new URL(APP_URL).origin;
const requests = [];
context.on('request', (r) => requests.push(r.url()));
const page = context.pages()[0] || await context.newPage();
page.on('console', (m) => { if (m.type() === 'error') console.log(`[console.error] ${m.text()}`); });
page.on('pageerror', (e) => console.log(`[pageerror] ${e}`));
page.on('worker', (w) => console.log(`worker started: ${w.url()}`));

const dropFile = (file) => dropFileOn(page, file);

/// Watch the results panel: remember whether boxes were listed while the answer was still running.
async function watchLiveItems() {
  await page.evaluate(() => {
    window.__liveItems = 0;
    window.__liveObserver?.disconnect();
    window.__liveObserver = new MutationObserver(() => {
      const r = document.querySelector('[data-testid=results]');
      if (r?.dataset.status === 'running') window.__liveItems = Math.max(window.__liveItems, document.querySelectorAll('[data-testid=items] li').length);
    });
    window.__liveObserver.observe(document.body, { subtree: true, childList: true, attributes: true });
  });
}

/// "accurate" (3 beams): remembered, boxes drawn while decoding, every true red circle found; then
/// Cancel mid-answer keeps the boxes already shown.
async function accurateDecoding() {
  const decoding = page.locator('[data-testid=decoding]');
  check(await decoding.inputValue() === 'fast', `a fallback adapter (SwiftShader) starts on fast decoding (${await decoding.inputValue()})`);
  await decoding.selectOption('accurate');
  check(await page.evaluate(() => localStorage.getItem('visionllm.decoding')) === 'accurate', 'the decoding choice is remembered in this browser');

  const SCENE = 'public/examples/scene-1000006005';
  const truth = JSON.parse(fs.readFileSync(path.join(ROOT, `${SCENE}.json`), 'utf8'));
  await dropFile({ name: 'accurate.png', type: 'image/png', base64: fs.readFileSync(path.join(ROOT, `${SCENE}.png`)).toString('base64') });
  await page.waitForFunction(() => document.querySelector('.image-view .caption')?.innerText.startsWith('accurate.png'));
  await page.locator('[data-testid=instruction]').fill('find the red circles');
  const t = Date.now();
  await page.locator('[data-testid=instruction]').press('Enter');
  await page.locator('[data-testid=results][data-status=done]').waitFor({ state: 'attached', timeout: TIMEOUT });
  console.log(`accurate answer after ${((Date.now() - t) / 1000).toFixed(1)} s: ${await page.locator('[data-testid=timings]').innerText()}`);
  const doc = JSON.parse(await page.locator('[data-testid=result-json]').textContent());
  const ovd = doc.results[0]?.answer?.['<OPEN_VOCABULARY_DETECTION>'];
  const boxes = (ovd?.bboxes || []).map(([a, b, c, d]) => [Math.min(a, c), Math.min(b, d), Math.max(a, c), Math.max(b, d)]);
  const circles = truth.shapes.filter((s) => s.class === 'red circle');
  const best = circles.map((c) => Math.max(0, ...boxes.map((b) => iou(c.bbox, b))));
  check(circles.length > 0 && best.every((v) => v >= 0.5), `accurate: every true red circle has a box with IoU >= 0.5 (${best.map((v) => v.toFixed(2)).join(', ')})`);
  check((await page.locator('[data-testid=answer-status]').innerText()).includes('3 beams'), 'the answer says it came from 3 beams');

  // Cancel once the first box of a longer answer is on screen: boxes are drawn while the job runs
  // (a short answer can now end between two updates, so the long one shows it), and they stay.
  const SHAPES = 'public/examples/scene-1000006185';
  await dropFile({ name: 'cancel.png', type: 'image/png', base64: fs.readFileSync(path.join(ROOT, `${SHAPES}.png`)).toString('base64') });
  await page.waitForFunction(() => document.querySelector('.image-view .caption')?.innerText.startsWith('cancel.png'));
  await watchLiveItems();
  await page.locator('[data-testid=instruction]').fill('find everything');
  await page.locator('[data-testid=instruction]').press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid=results]')?.dataset.status === 'running'
    && document.querySelectorAll('[data-testid=items] li').length > 0, null, { timeout: TIMEOUT, polling: 20 });
  const shown = await page.locator('[data-testid=items] li').allInnerTexts();
  await page.locator('[data-testid=cancel]').click();
  const live = await page.evaluate(() => window.__liveItems);
  check(live > 0, `boxes were drawn before the job ended (${live} while running)`);
  await page.locator('[data-testid=run]').waitFor({ timeout: TIMEOUT });
  const status = await page.locator('[data-testid=results]').getAttribute('data-status');
  const kept = await page.locator('[data-testid=items] li').allInnerTexts();
  check(status === 'cancelled', `Cancel mid-answer stops the job (status ${status}: ${await page.locator('[data-testid=answer-status]').innerText()})`);
  check(kept.length >= shown.length && shown.every((item, i) => kept[i] === item), `the partial answer stays (${shown.length} shown at Cancel, ${kept.length} kept)`);
  await page.locator('[data-testid=decoding]').selectOption('fast');
}

/// The Shapes example as a new user tries it: "segment the biggest square" outlines the scene's one
/// square (pixel IoU >= 0.6 against its true polygon from the example's ground truth).
async function segmentBiggestSquare() {
  const truth = JSON.parse(fs.readFileSync(path.join(ROOT, 'public/examples/scene-1000006185.json'), 'utf8'));
  await page.locator('.examples button', { hasText: 'Shapes' }).click();
  await page.waitForFunction(() => document.querySelector('.image-view .caption')?.innerText.startsWith('Shapes'));
  await page.locator('[data-testid=instruction]').fill('segment the biggest square');
  await page.locator('[data-testid=instruction]').press('Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid=results]')?.dataset.status === 'done'
    && document.querySelector('[data-testid=result-json]')?.textContent.includes('<REFERRING_EXPRESSION_SEGMENTATION>'), null, { timeout: TIMEOUT });
  const doc = JSON.parse(await page.locator('[data-testid=result-json]').textContent());
  // Florence-2's layout: instances -> polygons -> [x1, y1, x2, y2, ...] in image pixels.
  const flat = doc.results?.[0]?.answer?.['<REFERRING_EXPRESSION_SEGMENTATION>']?.polygons?.[0]?.[0] ?? [];
  const points = [];
  for (let i = 0; i + 1 < flat.length; i += 2) points.push([flat[i], flat[i + 1]]);
  const squares = truth.shapes.filter((s) => s.kind === 'square');
  const score = squares.length === 1 ? polygonIou(points, squares[0].polygon, truth.size) : 0;
  check(squares.length === 1 && points.length >= 3 && score >= 0.6,
    `"segment the biggest square" on the Shapes example: polygon IoU ${score.toFixed(3)} with the true square (>= 0.6): ${JSON.stringify(points)}`);
}

/// Pixel IoU of two polygons ([[x, y], ...] in image pixels, even-odd rule), sampled at quarter-pixel
/// centres over a size x size image.
function polygonIou(a, b, size) {
  const inside = (poly, x, y) => {
    let c = false;
    for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      const [xi, yi] = poly[i], [xj, yj] = poly[j];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
    }
    return c;
  };
  let both = 0, either = 0;
  for (let y = 0.125; y < size; y += 0.25) {
    for (let x = 0.125; x < size; x += 0.25) {
      const p = inside(a, x, y), q = inside(b, x, y);
      both += p && q;
      either += p || q;
    }
  }
  return either ? both / either : 0;
}

function iou(a, b) {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0])), h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  return (w * h) / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h);
}

try {
  const t0 = Date.now();
  // Every progress line shown while the page loads, to see the kernels compiled before "ready".
  await page.addInitScript(() => {
    window.progressSeen = [];
    new MutationObserver(() => {
      const line = document.querySelector('[data-testid=progress]')?.innerText;
      if (line && window.progressSeen.at(-1) !== line) window.progressSeen.push(line);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  // The WebGPU path, chosen in the address: on SwiftShader (a software adapter) the app would pick
  // the CPU backend by itself (tests/e2e/cpu.e2e.mjs covers that path).
  await page.goto(`${APP_URL}?backend=gpu`);
  await page.locator('[data-testid=model-status][data-ready=true]').waitFor({ timeout: TIMEOUT });
  check((await page.locator('[data-testid=backend]').textContent()) === 'GPU (WebGPU)', 'backend=gpu in the address runs the model on WebGPU');
  console.log(`model ready after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${await page.locator('[data-testid=model-status]').innerText()}`);
  const seen = await page.evaluate(() => window.progressSeen);
  const compiled = seen.findIndex((l) => l.includes('Compiling the GPU kernels'));
  check(compiled > 0 && compiled > seen.findIndex((l) => l.includes('Loading the weights')),
    `the kernels are compiled after the weights load and before the model is ready (${seen.map((l) => l.split(':')[0]).filter((l, i, a) => a.indexOf(l) === i).join(' -> ')})`);
  console.log(`capabilities: ${(await page.locator('[data-testid=capabilities] summary').innerText()).trim()}`);
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SHOTS, 'empty.png') });

  // A generated scene, dropped.
  const SCENE = 'public/examples/scene-1000006020';
  const scene = fs.readFileSync(path.join(ROOT, `${SCENE}.png`)).toString('base64');
  const truth = JSON.parse(fs.readFileSync(path.join(ROOT, `${SCENE}.json`), 'utf8'));
  await dropFile({ name: 'scene.png', type: 'image/png', base64: scene });
  const canvas = page.locator('[data-testid=result-canvas]');
  await canvas.waitFor();
  await page.waitForFunction(() => {
    const c = document.querySelector('[data-testid=result-canvas]');
    return c && c.width > 1 && c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v) => v !== 0);
  });
  await page.evaluate(() => {
    const c = document.querySelector('[data-testid=result-canvas]');
    window.__before = c.getContext('2d').getImageData(0, 0, c.width, c.height).data.slice();
  });

  // An instruction, typed, Enter.
  await page.locator('[data-testid=instruction]').fill('find the red circles');
  await page.locator('[data-testid=instruction]').press('Enter');
  const t1 = Date.now();
  await page.locator('[data-testid=results][data-status=done]').waitFor({ state: 'attached', timeout: TIMEOUT });
  const result = JSON.parse(await page.locator('[data-testid=result-json]').textContent());
  console.log(`answer after ${((Date.now() - t1) / 1000).toFixed(1)} s: ${await page.locator('[data-testid=timings]').innerText()}`);
  const ovd = result.results[0]?.answer?.['<OPEN_VOCABULARY_DETECTION>'];
  check(ovd && Array.isArray(ovd.bboxes), `the instruction ran <OPEN_VOCABULARY_DETECTION> (${result.explanation})`);
  const boxes = (ovd?.bboxes || []).map(([a, b, c, d]) => [Math.min(a, c), Math.min(b, d), Math.max(a, c), Math.max(b, d)]);
  check(boxes.length > 0, `the answer has boxes (${boxes.length}: ${(ovd?.bboxes_labels || []).join(', ')})`);
  const circles = truth.shapes.filter((s) => s.class === 'red circle');
  const best = circles.map((c) => Math.max(0, ...boxes.map((b) => iou(c.bbox, b))));
  check(circles.length > 0 && best.every((v) => v >= 0.5), `every true red circle has a box with IoU >= 0.5 (${best.map((v) => v.toFixed(2)).join(', ')})`);
  const others = truth.shapes.filter((s) => s.class !== 'red circle');
  check(boxes.every((b) => others.every((o) => iou(o.bbox, b) < 0.5)), `no box lands on another shape (${others.map((o) => o.class).join(', ')})`);

  // The canvas: inside each box, pixels changed; outside all boxes, none did.
  await page.waitForTimeout(300); // one animation frame for the redraw effect
  const pixels = await page.evaluate(({ boxes, width }) => {
    const c = document.querySelector('[data-testid=result-canvas]');
    const now = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const before = window.__before;
    const s = c.width / width;
    const changed = (x, y) => { const i = (y * c.width + x) * 4; return now[i] !== before[i] || now[i + 1] !== before[i + 1] || now[i + 2] !== before[i + 2]; };
    const inside = boxes.map(([x1, y1, x2, y2]) => {
      let n = 0, ch = 0;
      for (let y = Math.ceil(y1 * s) + 1; y < Math.floor(y2 * s) - 1; y++) for (let x = Math.ceil(x1 * s) + 1; x < Math.floor(x2 * s) - 1; x++) { n++; if (changed(x, y)) ch++; }
      return { n, ch };
    });
    const margin = 2;
    let outside = 0, outsideChanged = 0;
    for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) {
      const ix = x / s, iy = y / s;
      if (boxes.some(([x1, y1, x2, y2]) => ix >= x1 - margin && ix <= x2 + margin && iy >= y1 - margin && iy <= y2 + margin)) continue;
      outside++; if (changed(x, y)) outsideChanged++;
    }
    return { inside, outside, outsideChanged };
  }, { boxes, width: result.image.width });
  const drawn = pixels.inside.filter((b) => b.n > 0);
  check(drawn.length > 0 && drawn.every((b) => b.ch / b.n > 0.5), `pixels changed inside every box (${drawn.map((b) => `${b.ch}/${b.n}`).join(', ')})`);
  check(pixels.outside > 0 && pixels.outsideChanged === 0, `no pixel changed outside the boxes (${pixels.outsideChanged} of ${pixels.outside})`);
  await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
  await page.screenshot({ path: path.join(SHOTS, 'result.png') });

  // Hover: the mouse over a box highlights its entry in the list.
  const area = await canvas.boundingBox();
  const [hx1, hy1, hx2, hy2] = boxes[0];
  const k = area.width / result.image.width;
  await page.mouse.move(area.x + ((hx1 + hx2) / 2) * k, area.y + ((hy1 + hy2) / 2) * k);
  await page.waitForTimeout(300);
  check(await page.locator('[data-testid=items] li.hovered').count() === 1, 'hovering a box highlights its list entry');
  await page.mouse.move(0, 0);

  // Exports: COCO JSON with one annotation per box, and the annotated PNG.
  const [coco] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'JSON (COCO)' }).click()]);
  const cocoDoc = JSON.parse(fs.readFileSync(await coco.path(), 'utf8'));
  check(cocoDoc.annotations?.length === boxes.length && cocoDoc.categories?.some((c) => c.name === 'red circle'),
    `COCO export: ${cocoDoc.annotations?.length} annotations, categories ${JSON.stringify(cocoDoc.categories)}`);
  const [png] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Annotated PNG' }).click()]);
  const pngBytes = fs.readFileSync(await png.path());
  check(pngBytes.subarray(1, 4).toString() === 'PNG' && png.suggestedFilename() === 'annotated.png', `annotated PNG downloaded (${pngBytes.length} bytes)`);

  // Cancel before the first token: the job stops at the next stage boundary and the last result stays.
  const lastResult = await page.locator('[data-testid=result-json]').textContent();
  await page.locator('[data-testid=instruction]').fill('caption');
  await page.locator('[data-testid=instruction]').press('Enter');
  await page.locator('[data-testid=cancel]').click();
  await page.locator('[data-testid=run]').waitFor({ timeout: TIMEOUT });
  check(await page.locator('[data-testid=result-json]').textContent() === lastResult, 'Cancel stopped the job and kept the last result');

  await accurateDecoding();

  // Paste: an image pasted anywhere on the page replaces the current one.
  await page.evaluate((b64) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'pasted.png', { type: 'image/png' }));
    document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true }));
  }, fs.readFileSync(path.join(ROOT, 'public/examples/photo.png')).toString('base64'));
  const pasted = await page.waitForFunction(() => document.querySelector('.image-view .caption')?.innerText.startsWith('pasted.png'), null, { timeout: 20000 }).then(() => true, () => false);
  check(pasted, `a pasted image replaces the current one (${await page.locator('.image-view .caption').innerText()})`);

  // Examples: each chip loads its image from the site.
  for (const name of ['Shapes', 'Photo']) {
    await page.locator('.examples button', { hasText: name }).click();
    const shown = await page.waitForFunction((n) => document.querySelector('.image-view .caption')?.innerText.startsWith(n), name, { timeout: 20000 }).then(() => true, () => false);
    check(shown, `the ${name} example loads (${await page.locator('.image-view .caption').innerText()})`);
  }
  await segmentBiggestSquare();

  // Bad files: a clear message, and the image stays.
  const caption = await page.locator('.image-view .caption').innerText();
  const bad = [
    [{ name: 'broken.png', type: 'image/png', base64: Buffer.from('this is not a PNG').toString('base64') }, 'could not be decoded'],
    [{ name: 'empty.jpg', type: 'image/jpeg', base64: '' }, 'is empty'],
    [{ name: 'notes.txt', type: 'text/plain', base64: Buffer.from('hello').toString('base64') }, 'is not an image'],
    [{ name: 'huge.png', type: 'image/png', make: 'huge' }, 'limit is 8192'],
  ];
  for (const [file, expected] of bad) {
    await page.locator('[data-testid=error] button').click().catch(() => {});
    await dropFile(file);
    const message = await page.locator('[data-testid=error]').innerText({ timeout: 20000 }).catch(() => '(no message)');
    check(message.includes(expected), `${file.name}: “${message.split('\n')[0]}”`);
    check(await page.locator('.image-view .caption').innerText() === caption, `${file.name}: the current image is kept`);
  }

  // Nothing left the origin; all data requests are the site's files (app shell, web manifest and icon,
  // the service worker) or model files.
  const foreign = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:'));
  check(foreign.length === 0, `no request left the page's origin (${requests.length} requests${foreign.length ? `; foreign: ${foreign.join(' ')}` : ''})`);
  const base = new URL(APP_URL).pathname;
  const unexpected = requests.filter((u) => u.startsWith(origin)).map((u) => new URL(u).pathname.slice(base.length))
    .filter((p) => !/^(|index\.html|[\w-]+\.(js|wasm|css)|manifest\.webmanifest|icon\.svg|models\/.*|examples\/.*|favicon\.ico)$/.test(p));
  check(unexpected.length === 0, `only site files and model files were requested${unexpected.length ? `: ${unexpected.join(' ')}` : ''}`);
} catch (e) {
  fail(e);
}
await finish(browser, 'all e2e checks passed');
