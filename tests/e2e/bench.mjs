// The browser benchmark of issue #14 (a benchmark: it prints figures; its checks are about the
// answers, never about time): our app and transformers.js on the same Florence-2 weights, the same
// input, greedy, in one headless Chromium on one WebGPU adapter (SwiftShader here).
//
//   bash tests/e2e/bench.sh bench            (PEER_MODEL=DIR: an export_onnx.py output;
//                                             default target/bench-peer/demo, exported if missing)
//
// Ours: the built site (dist/) loading the exported model's converted form (the export's `ours`,
// added to the page's catalog as its default), "find the red circles" dropped on the export's
// scene.png (public/examples/scene-1000006005.png at the model's input side), fast (greedy)
// decoding, the export's token limit (`?max-new-tokens=N`); stage times from the app's own
// timings line, wall time from Enter to the answer on screen. The peer: tests/e2e/peer/
// (transformers.js from its own node_modules, fp32, WebGPU) on crates/bench/export_onnx.py's export
// of the same converted model (its Q8 weights dequantized to the values our engine multiplies
// with) and the prompt ids and pixel values our router and preprocessor produce; generate() timed,
// each ONNX session clocked. Both engines' answers are checked against transformers' own greedy
// ids (written by the export). BENCH_RUNS runs each (default 4; 2 above a 384 input); the first run
// of each includes pipeline/shader compilation and is reported apart. Prints one JSON line per run,
// then the medians of the warm runs, the ratio, and each engine's peak memory: the resident size
// of Chromium's processes (all of them, and the GPU process, where SwiftShader's buffers live)
// sampled every 200 ms while that engine loads and runs, less what they held before it started.
// BENCH_BACKENDS (default "cpu,gpu"): ours on each backend in turn (`?backend=`: the CPU backend in
// WebAssembly SIMD, then WebGPU); PEER_DEVICES (default "wasm,webgpu"): the peer on each device
// (onnxruntime-web's wasm backend is single-threaded here: the page is not cross-origin isolated,
// as ours is not). The ratios compare each of ours with each peer, and our CPU with our WebGPU.
import { check, chromiumRss, fail, finish, launch, runInstruction } from './harness.mjs';
import fs from 'node:fs';
import path from 'node:path';

const APP_URL = process.env.APP_URL || 'http://127.0.0.1:8765/visionllm/';
const PEER_URL = process.env.PEER_URL || new URL('../peer/', APP_URL).href;
const PEER_MODEL_PATH = new URL('../peer-model/', APP_URL).pathname;
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS || 600000);
const inputs = JSON.parse(fs.readFileSync(path.join(process.env.PEER_MODEL, 'inputs.json'), 'utf8'));
const RUNS = Math.max(2, Number(process.env.BENCH_RUNS || (inputs.image_size > 384 ? 2 : 4)));
const SCENE = inputs.scene ? path.join(process.env.PEER_MODEL, inputs.scene) : path.join(ROOT, 'public/examples/scene-1000006005.png');
/** Special tokens out, as the app shows its generated text. */
const plainText = (t) => t.replace(/<\/s>|<s>|<pad>/g, '').trim();

/** Sample chromiumRss() every 200 ms until `stop()`: the peaks above the first sample. */
function memoryWatch() {
  const start = chromiumRss();
  const peak = { ...start };
  const timer = setInterval(() => {
    const now = chromiumRss();
    peak.total = Math.max(peak.total, now.total);
    peak.gpu = Math.max(peak.gpu, now.gpu);
  }, 200);
  return () => {
    clearInterval(timer);
    const mb = (v) => (v == null ? null : Math.round(v / 1048576));
    return { peak_total_mb: mb(peak.total - start.total), peak_gpu_process_mb: mb(peak.gpu - start.gpu), before_total_mb: mb(start.total) };
  };
}

/** Boxes in pixels from a Florence-2 answer's <loc_N> quadruples: the reference post-processor's
 *  bin centre `(bin + 0.5) * (side / 1000)` in float32, truncated to whole pixels. */
function referenceBoxes(text, side) {
  const locs = [...text.matchAll(/<loc_(\d+)>/g)].map((m) => Number(m[1]));
  const perBin = Math.fround(side / 1000);
  const boxes = [];
  for (let i = 0; i + 3 < locs.length; i += 4) boxes.push(locs.slice(i, i + 4).map((v) => Math.trunc(Math.fround((v + 0.5) * perBin))));
  return boxes;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[(s.length - 1) >> 1] : null; };

// No service worker: page.route must see the catalog request (a worker's fetch bypasses it).
const browser = await launch('bench', { serviceWorkers: 'block' });
const page = browser.context.pages()[0] || await browser.context.newPage();
page.on('pageerror', (e) => console.log(`[pageerror] ${e}`));
page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning' || process.env.BENCH_VERBOSE) console.log(`[console.${m.type()}] ${m.text()}`); });

async function oursOnce() {
  const r = await runInstruction(page, { pngPath: SCENE, instruction: 'find the red circles', timeout: TIMEOUT });
  const doc = JSON.parse(await page.locator('[data-testid=result-json]').textContent());
  const boxes = doc.results[0]?.answer?.['<OPEN_VOCABULARY_DETECTION>']?.bboxes || [];
  return { engine: 'ours', ...r, boxes, text: doc.results[0]?.generated_text ?? '' };
}

/** The export's converted model as the page catalog's default entry (`ours`, beside the export). */
async function offerExportedModel() {
  if (!inputs.ours) return;
  await page.route('**/models/catalog.json', async (route) => {
    const response = await route.fetch();
    const catalog = await response.json();
    const id = `bench-${inputs.model}`;
    catalog.models.push({ id, name: `benchmark: ${inputs.model}`, note: 'tests/e2e/bench.mjs', base_url: `../peer-model/${inputs.ours}/`,
      files: { config: 'config.json', tokenizer: 'tokenizer.json', preprocessor: 'preprocessor_config.json', manifest: 'manifest.json' },
      size_bytes: null, precision: 'converted', available: true });
    catalog.default_model = id;
    await route.fulfill({ response, json: catalog });
  });
}

const BACKENDS = (process.env.BENCH_BACKENDS || 'cpu,gpu').split(',').filter(Boolean);
const PEER_DEVICES = (process.env.PEER_DEVICES || 'wasm,webgpu').split(',').filter(Boolean);
const warm = (rows, key) => median(rows.slice(1).map((r) => r[key]).filter((v) => Number.isFinite(v)));
const engines = {};
try {
  await offerExportedModel();
  const want = referenceBoxes(inputs.reference_text, inputs.image_size);
  let adapter = '';
  for (const backend of BACKENDS) {
    // Ours: the app's page, the exported model, the backend forced in the address.
    const rows = [];
    const memory = memoryWatch();
    await page.goto(`${APP_URL}?max-new-tokens=${inputs.max_new_tokens}&backend=${backend}`);
    await page.locator('[data-testid=model-status][data-ready=true]').waitFor({ timeout: TIMEOUT });
    await page.locator('[data-testid=decoding]').selectOption('fast');
    adapter = (await page.locator('[data-testid=capabilities] summary').innerText()).trim();
    for (let run = 0; run < RUNS; run++) {
      const r = await oursOnce();
      if (run === 0) {
        const wantText = plainText(inputs.reference_text);
        if (wantText) {
          check(plainText(r.text) === wantText, `ours (${backend}): the text transformers' greedy ids give (${JSON.stringify(plainText(r.text))})`);
        } else {
          // A random model may answer with ids the small test tokenizer has no text for: then only
          // the count can be compared here (ids equal to the reference are proven on the fixtures).
          check(r.tokens === inputs.reference_ids.length - 1, `ours (${backend}): ${r.tokens} tokens, as transformers' greedy ids (their text is empty: ids outside the tokenizer)`);
        }
        const same = r.boxes.length === want.length && r.boxes.every((b, i) => b.every((v, j) => v === want[i][j]));
        if (inputs.model === 'demo') check(same, `ours (${backend}): the boxes transformers' greedy ids give (${JSON.stringify(want)}; ours ${JSON.stringify(r.boxes)})`);
      }
      delete r.text;
      rows.push(r);
      console.log(JSON.stringify({ ...r, engine: `ours-${backend}`, run, first: run === 0, adapter }));
    }
    engines[`ours_${backend}`] = { rows, memory: memory(), adapter };
    await page.goto('about:blank');
    await new Promise((r) => setTimeout(r, 3000));
  }
  for (const device of PEER_DEVICES) {
    // The peer in the same browser (a fresh page: nothing of ours stays on the GPU).
    const rows = [];
    const memory = memoryWatch();
    await page.goto(`${PEER_URL}?model=${encodeURIComponent(PEER_MODEL_PATH)}&device=${device}`);
    await page.waitForFunction(() => typeof window.runPeer === 'function', null, { timeout: TIMEOUT });
    for (let run = 0; run < RUNS; run++) {
      const r = await page.evaluate(() => window.runPeer());
      if (run === 0) check(JSON.stringify(r.ids) === JSON.stringify(r.reference_ids), `transformers.js (${device}): transformers' greedy ids (${r.ids.join(' ')})`);
      delete r.reference_ids;
      rows.push(r);
      console.log(JSON.stringify({ ...r, engine: `peer-${device}`, run, first: run === 0 }));
    }
    engines[`peer_${device}`] = { rows, memory: memory(), load_ms: rows[0].load_ms };
    await page.goto('about:blank');
    await new Promise((r) => setTimeout(r, 3000));
  }
  const summary = { adapter, model: inputs.model, image: inputs.image_size, runs_warm: RUNS - 1 };
  for (const [name, e] of Object.entries(engines)) {
    summary[name] = { first_wall_ms: e.rows[0].wall_ms, memory: e.memory, ...(e.adapter ? { adapter: e.adapter } : {}), ...(e.load_ms ? { load_ms: e.load_ms } : {}) };
    for (const key of ['wall_ms', 'vision_ms', 'encoder_ms', 'decode_ms']) summary[name][key] = warm(e.rows, key);
  }
  // Ours includes the UI (routing, tokenizing, preprocessing, parsing, drawing); the peer's wall is
  // generate() alone on ready tensors: the comparison leans towards the peer.
  summary.ratios = {};
  for (const a of Object.keys(engines).filter((n) => n.startsWith('ours_'))) {
    for (const b of Object.keys(engines).filter((n) => n !== a)) {
      summary.ratios[`${a}/${b}`] = Number((summary[a].wall_ms / summary[b].wall_ms).toFixed(3));
    }
  }
  console.log(JSON.stringify({ summary }));
  for (const [k, v] of Object.entries(summary.ratios)) console.log(`warm wall time ${k}: ${v}x`);
} catch (e) {
  fail(e);
}
await finish(browser, 'bench done');
