// Access tokens that must be refused, forged with jose. Some need no private key at all (another
// algorithm, another key, a tampered real token, something that is not a JWT); the rest carry a valid
// ES256 signature by the real signing key with one thing wrong, so only that one thing can refuse them.
import { randomUUID } from 'node:crypto';
import { base64url, CompactSign, exportJWK, exportSPKI, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

export interface ForgedToken {
  name: string;
  token: string;
}

export interface TokenFacts {
  issuer: string;
  audience: string;
  /** A real user id, so that a token with nothing wrong would be accepted. */
  subject: string;
  scope: string;
}

type Header = Record<string, unknown>;
type Claims = Record<string, unknown>;

const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
const now = () => Math.floor(Date.now() / 1000);

export function claimsOf(facts: TokenFacts, overrides: Claims = {}): Claims {
  const iat = now();
  const claims: Claims = { iss: facts.issuer, aud: facts.audience, sub: facts.subject, scope: facts.scope, iat, exp: iat + 300, jti: randomUUID(), ...overrides };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return claims;
}

export async function sign(key: CryptoKey | Uint8Array, header: Header, claims: Claims, crit?: Record<string, boolean>): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader(header as { alg: string })
    .sign(key, crit ? { crit } : undefined);
}

/** The real signing key, from the alias service's private JWK (real mode: read from alias.signing_keys). */
export async function signingKey(privateJwk: JWK): Promise<{ kid: string; key: CryptoKey }> {
  const key = await importJWK(privateJwk, 'ES256');
  if (key instanceof Uint8Array || !privateJwk.kid) throw new Error('not an ES256 private key with a kid');
  return { kid: privateJwk.kid, key };
}

/** A token the services accept: the control case, so the refusals below are the claims' doing. */
export async function validToken(signer: { kid: string; key: CryptoKey }, facts: TokenFacts, overrides: Claims = {}): Promise<string> {
  return sign(signer.key, { alg: 'ES256', typ: 'at+jwt', kid: signer.kid }, claimsOf(facts, { ...overrides }));
}

/**
 * Refused whoever checks them, without the private key: `publicJwk` is a published key (with its kid),
 * `realToken` an access token the alias service issued, `refreshToken` an opaque refresh token.
 */
export async function keylessForgeries(input: { publicJwk: JWK; realToken: string; refreshToken?: string; facts: TokenFacts }): Promise<ForgedToken[]> {
  const { publicJwk, realToken, facts } = input;
  const kid = publicJwk.kid!;
  const operatorClaims = claimsOf(facts, { scope: 'wallet:operator wallet:internal' });
  const [realHeader, realPayload, realSignature] = realToken.split('.') as [string, string, string];
  const publicKey = await importJWK({ ...publicJwk, alg: 'ES256' }, 'ES256');
  if (publicKey instanceof Uint8Array) throw new Error('not an EC key');
  const pem = await exportSPKI(publicKey);
  const rsa = await generateKeyPair('RS256');
  const es384 = await generateKeyPair('ES384');
  const other = await generateKeyPair('ES256', { extractable: true });
  const otherJwk = await exportJWK(other.publicKey);
  const tampered = JSON.parse(Buffer.from(realPayload, 'base64url').toString('utf8')) as Claims;

  const forged: ForgedToken[] = [
    { name: 'alg none, no signature', token: `${encode({ alg: 'none', typ: 'at+jwt', kid })}.${encode(operatorClaims)}.` },
    { name: 'alg none, with the real signature', token: `${encode({ alg: 'none', typ: 'at+jwt', kid })}.${realPayload}.${realSignature}` },
    { name: 'alg NONE (case)', token: `${encode({ alg: 'NONE', typ: 'at+jwt', kid })}.${encode(operatorClaims)}.` },
    { name: 'HS256 with the public key (PEM) as the secret', token: await sign(new TextEncoder().encode(pem), { alg: 'HS256', typ: 'at+jwt', kid }, operatorClaims) },
    { name: 'HS256 with the public JWK as the secret', token: await sign(new TextEncoder().encode(JSON.stringify(publicJwk)), { alg: 'HS256', typ: 'at+jwt', kid }, operatorClaims) },
    { name: 'RS256 by another key, the real kid', token: await sign(rsa.privateKey, { alg: 'RS256', typ: 'at+jwt', kid }, operatorClaims) },
    { name: 'ES384 by another key, the real kid', token: await sign(es384.privateKey, { alg: 'ES384', typ: 'at+jwt', kid }, operatorClaims) },
    { name: 'ES256 by another key, the real kid (bad signature)', token: await sign(other.privateKey, { alg: 'ES256', typ: 'at+jwt', kid }, operatorClaims) },
    { name: 'ES256 by another key, an unknown kid', token: await sign(other.privateKey, { alg: 'ES256', typ: 'at+jwt', kid: `unknown-${randomUUID()}` }, operatorClaims) },
    { name: 'ES256 by another key, no kid', token: await sign(other.privateKey, { alg: 'ES256', typ: 'at+jwt' }, operatorClaims) },
    { name: 'ES256 by another key, embedding its own jwk', token: await sign(other.privateKey, { alg: 'ES256', typ: 'at+jwt', kid, jwk: otherJwk }, operatorClaims) },
    { name: 'ES256 by another key, jku pointing elsewhere', token: await sign(other.privateKey, { alg: 'ES256', typ: 'at+jwt', kid, jku: 'http://127.0.0.1:9/jwks.json' }, operatorClaims) },
    { name: 'a real token with its claims changed (bad signature)', token: `${realHeader}.${encode({ ...tampered, scope: 'wallet:operator' })}.${realSignature}` },
    { name: 'a real token with another signature', token: `${realHeader}.${realPayload}.${base64url.encode(new Uint8Array(64))}` },
    { name: 'a real token, signature cut short', token: `${realHeader}.${realPayload}.${realSignature.slice(0, 40)}` },
    { name: 'a real token without its signature', token: `${realHeader}.${realPayload}.` },
    { name: 'a real token, header only', token: realHeader },
    { name: 'a JWE-shaped token', token: `${encode({ alg: 'dir', enc: 'A256GCM', kid })}..${'A'.repeat(16)}.${realPayload}.${'A'.repeat(22)}` },
    { name: 'garbage', token: 'not.a.jwt' },
    { name: 'an opaque string', token: base64url.encode(new Uint8Array(32).fill(7)) },
  ];
  if (input.refreshToken) forged.push({ name: 'a refresh token (opaque) as the access token', token: input.refreshToken });
  return forged;
}

/** Validly signed by the real key, each with one thing wrong. */
export async function signedForgeries(signer: { kid: string; key: CryptoKey }, facts: TokenFacts): Promise<ForgedToken[]> {
  const header = { alg: 'ES256', typ: 'at+jwt', kid: signer.kid };
  const t = now();
  const cases: [string, Header, Claims, Record<string, boolean>?][] = [
    ['wrong iss', header, claimsOf(facts, { iss: 'https://evil.example' })],
    ['no iss', header, claimsOf(facts, { iss: undefined })],
    ['wrong aud', header, claimsOf(facts, { aud: 'another-api' })],
    ['aud a list without ours', header, claimsOf(facts, { aud: ['another-api', 'yet-another'] })],
    ['no aud', header, claimsOf(facts, { aud: undefined })],
    ['expired 2 min ago', header, claimsOf(facts, { iat: t - 600, exp: t - 120 })],
    ['exp not a number', header, claimsOf(facts, { exp: String(t + 300) })],
    ['no exp', header, claimsOf(facts, { exp: undefined })],
    ['nbf 2 min ahead', header, claimsOf(facts, { nbf: t + 120 })],
    ['iat 2 min ahead', header, claimsOf(facts, { iat: t + 120, exp: t + 420 })],
    ['no iat', header, claimsOf(facts, { iat: undefined })],
    ['typ missing', { alg: 'ES256', kid: signer.kid }, claimsOf(facts)],
    ['typ JWT (an ID token)', { ...header, typ: 'JWT' }, claimsOf(facts, { aud: facts.audience, nonce: 'n-0S6_WzA2Mj', auth_time: t })],
    ['typ refresh+jwt', { ...header, typ: 'refresh+jwt' }, claimsOf(facts)],
    ['typ dpop+jwt', { ...header, typ: 'dpop+jwt' }, claimsOf(facts)],
    ['an unknown kid', { ...header, kid: `rotated-away-${randomUUID()}` }, claimsOf(facts)],
    ['an unknown critical header', { ...header, crit: ['x-wallet-test'], 'x-wallet-test': true }, claimsOf(facts), { 'x-wallet-test': true }],
    ['no sub', header, claimsOf(facts, { sub: undefined })],
    ['sub a number', header, claimsOf(facts, { sub: 12345 })],
    ['sub empty', header, claimsOf(facts, { sub: '' })],
    ['sub with a space', header, claimsOf(facts, { sub: `${facts.subject} x` })],
    ['sub an object', header, claimsOf(facts, { sub: { id: facts.subject } })],
    ['no scope', header, claimsOf(facts, { scope: undefined })],
    ['scope a list', header, claimsOf(facts, { scope: [facts.scope] })],
    ['scope a number', header, claimsOf(facts, { scope: 1 })],
    ['scope empty', header, claimsOf(facts, { scope: '' })],
    ['scope with a double space', header, claimsOf(facts, { scope: `${facts.scope}  wallet:operator` })],
    ['client_id not a string', header, claimsOf(facts, { client_id: 7 })],
  ];
  return Promise.all(cases.map(async ([name, h, claims, crit]) => ({ name, token: await sign(signer.key, h, claims, crit) })));
}
