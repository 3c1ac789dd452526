// Signing keys. See migration 001 for what storing the private JWK here implies, and 003 for
// `signs_from` (a key is published before it signs).
import type { Queryable } from '@wallet/kit';
import type { JWK } from 'jose';

export interface SigningKeyRow {
  kid: string;
  alg: string;
  publicJwk: JWK;
  privateJwk: JWK;
  createdAt: Date;
  /** From when the key signs; until then it is only published. */
  signsFrom: Date;
  /** When the next key took over; it stays published for the tokens it signed. */
  retiredAt: Date | null;
}

const columns = `kid, alg, public_jwk AS "publicJwk", private_jwk AS "privateJwk", created_at AS "createdAt",
                 signs_from AS "signsFrom", retired_at AS "retiredAt"`;

/** Serialises key generation and rotation across replicas for the rest of the transaction. */
export async function lockSigningKeys(q: Queryable): Promise<void> {
  await q.query(`SELECT pg_advisory_xact_lock(hashtext('alias:signing_keys'))`);
}

/** Keys signing or about to, and retired keys whose tokens may not have expired yet (newest first). */
export async function listPublishedKeys(q: Queryable, retiredGraceSeconds: number): Promise<SigningKeyRow[]> {
  const { rows } = await q.query<SigningKeyRow>(
    `SELECT ${columns}
       FROM alias.signing_keys
      WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1)
      ORDER BY signs_from DESC, created_at DESC, kid`,
    [retiredGraceSeconds],
  );
  return rows;
}

export async function insertSigningKey(q: Queryable, key: { kid: string; alg: string; publicJwk: JWK; privateJwk: JWK; signsFrom?: Date }): Promise<void> {
  await q.query(`INSERT INTO alias.signing_keys (kid, alg, public_jwk, private_jwk, signs_from) VALUES ($1, $2, $3, $4, coalesce($5, now()))`, [
    key.kid,
    key.alg,
    JSON.stringify(key.publicJwk),
    JSON.stringify(key.privateJwk),
    key.signsFrom ?? null,
  ]);
}

/** Retires every key still signing at `at` (the moment the next key takes over). */
export async function retireSigningKeys(q: Queryable, at: Date, exceptKid: string): Promise<void> {
  await q.query(`UPDATE alias.signing_keys SET retired_at = $1 WHERE retired_at IS NULL AND kid <> $2`, [at, exceptKid]);
}

/** The database's clock, so that every replica reads `signs_from` against the same time. */
export async function databaseNow(q: Queryable): Promise<Date> {
  const { rows } = await q.query<{ now: Date }>(`SELECT now() AS now`);
  return rows[0]!.now;
}

/** Deletes keys retired longer ago than the grace: their tokens have all expired, and the private key goes with them. */
export async function deleteExpiredKeys(q: Queryable, retiredGraceSeconds: number): Promise<number> {
  const { rowCount } = await q.query(`DELETE FROM alias.signing_keys WHERE retired_at < now() - make_interval(secs => $1)`, [retiredGraceSeconds]);
  return rowCount;
}
