// Shared by the e2e scripts: one Chromium setup (WebGPU on SwiftShader with the flags that keep a
// headless run quiet and offline, a fresh profile each run), a check that logs and counts, and the
// ending that closes the browser, removes the profile and sets the exit status.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CHROMIUM_ARGS = ['--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--no-first-run', '--disable-quic', '--no-sandbox', '--disable-dev-shm-usage'];

let failures = 0;

/** Log one check ("ok" or "FAIL") and count the failures. */
export const check = (ok, what) => { console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`); if (!ok) failures++; };

/** An exception that ended a script's checks early counts as a failure. */
export const fail = (e) => { console.log(`FAIL ${e.stack || e}`); failures++; };

/** Headless Chromium with WebGPU and a fresh profile under the temp dir (`tag` names it). */
export async function launch(tag, options = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), `visionllm-${tag}-`));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    ...options,
    args: CHROMIUM_ARGS,
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
