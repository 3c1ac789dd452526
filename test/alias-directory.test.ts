// The alias directory end to end, through the gateway, in both run modes: e-mail aliases verified
// with the code that was sent (a real SMTP message in real mode, the embedded outbox in embedded
// mode), phone aliases (the SMS code is only in the log in real mode, so verified in embedded mode
// only), random keys, handle changes, frozen accounts, transfers by alias, the per-person lookup
// bucket under concurrent requests, and the API docs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { needsInfra } from '@wallet/testkit';
import { embeddedOutbox } from '../services/alias/src/notify/outbox.ts';
import { startSmtpSink, type SmtpSink } from '../services/alias/test/smtp-sink.ts';
import { WalletClient, until, type Reply } from './support/client.ts';
import { startEmbeddedStack, startRealStack, type Stack } from './support/stack.ts';

// The Pix defaults, set explicitly (the system tests' stacks otherwise lift the lookup budget).
const pixBucket = { ALIAS_LOOKUP_BUCKET_CAPACITY: '100', ALIAS_LOOKUP_REFILL_PER_MINUTE: '2', ALIAS_LOOKUP_COST_FOUND: '1', ALIAS_LOOKUP_COST_MISSING: '20' };

interface OwnAlias {
  id: string;
  alias: string;
  type: string;
  status: string;
  accounts: { currency: string; accountId: string; status: string }[];
}

type CodeReader = (to: string) => Promise<string>;

const del = (client: WalletClient, path: string) => client.request('DELETE', path);
const put = (client: WalletClient, path: string, body: unknown) => client.request('PUT', path, body);
const expectStatus = (reply: Reply, status: number, what: string) => assert.equal(reply.status, status, `${what}: ${JSON.stringify(reply.body)}`);

async function runDirectoryFlows(stack: Stack, emailCode: CodeReader, smsCode: CodeReader | undefined): Promise<void> {
  const tag = randomBytes(3).toString('hex');
  const ana = new WalletClient(stack.gatewayUrl);
  const bob = new WalletClient(stack.gatewayUrl);
  const operator = new WalletClient(stack.gatewayUrl);
  await ana.signUp(`ana_${tag}`, 'Ana Pereira');
  await bob.signUp(`Bob_${tag}`, 'Bob Marley');
  expectStatus(await operator.loginClient(stack.operator.id, stack.operator.secret), 200, 'operator login');
  const anaAccount = await ana.openAccount('USD');
  const bobAccount = await bob.openAccount('USD');
  expectStatus(await operator.deposit(anaAccount, '10000'), 201, 'deposit');

  // Waiting for account events reads the caller's own list: lookups are rationed, the list is not.
  const myAliases = async (client: WalletClient) => (await client.get('/v1/me/aliases')).body.aliases as OwnAlias[];
  await until(async () => ((await myAliases(bob))[0]?.accounts.length ? true : undefined), "Bob's handle to be linked");

  // An e-mail alias: pending until the code sent there comes back.
  const email = `Bob.${tag}@Example.com`;
  const added = await bob.post('/v1/me/aliases', { type: 'email', value: email });
  expectStatus(added, 201, 'add e-mail');
  assert.equal(added.body.status, 'pending');
  const emailId = added.body.id as string;
  expectStatus(await ana.get(`/v1/aliases/${encodeURIComponent(email)}`), 404, 'a pending alias is not payable');
  const code = await emailCode(email);
  const wrong = await bob.post(`/v1/me/aliases/${emailId}/verify`, { code: code === '000000' ? '000001' : '000000' });
  expectStatus(wrong, 422, 'wrong code');
  assert.equal(wrong.body.code, 'verification_code_invalid');
  assert.match(String(wrong.headers.get('content-type')), /^application\/problem\+json/);
  const verified = await bob.post(`/v1/me/aliases/${emailId}/verify`, { code });
  expectStatus(verified, 200, 'verify');
  assert.deepEqual((verified.body as unknown as OwnAlias).accounts, [{ currency: 'USD', accountId: bobAccount, status: 'active' }]);

  // Ana finds Bob by his address in any casing, and pays him there.
  const found = await ana.get(`/v1/aliases/${encodeURIComponent(email.toLowerCase())}?currency=USD`);
  expectStatus(found, 200, 'lookup by e-mail');
  assert.deepEqual(found.body, { alias: email, type: 'email', displayName: 'Bob M.', accountId: bobAccount, currency: 'USD' });
  const paid = await ana.transfer({ fromAccountId: anaAccount, to: { alias: email.toUpperCase() }, amount: '700', currency: 'USD' });
  expectStatus(paid, 201, 'transfer by e-mail');
  assert.equal(paid.body.toAccountId, bobAccount);

  // A random key: generated, active at once, payable.
  const key = await bob.post('/v1/me/aliases', { type: 'random' });
  expectStatus(key, 201, 'random key');
  assert.match(key.body.alias as string, /^[0-9a-f-]{36}$/);
  assert.equal((await ana.get(`/v1/aliases/${key.body.alias as string}`)).body.accountId, bobAccount);

  // A phone number: its code goes by "SMS" (the log; the embedded outbox too).
  const number = `+1 202 555 ${String(1000 + Math.floor(Math.random() * 8999))}`;
  const phone = await bob.post('/v1/me/aliases', { type: 'phone', value: number });
  expectStatus(phone, 201, 'add phone');
  assert.equal(phone.body.alias, number.replaceAll(' ', ''));
  if (smsCode) {
    const sms = await smsCode(phone.body.alias as string);
    expectStatus(await bob.post(`/v1/me/aliases/${phone.body.id as string}/verify`, { code: sms }), 200, 'verify phone');
    expectStatus(await ana.get(`/v1/aliases/${encodeURIComponent(phone.body.alias as string)}`), 200, 'lookup by phone');
  }
  // Five aliases at most: handle, e-mail, key, phone, and one more.
  expectStatus(await bob.post('/v1/me/aliases', { type: 'random' }), 201, 'fifth alias');
  const sixth = await bob.post('/v1/me/aliases', { type: 'random' });
  expectStatus(sixth, 422, 'sixth alias');
  assert.equal(sixth.body.code, 'alias_limit_reached');

  // A handle change: the old one stops receiving and stays reserved to Bob.
  const changed = await bob.post('/v1/me/aliases', { type: 'handle', value: `Robert_${tag}` });
  expectStatus(changed, 200, 'change handle');
  expectStatus(await ana.get(`/v1/aliases/@bob_${tag}`), 404, 'the old handle');
  assert.equal((await ana.get(`/v1/aliases/@robert_${tag}`)).body.accountId, bobAccount);
  const squat = await new WalletClient(stack.gatewayUrl).post('/v1/users', { handle: `bob_${tag}`, password: 'correct horse battery', displayName: 'Squatter' });
  expectStatus(squat, 409, 'sign-up with a reserved handle');

  // Explicit receiving account: Bob's second USD account for the key only.
  const bobSecond = await bob.openAccount('USD');
  await until(async () => {
    const r = await put(bob, `/v1/me/aliases/${key.body.id as string}/accounts/USD`, { accountId: bobSecond });
    return r.status === 200 ? true : undefined; // 404 until the account's event has arrived
  }, 'the second account to be known');
  assert.equal((await ana.get(`/v1/aliases/${key.body.alias as string}?currency=USD`)).body.accountId, bobSecond);
  expectStatus(await del(bob, `/v1/me/aliases/${key.body.id as string}/accounts/USD`), 200, 'unlink');
  expectStatus(await ana.get(`/v1/aliases/${key.body.alias as string}?currency=USD`), 404, 'unlinked');

  // A frozen account receives nothing through its aliases; unfrozen, it does again. (Dan looks up:
  // Ana's misses above took most of her lookup budget.)
  const dan = new WalletClient(stack.gatewayUrl);
  await dan.signUp(`dan_${tag}`, 'Dan');
  expectStatus(await operator.post(`/v1/accounts/${bobAccount}/freeze`), 200, 'freeze');
  await until(async () => ((await myAliases(bob)).find((a) => a.id === emailId)?.accounts[0]?.status === 'frozen' ? true : undefined), 'the freeze to reach the alias service');
  const hidden = await dan.get(`/v1/aliases/${encodeURIComponent(email)}?currency=USD`);
  expectStatus(hidden, 404, 'lookup of a frozen account');
  assert.equal(hidden.body.code, 'alias_not_found');
  const refused = await ana.transfer({ fromAccountId: anaAccount, to: { alias: email }, amount: '100', currency: 'USD' });
  assert.ok(['alias_not_found', 'account_frozen'].includes(refused.body.code!), JSON.stringify(refused.body));
  expectStatus(await operator.post(`/v1/accounts/${bobAccount}/unfreeze`), 200, 'unfreeze');
  await until(async () => ((await myAliases(bob)).find((a) => a.id === emailId)?.accounts[0]?.status === 'active' ? true : undefined), 'the unfreeze');
  expectStatus(await dan.get(`/v1/aliases/${encodeURIComponent(email)}?currency=USD`), 200, 'receives again');

  // Deleting frees the address.
  expectStatus(await del(bob, `/v1/me/aliases/${emailId}`), 204, 'delete');
  expectStatus(await dan.get(`/v1/aliases/${encodeURIComponent(email)}`), 404, 'deleted');

  // Lookups resist scraping: 30 parallel misses by a fresh person, exactly 100 / 20 = 5 answered.
  const cid = new WalletClient(stack.gatewayUrl);
  await cid.signUp(`cid_${tag}`, 'Cid');
  const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => cid.get(`/v1/aliases/ghost_${tag}_${i}`)));
  assert.equal(answers.filter((r) => r.status === 404).length, 5, answers.map((r) => r.status).join());
  const limited = answers.filter((r) => r.status === 429);
  assert.equal(limited.length, 25);
  assert.equal(limited[0]!.body.code, 'rate_limited');
  assert.ok(Number(limited[0]!.headers.get('retry-after')) > 0, 'Retry-After');
  // Unknown and known-without-account look the same; operators are not rationed.
  for (let i = 0; i < 8; i++) expectStatus(await operator.get(`/v1/aliases/ghost_${tag}_${i}`), 404, 'operator lookup');

  // Everything is in the merged API docs, with summaries.
  const docs = await new WalletClient(stack.gatewayUrl).get('/docs/json');
  const paths = docs.body.paths as Record<string, Record<string, { summary?: string }>>;
  for (const [path, method] of [
    ['/v1/me/aliases', 'get'], ['/v1/me/aliases', 'post'], ['/v1/me/aliases/{id}/verify', 'post'], ['/v1/me/aliases/{id}/resend', 'post'],
    ['/v1/me/aliases/{id}/accounts/{currency}', 'put'], ['/v1/me/aliases/{id}/accounts/{currency}', 'delete'], ['/v1/me/aliases/{id}', 'delete'], ['/v1/aliases/{alias}', 'get'],
  ] as const) {
    assert.ok(paths[path]?.[method]?.summary, `${method.toUpperCase()} ${path} documented`);
  }
}

describe('alias directory, real mode: five processes, a real SMTP server', await needsInfra(), () => {
  let stack: Stack;
  let sink: SmtpSink;
  before(async () => {
    sink = await startSmtpSink();
    stack = await startRealStack({ ...pixBucket, SMTP_URL: sink.url, SMTP_FROM: 'Wallet <no-reply@wallet.test>' });
  });
  after(async () => {
    await stack?.stop();
    await sink?.close();
  });
  test('e-mail (over SMTP), phone, random keys, handle changes, frozen accounts, rationed lookups', async () => {
    const emailCode = async (to: string) => (await sink.waitFor(to)).code!;
    await runDirectoryFlows(stack, emailCode, undefined);
  });
});

describe('alias directory, embedded mode: one process, codes in the embedded outbox', () => {
  let stack: Stack;
  before(async () => {
    stack = await startEmbeddedStack(pixBucket);
  });
  after(async () => stack?.stop());
  test('e-mail and phone (from the outbox), random keys, handle changes, frozen accounts, rationed lookups', async () => {
    const fromOutbox = async (to: string) => {
      const message = await until(async () => embeddedOutbox.latest(to), `a code to ${to}`);
      return /\b(\d{6})\b/.exec(message.text)![1]!;
    };
    await runDirectoryFlows(stack, fromOutbox, fromOutbox);
  });
});
