// Shared by the e2e scripts: one Chromium setup (WebGPU on SwiftShader with the flags that keep a
// headless run quiet and offline, a fresh profile each run), a check that logs and counts, and the
// ending that closes the browser, removes the profile and sets the exit status.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CHROMIUM_ARGS = ['--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic', '--no-sandbox', '--disable-dev-shm-usage'];

let failures = 0;

/** Log one check ("ok" or "FAIL") and count the failures. */
export const check = (ok, what) => { console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`); if (!ok) failures++; };

/** An exception that ended a script's checks early counts as a failure. */
export const fail = (e) => { console.log(`FAIL ${e.stack || e}`); failures++; };

/** Headless Chromium with WebGPU (`webgpu: false`: without it, as a browser that has none) and a
 *  fresh profile under the temp dir (`tag` names it); `extraArgs` are more Chromium flags (the
 *  fake camera's). */
export async function launch(tag, { extraArgs = [], webgpu = true, ...options } = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), `visionllm-${tag}-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    ...options,
    args: [...(webgpu ? ['--enable-unsafe-webgpu'] : []), ...CHROMIUM_ARGS, ...extraArgs],
  });
  return { context, profile };
}

/** Close the browser, remove its profile, print the summary and exit 1 if any check failed. */
export async function finish({ context, profile }, passed) {
  await context.close().catch(() => {});
  fs.rmSync(profile, { recursive: true, force: true });
  console.log(failures ? `${failures} check(s) failed` : passed);
  process.exit(failures ? 1 : 0);
}

/** Drop a file (bytes from Node, or made in the page by `make`) on `page`'s drop zone, as a user would. */
export async function dropFileOn(page, { name, type, base64, make }) {
  const dataTransfer = await page.evaluateHandle(async ({ name, type, base64, make }) => {
    let blob;
    if (make === 'huge') {
      const c = new OffscreenCanvas(9000, 16); c.getContext('2d').fillRect(0, 0, 10, 10);
      blob = await c.convertToBlob({ type: 'image/png' });
    } else {
      blob = new Blob([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], { type });
    }
    const dt = new DataTransfer();
    dt.items.add(new File([blob], name, { type }));
    return dt;
  }, { name, type, base64, make });
  await page.locator('[data-testid=drop-zone]').dispatchEvent('drop', { dataTransfer });
}

/** Drop `pngPath` on the app's drop zone as `name`, type `instruction`, press Enter and wait for the
 *  answer: the wall time from Enter to the answer on screen and the app's own stage timings. */
export async function runInstruction(page, { pngPath, name = 'scene.png', instruction, timeout }) {
  await dropFileOn(page, { name, type: 'image/png', base64: fs.readFileSync(pngPath).toString('base64') });
  await page.waitForFunction((n) => document.querySelector('.image-view .caption')?.innerText.startsWith(n), name);
  await page.locator('[data-testid=instruction]').fill(instruction);
  const errorBefore = await page.evaluate(() => document.querySelector('[data-testid=error]')?.innerText ?? null);
  // A mutation observer sees the answer start however fast the backend finishes it (the CPU
  // backend answers the demo model between two polls).
  await page.evaluate(() => {
    window.__sawRunning = false;
    window.__runWatch?.disconnect();
    window.__runWatch = new MutationObserver(() => {
      if (document.querySelector('[data-testid=results]')?.dataset.status === 'running') window.__sawRunning = true;
    });
    window.__runWatch.observe(document.body, { subtree: true, childList: true, attributes: true });
  });
  const t = Date.now();
  await page.locator('[data-testid=instruction]').press('Enter');
  // The answer starts, or the app says why not (then fail now, not after the timeout).
  const running = page.waitForFunction(() => window.__sawRunning, null, { timeout, polling: 10 });
  const refused = page.waitForFunction((before) => {
    const text = document.querySelector('[data-testid=error]')?.innerText;
    return text && text !== before ? text : null;
  }, errorBefore, { timeout, polling: 50 }).then(async (h) => { throw new Error(`the app: ${await h.jsonValue()}`); });
  await Promise.race([running, refused]);
  refused.catch(() => {});
  await page.locator('[data-testid=results][data-status=done]').waitFor({ state: 'attached', timeout });
  const wall = Date.now() - t;
  const line = await page.locator('[data-testid=timings]').innerText();
  const ms = (label) => Number(new RegExp(`${label} (\\d+) ms`).exec(line)?.[1]);
  const [, tokens, decode] = (/decode (\d+) tokens in (\d+) ms/.exec(line) || []).map(Number);
  return { wall_ms: wall, preprocess_ms: ms('preprocess'), vision_ms: ms('vision'), encoder_ms: ms('encoder'), decode_ms: decode, tokens };
}

/** Resident memory of this script's Chromium (every process below this one), in bytes: all of it
 *  and the GPU process. Linux /proc; both null elsewhere. */
export function chromiumRss() {
  let procs;
  try { procs = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)); } catch { return { total: null, gpu: null }; }
  const info = new Map();
  for (const pid of procs) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const rss = Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] || 0) * 1024;
      const gpu = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=gpu-process');
      info.set(Number(pid), { ppid, rss, gpu });
    } catch { /* the process ended meanwhile */ }
  }
  const below = (pid) => { for (let p = info.get(pid)?.ppid; p; p = info.get(p)?.ppid) if (p === process.pid) return true; return false; };
  let total = 0, gpu = 0;
  for (const [pid, p] of info) if (below(pid)) { total += p.rss; if (p.gpu) gpu += p.rss; }
  return { total, gpu };
}
