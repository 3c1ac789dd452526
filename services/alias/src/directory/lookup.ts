// Public alias lookups, rationed like Pix DICT's: each person has a token bucket (capacity 100,
// 2 tokens back per minute); a lookup that finds a receiver costs 1, one that finds nothing
// costs 20, so guessing names runs dry quickly while paying known people does not.
//
// The outcome is known only after the lookup, so a lookup first takes the cost of a miss,
// atomically (many lookups at once cannot spend the same tokens), and a hit gives the difference
// back. A lookup therefore needs ALIAS_LOOKUP_COST_MISSING tokens in the bucket to start. An unknown
// alias and a known one without a receiving account cost the same, and answer the same.
//
// Operators and services (wallet:operator / wallet:internal tokens) are not rationed.
import { isOperator, hasScope, ProblemError, scopes, type Caller, type Queryable, type TokenBuckets } from '@wallet/kit';
import type { ResolvedAlias } from '../store/aliases.ts';
import type { DirectoryConfig } from './config.ts';
import { aliasNotFound, findReceiver } from './resolve.ts';

export const lookupBucketKey = (subject: string) => `alias:lookup:${subject}`;

export function isRationed(caller: Caller): boolean {
  return !isOperator(caller) && !hasScope(caller, scopes.internal);
}

export function createLookups(deps: { db: Queryable; buckets: TokenBuckets; rule: DirectoryConfig['lookup']; log: { warn(obj: object, msg: string): void } }) {
  const { capacity, refillPerMinute, costFound, costMissing } = deps.rule;
  const bucket = { capacity, refillPerMinute };

  const giveBack = async (key: string, tokens: number) => {
    if (tokens <= 0) return;
    await deps.buckets.take(key, -tokens, bucket).catch((error: unknown) => deps.log.warn({ err: String(error) }, 'alias lookup refund failed'));
  };

  return async function lookup(caller: Caller, alias: string, currency: string | undefined): Promise<ResolvedAlias> {
    if (!isRationed(caller)) {
      const found = await findReceiver(deps.db, alias, currency);
      if (!found) throw aliasNotFound(currency);
      return found;
    }
    const key = lookupBucketKey(caller.subject);
    const taken = await deps.buckets.take(key, costMissing, bucket);
    if (!taken.allowed) {
      const retryAfterSeconds = Math.max(1, Math.ceil(taken.retryAfterMs / 1000));
      throw new ProblemError('rate_limited', `Too many alias lookups; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
    }
    let found: ResolvedAlias | undefined;
    try {
      found = await findReceiver(deps.db, alias, currency);
    } catch (error) {
      await giveBack(key, costMissing); // our fault, not the caller's
      throw error;
    }
    if (!found) throw aliasNotFound(currency);
    await giveBack(key, costMissing - costFound);
    return found;
  };
}

export type Lookup = ReturnType<typeof createLookups>;
