// What a signed-in person changes about their own credentials. Each change asks for the current
// password again (ASVS 7.5.1), counted by the login throttle like a login, so a stolen access token
// cannot be used to guess the password.
import { ProblemError, type Db } from '@wallet/kit';
import { revokeFamiliesOfUser } from '../store/refresh-tokens.ts';
import { findPasswordHash, updatePasswordHash } from '../store/users.ts';
import type { Grants, SessionTokens } from './grants.ts';
import { throttleKeys, type LoginThrottle } from './login-throttle.ts';
import type { Passwords } from './passwords.ts';

export interface Reauthentication {
  userId: string;
  password: string;
  clientIp: string;
}

export interface AccountSecurity {
  /**
   * Checks the password (403 `password_incorrect`, counted as a failed login), then runs `then`; a
   * `totp_code_invalid` from it counts as a failure too, anything else thrown is neither.
   */
  reauthenticate<T>(who: Reauthentication, then: () => Promise<T>): Promise<T>;
  /** New password; every session ends, and a fresh one is returned (the caller stays signed in). */
  changePassword(who: Reauthentication, newPassword: string, scope: string): Promise<SessionTokens>;
}

export function createAccountSecurity(deps: { db: Db; passwords: Passwords; throttle: LoginThrottle; grants: Grants }): AccountSecurity {
  const { db, passwords, throttle } = deps;

  const reauthenticate = async <T>({ userId, password, clientIp }: Reauthentication, then: () => Promise<T>): Promise<T> => {
    const attempt = await throttle.begin({ account: throttleKeys.user(userId), address: throttleKeys.address(clientIp) });
    const hash = await findPasswordHash(db, userId);
    if (!(await passwords.verify(hash, password))) throw new ProblemError('password_incorrect', 'The current password is wrong');
    let result: T;
    try {
      result = await then();
    } catch (error) {
      if (!(error instanceof ProblemError && error.code === 'totp_code_invalid')) await attempt.undecided();
      throw error;
    }
    await attempt.succeeded();
    return result;
  };

  return {
    reauthenticate,
    async changePassword(who, newPassword, scope) {
      return reauthenticate(who, async () => {
        const hash = await passwords.hash(newPassword);
        // ASVS 7.4.3: every session ends with the old password (the one of this request too), in the
        // same transaction; the caller gets a new one.
        await db.tx(async (q) => {
          await updatePasswordHash(q, who.userId, hash);
          await revokeFamiliesOfUser(q, who.userId, 'password changed');
        });
        return deps.grants.startSession(who.userId, scope);
      });
    },
  };
}
