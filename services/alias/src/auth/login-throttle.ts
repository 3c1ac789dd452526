// Login throttling per account and per client address, with the counters in PostgreSQL so that every
// replica sees the same ones. Each attempt is counted as a failure BEFORE the password is checked
// (under the counters' row locks), then given back if it was not one: guesses sent in parallel
// cannot all pass while the first ones are still being checked. A throttled attempt is refused
// before any password hashing, so throttling also keeps argon2 from being used to load the service.
//
// Usernames nobody holds are counted exactly like accounts (by a hash of the name), so the answers,
// their order and their timing never tell whether a name exists.
import { createHash } from 'node:crypto';
import { ProblemError, type Db } from '@wallet/kit';
import { clearFailures, giveBackFailure, lockFailureCounters, setFailures } from '../store/login-throttle.ts';
import { addressKey } from './client-ip.ts';
import { countedFailures, retryAfterSeconds, waitMs, type ThrottlePolicy } from './throttle-policy.ts';

export interface ThrottlePolicies {
  account: ThrottlePolicy;
  address: ThrottlePolicy;
}

/** Who an attempt is counted against: the account (or the name, when nobody holds it) and the address. */
export interface AttemptKeys {
  account: string;
  address: string;
}

export interface Attempt {
  /** The credentials were right: the account's counter is cleared, the address's failure given back. */
  succeeded(): Promise<void>;
  /** Neither a success nor a failure (the second factor is still missing): both failures given back. */
  undecided(): Promise<void>;
}

export interface LoginThrottle {
  /** Counts the attempt, or throws 429 `login_throttled` (with `retryAfterSeconds`) when it must wait. */
  begin(keys: AttemptKeys): Promise<Attempt>;
}

export const throttleKeys = {
  user: (userId: string) => `user:${userId}`,
  /** A name nobody holds, hashed: attacker-chosen text is not stored as such. */
  name: (canonicalName: string) => `name:${createHash('sha256').update(canonicalName, 'utf8').digest('hex')}`,
  address: (ip: string) => `ip:${addressKey(ip)}`,
};

export function loginThrottled(waitMilliseconds: number): ProblemError {
  const seconds = retryAfterSeconds(waitMilliseconds);
  return new ProblemError('login_throttled', `Too many failed attempts: try again in ${seconds} s`, { retryAfterSeconds: seconds });
}

export function createLoginThrottle(db: Db, policies: ThrottlePolicies): LoginThrottle {
  const policyOf = (key: string, keys: AttemptKeys) => (key === keys.address ? policies.address : policies.account);

  return {
    async begin(keys) {
      const wait = await db.tx(async (q) => {
        const { rows, now } = await lockFailureCounters(q, [keys.account, keys.address]);
        const at = now.getTime();
        const longest = Math.max(0, ...rows.map((row) => waitMs(row, at, policyOf(row.key, keys))));
        if (longest > 0) return longest;
        for (const row of rows) await setFailures(q, row.key, countedFailures(row, at, policyOf(row.key, keys)) + 1, now);
        return 0;
      });
      if (wait > 0) throw loginThrottled(wait);
      // Row locks are always taken in key order (as in lockFailureCounters): no deadlocks.
      const ordered = [keys.account, keys.address].sort();
      const settle = (onAccount: typeof clearFailures) =>
        db.tx(async (q) => {
          for (const key of ordered) await (key === keys.account ? onAccount : giveBackFailure)(q, key);
        });
      return { succeeded: () => settle(clearFailures), undecided: () => settle(giveBackFailure) };
    },
  };
}
