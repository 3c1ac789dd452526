// Password hashing: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane).
import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import { normalizePassword } from '../domain/password.ts';

export const argon2Options = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export interface Passwords {
  hash(password: string): Promise<string>;
  /**
   * True when the password matches. With no hash (unknown user) it checks against a dummy hash and
   * returns false, so a wrong username costs the same time as a wrong password.
   */
  verify(hash: string | undefined, password: string): Promise<boolean>;
}

export async function createPasswords(): Promise<Passwords> {
  const hash = (password: string) => argon2.hash(normalizePassword(password), argon2Options);
  const dummyHash = await hash(randomBytes(16).toString('base64url'));
  return {
    hash,
    async verify(stored, password) {
      try {
        const matches = await argon2.verify(stored ?? dummyHash, normalizePassword(password));
        return stored !== undefined && matches;
      } catch {
        return false; // a malformed stored hash never lets anyone in
      }
    },
  };
}
