// The wallet in a real browser: two people sign up, an operator funds one, she sends to the other
// by alias, his balance moves on screen without a reload, a refusal is explained, and the other
// screens (history with CSV, aliases, second factor, operator console) work. The stack is the
// embedded one, served by the gateway like `npm start`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { embeddedOutbox } from '../../services/alias/src/notify/outbox.ts';
import { startEmbeddedStack, type Stack } from '../support/stack.ts';
import { buildWebApp, desktop, fitsWidth, launch, needsChromium, newPage, screenshot as save } from './support.ts';

const available = (page: Page, text: string) => page.locator('.available', { hasText: text });

/** Every screen the test shows is checked to fit its screen (a phone for people), then saved if asked. */
async function screenshot(page: Page, name: string): Promise<void> {
  assert.equal(await fitsWidth(page), true, `${name} fits the screen's width`);
  await save(page, name);
}

describe('the wallet in the browser', { ...needsChromium(), timeout: 240_000 }, () => {
  let stack: Stack;
  let browser: Browser;
  let ana: Page;
  let bob: Page;
  let operator: Page;
  let anaAccount = '';
  let bobAccount = '';
  // The embedded stack keeps its data in memory: every run starts empty.
  const handles = { ana: 'ana', bob: 'bob' };

  before(async () => {
    await buildWebApp();
    stack = await startEmbeddedStack();
    browser = await launch();
    ana = (await newPage(browser, stack.gatewayUrl)).page;
    bob = (await newPage(browser, stack.gatewayUrl)).page;
    operator = (await newPage(browser, stack.gatewayUrl, desktop)).page;
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('two people sign up and open accounts', async () => {
    await ana.goto('/');
    await ana.waitForURL('**/login');
    await ana.getByRole('heading', { name: 'Log in' }).waitFor();
    await screenshot(ana, '01-log-in');

    await ana.getByRole('link', { name: 'Sign up' }).first().click();
    await ana.getByLabel('Handle').fill(handles.ana);
    await ana.getByLabel('Your name').fill('Ana Pereira');
    await ana.getByLabel('Password', { exact: true }).fill('correct horse battery');
    await screenshot(ana, '02-sign-up');
    await ana.getByRole('button', { name: 'Sign up' }).click();
    await ana.waitForURL('**/accounts');
    await ana.getByLabel('Currency').fill('USD');
    await ana.getByRole('button', { name: 'Open account' }).click();
    await available(ana, '0.00 USD').waitFor();
    anaAccount = (await ana.locator('.account-id').first().textContent()) ?? '';
    await ana.getByRole('button', { name: 'Rename USD account' }).click();
    await ana.getByLabel('New name for USD account').fill('Everyday');
    await ana.getByLabel('New name for USD account').press('Enter');
    await ana.getByRole('heading', { name: /^Everyday/ }).waitFor();

    // Bob signs up with the keyboard alone: the app's own path, a reload-proof URL.
    await bob.goto('/signup');
    for (let i = 0; i < 12 && !(await bob.evaluate("document.activeElement?.getAttribute('name') === 'handle'")); i++) await bob.keyboard.press('Tab');
    await bob.keyboard.type(handles.bob);
    await bob.keyboard.press('Tab');
    assert.equal(await bob.evaluate("document.activeElement?.getAttribute('name')"), 'displayName');
    await bob.keyboard.type('Bob Marley');
    await bob.keyboard.press('Tab');
    await bob.keyboard.type('another long secret');
    await bob.keyboard.press('Enter');
    await bob.waitForURL('**/accounts');
    await bob.getByLabel('Currency').fill('USD');
    await bob.getByLabel('Currency').press('Enter');
    await available(bob, '0.00 USD').waitFor();
    bobAccount = (await bob.locator('.account-id').first().textContent()) ?? '';
    assert.match(anaAccount, /^[0-9a-f-]{36}$/);
    assert.match(bobAccount, /^[0-9a-f-]{36}$/);
  });

  test('the operator funds Ana, and her balance moves on screen', async () => {
    await operator.goto('/operator/login');
    await operator.getByLabel('Client id').fill(stack.operator.id);
    await operator.getByLabel('Client secret').fill(stack.operator.secret);
    await operator.getByRole('button', { name: 'Log in as operator' }).click();
    await operator.waitForURL('**/operator');
    await operator.getByLabel('Account id or alias').fill(anaAccount);
    await operator.getByRole('button', { name: 'Find account' }).click();
    await operator.getByLabel('Amount in USD').fill('100');
    await operator.getByRole('button', { name: 'Deposit' }).click();
    await operator.getByRole('status').filter({ hasText: 'Deposited 100 USD' }).waitFor();
    await available(ana, '100.00 USD').waitFor();
  });

  test('Ana sends to @bob after seeing his masked name; his balance changes without a reload', async () => {
    await bob.evaluate('window.notReloaded = true');
    await ana.getByRole('link', { name: 'Send' }).click();
    await ana.getByLabel('To').fill(`@${handles.bob}`);
    await ana.getByLabel('Amount in USD').fill('25.10');
    await ana.getByLabel('Description (optional)').fill('concert tickets');
    await ana.getByRole('button', { name: 'Review' }).click();
    const confirm = ana.getByRole('group', { name: 'Confirm the transfer' });
    await confirm.getByText('Bob M.').waitFor();
    assert.match((await confirm.textContent()) ?? '', /Send 25\.10 USD from Everyday to Bob M\. \(@bob\)/);
    await screenshot(ana, '04-send-confirm');
    // A double click sends once: one idempotency key per attempt, and the button waits for the answer.
    await confirm.getByRole('button', { name: 'Send' }).dblclick();
    await ana.getByRole('status').filter({ hasText: 'Sent. Your balance is now 74.90 USD.' }).waitFor();

    await available(bob, '25.10 USD').waitFor();
    assert.equal(await bob.evaluate('window.notReloaded'), true, 'the page was not reloaded');
    await screenshot(bob, '03-accounts');
  });

  test('a refused transfer says why', async () => {
    await ana.getByLabel('Amount in USD').fill('1000');
    await ana.getByRole('button', { name: 'Review' }).click();
    await ana.getByRole('group', { name: 'Confirm the transfer' }).getByRole('button', { name: 'Send' }).click();
    const alert = ana.getByRole('alert');
    await alert.waitFor();
    assert.equal((await alert.textContent())?.trim(), 'Not enough money in the account for this. Available: 74.90 USD.');
    await screenshot(ana, '05-send-refused');
    // Nothing else moved: the double click above was one transfer.
    await ana.getByRole('link', { name: 'Accounts' }).click();
    await available(ana, '74.90 USD').waitFor();
  });

  test('a retry after a lost answer sends once: the same idempotency key', async () => {
    const keys: string[] = [];
    // The first request reaches the wallet, but its answer never reaches the browser.
    await ana.route('**/v1/transfers', async (route) => {
      keys.push(route.request().headers()['idempotency-key'] ?? '');
      await route.fetch();
      await route.abort('connectionreset');
    }, { times: 1 });
    ana.on('request', (request) => {
      if (request.method() === 'POST' && request.url().endsWith('/v1/transfers') && keys.length === 1) keys.push(request.headers()['idempotency-key'] ?? '');
    });
    await ana.getByRole('link', { name: 'Send' }).click();
    await ana.getByLabel('To').fill('@bob');
    await ana.getByLabel('Amount in USD').fill('1');
    await ana.getByRole('button', { name: 'Review' }).click();
    await ana.getByRole('group', { name: 'Confirm the transfer' }).getByRole('button', { name: 'Send' }).click();
    await ana.getByRole('alert').filter({ hasText: 'No answer from the server' }).waitFor();
    await ana.getByRole('button', { name: 'Retry sending' }).click();
    await ana.getByRole('status').filter({ hasText: 'Sent. Your balance is now 73.90 USD.' }).waitFor();
    assert.equal(keys.length >= 2, true);
    assert.match(keys[0]!, /^[0-9a-f-]{36}$/);
    assert.equal(keys[1], keys[0], 'the retry carries the same key');
    await available(bob, '26.10 USD').waitFor();
  });

  test('history: transfers, statement, chart and CSV', async () => {
    await ana.getByRole('link', { name: 'History' }).click();
    await ana.getByRole('img', { name: /Balance from/ }).waitFor();
    const transfers = ana.getByRole('region', { name: 'Transfers' });
    await transfers.getByText('concert tickets').waitFor();
    assert.equal(await transfers.locator('li').count(), 3, 'the deposit, one transfer of 25.10 and one of 1.00');
    await ana.getByRole('region', { name: 'Statement, last 30 days' }).getByText('73.90 USD').first().waitFor();
    await screenshot(ana, '06-history');
    const [download] = await Promise.all([ana.waitForEvent('download'), ana.getByRole('button', { name: 'Download CSV' }).click()]);
    const csv = readFileSync((await download.path())!, 'utf8');
    assert.match(csv, /concert tickets/);
    assert.match(download.suggestedFilename(), /^statement-USD-.*\.csv$/);
  });

  test('Bob adds an e-mail alias, verifies it with the code, and links it', async () => {
    const email = 'bob@example.com';
    await bob.getByRole('link', { name: 'Aliases' }).click();
    await bob.getByLabel('E-mail address').fill(email);
    await bob.getByRole('button', { name: 'Add and send a code' }).click();
    await bob.getByText('waiting for the code').waitFor();
    const code = /\b([0-9]{6})\b/.exec(embeddedOutbox.latest(email)?.text ?? '')?.[1];
    assert.ok(code, 'a code was sent');
    await bob.getByLabel(`Code sent to ${email}`).fill(code);
    await bob.getByRole('button', { name: `Verify ${email}` }).click();
    await bob.getByRole('status').filter({ hasText: 'is verified' }).waitFor();
    const item = bob.locator('li.alias', { hasText: email });
    await item.getByRole('button', { name: `Link ${email}` }).click();
    await bob.getByRole('status').filter({ hasText: 'now receives USD' }).waitFor();
    await item.getByText(/Receives USD into/).waitFor();
    await screenshot(bob, '07-aliases');

    // Ana pays Bob at his new e-mail alias, while he looks at his accounts.
    await bob.getByRole('link', { name: 'Accounts' }).click();
    await available(bob, '26.10 USD').waitFor();
    await ana.getByRole('link', { name: 'Send' }).click();
    await ana.getByLabel('To').fill(email);
    await ana.getByLabel('Amount in USD').fill('0.90');
    await ana.getByRole('button', { name: 'Review' }).click();
    await ana.getByRole('group', { name: 'Confirm the transfer' }).getByText('Bob M.').waitFor();
    await ana.getByRole('group', { name: 'Confirm the transfer' }).getByRole('button', { name: 'Send' }).click();
    await available(bob, '27.00 USD').waitFor();
  });

  test('the operator freezes an account, checks drift and lag, finds and reverses a transfer', async () => {
    await operator.getByLabel('Account id or alias').fill('@bob');
    await operator.getByRole('button', { name: 'Find account' }).click();
    await operator.locator('.found-account-id', { hasText: bobAccount }).waitFor();
    await operator.getByRole('button', { name: 'Freeze' }).click();
    await operator.locator('.account-status', { hasText: 'frozen' }).waitFor();
    await bob.goto('/accounts');
    await bob.locator('.tag', { hasText: 'frozen' }).waitFor();
    await operator.getByRole('button', { name: 'Unfreeze' }).click();
    await operator.locator('.account-status', { hasText: 'active' }).waitFor();
    await operator.getByRole('button', { name: 'Check drift and lag' }).click();
    await operator.locator('.drift-result', { hasText: 'none' }).waitFor();
    assert.equal((await operator.locator('.lag').textContent())?.trim(), '0 entries behind');

    await ana.getByRole('link', { name: 'History' }).click();
    const transferId = (await ana.getByRole('region', { name: 'Transfers' }).locator('li', { hasText: 'concert tickets' }).locator('code').textContent())?.trim() ?? '';
    await operator.getByLabel('Transfer id').fill(transferId);
    await operator.getByRole('button', { name: 'Find transfer' }).click();
    await operator.getByLabel('Amount to reverse in USD').fill('5');
    await operator.getByRole('button', { name: 'Reverse' }).click();
    await operator.getByRole('status').filter({ hasText: 'Reversed' }).waitFor();
    const figures = operator.getByRole('region', { name: 'System figures' });
    await figures.getByRole('button', { name: 'Refresh figures' }).click();
    await figures.locator('.event-lag', { hasText: /^[1-9][0-9]* events/ }).waitFor();
    await screenshot(operator, '09-operator');
    // The figures are the operator's: none without a token, 403 with a person's.
    assert.equal((await fetch(`${stack.gatewayUrl}/v1/admin/figures`)).status, 401);
    const asPerson = "fetch('/v1/admin/figures', { headers: { authorization: 'Bearer ' + JSON.parse(sessionStorage.getItem('wallet.session')).accessToken } }).then((r) => r.status)";
    assert.equal(await ana.evaluate(asPerson), 403);
    await available(bob, '22.00 USD').waitFor();
  });

  test('the second factor: turned on, then asked for at log-in', async () => {
    await ana.getByRole('link', { name: 'Security' }).click();
    await ana.getByLabel('Password').fill('correct horse battery');
    await ana.getByRole('button', { name: 'Set up an authenticator' }).click();
    const secret = ((await ana.locator('.secret').textContent()) ?? '').trim();
    await ana.getByLabel('First code from the app').fill(totp(secret));
    await ana.getByRole('button', { name: 'Turn on' }).click();
    await ana.getByText('Recovery codes').waitFor();
    await screenshot(ana, '08-security');

    await ana.getByRole('button', { name: 'Log out' }).click();
    await ana.waitForURL('**/login');
    await ana.getByLabel('Handle').fill(handles.ana);
    await ana.getByLabel('Password').fill('correct horse battery');
    await ana.getByRole('button', { name: 'Log in' }).click();
    // A code is accepted once: wait for the authenticator's next one.
    const used = Math.floor(Date.now() / 30_000);
    while (Math.floor(Date.now() / 30_000) === used) await new Promise((resolve) => setTimeout(resolve, 500));
    await ana.getByLabel('Authenticator code').fill(totp(secret));
    await ana.getByRole('button', { name: 'Log in' }).click();
    await ana.waitForURL('**/accounts');
    await available(ana, '78.00 USD').waitFor(); // 100 − 25.10 − 1 − 0.90 + 5 reversed
  });
});

/** RFC 6238 with SHA-1, 30 s, 6 digits: what an authenticator app shows now. */
function totp(secretBase32: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const char of secretBase32.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(char).toString(2).padStart(5, '0');
  const key = Buffer.from((bits.match(/.{8}/g) ?? []).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000)));
  const digest = createHmac('sha1', key).update(counter).digest();
  const offset = digest[digest.length - 1]! & 0xf;
  return ((digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).toString().padStart(6, '0');
}
