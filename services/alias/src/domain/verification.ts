// One-time codes that prove a person receives at an e-mail address or phone number before it
// becomes their alias. Pure rules; the store keeps only a keyed hash of each code.
//
// - 6 digits from the operating system's generator (crypto.randomInt), valid 10 minutes.
// - Stored as HMAC-SHA256 under a server key, bound to the alias claim it was sent for: a database
//   dump alone does not give the codes (10^6 guesses need the key), and a code is worth nothing
//   for another claim.
// - 5 wrong attempts and the code is dead; a new one must be sent.
// - Sending is limited per person and address: at most one code per 60 s and 5 per hour, however
//   often the claim is deleted and made again.
import { createHmac, hkdfSync, randomInt, timingSafeEqual } from 'node:crypto';

export const CODE_DIGITS = 6;
export const CODE_TTL_MS = 10 * 60_000;
export const CODE_ATTEMPTS_MAX = 5;
export const RESEND_INTERVAL_MS = 60_000;
export const SENDS_PER_WINDOW_MAX = 5;
export const SEND_WINDOW_MS = 60 * 60_000;

export const codePattern = /^[0-9]{6}$/;

export function newCode(): string {
  return randomInt(0, 10 ** CODE_DIGITS).toString().padStart(CODE_DIGITS, '0');
}

/** The HMAC key for codes, derived from a server secret (HKDF-SHA256, its own purpose label). */
export function codeKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'wallet-alias', 'alias verification codes v1', 32));
}

export function hashCode(key: Buffer, claimId: string, code: string): string {
  return createHmac('sha256', key).update(`${claimId}:${code}`).digest('hex');
}

export function codeMatches(key: Buffer, claimId: string, code: string, storedHash: string): boolean {
  const given = Buffer.from(hashCode(key, claimId, code), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}

export type SendDecision = { ok: true } | { ok: false; retryAfterMs: number };

/** Whether another code may go to this address now, given when the previous ones went (any order). */
export function decideSend(previous: readonly Date[], now: Date): SendDecision {
  const t = now.getTime();
  const recent = previous.map((d) => d.getTime()).filter((sent) => sent > t - SEND_WINDOW_MS && sent <= t).sort((a, b) => a - b);
  let retryAt = t;
  const last = recent[recent.length - 1];
  if (last !== undefined) retryAt = Math.max(retryAt, last + RESEND_INTERVAL_MS);
  if (recent.length >= SENDS_PER_WINDOW_MAX) retryAt = Math.max(retryAt, recent[recent.length - SENDS_PER_WINDOW_MAX]! + SEND_WINDOW_MS);
  return retryAt > t ? { ok: false, retryAfterMs: retryAt - t } : { ok: true };
}

export interface PendingCode {
  attempts: number;
  expiresAt: Date;
}

export type AttemptDecision = 'expired' | 'exhausted' | 'check';

/** Whether a presented code is worth checking; an attempt is spent before the comparison. */
export function decideAttempt(code: PendingCode, now: Date): AttemptDecision {
  if (code.expiresAt.getTime() <= now.getTime()) return 'expired';
  if (code.attempts >= CODE_ATTEMPTS_MAX) return 'exhausted';
  return 'check';
}

/** The message that carries a code. */
export function codeMessage(code: string, channel: 'email' | 'sms'): { subject: string; text: string } {
  const minutes = CODE_TTL_MS / 60_000;
  const text =
    channel === 'sms'
      ? `Wallet code: ${code}. It expires in ${minutes} minutes. Never share it.`
      : `Your Wallet verification code is ${code}.\n\nEnter it in the app within ${minutes} minutes to add this address to your wallet. ` +
        `If you did not ask for it, ignore this message: nothing changes without the code.\n`;
  return { subject: `Your Wallet code: ${code}`, text };
}
