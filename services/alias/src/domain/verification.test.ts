import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  CODE_ATTEMPTS_MAX,
  codeKey,
  codeMatches,
  codeMessage,
  codePattern,
  decideAttempt,
  decideSend,
  hashCode,
  newCode,
  RESEND_INTERVAL_MS,
  SEND_WINDOW_MS,
} from './verification.ts';

test('codes: 6 digits, leading zeros kept, spread over the whole range', () => {
  const codes = Array.from({ length: 5000 }, newCode);
  for (const code of codes) assert.match(code, codePattern);
  assert.ok(new Set(codes).size > 4900, 'practically no repeats');
  const firstDigits = new Set(codes.map((c) => c[0]));
  assert.equal(firstDigits.size, 10, 'leading zeros happen');
});

test('codes are stored as keyed hashes bound to their claim', () => {
  const key = codeKey('a server secret of some length');
  const claim = randomUUID();
  const hash = hashCode(key, claim, '042917');
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.ok(!hash.includes('042917'));
  assert.equal(codeMatches(key, claim, '042917', hash), true);
  assert.equal(codeMatches(key, claim, '042918', hash), false);
  assert.equal(codeMatches(key, randomUUID(), '042917', hash), false, 'another claim');
  assert.equal(codeMatches(codeKey('another server secret........'), claim, '042917', hash), false, 'another key');
  assert.equal(codeMatches(key, claim, '042917', 'abc'), false, 'a malformed stored hash');
});

test('resends: one per 60 s, five per hour', () => {
  const now = new Date('2030-01-01T12:00:00Z');
  const ago = (ms: number) => new Date(now.getTime() - ms);
  assert.deepEqual(decideSend([], now), { ok: true });
  assert.deepEqual(decideSend([ago(10_000)], now), { ok: false, retryAfterMs: RESEND_INTERVAL_MS - 10_000 });
  assert.deepEqual(decideSend([ago(60_000)], now), { ok: true });
  const five = [ago(50 * 60_000), ago(40 * 60_000), ago(30 * 60_000), ago(20 * 60_000), ago(10 * 60_000)];
  assert.deepEqual(decideSend(five, now), { ok: false, retryAfterMs: 10 * 60_000 }, 'the oldest of the five leaves the window in 10 minutes');
  assert.deepEqual(decideSend(five.slice(1), now), { ok: true });
  assert.deepEqual(decideSend([ago(SEND_WINDOW_MS + 1), ...five.slice(1)], now), { ok: true }, 'older than an hour does not count');
});

test('attempts: a code is checked only while it is alive and has attempts left', () => {
  const now = new Date('2030-01-01T12:00:00Z');
  const later = new Date(now.getTime() + 1000);
  assert.equal(decideAttempt({ attempts: 0, expiresAt: later }, now), 'check');
  assert.equal(decideAttempt({ attempts: CODE_ATTEMPTS_MAX - 1, expiresAt: later }, now), 'check');
  assert.equal(decideAttempt({ attempts: CODE_ATTEMPTS_MAX, expiresAt: later }, now), 'exhausted');
  assert.equal(decideAttempt({ attempts: 0, expiresAt: now }, now), 'expired');
});

test('the message carries the code and its lifetime', () => {
  const mail = codeMessage('042917', 'email');
  assert.match(mail.subject, /042917/);
  assert.match(mail.text, /042917[\s\S]*10 minutes/);
  assert.ok(codeMessage('042917', 'sms').text.length <= 160);
});
