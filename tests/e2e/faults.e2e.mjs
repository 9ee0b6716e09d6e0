// End-to-end test of the built site (dist/): nothing a user types and no fault in the engine
// stops the page. In headless Chromium with SwiftShader WebGPU, on the embedded demo model:
// - instructions with non-ASCII letters, CJK, emoji and more than the 2,000-character limit never
//   kill the worker (a job after each completes in the same worker; a too-long text is cut with
//   a message);
// - a Rust panic in the worker (test hook "panic"): the page starts a new worker, reloads the
//   model from browser storage (no shard is downloaded again), keeps the image and the last
//   result, says so, and the next job works;
// - a lost GPU device (test hook "lose-device", `GPUDevice.destroy()`): the next job re-creates
//   the device, reloads the model, completes, and the user is told;
// - a 40 KB PNG whose header declares 60000x60000 pixels is refused with the size message before
//   it is decoded (createImageBitmap is never called), and nothing else changes.
// The hooks exist only with `?test-hooks` in the page address.
//
// Usage: APP_URL=http://127.0.0.1:PORT/sub/path/ node tests/e2e/faults.e2e.mjs  (see run.sh)
import { check, fail, finish, launch } from './harness.mjs';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';

const APP_URL = process.env.APP_URL || 'http://127.0.0.1:8765/';
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const TIMEOUT = Number(process.env.E2E_TIMEOUT_MS || 300000);
const LIMIT = 2000; // visionllm_tasks::MAX_INSTRUCTION_CHARS


// PNG chunks with real CRCs, so the file is well-formed up to its (huge) declared size.
function crc32(bytes) {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
function pngDeclaring(width, height, idatBytes) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, deflate, no filter method, no interlace
  // Incompressible data, so the file really is ~40 KB (a decompression bomb's shape).
  const idat = zlib.deflateSync(crypto.randomBytes(idatBytes));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

const browser = await launch('faults', { viewport: { width: 1280, height: 860 } });
const { context } = browser;
const requests = [];
context.on('request', (r) => requests.push(r.url()));
const page = context.pages()[0] || await context.newPage();
// Count decodes: the size check must happen before any.
await page.addInitScript(() => {
  const original = window.createImageBitmap.bind(window);
  window.__decodes = 0;
  window.createImageBitmap = (...args) => { window.__decodes++; return original(...args); };
});
page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.log(`[console.${m.type()}] ${m.text().split('\n')[0]}`); });
page.on('pageerror', (e) => console.log(`[pageerror] ${e}`));
const workers = [];
page.on('worker', (w) => { workers.push(w.url()); console.log(`worker started: ${w.url()}`); });

const text = (sel) => page.locator(sel).textContent({ timeout: 2000 }).catch(() => null);
const dismiss = async (sel) => { await page.locator(`${sel} button`).click({ timeout: 1000 }).catch(() => {}); };
const resultInstruction = async () => { try { return JSON.parse(await text('[data-testid=result-json]')).instruction; } catch { return null; } };

// Run the instruction now in the box (Enter); resolves with the finished result's instruction,
// or with the error message if one appears first.
async function runTyped(expected) {
  // Completion is seen as the shown result's instruction changing to `expected`.
  if (await resultInstruction() === expected) throw new Error(`test bug: “${expected}” is already the shown result`);
  // Each job is judged on its own: no message from before it may count.
  await dismiss('[data-testid=error]');
  await dismiss('[data-testid=notice]');
  await page.locator('[data-testid=instruction]').press('Enter');
  const outcome = await page.waitForFunction((expected) => {
    const err = document.querySelector('[data-testid=error]');
    if (err) return { error: err.innerText.split('\n')[0] };
    // A crashed worker is replaced and the job is gone: fail now, not at the timeout.
    const notice = document.querySelector('[data-testid=notice]')?.innerText || '';
    if (notice.includes('stopped unexpectedly')) return { error: `the worker crashed: ${notice.split('\n')[0]}` };
    const json = document.querySelector('[data-testid=result-json]')?.textContent;
    const running = document.querySelector('[data-testid=cancel]');
    try { if (!running && json && JSON.parse(json).instruction === expected) return { done: true }; } catch {}
    return false;
  }, expected, { timeout: TIMEOUT, polling: 200 }).then((h) => h.jsonValue(), (e) => ({ error: `timeout: ${e.message.split('\n')[0]}` }));
  return outcome;
}
async function run(instruction) {
  await page.locator('[data-testid=instruction]').fill(instruction);
  return runTyped(instruction.trim());
}

try {
  const app = new URL(APP_URL);
  // The GPU path (a device to lose); on SwiftShader the app would pick the CPU by itself.
  app.search = '?test-hooks&backend=gpu';
  await page.goto(app.href);
  await page.locator('[data-testid=model-status][data-ready=true]').waitFor({ timeout: TIMEOUT });
  check(workers.length === 1, `one worker at the start (${workers.length})`);

  const scene = fs.readFileSync(path.join(ROOT, 'public/examples/scene-1000006020.png'));
  // The CRC routine agrees with a real encoder's IHDR CRC (bytes 29..33 of the PNG).
  check(crc32(scene.subarray(12, 29)) === scene.readUInt32BE(29), 'the PNG CRC routine matches a real PNG');
  await page.locator('[data-testid=drop-zone]').dispatchEvent('drop', {
    dataTransfer: await page.evaluateHandle((b64) => {
      const dt = new DataTransfer();
      dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'scene.png', { type: 'image/png' }));
      return dt;
    }, scene.toString('base64')),
  });
  await page.waitForFunction(() => document.querySelector('.image-view .caption')?.innerText.startsWith('scene.png'), null, { timeout: 20000 });

  // 1. Instructions that once killed the worker, then one more job in the same worker.
  for (const instruction of ['café', 'find 猫と犬', '日本', 'find 🐱 and 🐶 👀🎉', 'find the red circles']) {
    const t = Date.now();
    const outcome = await run(instruction);
    check(outcome.done === true, `“${instruction}”: the job completed (${outcome.error || `${((Date.now() - t) / 1000).toFixed(1)} s`})`);
  }
  check(workers.length === 1, `still the first worker after the non-ASCII instructions (${workers.length} started)`);
  check(await text('[data-testid=notice]') === null, 'no restart notice after the non-ASCII instructions');

  // 2. Too long: the box holds at most the limit, says it cut the text, and the job runs.
  const input = page.locator('[data-testid=instruction]');
  check(await input.getAttribute('maxlength') === String(LIMIT), `the instruction box has maxlength=${await input.getAttribute('maxlength')}`);
  const long = `find the red circles ${'あ'.repeat(LIMIT)}`;
  await input.fill(long);
  let value = await input.inputValue();
  check(value.length === LIMIT && long.startsWith(value), `typing ${long.length} characters keeps ${value.length}`);
  check((await text('[data-testid=instruction-limit]') || '').includes(`cut to ${LIMIT} characters`), `a typed text that is too long gets the message (“${await text('[data-testid=instruction-limit]')}”)`);
  // The demo model reads at most 128 tokens, so a text this long may be refused by the model: a
  // clear message is fine, a dead worker is not (the next job must run in the same worker).
  let outcome = await runTyped(value.trim());
  check(outcome.done === true || (outcome.error && !outcome.error.startsWith('timeout')), `the cut instruction ended (${outcome.error || 'done'})`);
  outcome = await run('find the blue squares');
  check(outcome.done === true, `a job after it completes (${outcome.error || 'done'})`);
  // A paste of 2,001+ characters (with emoji: two UTF-16 units each) into an empty box.
  await input.fill('');
  check(await text('[data-testid=instruction-limit]') === null, 'an edit that fits clears the message');
  const pasted = `find 🐱 ${'x'.repeat(LIMIT + 500)}`;
  await input.focus();
  await page.evaluate((t) => {
    const dt = new DataTransfer();
    dt.setData('text/plain', t);
    document.querySelector('[data-testid=instruction]').dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, pasted);
  value = await input.inputValue();
  check(value.length === LIMIT && pasted.startsWith(value), `pasting ${pasted.length} characters keeps ${value.length}`);
  check((await text('[data-testid=instruction-limit]') || '').includes('cut to'), 'a pasted text that is too long gets the message');
  outcome = await runTyped(value.trim());
  check(outcome.done === true || (outcome.error && !outcome.error.startsWith('timeout')), `the cut paste ended (${outcome.error || 'done'})`);
  outcome = await run('caption');
  check(outcome.done === true, `a job after it completes (${outcome.error || 'done'})`);
  check(workers.length === 1, `still the first worker after the long instructions (${workers.length} started)`);

  // 3. A panic in the worker: a new worker, the model reloaded from storage, image and result kept.
  const lastResult = await text('[data-testid=result-json]');
  const caption = await page.locator('.image-view .caption').innerText();
  const shardRequests = () => requests.filter((u) => u.endsWith('.safetensors')).length;
  const shardsBefore = shardRequests();
  await page.evaluate(() => window.visionllmTestHook('panic'));
  const notice = await page.waitForFunction(() => {
    const n = document.querySelector('[data-testid=notice]');
    return n && document.querySelector('[data-testid=model-status][data-ready=true]') ? n.innerText.split('\n')[0] : false;
  }, null, { timeout: TIMEOUT }).then((h) => h.jsonValue(), () => null);
  check(/stopped unexpectedly .*restarted.*reloaded from browser storage/.test(notice || ''), `after the panic the page says so: “${notice}”`);
  check(workers.length === 2, `a new worker was started (${workers.length} in all)`);
  check(shardRequests() === shardsBefore, `the model came from browser storage (${shardRequests() - shardsBefore} shard downloads)`);
  check(await text('[data-testid=result-json]') === lastResult, 'the last result is still shown');
  check(await page.locator('.image-view .caption').innerText() === caption, 'the image is still shown');
  check(await page.locator('[data-testid=cancel]').count() === 0 && await page.locator('[data-testid=run]').isEnabled(), 'nothing is left busy');
  await dismiss('[data-testid=notice]');
  outcome = await run('find everything');
  check(outcome.done === true, `a job after the restart completes (${outcome.error || 'done'})`);

  // 4. The GPU device lost: the next job re-creates it, reloads the model and completes.
  await page.evaluate(() => window.visionllmTestHook('lose-device'));
  await page.waitForTimeout(500);
  outcome = await run('find the red circles');
  check(outcome.done === true, `a job after the device was lost completes (${outcome.error || 'done'})`);
  const lost = await text('[data-testid=notice] span');
  check(/GPU device was lost.*re-created.*reloaded/.test(lost || ''), `the user is told: “${lost}”`);
  check(workers.length === 2, `the same worker recovered the device (${workers.length} started in all)`);
  check(shardRequests() === shardsBefore, 'the model came from browser storage again');

  // 5. A small PNG declaring 60000x60000: refused before decoding, nothing else changes.
  const bomb = pngDeclaring(60000, 60000, 40000);
  const resultBefore = await text('[data-testid=result-json]');
  const decodesBefore = await page.evaluate(() => window.__decodes);
  await dismiss('[data-testid=error]');
  await page.locator('[data-testid=drop-zone]').dispatchEvent('drop', {
    dataTransfer: await page.evaluateHandle((b64) => {
      const dt = new DataTransfer();
      dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'bomb.png', { type: 'image/png' }));
      return dt;
    }, bomb.toString('base64')),
  });
  const message = await page.locator('[data-testid=error]').innerText({ timeout: 20000 }).catch(() => '(no message)');
  check(message.includes('60000×60000') && message.includes('limit is 8192'), `a ${(bomb.length / 1024).toFixed(0)} KB PNG declaring 60000×60000: “${message.split('\n')[0]}”`);
  check(await page.evaluate(() => window.__decodes) === decodesBefore, 'it never reached createImageBitmap');
  check(await page.locator('.image-view .caption').innerText() === caption, 'the image is kept');
  check(await text('[data-testid=result-json]') === resultBefore, 'the result is kept');
  check(workers.length === 2 && await page.locator('[data-testid=model-status][data-ready=true]').count() === 1, 'the worker and the model are untouched');
} catch (e) {
  fail(e);
}
await finish(browser, 'all fault e2e checks passed');
