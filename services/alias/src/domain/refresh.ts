// Refresh-token rotation: every use spends the token and issues the next one of the same family.
// A spent token presented again means it leaked (or a client raced itself): the family is revoked.

export interface RefreshTokenState {
  spentAt: Date | null;
  familyRevokedAt: Date | null;
  /** Absolute end of the family, fixed at login: rotation never extends it. */
  familyExpiresAt: Date;
}

export type RefreshDecision = 'rotate' | 'reuse_detected' | 'family_revoked' | 'expired';

export function decideRefresh(token: RefreshTokenState, now: Date): RefreshDecision {
  if (token.familyRevokedAt) return 'family_revoked';
  if (token.spentAt) return 'reuse_detected';
  if (token.familyExpiresAt.getTime() <= now.getTime()) return 'expired';
  return 'rotate';
}
