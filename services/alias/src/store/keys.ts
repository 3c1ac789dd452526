// Signing keys. See the migration for what storing the private JWK here implies.
import type { Queryable } from '@wallet/kit';
import type { JWK } from 'jose';

export interface SigningKeyRow {
  kid: string;
  alg: string;
  publicJwk: JWK;
  privateJwk: JWK;
  createdAt: Date;
  retiredAt: Date | null;
}

/** Serialises key generation across replicas for the rest of the transaction. */
export async function lockSigningKeys(q: Queryable): Promise<void> {
  await q.query(`SELECT pg_advisory_xact_lock(hashtext('alias:signing_keys'))`);
}

/** Keys still signing, and retired keys whose tokens may not have expired yet (newest first). */
export async function listPublishedKeys(q: Queryable, retiredGraceSeconds: number): Promise<SigningKeyRow[]> {
  const { rows } = await q.query<SigningKeyRow>(
    `SELECT kid, alg, public_jwk AS "publicJwk", private_jwk AS "privateJwk", created_at AS "createdAt", retired_at AS "retiredAt"
       FROM alias.signing_keys
      WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1)
      ORDER BY created_at DESC, kid`,
    [retiredGraceSeconds],
  );
  return rows;
}

export async function insertSigningKey(q: Queryable, key: { kid: string; alg: string; publicJwk: JWK; privateJwk: JWK }): Promise<void> {
  await q.query(`INSERT INTO alias.signing_keys (kid, alg, public_jwk, private_jwk) VALUES ($1, $2, $3, $4)`, [
    key.kid,
    key.alg,
    JSON.stringify(key.publicJwk),
    JSON.stringify(key.privateJwk),
  ]);
}
