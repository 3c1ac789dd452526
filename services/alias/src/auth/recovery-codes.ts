// Recovery codes: ten one-time codes shown once when TOTP is confirmed, each 16 characters of
// Crockford base32 (80 random bits) in groups of four, e.g. "7K2M-9XQD-4HWT-B3NE". Stored as SHA-256
// of the normalised code: with 80 bits a fast hash is enough, and a code can be found by its hash.
import { createHash, randomBytes } from 'node:crypto';

export const RECOVERY_CODE_COUNT = 10;
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford: no I, L, O, U
const codeLength = 16;

export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(codeLength);
    const chars = Array.from(bytes, (b) => alphabet[b & 31]).join('');
    return chars.match(/.{4}/g)!.join('-');
  });
}

/** Case, dashes and spaces do not matter; I and L read as 1, O as 0 (Crockford). Undefined if it cannot be a code. */
export function normalizeRecoveryCode(input: string): string | undefined {
  const text = input.toUpperCase().replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');
  if (text.length !== codeLength) return undefined;
  for (const char of text) if (!alphabet.includes(char)) return undefined;
  return text;
}

export function hashRecoveryCode(normalized: string): string {
  return createHash('sha256').update(`wallet-recovery:${normalized}`, 'utf8').digest('hex');
}
