// The alias directory on real PostgreSQL, RabbitMQ and Redis: e-mail, phone and random-key aliases,
// ownership codes, handle changes, receiving accounts, frozen accounts and rationed lookups.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { eventTypes, type AccountOpened, type AccountStatusChanged } from '@wallet/contracts';
import { envelope, type RunningService } from '@wallet/kit';
import { createTestInfra, eventually, needsInfra, type TestInfra } from '@wallet/testkit';
import { createAliasService } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { sweep } from '../src/directory/own-aliases.ts';
import type { Notification, Notifier } from '../src/notify/index.ts';
import { assertProblem, count, get, login, OPERATOR_ID, OPERATOR_SECRET, PASSWORD, serviceToken, signUp, testEnv, tokenRequest } from './helpers.ts';

interface OwnAlias {
  id: string;
  alias: string;
  type: string;
  status: 'active' | 'pending';
  verified: boolean;
  expiresAt?: string;
  accounts: { currency: string; accountId: string; status: string }[];
}

function captureNotifier() {
  const sent: Notification[] = [];
  const notifier: Notifier = {
    async send(notification) {
      sent.push(notification);
    },
    async close() {},
  };
  const codeFor = (to: string) => {
    const message = [...sent].reverse().find((n) => n.to.toLowerCase() === to.toLowerCase());
    assert.ok(message, `a message to ${to}`);
    return /\b(\d{6})\b/.exec(message.text)![1]!;
  };
  return { sent, notifier, codeFor };
}

let clock = Date.now();
function opened(ownerId: string, currency: string): AccountOpened {
  // Distinct opening times: "the oldest account" must not depend on ids.
  clock += 1000;
  return { accountId: randomUUID(), ownerId, currency, type: 'user', status: 'active', name: currency, overdraftLimit: '0', createdAt: new Date(clock).toISOString() };
}

describe('alias directory', await needsInfra(), () => {
  let infra: TestInfra;
  let alias: RunningService;
  const mail = captureNotifier();

  before(async () => {
    infra = await createTestInfra();
    alias = await createAliasService(loadConfig(testEnv(infra)), infra, { notifier: mail.notifier });
    await alias.start();
  });
  after(async () => {
    await alias?.stop();
    await infra?.destroy();
  });

  const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token: string, payload?: unknown) =>
    alias.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload === undefined ? {} : { payload: payload as object }) });

  let n = 0;
  /** A new person with a token; handles are unique per call. */
  const person = async (name = 'Pat Doe') => {
    const handle = `p${Date.now().toString(36)}_${n++}`;
    const user = await signUp(alias, handle, name);
    return { ...user, handle, token: (await login(alias, handle)).access_token };
  };
  const add = async (token: string, body: object, status = 201) => {
    const response = await call('POST', '/v1/me/aliases', token, body);
    assert.equal(response.statusCode, status, response.body);
    return response.json<OwnAlias>();
  };
  const verify = (token: string, id: string, code: string) => call('POST', `/v1/me/aliases/${id}/verify`, token, { code });
  const list = async (token: string) => (await call('GET', '/v1/me/aliases', token)).json<{ aliases: OwnAlias[]; max: number; handleChangesRemaining: number; reservedHandles: { handle: string }[] }>();
  const publish = (...events: ReturnType<typeof envelope>[]) => infra.bus.publish(events);
  const accountKnown = (accountId: string) =>
    eventually(async () => ((await infra.db.query(`SELECT 1 FROM alias.accounts WHERE id = $1`, [accountId])).rowCount > 0 ? true : undefined), 10_000, 'account event');
  const statusIs = (accountId: string, status: string) =>
    eventually(async () => ((await infra.db.query(`SELECT 1 FROM alias.accounts WHERE id = $1 AND status = $2`, [accountId, status])).rowCount > 0 ? true : undefined), 10_000, status);
  let svc: string;
  let operator: string;
  before(async () => {
    svc = await serviceToken(alias);
    const response = await tokenRequest(alias, { grant_type: 'client_credentials', client_id: OPERATOR_ID, client_secret: OPERATOR_SECRET });
    operator = response.json<{ access_token: string }>().access_token;
  });
  const lookupAs = (token: string, value: string, currency?: string) => get(alias, `/v1/aliases/${encodeURIComponent(value)}${currency ? `?currency=${currency}` : ''}`, token);

  test('an e-mail alias is pending until the code sent there is entered; then it receives like the handle', async () => {
    const ana = await person('Ana Paula Pereira');
    const usd = opened(ana.id, 'USD');
    await publish(envelope('account', eventTypes.accountOpened, usd));
    await accountKnown(usd.accountId);

    const pending = await add(ana.token, { type: 'email', value: 'Ana.Pereira@Example.com' });
    assert.equal(pending.status, 'pending');
    assert.equal(pending.verified, false);
    assert.equal(pending.alias, 'Ana.Pereira@Example.com');
    assert.ok(pending.expiresAt && Date.parse(pending.expiresAt) > Date.now() + 9 * 60_000);
    assert.deepEqual(pending.accounts, []);
    const sent = mail.sent.filter((m) => m.to === 'Ana.Pereira@Example.com');
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.channel, 'email');
    // Only a keyed hash is stored.
    const code = mail.codeFor('Ana.Pereira@Example.com');
    const stored = await infra.db.query<{ code_hash: string }>(`SELECT code_hash FROM alias.alias_verifications WHERE alias_id = $1`, [pending.id]);
    assert.equal(stored.rows.length, 1);
    assert.ok(!stored.rows[0]!.code_hash.includes(code));

    // Pending: not payable, not a login.
    assertProblem(await lookupAs(svc, 'ana.pereira@example.com'), 404, 'alias_not_found');
    assert.equal((await tokenRequest(alias, { grant_type: 'password', username: 'ana.pereira@example.com', password: PASSWORD })).statusCode, 400);
    // The same address again, in any casing: already added.
    assertProblem(await call('POST', '/v1/me/aliases', ana.token, { type: 'email', value: 'ANA.PEREIRA@example.COM' }), 409, 'alias_already_added');

    const wrong = code === '000000' ? '000001' : '000000';
    const refused = assertProblem(await verify(ana.token, pending.id, wrong), 422, 'verification_code_invalid') as Record<string, unknown>;
    assert.equal(refused.attemptsRemaining, 4);
    const verified = await verify(ana.token, pending.id, code);
    assert.equal(verified.statusCode, 200, verified.body);
    const active = verified.json<OwnAlias>();
    assert.equal(active.status, 'active');
    assert.deepEqual(active.accounts, [{ currency: 'USD', accountId: usd.accountId, status: 'active' }], 'linked to the oldest active account');
    // Verifying again (a retried request) answers the alias as it is.
    assert.equal((await verify(ana.token, pending.id, code)).statusCode, 200);

    const found = await lookupAs(svc, 'ANA.pereira@example.com', 'USD');
    assert.equal(found.statusCode, 200, found.body);
    assert.deepEqual(found.json(), { alias: 'Ana.Pereira@Example.com', type: 'email', displayName: 'Ana P.', accountId: usd.accountId, currency: 'USD' });
    // A verified e-mail address is a username too.
    assert.equal((await tokenRequest(alias, { grant_type: 'password', username: 'ana.pereira@example.com', password: PASSWORD })).statusCode, 200);
  });

  test('pending claims do not block anyone: the first to verify wins, the others learn it only with the code', async () => {
    const [bob, carol, dan] = [await person('Bob'), await person('Carol'), await person('Dan')];
    const address = `shared.${randomUUID().slice(0, 8)}@example.org`;
    const bobs = await add(bob.token, { type: 'email', value: address });
    const bobCode = mail.codeFor(address);
    const carols = await add(carol.token, { type: 'email', value: address.toUpperCase() });
    const carolCode = mail.codeFor(address);
    assert.equal((await verify(carol.token, carols.id, carolCode)).statusCode, 200);
    assertProblem(await verify(bob.token, bobs.id, bobCode), 409, 'alias_taken');
    assert.equal((await list(bob.token)).aliases.some((a) => a.id === bobs.id), false, "Bob's claim is gone");
    // Adding a taken address looks exactly like adding a free one; only its code tells.
    const dans = await add(dan.token, { type: 'email', value: address });
    assert.equal(dans.status, 'pending');
    assertProblem(await verify(dan.token, dans.id, mail.codeFor(address)), 409, 'alias_taken');
    // Nobody can verify a claim with someone else's alias id.
    assertProblem(await verify(dan.token, carols.id, carolCode), 404, 'alias_not_found');
  });

  test('5 wrong codes kill the code; resends are limited; a new code replaces the old one', async () => {
    const eve = await person('Eve');
    const address = `eve.${randomUUID().slice(0, 8)}@example.net`;
    const claim = await add(eve.token, { type: 'email', value: address });
    const first = mail.codeFor(address);
    const wrong = first === '999999' ? '999998' : '999999';
    for (let i = 4; i >= 0; i--) assert.equal((assertProblem(await verify(eve.token, claim.id, wrong), 422, 'verification_code_invalid') as Record<string, unknown>).attemptsRemaining, i);
    assertProblem(await verify(eve.token, claim.id, first), 422, 'verification_attempts_exceeded');

    // Within 60 s of the last code: 429 with Retry-After, nothing sent.
    const before = mail.sent.length;
    const tooSoon = await call('POST', `/v1/me/aliases/${claim.id}/resend`, eve.token);
    assertProblem(tooSoon, 429, 'rate_limited');
    const retryAfter = Number(tooSoon.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, String(retryAfter));
    assert.equal(mail.sent.length, before);

    await infra.db.query(`UPDATE alias.verification_sends SET sent_at = sent_at - interval '61 seconds' WHERE user_id = $1`, [eve.id]);
    const resent = await call('POST', `/v1/me/aliases/${claim.id}/resend`, eve.token);
    assert.equal(resent.statusCode, 200, resent.body);
    const second = mail.codeFor(address);
    assert.equal(mail.sent.length, before + 1);
    if (second !== first) assertProblem(await verify(eve.token, claim.id, first), 422, 'verification_code_invalid');
    assert.equal((await verify(eve.token, claim.id, second)).statusCode, 200);
    assertProblem(await call('POST', `/v1/me/aliases/${claim.id}/resend`, eve.token), 409, 'alias_not_pending');
  });

  test('at most 5 codes an hour to one address, even across delete and add again', async () => {
    const fay = await person('Fay');
    const address = `fay.${randomUUID().slice(0, 8)}@example.com`;
    for (let i = 0; i < 5; i++) {
      const claim = await add(fay.token, { type: 'email', value: address });
      assert.equal((await call('DELETE', `/v1/me/aliases/${claim.id}`, fay.token)).statusCode, 204);
      await infra.db.query(`UPDATE alias.verification_sends SET sent_at = sent_at - interval '61 seconds' WHERE user_id = $1`, [fay.id]);
    }
    const aliasesBefore = await count(infra, 'aliases');
    const sixth = await call('POST', '/v1/me/aliases', fay.token, { type: 'email', value: address });
    assertProblem(sixth, 429, 'rate_limited');
    assert.ok(Number(sixth.headers['retry-after']) > 60 * 50, 'the oldest send leaves the hour in about 55 minutes');
    assert.equal(await count(infra, 'aliases'), aliasesBefore, 'nothing created');
  });

  test('an expired claim is dead: its code fails, it is gone and counts for nothing', async () => {
    const gus = await person('Gus');
    const address = `gus.${randomUUID().slice(0, 8)}@example.com`;
    const claim = await add(gus.token, { type: 'email', value: address });
    await infra.db.query(`UPDATE alias.alias_verifications SET expires_at = now() - interval '1 second' WHERE alias_id = $1`, [claim.id]);
    assertProblem(await verify(gus.token, claim.id, mail.codeFor(address)), 422, 'verification_code_expired');
    assert.equal((await list(gus.token)).aliases.length, 1, 'only the handle');
    // Someone else's dead claim does not stand in the way either.
    const hal = await person('Hal');
    const other = await add(hal.token, { type: 'email', value: `x${address}` });
    await infra.db.query(`UPDATE alias.alias_verifications SET expires_at = now() - interval '1 second' WHERE alias_id = $1`, [other.id]);
    const listed = await list(hal.token);
    assert.equal(listed.aliases.some((a) => a.id === other.id), false, 'swept when listed');
  });

  test('housekeeping removes dead claims, old sends and ended reservations, nothing else', async () => {
    const uma = await person('Uma');
    const address = `uma.${randomUUID().slice(0, 8)}@example.com`;
    const live = await add(uma.token, { type: 'email', value: `live.${address}` });
    const dead = await add(uma.token, { type: 'email', value: address });
    await infra.db.query(`UPDATE alias.alias_verifications SET expires_at = now() - interval '1 second' WHERE alias_id = $1`, [dead.id]);
    await infra.db.query(`UPDATE alias.verification_sends SET sent_at = sent_at - interval '2 hours' WHERE user_id = $1 AND value = $2`, [uma.id, address]);
    await infra.db.query(`INSERT INTO alias.handle_reservations (value, user_id, display_value, reserved_until) VALUES ($1, $2, $1, now() - interval '1 second')`, [`old_${uma.handle}`, uma.id]);
    await sweep(infra.db, new Date());
    const ids = (await infra.db.query<{ id: string }>(`SELECT id FROM alias.aliases WHERE user_id = $1`, [uma.id])).rows.map((r) => r.id);
    assert.ok(ids.includes(live.id) && !ids.includes(dead.id));
    assert.equal((await infra.db.query(`SELECT 1 FROM alias.verification_sends WHERE user_id = $1`, [uma.id])).rows.length, 1, 'the live claim\'s send stays');
    assert.equal((await infra.db.query(`SELECT 1 FROM alias.handle_reservations WHERE user_id = $1`, [uma.id])).rows.length, 0);
  });

  test('phone aliases: E.164, the code goes by SMS; random keys are generated and active at once', async () => {
    const ivy = await person('Ivy Lee');
    const brl = opened(ivy.id, 'BRL');
    await publish(envelope('account', eventTypes.accountOpened, brl));
    await accountKnown(brl.accountId);
    const number = `+55 11 9${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    const e164 = number.replaceAll(' ', '');
    const phone = await add(ivy.token, { type: 'phone', value: number });
    assert.equal(phone.alias, e164);
    const text = mail.sent.at(-1)!;
    assert.equal(text.channel, 'sms');
    assert.equal(text.to, e164);
    assert.equal((await verify(ivy.token, phone.id, mail.codeFor(e164))).statusCode, 200);
    const byPhone = await lookupAs(svc, e164);
    assert.equal(byPhone.json<{ accountId: string; type: string }>().accountId, brl.accountId);
    assert.equal(byPhone.json<{ type: string }>().type, 'phone');

    const sentBefore = mail.sent.length;
    const random = await add(ivy.token, { type: 'random' });
    assert.equal(random.status, 'active');
    assert.match(random.alias, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(mail.sent.length, sentBefore, 'no code for a random key');
    assert.deepEqual(random.accounts, [{ currency: 'BRL', accountId: brl.accountId, status: 'active' }]);
    const byKey = await lookupAs(svc, random.alias.toUpperCase(), 'BRL');
    assert.equal(byKey.statusCode, 200);
    assert.equal(byKey.json<{ alias: string }>().alias, random.alias);
    assertProblem(await call('POST', '/v1/me/aliases', ivy.token, { type: 'random', value: randomUUID() }), 400, 'validation_failed');
  });

  test('at most ALIASES_PER_USER_MAX aliases, also under concurrent adds', async () => {
    const jay = await person('Jay');
    const results = await Promise.all(Array.from({ length: 8 }, () => call('POST', '/v1/me/aliases', jay.token, { type: 'random' })));
    const statuses = results.map((r) => r.statusCode).sort();
    assert.deepEqual(statuses, [201, 201, 201, 201, 422, 422, 422, 422], 'the handle and 4 more');
    const refused = results.find((r) => r.statusCode === 422)!;
    assert.equal((assertProblem(refused, 422, 'alias_limit_reached') as Record<string, unknown>).max, 5);
    const listed = await list(jay.token);
    assert.equal(listed.aliases.length, 5);
    assert.equal(listed.max, 5);
    // A pending claim counts too; deleting frees a place.
    assertProblem(await call('POST', '/v1/me/aliases', jay.token, { type: 'email', value: 'jay@example.com' }), 422, 'alias_limit_reached');
    const random = listed.aliases.find((a) => a.type === 'random')!;
    assert.equal((await call('DELETE', `/v1/me/aliases/${random.id}`, jay.token)).statusCode, 204);
    assertProblem(await lookupAs(svc, random.alias), 404, 'alias_not_found');
    await add(jay.token, { type: 'email', value: `jay.${randomUUID().slice(0, 8)}@example.com` });
  });

  test('handles: changed at most twice, old ones reserved to their owner, who may switch back', async () => {
    const kim = await person('Kim');
    const usd = opened(kim.id, 'USD');
    await publish(envelope('account', eventTypes.accountOpened, usd));
    await accountKnown(usd.accountId);
    await eventually(async () => ((await lookupAs(svc, kim.handle)).statusCode === 200 ? true : undefined), 10_000, 'linked');
    const original = kim.handle;
    const next = `${original}_x`;

    const changed = await add(kim.token, { type: 'handle', value: `@${next.toUpperCase()}` }, 200);
    assert.equal(changed.alias, `@${next.toUpperCase()}`);
    assert.deepEqual(changed.accounts.map((a) => a.accountId), [usd.accountId], 'same alias, same links');
    assertProblem(await lookupAs(svc, original), 404, 'alias_not_found');
    assert.equal((await lookupAs(svc, next)).json<{ accountId: string }>().accountId, usd.accountId);
    // The new handle logs in, the old one does not.
    assert.equal((await tokenRequest(alias, { grant_type: 'password', username: next, password: PASSWORD })).statusCode, 200);
    assert.equal((await tokenRequest(alias, { grant_type: 'password', username: original, password: PASSWORD })).statusCode, 400);

    const listed = await list(kim.token);
    assert.equal(listed.handleChangesRemaining, 1);
    assert.deepEqual(listed.reservedHandles.map((r) => r.handle), [`@${original}`]);
    // Reserved: nobody else signs up with it or changes to it.
    const signUpTaken = await alias.app.inject({ method: 'POST', url: '/v1/users', payload: { handle: original, password: PASSWORD, displayName: 'Squatter' } });
    assertProblem(signUpTaken, 409, 'handle_taken');
    const leo = await person('Leo');
    assertProblem(await call('POST', '/v1/me/aliases', leo.token, { type: 'handle', value: original }), 409, 'alias_taken');
    assertProblem(await call('POST', '/v1/me/aliases', leo.token, { type: 'handle', value: next }), 409, 'alias_taken');
    assertProblem(await call('POST', '/v1/me/aliases', leo.token, { type: 'handle', value: 'support' }), 422, 'handle_reserved');

    // Switching back is the second change; a third is refused; casing alone is always free.
    await add(kim.token, { type: 'handle', value: original }, 200);
    assertProblem(await call('POST', '/v1/me/aliases', kim.token, { type: 'handle', value: `${original}_y` }), 422, 'handle_change_limit_reached');
    const cased = await add(kim.token, { type: 'handle', value: original.toUpperCase() }, 200);
    assert.equal(cased.alias, `@${original.toUpperCase()}`);
    assert.equal((await list(kim.token)).handleChangesRemaining, 0);
    // The handle is changed, never deleted.
    assertProblem(await call('DELETE', `/v1/me/aliases/${cased.id}`, kim.token), 422, 'handle_not_deletable');

    // After the reservation the left handle is anyone's.
    await infra.db.query(`UPDATE alias.handle_reservations SET reserved_until = now() - interval '1 second' WHERE user_id = $1`, [kim.id]);
    assert.equal((await add(leo.token, { type: 'handle', value: next }, 200)).alias, `@${next}`);
  });

  test('receiving accounts: explicit link and unlink per currency; only active accounts of the owner', async () => {
    const mia = await person('Mia Wong');
    const [usdA, usdB, eur] = [opened(mia.id, 'USD'), opened(mia.id, 'USD'), opened(mia.id, 'EUR')];
    await publish(envelope('account', eventTypes.accountOpened, usdA));
    await accountKnown(usdA.accountId);
    await publish(envelope('account', eventTypes.accountOpened, usdB), envelope('account', eventTypes.accountOpened, eur));
    await accountKnown(usdB.accountId);
    await accountKnown(eur.accountId);
    const key = await add(mia.token, { type: 'random' });
    assert.deepEqual(new Set(key.accounts.map((a) => a.accountId)), new Set([usdA.accountId, eur.accountId]), 'oldest active per currency');

    const linked = await call('PUT', `/v1/me/aliases/${key.id}/accounts/USD`, mia.token, { accountId: usdB.accountId });
    assert.equal(linked.statusCode, 200, linked.body);
    assert.equal((await lookupAs(svc, key.alias, 'USD')).json<{ accountId: string }>().accountId, usdB.accountId);
    assert.equal((await lookupAs(svc, mia.handle, 'USD')).json<{ accountId: string }>().accountId, usdA.accountId, 'the handle keeps its own');

    assertProblem(await call('PUT', `/v1/me/aliases/${key.id}/accounts/USD`, mia.token, { accountId: eur.accountId }), 422, 'currency_mismatch');
    const stranger = await person('Ned');
    const theirs = opened(stranger.id, 'USD');
    await publish(envelope('account', eventTypes.accountOpened, theirs));
    await accountKnown(theirs.accountId);
    assertProblem(await call('PUT', `/v1/me/aliases/${key.id}/accounts/USD`, mia.token, { accountId: theirs.accountId }), 404, 'account_not_found');
    assertProblem(await call('PUT', `/v1/me/aliases/${key.id}/accounts/USD`, mia.token, { accountId: randomUUID() }), 404, 'account_not_found');
    assertProblem(await call('PUT', `/v1/me/aliases/${key.id}/accounts/USD`, stranger.token, { accountId: theirs.accountId }), 404, 'alias_not_found');
    assertProblem(await call('PUT', `/v1/me/aliases/${key.id}/accounts/usd`, mia.token, { accountId: usdA.accountId }), 400, 'validation_failed');
    const pending = await add(mia.token, { type: 'email', value: `mia.${randomUUID().slice(0, 8)}@example.com` });
    assertProblem(await call('PUT', `/v1/me/aliases/${pending.id}/accounts/USD`, mia.token, { accountId: usdA.accountId }), 409, 'alias_not_verified');

    // Unlinked: not payable in USD, and a new USD account does not link it again.
    const unlinked = await call('DELETE', `/v1/me/aliases/${key.id}/accounts/USD`, mia.token);
    assert.equal(unlinked.statusCode, 200);
    assert.deepEqual(unlinked.json<OwnAlias>().accounts.map((a) => a.currency), ['EUR']);
    assertProblem(await lookupAs(svc, key.alias, 'USD'), 404, 'alias_not_found');
    const usdC = opened(mia.id, 'USD');
    await publish(envelope('account', eventTypes.accountOpened, usdC));
    await accountKnown(usdC.accountId);
    assertProblem(await lookupAs(svc, key.alias, 'USD'), 404, 'alias_not_found');
    assert.equal((await call('PUT', `/v1/me/aliases/${key.id}/accounts/USD`, mia.token, { accountId: usdC.accountId })).statusCode, 200);
    assert.equal((await lookupAs(svc, key.alias, 'USD')).json<{ accountId: string }>().accountId, usdC.accountId);

    // Frozen accounts are refused as targets.
    const frozen: AccountStatusChanged = { accountId: usdB.accountId, ownerId: mia.id, status: 'frozen', previousStatus: 'active', changedAt: new Date().toISOString() };
    await publish(envelope('account', eventTypes.accountStatusChanged, frozen));
    await statusIs(usdB.accountId, 'frozen');
    assertProblem(await call('PUT', `/v1/me/aliases/${key.id}/accounts/USD`, mia.token, { accountId: usdB.accountId }), 422, 'account_frozen');
  });

  test('a frozen or closed account receives nothing through an alias, on either route', async () => {
    const ola = await person('Ola');
    const usd = opened(ola.id, 'USD');
    await publish(envelope('account', eventTypes.accountOpened, usd));
    await accountKnown(usd.accountId);
    const internal = (value: string) => get(alias, `/internal/aliases/${value}?currency=USD`, svc);
    assert.equal((await internal(ola.handle)).statusCode, 200);

    const t0 = Date.now();
    const change = (status: 'frozen' | 'active' | 'closed', previousStatus: 'frozen' | 'active', at: number): AccountStatusChanged => ({
      accountId: usd.accountId, ownerId: ola.id, status, previousStatus, changedAt: new Date(at).toISOString(),
    });
    await publish(envelope('account', eventTypes.accountStatusChanged, change('frozen', 'active', t0)));
    await statusIs(usd.accountId, 'frozen');
    const hidden = assertProblem(await lookupAs(svc, ola.handle, 'USD'), 404, 'alias_not_found');
    assert.deepEqual(hidden, assertProblem(await lookupAs(svc, 'nobody_here_at_all', 'USD'), 404, 'alias_not_found'));
    assertProblem(await internal(ola.handle), 404, 'alias_not_found');
    // The link stays while frozen: unfrozen, it receives again.
    await publish(envelope('account', eventTypes.accountStatusChanged, change('active', 'frozen', t0 + 2000)));
    await statusIs(usd.accountId, 'active');
    assert.equal((await internal(ola.handle)).statusCode, 200);
    // A late, older freeze changes nothing.
    await publish(envelope('account', eventTypes.accountStatusChanged, change('frozen', 'active', t0 + 1000)));
    const marker = opened(ola.id, 'JPY');
    await publish(envelope('account', eventTypes.accountOpened, marker));
    await accountKnown(marker.accountId);
    assert.equal((await internal(ola.handle)).statusCode, 200);
    // Closed: gone for good.
    await publish(envelope('account', eventTypes.accountStatusChanged, change('closed', 'active', t0 + 3000)));
    await statusIs(usd.accountId, 'closed');
    assertProblem(await internal(ola.handle), 404, 'alias_not_found');
  });

  test('lookups are rationed per person: misses cost 20, hits 1, an empty bucket is 429 with Retry-After', async () => {
    const payer = await person('Payer');
    const payee = await person('Payee Person');
    const usd = opened(payee.id, 'USD');
    await publish(envelope('account', eventTypes.accountOpened, usd));
    await accountKnown(usd.accountId);
    const noAccount = await person('No Account'); // known, but without a receiving account

    // 100 tokens: 4 misses take 80, whether the alias is unknown or known without an account …
    assertProblem(await lookupAs(payer.token, `unknown_${randomUUID().slice(0, 6)}`), 404, 'alias_not_found');
    const unknown = assertProblem(await lookupAs(payer.token, 'nobody_at_all_here'), 404, 'alias_not_found');
    const known = assertProblem(await lookupAs(payer.token, noAccount.handle), 404, 'alias_not_found');
    assert.deepEqual(known, unknown, 'a known alias without an account answers like an unknown one');
    assertProblem(await lookupAs(payer.token, `a${randomUUID().slice(0, 8)}@example.com`), 404, 'alias_not_found');
    // … a hit needs 20 to start and costs 1: 19 left, so the next one cannot start.
    assert.equal((await lookupAs(payer.token, payee.handle)).statusCode, 200);
    const refused = await lookupAs(payer.token, payee.handle);
    assertProblem(refused, 429, 'rate_limited');
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter >= 29 && retryAfter <= 31, `1 token at 2 a minute: ${retryAfter} s`);
    // A miss is refused the same way: nothing is looked up.
    assertProblem(await lookupAs(payer.token, 'nobody_at_all_here'), 429, 'rate_limited');

    // Others have their own buckets; operators and services are not rationed.
    assert.equal((await lookupAs(payee.token, payee.handle)).statusCode, 200);
    for (let i = 0; i < 10; i++) {
      assertProblem(await lookupAs(operator, `nobody_${i}_x`), 404, 'alias_not_found');
      assertProblem(await lookupAs(svc, `nobody_${i}_x`), 404, 'alias_not_found');
    }
    // Bad input costs nothing.
    const fresh = await person('Fresh');
    for (let i = 0; i < 10; i++) assertProblem(await lookupAs(fresh.token, payee.handle, 'usd'), 400, 'validation_failed');
    for (let i = 0; i < 5; i++) assertProblem(await lookupAs(fresh.token, 'nobody_at_all_here'), 404, 'alias_not_found');
    assertProblem(await lookupAs(fresh.token, 'nobody_at_all_here'), 429, 'rate_limited');
  });

  test('the bucket holds under concurrency: 30 parallel misses, exactly 5 answered', async () => {
    const racer = await person('Racer');
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => lookupAs(racer.token, `ghost_${i}_${randomUUID().slice(0, 6)}`)));
    const statuses = answers.map((r) => r.statusCode);
    assert.equal(statuses.filter((s) => s === 404).length, 5);
    assert.equal(statuses.filter((s) => s === 429).length, 25);
  });

  test('bad input is a 400 and changes nothing; people only', async () => {
    const pia = await person('Pia');
    const before = await count(infra, 'aliases');
    for (const body of [{ type: 'fax', value: '123' }, { type: 'email', value: 'not-an-address' }, { type: 'phone', value: '11 98765 4321' }, { type: 'email' }, { type: 'handle', value: 'x' }, { type: 'random', value: '' }]) {
      const response = await call('POST', '/v1/me/aliases', pia.token, body);
      assertProblem(response, 400, 'validation_failed');
    }
    assertProblem(await call('POST', `/v1/me/aliases/${randomUUID()}/verify`, pia.token, { code: '12345' }), 400, 'validation_failed');
    assertProblem(await call('POST', '/v1/me/aliases/not-a-uuid/verify', pia.token, { code: '123456' }), 400, 'validation_failed');
    assertProblem(await call('POST', `/v1/me/aliases/${randomUUID()}/verify`, pia.token, { code: '123456' }), 404, 'alias_not_found');
    assertProblem(await call('DELETE', `/v1/me/aliases/${randomUUID()}`, pia.token), 404, 'alias_not_found');
    assert.equal(await count(infra, 'aliases'), before);
    assertProblem(await call('GET', '/v1/me/aliases', svc), 403, 'forbidden');
    assertProblem(await call('POST', '/v1/me/aliases', operator, { type: 'random' }), 403, 'forbidden');
    assertProblem(await alias.app.inject({ method: 'POST', url: '/v1/me/aliases', payload: { type: 'random' } }), 401, 'unauthorized');
  });
});
