import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EMAIL_LENGTH_MAX, looksLikeEmail, parseEmail } from './email.ts';

test('e-mail addresses: kept as typed, compared lower-cased, nothing else folded', () => {
  assert.deepEqual(parseEmail('Ana.P@Example.COM'), { ok: true, email: { display: 'Ana.P@Example.COM', canonical: 'ana.p@example.com' } });
  assert.deepEqual(parseEmail('  bob+wallet@mail.co.uk '), { ok: true, email: { display: 'bob+wallet@mail.co.uk', canonical: 'bob+wallet@mail.co.uk' } });
  // Dots and +tags are different mailboxes: not folded.
  assert.notEqual((parseEmail('a.b@x.io') as { email: { canonical: string } }).email.canonical, (parseEmail('ab@x.io') as { email: { canonical: string } }).email.canonical);
  assert.equal(parseEmail('user@xn--bcher-kva.example').ok, true);
});

test('e-mail addresses: malformed ones are refused', () => {
  for (const bad of ['', 'ana', 'ana@', '@example.com', 'ana@example', 'ana@@example.com', 'ana..p@example.com', '.ana@example.com', 'ana@-example.com',
    'ana@example.123', 'ana p@example.com', 'ána@example.com', 'ana@exámple.com', `${'a'.repeat(65)}@example.com`, `a@${'b'.repeat(250)}.com`, 'ana@exa mple.com', 'ana@example.com\u0000']) {
    assert.equal(parseEmail(bad).ok, false, JSON.stringify(bad));
  }
  assert.equal(parseEmail(`${'a'.repeat(64)}@${'b'.repeat(EMAIL_LENGTH_MAX - 64 - 1 - 4)}.com`).ok, false, 'a label longer than 63');
});

test('e-mail shape: an @ after the first character', () => {
  assert.equal(looksLikeEmail('ana@example.com'), true);
  assert.equal(looksLikeEmail('@ana'), false);
  assert.equal(looksLikeEmail('ana'), false);
});

test('property: whatever parses has a lower-case canonical form that parses to itself', () => {
  fc.assert(
    fc.property(fc.emailAddress(), (address) => {
      const parsed = parseEmail(address);
      if (!parsed.ok) return;
      assert.equal(parsed.email.canonical, parsed.email.canonical.toLowerCase());
      const again = parseEmail(parsed.email.canonical);
      assert.ok(again.ok);
      assert.equal(again.email.canonical, parsed.email.canonical);
      assert.equal(parseEmail(address.toUpperCase()).ok && (parseEmail(address.toUpperCase()) as { email: { canonical: string } }).email.canonical, parsed.email.canonical);
    }),
  );
});
