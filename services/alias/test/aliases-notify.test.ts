// Codes leave through the notifier: a real SMTP message when SMTP_URL is set, the log (and, in
// embedded mode only, the in-process outbox) otherwise; SMS always the log for now.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { RunningService } from '@wallet/kit';
import { createTestInfra, needsInfra, type TestInfra } from '@wallet/testkit';
import { createNotifier, embeddedOutbox } from '../src/notify/index.ts';
import { createSmtpNotifier } from '../src/notify/smtp.ts';
import { assertProblem, login, signUp, startAlias, testEnv } from './helpers.ts';
import { startSmtpSink, type SmtpSink } from './smtp-sink.ts';

function recordingLog() {
  const lines: { level: string; obj: object; msg: string }[] = [];
  return {
    lines,
    info: (obj: object, msg: string) => lines.push({ level: 'info', obj, msg }),
    warn: (obj: object, msg: string) => lines.push({ level: 'warn', obj, msg }),
  };
}

describe('notifier', () => {
  let sink: SmtpSink;
  before(async () => {
    sink = await startSmtpSink();
  });
  after(async () => sink?.close());

  test('SMTP: the message reaches a real SMTP server, from SMTP_FROM', async () => {
    const notifier = createSmtpNotifier(sink.url, 'Wallet <codes@wallet.test>');
    const to = `${randomUUID().slice(0, 8)}@example.com`;
    await notifier.send({ channel: 'email', to, subject: 'Your Wallet code: 123456', text: 'Your Wallet verification code is 123456.' });
    const mail = await sink.waitFor(to);
    assert.equal(mail.from, 'codes@wallet.test');
    assert.deepEqual(mail.to, [to]);
    assert.equal(mail.code, '123456');
    await notifier.close();
  });

  test('SMTP down: sending rejects (the caller answers 503)', async () => {
    const notifier = createSmtpNotifier('smtp://127.0.0.1:1', 'Wallet <codes@wallet.test>');
    await assert.rejects(notifier.send({ channel: 'email', to: 'a@example.com', subject: 's', text: 't' }));
    await notifier.close();
  });

  test('without SMTP_URL: the log, with a warning in real mode; the outbox only in embedded mode', async () => {
    const real = recordingLog();
    const to = `${randomUUID().slice(0, 8)}@example.com`;
    const inReal = createNotifier({ mode: 'real', smtpUrl: undefined, smtpFrom: 'x@y.z' }, real);
    assert.ok(real.lines.some((l) => l.level === 'warn' && /SMTP_URL/.test(l.msg)));
    assert.ok(real.lines.some((l) => l.level === 'warn' && /SMS/.test(l.msg)));
    await inReal.send({ channel: 'email', to, subject: 'Your Wallet code: 111111', text: 'code 111111' });
    assert.ok(real.lines.some((l) => l.level === 'info' && JSON.stringify(l.obj).includes('111111')));
    assert.equal(embeddedOutbox.latest(to), undefined, 'never kept in real mode');

    const embedded = recordingLog();
    const inEmbedded = createNotifier({ mode: 'embedded', smtpUrl: undefined, smtpFrom: 'x@y.z' }, embedded);
    assert.equal(embedded.lines.filter((l) => l.level === 'warn').length, 0);
    await inEmbedded.send({ channel: 'sms', to: '+5511987654321', subject: 'Your Wallet code: 222222', text: 'Wallet code: 222222.' });
    assert.equal(embeddedOutbox.latest('+5511987654321')?.text, 'Wallet code: 222222.');
    assert.match(embedded.lines.at(-1)!.msg, /SMS/);
  });
});

describe('verification e-mails over SMTP from the running service', await needsInfra(), () => {
  let infra: TestInfra;
  let sink: SmtpSink;
  let alias: RunningService;
  before(async () => {
    infra = await createTestInfra();
    sink = await startSmtpSink();
    alias = await startAlias(infra, testEnv(infra, { SMTP_URL: sink.url, SMTP_FROM: 'Wallet <no-reply@wallet.test>' }));
  });
  after(async () => {
    await alias?.stop();
    await sink?.close();
    await infra?.destroy();
  });

  test('add an e-mail alias, read the code from the mailbox, verify it', async () => {
    await signUp(alias, 'quinn', 'Quinn Example');
    const token = (await login(alias, 'quinn')).access_token;
    const auth = { authorization: `Bearer ${token}` };
    const address = `Quinn.${randomUUID().slice(0, 8)}@Example.com`;
    const added = await alias.app.inject({ method: 'POST', url: '/v1/me/aliases', headers: auth, payload: { type: 'email', value: address } });
    assert.equal(added.statusCode, 201, added.body);
    const mail = await sink.waitFor(address);
    assert.equal(mail.from, 'no-reply@wallet.test');
    assert.match(mail.subject, /^Your Wallet code: \d{6}$/);
    assert.ok(mail.code);
    const id = added.json<{ id: string }>().id;
    assertProblem(await alias.app.inject({ method: 'POST', url: `/v1/me/aliases/${id}/verify`, headers: auth, payload: { code: mail.code === '000000' ? '000001' : '000000' } }), 422, 'verification_code_invalid');
    const verified = await alias.app.inject({ method: 'POST', url: `/v1/me/aliases/${id}/verify`, headers: auth, payload: { code: mail.code } });
    assert.equal(verified.statusCode, 200, verified.body);
    assert.equal(verified.json<{ status: string }>().status, 'active');
  });
});
