// Random keys (Pix DICT's EVP): a UUID v4 the wallet generates, so a person can be paid without
// giving out a handle, an address or a number. It is 122 random bits from the operating system's
// generator and carries nothing else: not the user, not the time, not a counter.
import { randomUUID } from 'node:crypto';

const uuidV4Pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const anyUuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function newRandomKey(): string {
  return randomUUID();
}

/** The canonical (lower-case) key, or undefined when the input is not a UUID v4. */
export function parseRandomKey(input: string): string | undefined {
  const key = input.trim().toLowerCase();
  return uuidV4Pattern.test(key) ? key : undefined;
}

/** Whether what a payer typed has the shape of a UUID (any version): it is then read as a random key only. */
export function looksLikeRandomKey(input: string): boolean {
  return anyUuidPattern.test(input.trim());
}
