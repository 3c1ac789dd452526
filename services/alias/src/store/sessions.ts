// Revoked access tokens (by jti) and what a token's session (its refresh-token family) has become.
import type { Queryable } from '@wallet/kit';

export async function revokeAccessToken(q: Queryable, jti: string, expiresAt: Date): Promise<void> {
  await q.query(`INSERT INTO alias.revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING`, [jti, expiresAt]);
}

export interface TokenStanding {
  /** The jti is on the revocation list. */
  revoked: boolean;
  /** The token's session is unknown, revoked or past its lifetime (false when it names none). */
  sessionEnded: boolean;
}

/** Both questions in one round trip; `sid` is the refresh-token family a user's access token belongs to. */
export async function tokenStanding(q: Queryable, jti: string | undefined, sid: string | undefined): Promise<TokenStanding> {
  const { rows } = await q.query<{ revoked: boolean; sessionEnded: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM alias.revoked_access_tokens WHERE jti = $1) AS revoked,
            ($2::uuid IS NOT NULL AND NOT EXISTS (
              SELECT 1 FROM alias.refresh_token_families WHERE id = $2::uuid AND revoked_at IS NULL AND expires_at > now()
            )) AS "sessionEnded"`,
    [jti ?? null, sid ?? null],
  );
  return rows[0] ?? { revoked: false, sessionEnded: false };
}

export async function sweepRevokedAccessTokens(q: Queryable): Promise<number> {
  return (await q.query(`DELETE FROM alias.revoked_access_tokens WHERE expires_at < now() - interval '5 minutes'`)).rowCount;
}
