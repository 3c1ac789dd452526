// TOTP (RFC 6238) as authenticator apps expect it: SHA-1, 6 digits, 30-second steps, 160-bit secrets.
// A code is accepted for the step before, the current and the next one (clock drift), and only for a
// step later than the last one used, so an observed code cannot be replayed.
import { Secret, TOTP } from 'otpauth';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted on either side of the current one. */
export const TOTP_WINDOW = 1;

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totpOf(secretBase32: string, label = 'wallet', issuer = 'Wallet'): TOTP {
  return new TOTP({ issuer, label, secret: Secret.fromBase32(secretBase32), algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS });
}

/** The otpauth:// URI an authenticator app reads (usually from a QR code). */
export function totpUri(secretBase32: string, account: string, issuer: string): string {
  return totpOf(secretBase32, account, issuer).toString();
}

export function totpStep(now: number): number {
  return Math.floor(now / 1000 / TOTP_PERIOD_SECONDS);
}

/** The code of a step (tests and tools). */
export function totpCode(secretBase32: string, now: number): string {
  return totpOf(secretBase32).generate({ timestamp: now });
}

export const isTotpCode = (text: string) => /^\d{6}$/.test(text.replace(/\s/g, ''));

/**
 * The step the code belongs to when it is valid at `now` and later than `lastStep`; undefined otherwise.
 * The caller stores the step as the new last one.
 */
export function verifyTotp(secretBase32: string, code: string, now: number, lastStep: number | null): number | undefined {
  const token = code.replace(/\s/g, '');
  if (!isTotpCode(token)) return undefined;
  const delta = totpOf(secretBase32).validate({ token, timestamp: now, window: TOTP_WINDOW });
  if (delta === null) return undefined;
  const step = totpStep(now) + delta;
  return lastStep !== null && step <= lastStep ? undefined : step;
}
