// The optional second factor: TOTP with one-time recovery codes. Secrets are sealed with AES-256-GCM
// (src/auth/secret-box.ts) under TOTP_ENCRYPTION_KEY, or, without one, a key generated once and kept
// in alias.service_secrets (so the TOTP rows alone, or a dump of that table alone, reveal nothing).
import { randomBytes } from 'node:crypto';
import { ProblemError, type Db, type Queryable } from '@wallet/kit';
import { confirmTotp, countUnusedRecoveryCodes, deleteTotp, ensureServiceSecret, findTotp, replaceRecoveryCodes, setTotpLastStep, spendRecoveryCode, upsertPendingTotp } from '../store/totp.ts';
import { hashRecoveryCode, newRecoveryCodes, normalizeRecoveryCode } from './recovery-codes.ts';
import { createSecretBox, SECRET_KEY_BYTES, type SecretBox } from './secret-box.ts';
import { isTotpCode, newTotpSecret, totpUri, verifyTotp } from './totp.ts';

export interface Enrolment {
  secret: string;
  otpauthUri: string;
}

export interface MfaStatus {
  enabled: boolean;
  pending: boolean;
  recoveryCodesLeft: number;
}

export interface Mfa {
  status(userId: string): Promise<MfaStatus>;
  /** True when the user must give a second factor to log in. */
  required(userId: string): Promise<boolean>;
  /** Checks a TOTP code or a recovery code and spends it (a step is used once, a recovery code once). */
  verify(userId: string, code: string): Promise<boolean>;
  /** A new secret, pending until confirmed; 409 `totp_already_enabled` once confirmed. */
  enrol(userId: string, account: string): Promise<Enrolment>;
  /** Enables TOTP with a first code and returns the recovery codes (shown once). */
  confirm(userId: string, code: string): Promise<string[]>;
  /** Turns the second factor off (after the caller checked the password) with a code. */
  disable(userId: string, code: string): Promise<void>;
}

export const TOTP_KEY_SECRET_NAME = 'totp-encryption-key';

/** The configured key, or the one generated on first use and kept in the database. */
export async function totpSecretBox(db: Db, configuredKey: Buffer | undefined): Promise<SecretBox> {
  if (configuredKey) return createSecretBox(configuredKey);
  const stored = await ensureServiceSecret(db, TOTP_KEY_SECRET_NAME, () => randomBytes(SECRET_KEY_BYTES).toString('base64url'));
  return createSecretBox(Buffer.from(stored, 'base64url'));
}

const codeInvalid = () => new ProblemError('totp_code_invalid', 'The code is wrong, expired or already used');
const notEnrolled = (what: string) => new ProblemError('totp_not_enrolled', what);

export function createMfa(deps: { db: Db; box: SecretBox; issuer: string; clock?: () => number }): Mfa {
  const { db, box, issuer } = deps;
  const clock = deps.clock ?? Date.now;
  const secretOf = (userId: string, sealed: string) => box.open(sealed, userId);

  /** Inside a transaction holding the user's TOTP row: a TOTP code (its step recorded) or a recovery code (spent). */
  const check = async (q: Queryable, userId: string, sealed: string, lastStep: bigint | null, code: string): Promise<boolean> => {
    if (isTotpCode(code)) {
      const step = verifyTotp(secretOf(userId, sealed), code, clock(), lastStep === null ? null : Number(lastStep));
      if (step === undefined) return false;
      await setTotpLastStep(q, userId, step);
      return true;
    }
    const normalized = normalizeRecoveryCode(code);
    return normalized !== undefined && (await spendRecoveryCode(q, userId, hashRecoveryCode(normalized)));
  };

  return {
    async status(userId) {
      const row = await findTotp(db, userId);
      return { enabled: !!row?.confirmedAt, pending: !!row && !row.confirmedAt, recoveryCodesLeft: row?.confirmedAt ? await countUnusedRecoveryCodes(db, userId) : 0 };
    },

    async required(userId) {
      return !!(await findTotp(db, userId))?.confirmedAt;
    },

    verify: (userId, code) =>
      db.tx(async (q) => {
        const row = await findTotp(q, userId, true);
        if (!row?.confirmedAt) return false;
        return check(q, userId, row.secretEncrypted, row.lastStep, code);
      }),

    async enrol(userId, account) {
      const secret = newTotpSecret();
      const stored = await upsertPendingTotp(db, userId, box.seal(secret, userId));
      if (!stored) throw new ProblemError('totp_already_enabled', 'A second factor is already on: turn it off first to enrol another');
      return { secret, otpauthUri: totpUri(secret, account, issuer) };
    },

    async confirm(userId, code) {
      const codes = newRecoveryCodes();
      await db.tx(async (q) => {
        const row = await findTotp(q, userId, true);
        if (!row) throw notEnrolled('There is no enrolment to confirm: start one with POST /v1/me/totp');
        if (row.confirmedAt) throw new ProblemError('totp_already_enabled', 'The second factor is already on');
        const step = isTotpCode(code) ? verifyTotp(secretOf(userId, row.secretEncrypted), code, clock(), null) : undefined;
        if (step === undefined) throw codeInvalid();
        await confirmTotp(q, userId, step);
        await replaceRecoveryCodes(q, userId, codes.map((c) => hashRecoveryCode(normalizeRecoveryCode(c)!)));
      });
      return codes;
    },

    async disable(userId, code) {
      await db.tx(async (q) => {
        const row = await findTotp(q, userId, true);
        if (!row?.confirmedAt) throw notEnrolled('The second factor is not on');
        if (!(await check(q, userId, row.secretEncrypted, row.lastStep, code))) throw codeInvalid();
        await deleteTotp(q, userId);
      });
    },
  };
}
