// Password rules (NIST SP 800-63B: length, not composition). Hashing lives in src/auth/passwords.ts.

export const PASSWORD_LENGTH_MIN = 10;
export const PASSWORD_LENGTH_MAX = 128;

/** The same text typed on different keyboards may arrive composed or decomposed: compare NFC. */
export function normalizePassword(password: string): string {
  return password.normalize('NFC');
}
