// Model family #2 through the app, end to end: a tiny random Qwen3-VL (tests/fixtures/qwen3vl/tiny,
// made by transformers) published as a "Hugging Face repository" of the transformers layout, listed
// in the catalog as the default model. The page downloads it and quantizes it to Q8 while it
// downloads (the converter's Qwen3-VL rules, in the browser), loads it with its chat template, and
// runs instructions as written. The model's weights are random, so its text is nonsense: the test
// checks the pipeline. The answer streams (a running update shows generated text before the end);
// a JSON grounding answer injected by the test hook (`answer:TEXT`, after the real tokens streamed)
// is parsed into a box and a point, listed and drawn (canvas pixels change at both); a question
// gets a text answer; "segment" says why it gets boxes only while no Florence-2 is stored. Then a
// tiny random Florence-2 (tests/fixtures/florence2/tiny224, another "repository") is loaded once,
// which stores it; with Qwen3-VL loaded again, "segment" sends the box to that Florence-2's
// <REGION_TO_SEGMENTATION> (a real run; its random answer replaced by the test hook
// `mask-answer:TEXT`), and the box becomes the mask, drawn and listed, the note naming the model.
//
// Usage: node tests/e2e/qwen.e2e.mjs   (after `trunk build --release`; see run.sh)
import { check, fail, finish, launch, dropFileOn } from './harness.mjs';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const DIST = path.join(ROOT, 'dist');
const TINY = path.join(ROOT, 'tests/fixtures/qwen3vl/tiny');
const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS || 300000);
const HUB = 'hub/qwen-tiny/resolve/main/';
const FLORENCE_HUB = 'hub/florence-tiny/resolve/main/';
const FLORENCE_DIR = path.join(ROOT, 'tests/fixtures/florence2/tiny224');
const FLORENCE = {
  id: 'florence-tiny-q8', name: 'Tiny random Florence-2 (e2e)', note: 'e2e', base_url: FLORENCE_HUB,
  files: { config: 'config.json', tokenizer: 'tokenizer.json', preprocessor: 'preprocessor_config.json', weights: ['model.safetensors'], quantize: 'q8' },
  size_bytes: null, precision: 'Q8', available: true,
};
const MODEL = {
  id: 'qwen3vl-tiny-q8', name: 'Tiny random Qwen3-VL (e2e)', note: 'e2e', base_url: HUB,
  files: {
    config: 'config.json', tokenizer: 'tokenizer.json', preprocessor: 'preprocessor_config.json', weights: ['model.safetensors'], quantize: 'q8',
    chat_files: ['chat_template.jinja', 'tokenizer_config.json', 'generation_config.json'],
  },
  size_bytes: null, precision: 'Q8', available: true,
};

const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.json': 'application/json', '.png': 'image/png' };
const hubRequests = [], florenceRequests = [];
const server = http.createServer((req, res) => {
  const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
  const hub = rel.startsWith(HUB), florence = rel.startsWith(FLORENCE_HUB);
  const base = hub ? TINY : florence ? FLORENCE_DIR : DIST;
  const file = path.join(base, hub ? rel.slice(HUB.length) : florence ? rel.slice(FLORENCE_HUB.length) : rel);
  if (hub) hubRequests.push(rel.slice(HUB.length));
  if (!file.startsWith(base) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) { res.writeHead(404); return res.end('not found'); }
  let body = fs.readFileSync(file);
  if (rel === 'models/catalog.json') {
    const c = JSON.parse(body);
    c.models.push(MODEL, FLORENCE);
    c.default_model = MODEL.id;
    body = Buffer.from(JSON.stringify(c));
  }
  const headers = { 'Content-Type': types[path.extname(file)] || 'application/octet-stream', 'Accept-Ranges': 'bytes', 'Cache-Control': 'no-store' };
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || '');
  let [start, end, status] = [0, body.length, 200];
  if (range && Number(range[1]) < body.length) {
    [start, end, status] = [Number(range[1]), Math.min(range[2] ? Number(range[2]) + 1 : body.length, body.length), 206];
  }
  if (florence) florenceRequests.push({ file: rel.slice(FLORENCE_HUB.length), bytes: end - start });
  res.writeHead(status, { ...headers, 'Content-Length': end - start, ...(status === 206 ? { 'Content-Range': `bytes ${start}-${end - 1}/${body.length}` } : {}) });
  res.end(body.subarray(start, end));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const APP_URL = `http://127.0.0.1:${server.address().port}/`;

const browser = await launch('qwen', { viewport: { width: 1280, height: 860 } });
const page = browser.context.pages()[0] || await browser.context.newPage();
const warmUpFailures = [];
page.on('console', (m) => {
  if (m.type() === 'error') console.log(`[console.error] ${m.text()}`);
  if (m.text().includes('warm-up run after loading')) warmUpFailures.push(m.text());
});
page.on('pageerror', (e) => console.log(`[pageerror] ${e}`));

const resultJson = async () => JSON.parse((await page.locator('[data-testid=result-json]').textContent()) || 'null');
const texts = () => page.locator('[data-testid=text-answer]').allInnerTexts();

/** Type `instruction`, press Enter, and wait for the answer; records the generated text of every
 *  running update seen on the way (the streaming answer). */
async function run(instruction) {
  // A mutation observer sees every state the results panel passes through, however fast the
  // backend (the CPU answers a tiny model in a few milliseconds, between two animation frames).
  await page.evaluate(() => {
    window.__streamed = [];
    window.__sawRunning = false;
    window.__watch?.disconnect();
    window.__watch = new MutationObserver(() => {
      const r = document.querySelector('[data-testid=results]');
      if (r?.dataset.status === 'running') {
        window.__sawRunning = true;
        try { window.__streamed.push(JSON.parse(document.querySelector('[data-testid=result-json]').textContent).chat?.generated_text ?? null); } catch { /* mid-render */ }
      }
    });
    window.__watch.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  });
  await page.locator('[data-testid=instruction]').fill(instruction);
  await page.locator('[data-testid=instruction]').press('Enter');
  await page.waitForFunction(() => window.__sawRunning, null, { timeout: TIMEOUT, polling: 10 });
  await page.locator('[data-testid=results][data-status=done]').waitFor({ state: 'attached', timeout: TIMEOUT });
  return page.evaluate(() => { window.__watch.disconnect(); return window.__streamed; });
}

/** Choose a catalog model in the model panel and load it; waits until it is the ready model. */
async function loadFromPanel(name) {
  await page.evaluate(() => { document.querySelector('details.model-panel').open = true; });
  await page.locator('.model-panel ul.models li', { hasText: name }).locator('input[type=radio]').check();
  await page.locator('.model-panel button', { hasText: 'Load selected model' }).click();
  await page.waitForFunction((n) => document.querySelector('[data-testid=model-status]')?.dataset.ready === 'true'
    && document.querySelector('.model-panel > summary')?.innerText.includes(n), name, { timeout: TIMEOUT });
}

/** RGB of the result canvas at image pixel (x, y) of an image `width` pixels wide. */
let imageWidth = 1;
const pixel = (x, y) => page.evaluate(([x, y, width]) => {
  const c = document.querySelector('[data-testid=result-canvas]');
  const s = c.width / width;
  return Array.from(c.getContext('2d').getImageData(Math.round(x * s), Math.round(y * s), 1, 1).data).slice(0, 3);
}, [x, y, imageWidth]);

try {
  // Answers stay short: the random model would otherwise write up to the page's limit.
  await page.goto(`${APP_URL}?test-hooks&max-new-tokens=24`);
  const ready = page.locator('[data-testid=model-status][data-ready=true]').waitFor({ timeout: TIMEOUT }).then(() => 'ready');
  const error = page.locator('[data-testid=error]').waitFor({ timeout: TIMEOUT }).then(() => page.locator('[data-testid=error]').innerText());
  const outcome = await Promise.race([ready, error]);
  check(outcome === 'ready', `the tiny Qwen3-VL repository downloaded, quantized to Q8 in the page and loaded (${outcome})`);
  check(warmUpFailures.length === 0, `the warm-up run after loading (a gray image, two tokens) succeeded: ${JSON.stringify(warmUpFailures)}`);
  for (const f of ['config.json', 'tokenizer.json', 'preprocessor_config.json', 'chat_template.jinja', 'generation_config.json', 'model.safetensors']) {
    check(hubRequests.includes(f), `the page fetched ${f} from the repository`);
  }

  const png = fs.readFileSync(path.join(ROOT, 'public/examples/scene-1000006020.png'));
  const width = png.readUInt32BE(16), height = png.readUInt32BE(20);
  imageWidth = width;
  await dropFileOn(page, { name: 'scene.png', type: 'image/png', base64: png.toString('base64') });
  await page.waitForFunction(() => document.querySelector('.image-view .caption')?.innerText.startsWith('scene.png'), null, { timeout: 20000 });
  await page.waitForFunction(() => {
    const c = document.querySelector('[data-testid=result-canvas]');
    return c && c.width > 1 && c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v) => v !== 0);
  });

  // 1. Find and point: the answer streams, then the injected JSON is parsed and drawn.
  const box = [100, 200, 400, 600], point = [750, 250];
  const answer = `\`\`\`json\n[{"bbox_2d": [${box}], "label": "red circle"}, {"point_2d": [${point}], "label": "star"}]\n\`\`\``;
  const px = (v, side) => (v / 1000) * side;
  const inside = [px(box[0] + 20, width), px(box[1] + 20, height)];
  const marker = [px(point[0], width), px(point[1], height)];
  const before = [await pixel(...inside), await pixel(...marker)];
  await page.evaluate((a) => window.visionllmTestHook(`answer:${a}`), answer);
  const streamed = await run('find the red circle and point at the star');
  check(streamed.some((t) => typeof t === 'string' && t.length > 0), `the answer streamed: ${streamed.length} running update(s), text shown before the end`);
  const r = await resultJson();
  check(r.chat?.generated_text === answer, 'the final answer is the injected JSON');
  const instances = r.chat?.instances ?? [];
  check(instances.length === 2 && instances[0].label === 'red circle' && instances[1].label === 'star', `two instances parsed: ${JSON.stringify(instances)}`);
  const b = instances[0]?.box;
  const want = [px(box[0], width), px(box[1], height), px(box[2], width), px(box[3], height)];
  check(b && b.every((v, i) => Math.abs(v - want[i]) < 0.01), `the box is in image pixels: ${JSON.stringify(b)} vs ${JSON.stringify(want)}`);
  const p = instances[1]?.point;
  check(p && Math.abs(p[0] - marker[0]) < 0.01 && Math.abs(p[1] - marker[1]) < 0.01, `the point is in image pixels: ${JSON.stringify(p)} vs ${JSON.stringify(marker)}`);
  const items = await page.locator('[data-testid=items] li').allInnerTexts();
  check(items.length === 2 && items[0].includes("red circle") && items[1].includes("star") && items[1].includes(`(${Math.round(marker[0])}, ${Math.round(marker[1])})`), `listed, the point as a point: ${JSON.stringify(items)}`);
  await page.waitForTimeout(300); // one animation frame for the redraw effect
  const after = [await pixel(...inside), await pixel(...marker)];
  check(JSON.stringify(after[0]) !== JSON.stringify(before[0]), `the box is drawn (pixel ${before[0]} -> ${after[0]})`);
  check(JSON.stringify(after[1]) !== JSON.stringify(before[1]), `the point's marker is drawn (pixel ${before[1]} -> ${after[1]})`);
  check((await page.locator('.explanation').innerText()).includes('as written'), 'the explanation shown says the instruction went as written');

  // 2. A question: a text answer (the random model's own), no instances.
  await run('what does the sign say?');
  const q = await resultJson();
  check(q.chat && q.chat.system === null && q.chat.instances.length === 0, `a question goes without a system message and draws nothing (${JSON.stringify(q.chat?.system)})`);
  check(q.explanation.includes('text answer'), `explained: ${q.explanation}`);

  // 3. Segment: boxes only, and the page says why.
  await page.evaluate(() => window.visionllmTestHook('answer:[{"bbox_2d": [0, 0, 500, 500], "label": "circle"}]'));
  await run('segment the circle');
  const notes = await texts();
  check(notes.some((t) => t.includes('Boxes only')), `segmenting says why it gets boxes only: ${JSON.stringify(notes)}`);
  check((await page.locator('[data-testid=items] li').count()) === 1, 'the box is listed');

  // 4. Segment with a Florence-2 in storage: load the tiny Florence-2 once (quantized in the page
  //    and stored), load Qwen3-VL again (from storage), and the box goes to the Florence-2.
  await loadFromPanel(FLORENCE.name);
  const weightBytes = (from) => florenceRequests.slice(from).filter((r) => r.file === 'model.safetensors').reduce((n, r) => n + r.bytes, 0);
  const weightsSize = fs.statSync(path.join(FLORENCE_DIR, 'model.safetensors')).size;
  check(weightBytes(0) >= weightsSize, `the tiny Florence-2 was downloaded (${weightBytes(0)} of ${weightsSize} weight bytes) and quantized in the page`);
  await loadFromPanel(MODEL.name);
  // A box and a triangle over plain background (top right of the scene), so the mask's tint shows.
  const circle = [680, 50, 980, 450];
  // The triangle in Florence-2's bins: (x, y) pairs of <loc_k>, pixel = floor of the bin's centre.
  const tri = [[720, 100], [940, 100], [830, 400]];
  const maskText = `<s>circle${tri.map(([x, y]) => `<loc_${x}><loc_${y}>`).join('')}</s>`;
  await page.evaluate(([a, m]) => { window.visionllmTestHook(`answer:${a}`); window.visionllmTestHook(`mask-answer:${m}`); },
    [`[{"bbox_2d": [${circle}], "label": "circle"}]`, maskText]);
  const fromStorage = florenceRequests.length;
  await run('segment the circle');
  const m = await resultJson();
  const inst = m.chat?.instances ?? [];
  const bin = (k, side) => Math.trunc((k + 0.5) * Math.fround(side / 1000));
  const wantMask = tri.map(([x, y]) => [bin(x, width), bin(y, height)]);
  const got = inst[0]?.polygons?.[0];
  check(inst.length === 1 && inst[0].label === 'circle' && JSON.stringify(got) === JSON.stringify(wantMask),
    `the box became the mask Florence-2 answered, with Qwen's label: ${JSON.stringify(inst)} vs ${JSON.stringify(wantMask)}`);
  const masksNote = (await texts()).find((t) => t.includes('Masks by'));
  check(masksNote?.includes(FLORENCE.id) && masksNote.includes('1 of 1'), `the note names the Florence-2 that outlined the box: ${masksNote}`);
  check(florenceRequests.length > fromStorage && weightBytes(fromStorage) < weightsSize / 10,
    `the Florence-2 was loaded from browser storage (${weightBytes(fromStorage)} weight bytes fetched again, headers at most): ${JSON.stringify(florenceRequests.slice(fromStorage))}`);
  check((await page.locator('[data-testid=items] li').count()) === 1, 'one mask is listed');
  await page.waitForTimeout(300);
  const centroid = [0, 1].map((k) => (wantMask[0][k] + wantMask[1][k] + wantMask[2][k]) / 3);
  const corner = [px(circle[0], width) + 2, px(circle[3], height) - 2]; // inside the box, outside the triangle
  const [inMask, offMask] = [await pixel(...centroid), await pixel(...corner)];
  // The image itself at both places, decoded in the page: the mask tints its inside only.
  const plain = await page.evaluate(async ([a, b]) => {
    const bitmap = await createImageBitmap(await (await fetch('examples/scene-1000006020.png')).blob());
    const c = new OffscreenCanvas(bitmap.width, bitmap.height);
    const g = c.getContext('2d');
    g.drawImage(bitmap, 0, 0);
    return [a, b].map(([x, y]) => Array.from(g.getImageData(Math.round(x), Math.round(y), 1, 1).data).slice(0, 3));
  }, [centroid, corner]);
  const far = (p, q) => Math.max(...p.map((v, i) => Math.abs(v - q[i])));
  check(far(inMask, plain[0]) > 30, `the mask is drawn (pixel inside it ${plain[0]} -> ${inMask})`);
  check(far(offMask, plain[1]) <= 12, `inside the box but outside the mask the image shows through (${plain[1]} -> ${offMask})`);
} catch (e) {
  fail(e);
}
server.close();
await finish(browser, 'qwen e2e: all checks passed');
