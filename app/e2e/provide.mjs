// The browser light node end to end, in Debian's Chromium with its SwiftShader WebGPU
// adapter, against a devnet with only two native nodes (the pool needs three):
//
// 1. the Provide page finds a WebGPU adapter and makes a node key; its benchmark times the
//    engine on WebGPU and on the wasm CPU fallback;
// 2. the development wallet funds the key, the tab fetches sd-tiny into its cache and joins;
// 3. the tab serves: an SD task (1 image, 4 steps) created in another tab draws it beside
//    the two native nodes, and the task settles with all three agreeing (the report shows
//    its seat);
// 4. a reload serves again from the cache without downloading a byte;
// 5. a corrupted cached file is detected and fetched again;
// 6. Stop pauses the node on chain.
//
// Started by `cargo xtask app provide-e2e` (and `cargo xtask test`) with APP_URL and
// ARTIFACTS set.

import {
  APP_URL, TASK_TIMEOUT, launch, watch, shot, test, usePage, connectDevWallet, createAndWait,
  verdict, fillTinySd, finish,
} from './lib.mjs';

const browser = await launch(['--enable-unsafe-webgpu']);
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const provider = await context.newPage();
watch(provider);
usePage(provider);

const activity = (kind, task) =>
  provider.locator(`[data-testid=activity-log] li[data-kind=${kind}]${task ? `[data-task="${task}"]` : ''}`);

async function status(text, timeout) {
  await provider.locator(`[data-testid=node-status]:text-is("${text}")`).waitFor({ timeout });
}

async function serving(state, timeout = 60000) {
  await provider.locator(`[data-testid=serving-state]:text-is("${state}")`).waitFor({ timeout });
}

// Runs `work` but fails as soon as the Provide page shows an error: a worker that crashed
// would otherwise leave the test waiting out the task's whole deadline.
async function unlessProvideError(work) {
  let done = false;
  const shown = provider.getByTestId('provide-error');
  const watcher = shown.waitFor({ timeout: 0 }).then(async () => {
    if (!done) throw new Error(`the Provide page shows: ${(await shown.textContent()).trim()}`);
  });
  watcher.catch(() => {});
  try {
    return await Promise.race([work, watcher.then(() => work)]);
  } finally {
    done = true;
  }
}

const TAB_TASK = { images: 1, steps: 4 };
let nodeAddress = null;
let ready = false;

await test('the Provide page finds a WebGPU adapter and makes a node key', async () => {
  await connectDevWallet(provider);
  await provider.goto(`${APP_URL}/#/provide`);
  const adapter = provider.getByTestId('adapter-name');
  await provider.waitForFunction(
    () => {
      const el = document.querySelector('[data-testid=adapter-name]');
      return el && el.textContent.trim() && !/checking/i.test(el.textContent);
    }, null, { timeout: 60000 });
  const name = (await adapter.textContent()).trim();
  if (name === 'none') throw new Error('no WebGPU adapter');
  await provider.getByTestId('node-address').waitFor({ timeout: 60000 });
  nodeAddress = (await provider.getByTestId('node-address').textContent()).trim().toLowerCase();
  if (!/^0x[0-9a-f]{40}$/.test(nodeAddress)) throw new Error(`node address "${nodeAddress}"`);
  await status('Quit', 60000);
  // Commitments' nonces are written with strict durability, and the page asked the
  // browser to keep the site's storage.
  const durability = (await provider.getByTestId('write-durability').textContent()).trim();
  if (durability !== 'strict') throw new Error(`IndexedDB write durability "${durability}"`);
  const persistent = (await provider.getByTestId('storage-persistent').textContent()).trim();
  if (!persistent || /not known/.test(persistent)) throw new Error(`storage persistence "${persistent}"`);
  console.log(`# adapter: ${name}; node key ${nodeAddress}; writes ${durability}; storage ${persistent}`);
  await shot('provide-01-capability');
});

await test('the benchmark times the engine on WebGPU and on the wasm CPU fallback', async () => {
  for (const backend of ['webgpu', 'cpu']) {
    await provider.getByTestId('backend-choice').selectOption(backend);
    await provider.getByTestId('benchmark-button').click();
    const result = provider.locator(`[data-testid=benchmark-result][data-backend=${backend}]`);
    await result.waitFor({ timeout: 180000 });
    const gflops = Number(await result.getAttribute('data-gflops'));
    if (!(gflops > 0)) throw new Error(`${backend}: ${await result.textContent()}`);
    console.log(`# benchmark: ${(await result.textContent()).trim()}`);
  }
});

await test('the wallet funds the key; the tab caches sd-tiny and joins on WebGPU', async () => {
  await provider.locator('[data-testid=model-choice][value=sd-tiny]').check();
  await provider.getByTestId('backend-choice').selectOption('webgpu');
  await provider.getByTestId('join-button').click();
  await status('Available', 300000);
  await activity('modelReady').first().waitFor({ timeout: 10000 });
  await shot('provide-02-joined');
});

await test('the tab is drawn for an SD task beside two native nodes and all three agree', async () => {
  await provider.getByTestId('start-button').click();
  await serving('serving');
  await activity('serving').first().waitFor({ timeout: 120000 });
  ready = true;

  const requester = await context.newPage();
  watch(requester);
  await connectDevWallet(requester);
  const id = await unlessProvideError(
    // One image, 4 steps: on SwiftShader every step of the tab's is seconds of CPU.
    createAndWait(requester, 'sd', () => fillTinySd(requester, 'a lighthouse at dusk', TAB_TASK)));
  const v = await verdict(requester);
  if (v !== 'verified') throw new Error(`verdict ${v}: ${await requester.getByTestId('verdict').textContent()}`);
  const seats = requester.locator('[data-testid=seat]');
  if ((await seats.count()) !== 3) throw new Error(`${await seats.count()} seats`);
  const agreeing = await requester.locator('[data-testid=seat][data-agrees="Some(true)"]').count();
  if (agreeing !== 3) throw new Error(`${agreeing} of 3 seats agree with the files`);
  const mine = requester.locator(`[data-testid=seat][data-node="${nodeAddress}"]`);
  if ((await mine.count()) !== 1) throw new Error(`the browser node ${nodeAddress} holds no seat`);
  await shot('provide-03-task-verified', requester);
  await activity('revealed', id).waitFor({ timeout: 60000 });
  await activity('ran', id).waitFor({ timeout: 1000 });
  const ran = (await activity('ran', id).getAttribute('data-ms')) || '?';
  console.log(`# bench: browser WebGPU node ran the SD task (${TAB_TASK.images} image 64x64, ${TAB_TASK.steps} steps) in ${ran} ms`);
  // The Earnings card lists the task with the reward the chain paid for it.
  await provider.locator(`[data-testid=ledger-row][data-task="${id}"]`).waitFor({ timeout: 120000 });
  // And its health and QoS after the task, charted.
  await provider.getByTestId('health-chart').waitFor({ timeout: 30000 });
  const health = await provider.locator('[data-testid=health-chart] rect title').allTextContents();
  if (!health.some((t) => / UTC: 100 %$/.test(t))) throw new Error(`health bars: ${health.join(' | ')}`);
  await provider.getByTestId('qos-chart').waitFor({ timeout: 10000 });
  await shot('provide-04-served', provider);
  await requester.close();
});

await test('a reload serves again from the cache without downloading', async () => {
  if (!ready) throw new Error('the node never served');
  await provider.reload();
  await serving('serving', 120000);
  const announced = activity('modelReady');
  await announced.first().waitFor({ timeout: 120000 });
  const downloaded = await announced.first().getAttribute('data-downloaded');
  if (downloaded !== '0') throw new Error(`downloaded ${downloaded} bytes again`);
  if ((await activity('downloading').count()) !== 0) throw new Error('a download was reported');
});

await test('a corrupted cached file is detected and fetched again', async () => {
  if (!ready) throw new Error('the node never served');
  const corrupted = await provider.evaluate(async () => {
    const cache = await caches.open('tessera-models-v1');
    const keys = await cache.keys();
    if (keys.length === 0) return null;
    await cache.put(keys[0], new Response('not the model file', { headers: { 'x-tessera-size': '18' } }));
    return keys[0].url;
  });
  if (!corrupted) throw new Error('the model cache is empty');
  await provider.reload();
  await activity('cacheCorrupt').first().waitFor({ timeout: 120000 });
  const announced = activity('modelReady');
  await announced.first().waitFor({ timeout: 120000 });
  const downloaded = Number(await announced.first().getAttribute('data-downloaded'));
  if (!(downloaded > 0)) throw new Error(`the corrupt file was not fetched again (${downloaded})`);
});

await test('stop pauses the node on chain', async () => {
  await serving('serving', 120000);
  await provider.getByTestId('stop-button').click();
  await serving('stopped', 120000);
  await status('Paused', 60000);
  await shot('provide-05-stopped');
});

await browser.close();
finish();
