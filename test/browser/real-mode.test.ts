// The real mode serves the same app: one process per service on PostgreSQL, RabbitMQ and Redis, the
// gateway answering the app at `/` and at its own paths, and a person signing up in Chromium.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { needsInfra } from '@wallet/testkit';
import { startRealStack, type Stack } from '../support/stack.ts';
import { buildWebApp, launch, needsChromium, newPage } from './support.ts';

const skip = needsChromium().skip || (await needsInfra()).skip;

describe('the web app in real mode', { skip, timeout: 180_000 }, () => {
  let stack: Stack;
  let browser: Browser;

  before(async () => {
    await buildWebApp();
    stack = await startRealStack();
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('the gateway serves the app and the API side by side', async () => {
    const page = await fetch(`${stack.gatewayUrl}/history`);
    assert.equal(page.status, 200);
    const html = await page.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, 'index.html names its script');
    const asset = await fetch(`${stack.gatewayUrl}${script}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('content-type') ?? '', /javascript/);
    const unknownApi = await fetch(`${stack.gatewayUrl}/v1/no-such-thing`);
    assert.equal(unknownApi.status, 404);
    assert.match(unknownApi.headers.get('content-type') ?? '', /problem\+json/);
    assert.equal((await fetch(`${stack.gatewayUrl}/v1/accounts`)).status, 401);
  });

  test('a person signs up and opens an account in the browser', async () => {
    const { page } = await newPage(browser, stack.gatewayUrl);
    await page.goto('/signup');
    await page.getByLabel('Handle').fill('real_ana');
    await page.getByLabel('Your name').fill('Ana Real');
    await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.waitForURL('**/accounts');
    await page.getByLabel('Currency').fill('EUR');
    await page.getByRole('button', { name: 'Open account' }).click();
    await page.locator('.available', { hasText: '0.00 EUR' }).waitFor();
    await page.locator('.small', { hasText: 'Live' }).first().waitFor();

    // More accounts than a browser has connections for streams: the first ones stream, the rest are
    // asked for, and the app still answers.
    for (const currency of ['USD', 'GBP', 'JPY']) {
      await page.getByLabel('Currency').fill(currency);
      await page.getByRole('button', { name: 'Open account' }).click();
      await page.getByRole('status').filter({ hasText: `Opened ${currency} account.` }).waitFor();
    }
    await page.locator('.available', { hasText: '0 JPY' }).waitFor();
    assert.equal(await page.locator('.available').count(), 4);
    await page.locator('.small', { hasText: 'Updated every 10 s' }).waitFor();
    assert.equal(await page.locator('.small', { hasText: /^Live$/ }).count(), 3);
    await page.getByRole('link', { name: 'Send' }).click();
    await page.getByLabel('From').locator('option').nth(3).waitFor({ state: 'attached' });
    assert.equal(await page.getByLabel('From').locator('option').count(), 4);
  });
});
