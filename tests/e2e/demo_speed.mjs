// A benchmark, not a test (it asserts nothing about time): how long the embedded demo model takes
// in this headless Chromium for "find the red circles" on public/examples/scene-1000006005.png with
// fast (greedy) decoding, on each backend forced through the page query, in one browser run:
// WebGPU on SwiftShader with each kernel tiling (`?backend=gpu&tiling=workgroup|registers`, see
// crates/gpu/src/caps.rs) and the CPU backend (`?backend=cpu`, WebAssembly SIMD, one thread): a
// first run and warm runs after it. Prints one JSON line per run, then the warm ratios.
//
// Usage: bash tests/e2e/bench.sh demo_speed   (builds and serves dist/ as run.sh does)
import { fail, finish, launch, runInstruction } from './harness.mjs';
import path from 'node:path';

const APP_URL = process.env.APP_URL || 'http://127.0.0.1:8765/';
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS || 300000);
const RUNS = Number(process.env.BENCH_RUNS || 3);
const SCENE = path.join(ROOT, 'public/examples/scene-1000006005.png');

const browser = await launch('bench');
const page = browser.context.pages()[0] || await browser.context.newPage();
page.on('pageerror', (e) => console.log(`[pageerror] ${e}`));

const runOnce = () => runInstruction(page, { pngPath: SCENE, instruction: 'find the red circles', timeout: TIMEOUT });

const warm = {};
try {
  for (const [tiling, query] of [['workgroup', 'backend=gpu&tiling=workgroup'], ['registers', 'backend=gpu&tiling=registers'], ['cpu', 'backend=cpu']]) {
    await page.goto(`${APP_URL}?${query}`);
    await page.locator('[data-testid=model-status][data-ready=true]').waitFor({ timeout: TIMEOUT });
    await page.locator('[data-testid=decoding]').selectOption('fast');
    const adapter = (await page.locator('[data-testid=capabilities] summary').innerText()).trim();
    for (let run = 0; run < RUNS; run++) {
      const r = await runOnce();
      console.log(JSON.stringify({ tiling, run, first: run === 0, adapter, ...r }));
      if (run > 0) warm[tiling] = Math.min(warm[tiling] ?? Infinity, r.wall_ms);
    }
  }
  if (warm.workgroup && warm.registers) {
    console.log(`warm wall time: workgroup ${warm.workgroup} ms, registers ${warm.registers} ms (ratio ${(warm.workgroup / warm.registers).toFixed(2)}x)`);
  }
  if (warm.cpu) {
    const gpu = Math.min(warm.workgroup ?? Infinity, warm.registers ?? Infinity);
    console.log(`warm wall time: CPU backend ${warm.cpu} ms, SwiftShader (best tiling) ${gpu} ms: CPU / SwiftShader ${(warm.cpu / gpu).toFixed(2)}x`);
  }
} catch (e) {
  fail(e);
}
await finish(browser, 'bench done');
