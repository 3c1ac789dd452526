// Sign-up: a user, their password hash and their handle (the first alias), in one transaction.
import { randomUUID } from 'node:crypto';
import { ProblemError, type Db } from '@wallet/kit';
import { normalizeDisplayName } from '../domain/display-name.ts';
import { parseHandle } from '../domain/handle.ts';
import type { Passwords } from '../auth/passwords.ts';
import { reservedFor } from '../store/reservations.ts';
import { insertUserWithHandle, isUniqueViolation, type UserRow } from '../store/users.ts';

export interface SignUp {
  handle: string;
  password: string;
  displayName: string;
}

const invalid = (field: string, message: string) => new ProblemError('validation_failed', message, { errors: [{ field: `body/${field}`, message }] });

export async function signUp(deps: { db: Db; passwords: Passwords }, request: SignUp): Promise<UserRow> {
  const handle = parseHandle(request.handle);
  if (!handle.ok) {
    if (handle.code === 'handle_reserved') throw new ProblemError('handle_reserved', handle.reason);
    throw invalid('handle', handle.reason);
  }
  const displayName = normalizeDisplayName(request.displayName);
  if (!displayName.ok) throw invalid('displayName', displayName.reason);

  const taken = () => new ProblemError('handle_taken', `The handle "${handle.handle.display}" is already taken`);
  const passwordHash = await deps.passwords.hash(request.password);
  try {
    return await deps.db.tx(async (q) => {
      const user = await insertUserWithHandle(q, {
        id: randomUUID(),
        aliasId: randomUUID(),
        handle: handle.handle.display,
        handleCanonical: handle.handle.canonical,
        displayName: displayName.displayName,
        passwordHash,
      });
      // A handle someone recently left stays theirs for a while. Checked after the insert, which
      // waits for a change of that handle in flight, so the reservation it makes is seen here.
      if (await reservedFor(q, handle.handle.canonical, new Date())) throw taken();
      return user;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw taken();
    throw error;
  }
}
