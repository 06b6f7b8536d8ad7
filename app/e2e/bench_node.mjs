// `cargo xtask bench node`, the browser half: the tiny SD task run by the browser node's
// worker (`web_node`) off chain, on WebGPU (Chromium's SwiftShader adapter without a GPU)
// and on the wasm CPU backend, model files from the devnet's relay through the worker's
// cache. Prints one `bench:` line per backend.
//
// Set by xtask: APP_URL (the app with a config.json for the devnet), TASK (the arguments).

import { launch } from './lib.mjs';

const TASK = process.env.TASK;
const browser = await launch(['--enable-unsafe-webgpu']);
const page = await browser.newPage();
page.on('console', (m) => { if (m.type() === 'error') console.error(`[console] ${m.text()}`); });
await page.goto(process.env.APP_URL);

const timings = await page.evaluate(async (task) => {
  const config = await (await fetch('./config.json')).json();
  const worker = new Worker('./web_node_loader.js');
  const waiting = [];
  worker.onmessage = (event) => {
    const message = event.data;
    const i = waiting.findIndex((w) => w.type === message.type || message.type === 'error');
    if (i >= 0) waiting.splice(i, 1)[0].resolve(message);
  };
  const next = (type) => new Promise((resolve) => waiting.push({ type, resolve }));
  await next('ready');
  worker.postMessage({
    type: 'init',
    network: {
      chain_id: config.chainId, rpc_url: config.rpcUrl, relay_url: config.relayUrl,
      node_registry: config.nodeRegistry, task_manager: config.taskManager,
      appeals: config.appeals,
    },
  });
  const key = await next('key');
  if (key.type === 'error') return [key];
  const out = [];
  for (const backend of ['webgpu', 'cpu']) {
    const answer = next('taskBench');
    worker.postMessage({ type: 'benchTask', backend, task });
    out.push(await answer);
  }
  return out;
}, TASK);

for (const t of timings) {
  if (t.type === 'error') {
    console.log(`bench: browser: ${t.command} failed: ${t.message}`);
    continue;
  }
  console.log(`bench: browser ${t.backend === 'wgpu' ? 'WebGPU' : 'wasm CPU'}: task ${t.total_ms.toFixed(0)} ms, ` +
    `${t.steps} steps, first step (load, prompt, kernels) ${t.first_step_ms.toFixed(0)} ms, ` +
    `then ${t.median_step_ms.toFixed(1)} ms per step (median)`);
}
await browser.close();
