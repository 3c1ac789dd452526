// Login throttling: how long a counter of failed logins makes the next attempt wait. Pure; the
// counters live in PostgreSQL (src/auth/login-throttle.ts).
//
// With the defaults, for one account: four failures cost nothing; after the 5th the next attempt
// waits 1 s, then 2 s, 4 s, 8 s, 16 s (capped at LOGIN_DELAY_MAX_MS); from the 10th failure on the
// account is locked for 15 minutes after each failure. A success clears the account's counter; a
// counter also forgets after a quiet window (24 h) without failures. That allows 10 guesses at once,
// then 4 an hour: about 100 a day (NIST SP 800-63B asks for no more than 100 consecutive failures).

export interface ThrottlePolicy {
  /** Failures that cost nothing; the next one starts the delays. */
  delayAfterFailures: number;
  /** The first delay; each further failure doubles it. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** From this many failures on, each failure locks for `lockMs`. */
  lockAfterFailures: number;
  lockMs: number;
  /** A counter with no failure for this long starts again from zero. */
  windowMs: number;
}

export interface FailureCount {
  failures: number;
  lastFailureAt: Date | null;
}

/** The failures that still count at `now`: none once the window has passed since the last one. */
export function countedFailures(state: FailureCount, now: number, policy: ThrottlePolicy): number {
  if (!state.lastFailureAt || state.failures <= 0) return 0;
  return now - state.lastFailureAt.getTime() >= policy.windowMs ? 0 : state.failures;
}

/** How long after the last failure the next attempt must wait, for this many failures. */
export function penaltyMs(failures: number, policy: ThrottlePolicy): number {
  if (failures >= policy.lockAfterFailures) return policy.lockMs;
  if (failures < policy.delayAfterFailures) return 0;
  const doublings = failures - policy.delayAfterFailures;
  // 2^31 ms is already 24 days: beyond that the cap has long been reached.
  return Math.min(policy.baseDelayMs * 2 ** Math.min(doublings, 31), policy.maxDelayMs);
}

/** Milliseconds to wait before an attempt is allowed at `now` (0: allowed now). */
export function waitMs(state: FailureCount, now: number, policy: ThrottlePolicy): number {
  const failures = countedFailures(state, now, policy);
  if (failures === 0 || !state.lastFailureAt) return 0;
  return Math.max(0, state.lastFailureAt.getTime() + penaltyMs(failures, policy) - now);
}

/** Whether a wait is a lock (the lock threshold reached) rather than a growing delay. */
export function isLocked(state: FailureCount, now: number, policy: ThrottlePolicy): boolean {
  return countedFailures(state, now, policy) >= policy.lockAfterFailures && waitMs(state, now, policy) > 0;
}

/** Retry-After: whole seconds, at least 1. */
export function retryAfterSeconds(waitMilliseconds: number): number {
  return Math.max(1, Math.ceil(waitMilliseconds / 1000));
}
