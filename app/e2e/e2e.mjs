// End-to-end tests of the web app in Debian's Chromium, against a running devnet.
//
// Started by `cargo xtask test` (through `cargo xtask app e2e`), which starts the devnet
// (anvil, contracts, relay with its TEST ONLY tamper switch, three native nodes), serves
// the release build with a config.json for that devnet, and sets:
//   APP_URL      the app's URL
//   TAMPER_FLAG  the relay's tamper flag file (exists: PNG downloads are altered)
//   ARTIFACTS    where screenshots go
// Prints one line per test and a libtest-style summary line.

import { writeFileSync, rmSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { resolve as resolvePath } from 'node:path';
import {
  APP_URL, launch, watch, shot, test, usePage, connectDevWallet, createAndWait, verdict,
  fillTinySd, finish, TASK_TIMEOUT, ARTIFACTS,
} from './lib.mjs';
import { TestWallet, WALLET_NAME } from './wallet.mjs';

const TAMPER_FLAG = process.env.TAMPER_FLAG;
if (!TAMPER_FLAG) {
  console.error('TAMPER_FLAG must be set (run through `cargo xtask app e2e`)');
  process.exit(2);
}

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
watch(page);
usePage(page);

let sdTask = null;

await test('the development wallet connects and is labelled as such', async () => {
  await connectDevWallet(page);
  await shot('01-create-page');
});

await test('inline validation names the field and its range', async () => {
  await page.goto(`${APP_URL}/#/create`);
  await page.locator('input[name="task_config.steps"]').fill('500');
  const error = page.locator('[data-error-for="task_config.steps"]');
  await error.waitFor({ timeout: 5000 });
  const text = await error.textContent();
  if (!text.includes('1..=100')) throw new Error(`error text: ${text}`);
  if (!(await page.getByTestId('create').isDisabled())) throw new Error('create is enabled');
  await shot('02-validation');
  await page.locator('input[name="task_config.steps"]').fill('6');
});

await test('an SD task is created, runs on three nodes and verifies green', async () => {
  sdTask = await createAndWait(page, 'sd', () => fillTinySd(page, 'a red fox in the snow, best quality++'));
  const v = await verdict(page);
  if (v !== 'verified') throw new Error(`verdict ${v}: ${await page.getByTestId('verdict').textContent()}`);
  const seats = await page.locator('[data-testid=seat]').count();
  if (seats !== 3) throw new Error(`${seats} seats in the report`);
  const valid = await page.locator('[data-testid=seat][data-commitment-valid="Some(true)"]').count();
  if (valid !== 3) throw new Error(`${valid} of 3 commitments open`);
  const files = await page.locator('[data-testid=file-check][data-matches=true]').count();
  if (files !== 2) throw new Error(`${files} of 2 images match the chain`);
  const timeline = await page.getByTestId('timeline').textContent();
  for (const words of ['Task created', 'Seed revealed', 'Commitment #3', 'Reveal #3', 'Validated', 'Results uploaded', 'Reward paid']) {
    if (!timeline.includes(words)) throw new Error(`the timeline lacks "${words}"`);
  }
  await shot('03-sd-verified');
});

await test('an injected EIP-6963 wallet (viem) switches chain, rejects, pays for a task and changes account', async () => {
  const config = await (await fetch(`${APP_URL}/config.json`)).json();
  const wallet = new TestWallet(config);
  const injected = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await wallet.install(injected);
  const p = await injected.newPage();
  watch(p);
  usePage(p);
  try {
    await p.goto(`${APP_URL}/#/create`);
    await p.getByRole('button', { name: `Connect ${WALLET_NAME}` }).click();
    const label = await p.getByTestId('wallet-label').textContent();
    if (label !== WALLET_NAME) throw new Error(`the wallet is labelled "${label}"`);
    // It starts on another chain: the app says so, and switches when asked.
    await p.getByText('wrong network').waitFor({ timeout: 10000 });
    await p.getByRole('button', { name: 'Switch network' }).click();
    await p.getByText('wrong network').waitFor({ state: 'detached', timeout: 10000 });
    if (wallet.chainId !== config.chainId) throw new Error(`the wallet is on chain ${wallet.chainId}`);
    // A request the person rejects is told as such.
    await fillTinySd(p, 'a paper boat on a pond', { images: 1, steps: 4 });
    wallet.rejectNext = true;
    await p.getByTestId('create').click();
    const notice = await p.getByTestId('notice').textContent({ timeout: 30000 });
    if (!notice.includes('You rejected the request')) throw new Error(`notice: ${notice}`);
    // Paid and signed with the wallet; the prompts it showed are counted.
    const before = wallet.prompts.length;
    await p.getByTestId('create').click();
    await p.waitForURL(/#\/task\/\d+/, { timeout: 120000 });
    await p.locator('[data-testid=verdict]').waitFor({ timeout: TASK_TIMEOUT });
    const v = await verdict(p);
    if (v !== 'verified') throw new Error(`verdict ${v}`);
    const prompts = wallet.prompts.slice(before);
    console.log(`    wallet prompts to create and verify a task: ${prompts.length} (${prompts.join(', ')})`);
    // createTask, revealSeed, the signed argument upload; the public results are read unsigned.
    const expected = ['eth_sendTransaction', 'eth_sendTransaction', 'eth_signTypedData_v4'];
    if (prompts.join() !== expected.join()) throw new Error(`prompts ${prompts}`);
    await shot('03b-injected-wallet', p);
    // Another account chosen in the wallet: the app follows it; revoking disconnects.
    await wallet.useAccount(0);
    const shown = await p.getByTestId('wallet-address').getAttribute('title');
    if (shown.toLowerCase() !== wallet.accounts[0].address.toLowerCase()) throw new Error(`address ${shown}`);
    await wallet.revoke();
    await p.getByTestId('wallet').waitFor({ state: 'detached', timeout: 10000 });
  } finally {
    await injected.close();
    usePage(page);
  }
});

await test('a relay serving a tampered image turns the verdict red', async () => {
  if (!sdTask) throw new Error('no SD task to check');
  writeFileSync(TAMPER_FLAG, 'on');
  try {
    // Another browser profile: nothing cached from the honest download.
    const fresh = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const p = await fresh.newPage();
    watch(p);
    await connectDevWallet(p);
    await p.goto(`${APP_URL}/#/task/${sdTask}`);
    await p.locator('[data-testid=verdict]').waitFor({ timeout: 120000 });
    const v = await verdict(p);
    if (v !== 'failed') throw new Error(`verdict ${v} with a tampered image`);
    const text = await p.getByTestId('verdict').textContent();
    if (!text.includes('relay served another file')) throw new Error(`problems: ${text}`);
    await shot('04-tampered-red', p);
    await fresh.close();
  } finally {
    rmSync(TAMPER_FLAG, { force: true });
  }
});

await test('anyone verifies a public task from its link, with no wallet; a private one stays private', async () => {
  if (!sdTask) throw new Error('no SD task to check');
  const privateTask = await createAndWait(page, 'sd', async () => {
    await fillTinySd(page, 'a quiet harbour at night', { images: 1 });
    await page.getByTestId('private').locator('input').check();
  });
  const own = await verdict(page);
  if (own !== 'verified') throw new Error(`the creator's verdict on its private task: ${own}`);
  // A browser with no wallet at all: the link is enough for a public task.
  const stranger = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const p = await stranger.newPage();
  watch(p);
  await p.goto(`${APP_URL}/#/task/${sdTask}`);
  await p.locator('[data-testid=verdict]').waitFor({ timeout: 120000 });
  const v = await verdict(p);
  if (v !== 'verified') throw new Error(`verdict without a wallet ${v}: ${await p.getByTestId('verdict').textContent()}`);
  await shot('05-public-verified-no-wallet', p);
  await p.goto(`${APP_URL}/#/task/${privateTask}`);
  const refused = p.getByTestId('results-private');
  await refused.waitFor({ timeout: 120000 });
  const text = await refused.textContent();
  if (!text.includes('private')) throw new Error(`a private task without a wallet: ${text}`);
  if (await p.getByTestId('verdict').count()) throw new Error('a private task verified without a wallet');
  await shot('06-private-refused-no-wallet', p);
  await stranger.close();
});

await test('the requester SDK: a bot in Node.js creates and verifies a task; a page verifies it with no key', async () => {
  const config = await (await fetch(`${APP_URL}/config.json`)).json();
  const key = config.devAccounts[Math.max(0, config.devAccounts.length - 2)].key;
  const out = await new Promise((resolve, reject) => {
    const bot = spawn(process.execPath, [resolvePath('sdk/examples/bot.mjs'), APP_URL, 'a kite over the dunes'], {
      cwd: ARTIFACTS, env: { ...process.env, TESSERA_KEY: key },
    });
    let text = '';
    bot.stdout.on('data', (d) => { text += d; });
    bot.stderr.on('data', (d) => { text += d; });
    bot.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`the bot exited ${code}:\n${text}`))));
  });
  const id = /task (\d+): verified/.exec(out)?.[1];
  if (!id) throw new Error(`the bot said:\n${out}`);
  console.log(`    the bot: ${out.trim().split('\n').join(' | ')}`);
  const verdictInPage = await page.evaluate(async (task) => {
    const sdk = await import('/sdk/tessera_sdk.js');
    await sdk.default();
    const network = await (await fetch('/config.json')).json();
    const { report, files } = await sdk.verifyPublic(network, task);
    return `${report.verdict} ${files.length}`;
  }, id);
  if (verdictInPage !== 'verified 1') throw new Error(`in the page: ${verdictInPage}`);
});

await test('an SDXL task and a LoRA task are created and verify green', async () => {
  await createAndWait(page, 'sd', async () => {
    await page.locator('input[name=model]').fill('sdxl-tiny');
    await fillTinySd(page, 'a cat on the beach under sunset, (mountains)1.2', { images: 1 });
  });
  let v = await verdict(page);
  if (v !== 'verified') throw new Error(`SDXL verdict ${v}: ${await page.getByTestId('verdict').textContent()}`);
  await shot('05-sdxl-verified');
  await createAndWait(page, 'sd', async () => {
    await page.locator('input[name=model]').fill('sd-tiny');
    await fillTinySd(page, 'oil painting of castle', { images: 1 });
    await page.locator('input[name="lora.model"]').fill('lora-tiny');
    await page.locator('input[name="lora.weight"]').fill('50');
  });
  v = await verdict(page);
  if (v !== 'verified') throw new Error(`LoRA verdict ${v}: ${await page.getByTestId('verdict').textContent()}`);
  await shot('06-lora-verified');
});

await test('a Qwen2 LLM task is created and verifies green', async () => {
  await createAndWait(page, 'llm', async () => {
    await page.locator('input[name=llm-model]').fill('qwen2-tiny');
    await page.locator('textarea[name=message-0]').fill('What is a GPU?');
    await page.locator('textarea[name="generation_config.stop_strings"]').fill('sunset\n.');
    await page.locator('input[name="generation_config.max_new_tokens"]').fill('12');
  });
  const v = await verdict(page);
  if (v !== 'verified') throw new Error(`verdict ${v}: ${await page.getByTestId('verdict').textContent()}`);
  await page.getByTestId('llm-text').waitFor();
  await shot('07-llm-verified');
});

await test('my tasks and the network page list what happened', async () => {
  await page.goto(`${APP_URL}/#/tasks`);
  await page.getByTestId('my-tasks').waitFor({ timeout: 30000 });
  const rows = await page.locator('[data-testid=my-tasks] tbody tr').count();
  if (rows < 2) throw new Error(`${rows} tasks listed`);
  await shot('08-my-tasks');
  await page.goto(`${APP_URL}/#/network`);
  await page.getByTestId('nodes').waitFor({ timeout: 30000 });
  const nodes = await page.locator('[data-testid=node-row]').count();
  if (nodes !== 3) throw new Error(`${nodes} nodes listed`);
  await page.getByTestId('chart').waitFor();
  // Charts people read: round ticks on a value axis, titled axes, a value on every bar.
  const ticks = await page.locator('[data-testid=chart] .value-axis text').count();
  if (ticks < 3) throw new Error(`${ticks} labels on the value axis`);
  const axes = await page.locator('[data-testid=chart] text.title').allTextContents();
  if (axes[0] !== 'tasks' || !axes[1].startsWith('time (UTC)')) throw new Error(`axis titles ${axes}`);
  const hovers = await page.locator('[data-testid=chart] rect title').allTextContents();
  const counted = hovers.map((h) => Number(/UTC: (\d+) tasks?$/.exec(h)?.[1] ?? NaN)).reduce((a, b) => a + b, 0);
  if (!(counted >= 2)) throw new Error(`bar titles ${hovers.join(' | ')}`);
  await page.getByTestId('fees-chart').waitFor();
  await shot('09-network');
});

await test('the Provide page says the browser node is not served yet, instead of failing', async () => {
  // This build has no node worker (the first `cargo xtask up` serves the app while it
  // compiles it): the page waits for it.
  await page.goto(`${APP_URL}/#/provide`);
  await page.getByTestId('worker-building').waitFor({ timeout: 15000 });
  const errors = await page.getByTestId('provide-error').count();
  if (errors) throw new Error(`the page shows an error: ${await page.getByTestId('provide-error').textContent()}`);
});

await test('every page passes axe-core with no serious or critical violation', async () => {
  const axe = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  const pages = ['create', 'tasks', 'network', 'provide', ...(sdTask ? [`task/${sdTask}`] : [])];
  const found = [];
  for (const route of pages) {
    await page.goto(`${APP_URL}/#/${route}`);
    await page.locator('main h1').first().waitFor({ timeout: 30000 });
    await page.waitForTimeout(1500); // the page's first reads
    await page.evaluate(axe);
    const violations = await page.evaluate(async () => {
      const result = await window.axe.run(document, { resultTypes: ['violations'] });
      return result.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id} (${v.impact}): ${v.help}; ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
    });
    found.push(...violations.map((v) => `#/${route}: ${v}`));
  }
  if (found.length) throw new Error(`axe-core:\n  ${found.join('\n  ')}`);
});

await test('the layout works on a phone', async () => {
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const p = await phone.newPage();
  watch(p);
  await connectDevWallet(p);
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await shot('10-phone-create', p);
  if (sdTask) {
    await p.goto(`${APP_URL}/#/task/${sdTask}`);
    await p.locator('[data-testid=verdict]').waitFor({ timeout: 120000 });
    await shot('11-phone-task', p);
  }
  await phone.close();
  if (overflow > 2) throw new Error(`the page is ${overflow}px wider than a phone screen`);
});

await browser.close();
finish();
