// The app's browser benchmark (run by `cargo xtask bench app`): time to first render and
// to interactive of the release build in headless Chromium, and time to verify 10
// returned 512x512 images in the web workers (the `#/bench` page).
//   APP_URL  the served release build (with a config.json and bench/0.png … bench/9.png)
// Prints `bench: …` lines and a JSON line.

import { chromium } from 'playwright-core';

const APP_URL = process.env.APP_URL;
const RUNS = Number(process.env.RUNS || 5);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const render = [];
const interactive = [];
for (let i = 0; i < RUNS; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${APP_URL}/#/create`);
  // Interactive: the wasm has run, loaded config.json and attached its handlers (the
  // wallet button exists and works).
  await page.getByTestId('connect-dev').waitFor({ timeout: 60000 });
  const t = await page.evaluate(() => ({
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
    now: performance.now(),
  }));
  await page.getByTestId('connect-dev').click();
  await page.getByTestId('wallet-label').waitFor({ timeout: 10000 });
  render.push(t.fcp);
  interactive.push(t.now);
  await context.close();
}

const verify = [];
for (let i = 0; i < RUNS; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${APP_URL}/#/bench`);
  const result = page.getByTestId('bench-result');
  await result.waitFor({ timeout: 120000 });
  const error = await result.getAttribute('data-error');
  if (error) throw new Error(`bench page: ${error}`);
  const files = Number(await result.getAttribute('data-files'));
  const ok = Number(await result.getAttribute('data-ok'));
  if (files !== 10 || ok !== 10) throw new Error(`hashed ${ok} of ${files} images`);
  verify.push(Number(await result.getAttribute('data-ms')));
  await context.close();
}
await browser.close();

const figures = {
  first_render_ms: median(render),
  interactive_ms: median(interactive),
  verify_10_images_ms: median(verify),
  runs: RUNS,
};
console.log(`bench: app first render (first contentful paint) ${figures.first_render_ms.toFixed(0)} ms (median of ${RUNS})`);
console.log(`bench: app interactive (config loaded, handlers attached) ${figures.interactive_ms.toFixed(0)} ms`);
console.log(`bench: verify 10 returned 512x512 images in web workers ${figures.verify_10_images_ms.toFixed(0)} ms (all runs: ${verify.map((v) => v.toFixed(0)).join(', ')})`);
console.log(JSON.stringify(figures));
