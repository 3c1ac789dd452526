// Password hashing: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane).
import { randomBytes } from 'node:crypto';
// @node-rs/argon2 ships its binary as a registry package per platform: no compiler needed to install.
import { hash as argon2Hash, verify as argon2Verify } from '@node-rs/argon2';
import { normalizePassword } from '../domain/password.ts';

/** Algorithm 2 is Argon2id (the package's const enum cannot be imported under isolatedModules). */
export const argon2Options = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export interface Passwords {
  hash(password: string): Promise<string>;
  /**
   * True when the password matches. With no hash (unknown user) it checks against a dummy hash and
   * returns false, so a wrong username costs the same time as a wrong password.
   */
  verify(hash: string | undefined, password: string): Promise<boolean>;
}

export async function createPasswords(): Promise<Passwords> {
  const hash = (password: string) => argon2Hash(normalizePassword(password), argon2Options);
  const dummyHash = await hash(randomBytes(16).toString('base64url'));
  return {
    hash,
    async verify(stored, password) {
      try {
        const matches = await argon2Verify(stored ?? dummyHash, normalizePassword(password));
        return stored !== undefined && matches;
      } catch {
        return false; // a malformed stored hash never lets anyone in
      }
    },
  };
}
