// A bot that asks a Tessera network for an image, follows the task, and checks every file
// against the chain before trusting it.
//
//   node bot.mjs <app URL> "<prompt>"        (the key in TESSERA_KEY; results into ./out/)
//
// The app's config.json tells it where the chain, the contracts and the relay are.

import { mkdirSync, writeFileSync } from 'node:fs';
import { Tessera } from '@tessera-network/sdk';

const [appUrl, prompt = 'a lighthouse at dawn'] = process.argv.slice(2);
if (!appUrl || !process.env.TESSERA_KEY) {
  console.error('usage: TESSERA_KEY=0x… node bot.mjs <app URL> "<prompt>"');
  process.exit(2);
}
const network = await (await fetch(new URL('config.json', appUrl.endsWith('/') ? appUrl : `${appUrl}/`))).json();
const tessera = new Tessera(network, process.env.TESSERA_KEY);
console.log(`paying from ${tessera.address}`);

const id = await tessera.createTask({
  version: '2.5.0',
  base_model: { name: 'sd-tiny', variant: null },
  prompt,
  task_config: { num_images: 1, seed: 42, steps: 6, cfg: 5, image_width: 64, image_height: 64, safety_checker: false },
}, process.env.TESSERA_FEE || '1');
console.log(`task ${id} created`);

const state = await tessera.wait(id, 600_000, (event) => console.log(`  ${event.text ?? event.state}`));
if (state !== 'SUCCESS') {
  console.error(`task ${id} ended ${state}`);
  process.exit(1);
}
const { report, files } = await tessera.verify(id);
mkdirSync('out', { recursive: true });
for (const file of files) writeFileSync(`out/${id}-${file.name}`, file.bytes);
console.log(`task ${id}: ${report.verdict}${report.problems.length ? `: ${report.problems.join('; ')}` : ''}`);
process.exit(report.verdict === 'verified' ? 0 : 1);
