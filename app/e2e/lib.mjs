// What the browser end-to-end scripts share: Chromium, a test runner printing libtest-style
// lines, screenshots, and the development wallet.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const APP_URL = process.env.APP_URL;
export const ARTIFACTS = process.env.ARTIFACTS || 'target/app-e2e';
export const TASK_TIMEOUT = Number(process.env.TASK_TIMEOUT_MS || 600000);
if (!APP_URL) {
  console.error('APP_URL must be set (run through `cargo xtask app e2e`)');
  process.exit(2);
}
mkdirSync(ARTIFACTS, { recursive: true });

// Debian's Chromium; `extraArgs` add flags (WebGPU's software adapter needs
// --enable-unsafe-webgpu).
export async function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', ...extraArgs],
  });
}

const results = [];
export const consoleLines = [];

// Keeps a page's console and errors for failure reports.
export function watch(p) {
  p.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
  p.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
}

let lastPage = null;

export async function shot(name, p = lastPage) {
  const path = join(ARTIFACTS, `${name}.png`);
  await p.screenshot({ path, fullPage: true });
  return path;
}

// Runs one test; `p` is the page screenshotted if it fails.
export async function test(name, body, p = null) {
  lastPage = p || lastPage;
  const started = Date.now();
  try {
    await body();
    results.push([name, true]);
    console.log(`ok - ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (e) {
    results.push([name, false]);
    console.log(`not ok - ${name}: ${e && e.stack ? e.stack : e}`);
    try { if (lastPage) await shot(`FAILED-${name.replace(/[^a-z0-9]+/gi, '-')}`); } catch {}
    console.log(consoleLines.slice(-60).join('\n'));
  }
}

export function usePage(p) {
  lastPage = p;
}

export async function connectDevWallet(p) {
  await p.goto(`${APP_URL}/#/create`);
  await p.getByTestId('connect-dev').click();
  const label = await p.getByTestId('wallet-label').textContent();
  if (!label.includes('development wallet (devnet key)')) {
    throw new Error(`the wallet is labelled "${label}"`);
  }
}

// Creates a task on the Create page and waits for its verification verdict; returns its id.
export async function createAndWait(p, kind, fill) {
  await p.goto(`${APP_URL}/#/create`);
  await p.getByTestId(kind === 'sd' ? 'tab-sd' : 'tab-llm').click();
  await fill();
  const hash = await p.getByTestId('task-hash').textContent();
  if (!/^0x[0-9a-f]{64}$/.test(hash.trim())) throw new Error(`no task hash shown: ${hash}`);
  await p.getByTestId('create').click();
  await p.waitForURL(/#\/task\/\d+/, { timeout: 120000 });
  const id = p.url().split('/').pop();
  await p.locator('[data-testid=verdict]').waitFor({ timeout: TASK_TIMEOUT });
  return id;
}

export async function verdict(p) {
  return p.locator('[data-testid=verdict]').getAttribute('data-verdict');
}

// The tiny SD task the suites create: 64x64, by default 2 images and 6 steps.
export async function fillTinySd(p, prompt, { images = 2, steps = 6 } = {}) {
  await p.locator('textarea[name=prompt]').fill(prompt);
  await p.locator('input[name="task_config.image_width"]').fill('64');
  await p.locator('input[name="task_config.image_height"]').fill('64');
  await p.locator('input[name="task_config.steps"]').fill(String(steps));
  await p.locator('input[name="task_config.num_images"]').fill(String(images));
}

// Prints the summary line `cargo xtask test` tallies and exits with the verdict.
export function finish() {
  const passed = results.filter(([, ok]) => ok).length;
  const failed = results.length - passed;
  console.log(`screenshots in ${ARTIFACTS}`);
  console.log(`test result: ${failed ? 'FAILED' : 'ok'}. ${passed} passed; ${failed} failed; 0 ignored; 0 measured; 0 filtered out`);
  process.exit(failed ? 1 : 0);
}
