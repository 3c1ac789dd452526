// The ES256 keys that sign access tokens: generated once (whichever replica starts first), kept in
// the database, published as a JWKS and used to verify tokens locally without an HTTP call.
import { calculateJwkThumbprint, createLocalJWKSet, errors as joseErrors, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWTVerifyGetKey } from 'jose';
import { SIGNING_ALGORITHM, type Db } from '@wallet/kit';
import { insertSigningKey, listPublishedKeys, lockSigningKeys, type SigningKeyRow } from '../store/keys.ts';

/** An EC public key as published: exactly these members, never the private `d`. */
export interface PublicJwk {
  kty: string;
  crv: string;
  x: string;
  y: string;
  kid: string;
  alg: string;
  use: 'sig';
}

function toPublicJwk(row: SigningKeyRow): PublicJwk {
  const { kty, crv, x, y } = row.publicJwk;
  if (kty !== 'EC' || !crv || !x || !y) throw new Error(`signing key ${row.kid} is not an EC public key`);
  return { kty, crv, x, y, kid: row.kid, alg: row.alg, use: 'sig' };
}

export interface Signer {
  kid: string;
  key: CryptoKey;
}

export interface KeyRing {
  /** The newest key that still signs. */
  signer(): Promise<Signer>;
  /** Public keys for /.well-known/jwks.json, reloaded from the database when older than maxAgeMs. */
  publicKeys(): Promise<PublicJwk[]>;
  /** For jose's jwtVerify: finds the key by `kid`, reloading (at most once per cooldown) on a miss. */
  getKey: JWTVerifyGetKey;
}

export interface KeyRingOptions {
  reloadCooldownMs: number;
  maxAgeMs?: number;
  /** How long a retired key stays published: longer than the longest access-token lifetime. */
  retiredGraceSeconds?: number;
}

/** Creates the first signing key unless one exists; replicas starting together create only one. */
export async function ensureSigningKey(db: Db): Promise<void> {
  await db.tx(async (q) => {
    await lockSigningKeys(q);
    const keys = await listPublishedKeys(q, 0);
    if (keys.some((k) => k.retiredAt === null)) return;
    const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const describe = { kid, alg: SIGNING_ALGORITHM, use: 'sig' };
    await insertSigningKey(q, { kid, alg: SIGNING_ALGORITHM, publicJwk: { ...publicJwk, ...describe }, privateJwk: { ...(await exportJWK(privateKey)), ...describe } });
  });
}

export async function openKeyRing(db: Db, { reloadCooldownMs, maxAgeMs = 60_000, retiredGraceSeconds = 24 * 3600 }: KeyRingOptions): Promise<KeyRing> {
  interface Loaded {
    publicKeys: PublicJwk[];
    keySet: ReturnType<typeof createLocalJWKSet>;
    signer: Signer;
    loadedAt: number;
  }

  const load = async (): Promise<Loaded> => {
    let rows: SigningKeyRow[] = await listPublishedKeys(db, retiredGraceSeconds);
    if (!rows.some((k) => k.retiredAt === null)) {
      await ensureSigningKey(db);
      rows = await listPublishedKeys(db, retiredGraceSeconds);
    }
    const active = rows.find((k) => k.retiredAt === null);
    if (!active) throw new Error('no signing key could be created');
    const publicKeys = rows.map(toPublicJwk);
    const key = await importJWK(active.privateJwk, active.alg);
    if (key instanceof Uint8Array) throw new Error(`signing key ${active.kid} is not an asymmetric key`);
    return { publicKeys, keySet: createLocalJWKSet({ keys: publicKeys }), signer: { kid: active.kid, key }, loadedAt: Date.now() };
  };

  let current = await load();
  let reloading: Promise<Loaded> | undefined;
  const reload = () => {
    reloading ??= load()
      .then((loaded) => (current = loaded))
      .finally(() => {
        reloading = undefined;
      });
    return reloading;
  };

  return {
    signer: async () => current.signer,
    async publicKeys() {
      if (Date.now() - current.loadedAt > maxAgeMs) await reload();
      return current.publicKeys;
    },
    async getKey(header, token) {
      try {
        return await current.keySet(header, token);
      } catch (error) {
        if (!(error instanceof joseErrors.JWKSNoMatchingKey) || Date.now() - current.loadedAt < reloadCooldownMs) throw error;
        // If the database cannot be read now, the token is simply not verifiable (401), not a 500.
        const reloaded = await reload().catch(() => undefined);
        if (!reloaded) throw error;
        return reloaded.keySet(header, token);
      }
    },
  };
}
