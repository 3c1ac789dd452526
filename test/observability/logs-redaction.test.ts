// The services' own log output, captured from the five real processes while people sign up, get and
// refresh tokens, turn on a second factor, log in with it, verify an e-mail alias and change their
// password: no secret appears in any line, and every request line has the documented fields.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Writable } from 'node:stream';
import pino from 'pino';
import { logRedactPaths, logSecretKeys, loggedUrl } from '@wallet/kit';
import { needsInfra } from '@wallet/testkit';
import { totpCode } from '../../services/alias/src/auth/totp.ts';
import { startSmtpSink, type SmtpSink } from '../../services/alias/test/smtp-sink.ts';
import { WalletClient } from '../support/client.ts';
import { startRealStack, type Stack } from '../support/stack.ts';
import { captureLogs, startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.ts';

describe('logs of the real stack', await needsInfra(), () => {
  let receiver: OtlpReceiver;
  let sink: SmtpSink;
  let stack: Stack;
  const logs = captureLogs();
  const totpKey = randomBytes(32).toString('base64');
  before(async () => {
    receiver = await startOtlpReceiver();
    sink = await startSmtpSink();
    stack = await startRealStack(
      // Debug: the most the services ever write. Tracing on: request lines carry the trace id.
      { LOG_LEVEL: 'debug', SMTP_URL: sink.url, TOTP_ENCRYPTION_KEY: totpKey, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '200' },
      { onOutput: logs.onOutput },
    );
  });
  after(async () => {
    await stack?.stop();
    await sink?.close();
    await receiver?.close();
  });

  test('sign-up, tokens, TOTP, recovery codes and a verification code leave no secret in the logs', async () => {
    const tag = randomBytes(3).toString('hex');
    const handle = `lena_${tag}`;
    const password = `pw-${randomBytes(9).toString('base64url')}`;
    const secrets: string[] = [password, stack.operator.secret, stack.env!.INTERNAL_CLIENT_SECRET!, totpKey];
    /** Six-digit codes: matched only where no other digit touches them (timestamps are full of digits). */
    const codes: string[] = [];
    const ok = (r: { status: number; body: unknown }, status = 200) => assert.equal(r.status, status, JSON.stringify(r.body));

    const lena = new WalletClient(stack.gatewayUrl);
    await lena.signUp(handle, 'Lena Test', password);
    const login = await lena.login(handle, password);
    ok(login);
    const refreshed = await lena.form({ grant_type: 'refresh_token', refresh_token: login.body.refresh_token as string });
    ok(refreshed);
    lena.token = refreshed.body.access_token as string;
    secrets.push(login.body.access_token as string, login.body.refresh_token as string, refreshed.body.access_token as string, refreshed.body.refresh_token as string);
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    secrets.push(wrong);
    assert.equal((await lena.form({ grant_type: 'password', username: handle, password: wrong })).status, 400);
    const operator = new WalletClient(stack.gatewayUrl);
    const operatorLogin = await operator.loginClient(stack.operator.id, stack.operator.secret);
    ok(operatorLogin);
    secrets.push(operatorLogin.body.access_token as string);

    // A second factor: the secret, its URI, a first code, ten recovery codes; then logins that need a code.
    const enrol = await lena.post('/v1/me/totp', { password });
    ok(enrol, 201);
    const totpSecret = enrol.body.secret as string;
    secrets.push(totpSecret, enrol.body.otpauthUri as string);
    const first = totpCode(totpSecret, Date.now());
    codes.push(first);
    const confirmed = await lena.post('/v1/me/totp/confirm', { code: first });
    ok(confirmed);
    const recoveryCodes = confirmed.body.recoveryCodes as string[];
    secrets.push(...recoveryCodes);
    const next = totpCode(totpSecret, Date.now() + 30_000);
    codes.push(next);
    const withCode = await new WalletClient(stack.gatewayUrl).form({ grant_type: 'password', username: handle, password, totp: next });
    ok(withCode);
    const withRecovery = await new WalletClient(stack.gatewayUrl).form({ grant_type: 'password', username: handle, password, recovery_code: recoveryCodes[0]! });
    ok(withRecovery);
    secrets.push(withCode.body.access_token as string, withRecovery.body.access_token as string, withRecovery.body.refresh_token as string);

    // A verification code by e-mail (the SMTP sink reads it), then checked.
    const address = `lena.${tag}@example.test`;
    const added = await lena.post('/v1/me/aliases', { type: 'email', value: address });
    ok(added, 201);
    const mail = await sink.waitFor(address);
    assert.ok(mail.code);
    codes.push(mail.code);
    ok(await lena.post(`/v1/me/aliases/${added.body.id as string}/verify`, { code: mail.code }));

    // Secrets where nothing should send them: a cookie and the query string.
    const cookie = `session=${randomBytes(12).toString('hex')}`;
    const queryToken = randomBytes(12).toString('hex');
    secrets.push(cookie, queryToken);
    const me = await lena.request('GET', `/v1/me?access_token=${queryToken}&view=full`, undefined, { cookie });
    ok(me);
    const requestId = me.headers.get('x-request-id')!;

    // Revoking and a password change end it all.
    ok(await lena.post('/v1/auth/revoke', { token: withRecovery.body.refresh_token as string }));
    const newPassword = `pw2-${randomBytes(9).toString('base64url')}`;
    secrets.push(newPassword);
    ok(await lena.post('/v1/me/password', { currentPassword: password, newPassword }));

    await new Promise((resolve) => setTimeout(resolve, 1000)); // the last lines through the pipes

    const lines = logs.lines;
    const requestLines = lines.filter((l) => l.json?.msg === 'request');
    assert.ok(requestLines.filter((l) => l.service === 'gateway').length >= 15, 'the gateway logged the requests');
    assert.ok(requestLines.filter((l) => l.service === 'alias').length >= 15, 'the alias service logged the requests');
    for (const line of lines) {
      for (const secret of secrets) assert.ok(!line.raw.includes(secret), `a secret (${secret.slice(0, 4)}…) in a ${line.service} line: ${line.raw}`);
      // A token's signature alone is a leak too.
      for (const secret of secrets.filter((s) => s.split('.').length === 3)) assert.ok(!line.raw.includes(secret.split('.')[2]!), `a token signature in ${line.raw}`);
      for (const code of codes) assert.ok(!new RegExp(`(?<!\\d)${code}(?!\\d)`).test(line.raw), `a code (${code}) in a ${line.service} line: ${line.raw}`);
    }

    // Every line is JSON; every request line has the documented fields.
    assert.deepEqual(lines.filter((l) => !l.json).map((l) => l.raw), []);
    for (const { service, json } of requestLines) {
      const line = json!;
      assert.equal(line.level, 30);
      assert.equal(typeof line.time, 'number');
      assert.equal(line.service, service);
      assert.match(String(line.reqId), /^[A-Za-z0-9._:-]{1,100}$/);
      assert.match(String(line.method), /^[A-Z]+$/);
      assert.equal(typeof line.url, 'string');
      assert.equal(typeof line.route, 'string');
      assert.equal(typeof line.status, 'number');
      assert.equal(typeof line.ms, 'number');
      assert.match(String(line.trace_id), /^[0-9a-f]{32}$/, JSON.stringify(line));
      assert.match(String(line.span_id), /^[0-9a-f]{16}$/, JSON.stringify(line));
    }
    // Any line written while handling a request (inside its span) carries the trace too.
    const inRequests = lines.filter((l) => l.json?.reqId !== undefined);
    assert.ok(inRequests.some((l) => l.json!.msg !== 'request'), 'some lines other than request lines were written during requests');
    for (const l of inRequests) assert.match(String(l.json!.trace_id), /^[0-9a-f]{32}$/, l.raw);

    // One request, one id and one trace in both services' lines; the query secret replaced.
    const both = requestLines.filter((l) => l.json!.reqId === requestId);
    assert.deepEqual(both.map((l) => l.service).sort(), ['alias', 'gateway']);
    assert.equal(both[0]!.json!.trace_id, both[1]!.json!.trace_id);
    for (const l of both) assert.equal(l.json!.url, '/v1/me?access_token=[redacted]&view=full');
    const alias = both.find((l) => l.service === 'alias')!.json!;
    assert.equal(alias.route, '/v1/me');
    assert.equal(alias.caller, me.body.id);
  });
});

test('the redaction list covers every secret key at the depths services log objects', () => {
  const out: string[] = [];
  const log = pino({ redact: { paths: logRedactPaths, censor: '[redacted]' } }, new Writable({ write: (chunk, _enc, done) => void (out.push(String(chunk)), done()) }));
  const value = (key: string) => `secret-value-of-${key}`;
  const bag = Object.fromEntries(logSecretKeys.map((k) => [k, value(k)]));
  log.info({ ...bag, body: bag, notification: { nested: bag }, req: { headers: { authorization: 'Bearer abc.def.ghi', cookie: 'sid=1' } }, res: { headers: { 'set-cookie': 'sid=2' } } }, 'everything');
  assert.equal(out.length, 1);
  for (const key of logSecretKeys) assert.ok(!out[0]!.includes(value(key)), `${key} not redacted: ${out[0]}`);
  for (const leaked of ['abc.def.ghi', 'sid=1', 'sid=2']) assert.ok(!out[0]!.includes(leaked), leaked);
  const parsed = JSON.parse(out[0]!);
  assert.equal(parsed.body.password, '[redacted]');
  assert.equal(parsed.notification.nested.client_secret, '[redacted]');
  assert.equal(loggedUrl('/v1/x?id_token=a&refresh_token=b&page=2&code=123456'), '/v1/x?id_token=[redacted]&refresh_token=[redacted]&page=2&code=[redacted]');
  assert.equal(loggedUrl('/v1/x?page=2'), '/v1/x?page=2');
});
