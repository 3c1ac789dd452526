// The transfer policy: limits and fraud rules, declared in configuration (TRANSFER_POLICY) and
// checked at start. Decisions are pure; the usage they read is counted under the account's lock,
// so two racing transfers cannot both slip under a limit.
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { refuse, type LedgerAccount, type Refusal } from './transfer.ts';

const Amount = Type.String({ pattern: '^[1-9][0-9]{0,18}$' });
const Count = Type.Integer({ minimum: 1, maximum: 1_000_000 });
const Window = Type.Object({ amount: Type.Optional(Amount), count: Type.Optional(Count) }, { additionalProperties: false });
const Tier = Type.Object(
  { perTransferMax: Type.Optional(Amount), daily: Type.Optional(Window), monthly: Type.Optional(Window) },
  { additionalProperties: false },
);

export const PolicySchema = Type.Object(
  {
    tiers: Type.Optional(Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$' }), Tier, { additionalProperties: false })),
    velocity: Type.Optional(Type.Object({ count: Count, seconds: Type.Integer({ minimum: 1, maximum: 86_400 }) }, { additionalProperties: false })),
    newPayee: Type.Optional(Type.Object({ amountAbove: Amount }, { additionalProperties: false })),
    denyAccounts: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { maxItems: 100_000 })),
  },
  { additionalProperties: false },
);

export const DAY_SECONDS = 86_400;
export const MONTH_SECONDS = 30 * DAY_SECONDS;

interface WindowLimit {
  amount?: bigint;
  count?: number;
}

interface TierLimits {
  perTransferMax?: bigint;
  daily?: WindowLimit;
  monthly?: WindowLimit;
}

export interface Policy {
  tiers: Map<string, TierLimits>;
  velocity?: { count: number; seconds: number };
  newPayee?: { amountAbove: bigint };
  denyAccounts: Set<string>;
}

/** What an account sent in each window before the transfer being decided. */
export interface Usage {
  dayAmount: bigint;
  dayCount: number;
  monthAmount: bigint;
  monthCount: number;
  /** Transfers within the velocity rule's window. */
  recentCount: number;
}

export const noUsage = (): Usage => ({ dayAmount: 0n, dayCount: 0, monthAmount: 0n, monthCount: 0, recentCount: 0 });

const windowOf = (w: Static<typeof Window> | undefined): WindowLimit | undefined =>
  w && { amount: w.amount === undefined ? undefined : BigInt(w.amount), count: w.count };

/** Parses and checks a policy; throws with every problem listed, so a bad policy stops the start. */
export function parsePolicy(raw: unknown): Policy {
  if (!Value.Check(PolicySchema, raw)) {
    const problems = [...Value.Errors(PolicySchema, raw)].slice(0, 10).map((e) => `${e.instancePath || '/'} ${e.message}`);
    throw new Error(`TRANSFER_POLICY is not valid: ${problems.join('; ')}`);
  }
  const tiers = new Map(
    Object.entries(raw.tiers ?? {}).map(([name, t]) => [
      name,
      { perTransferMax: t.perTransferMax === undefined ? undefined : BigInt(t.perTransferMax), daily: windowOf(t.daily), monthly: windowOf(t.monthly) },
    ]),
  );
  return {
    tiers,
    velocity: raw.velocity,
    newPayee: raw.newPayee && { amountAbove: BigInt(raw.newPayee.amountAbove) },
    denyAccounts: new Set((raw.denyAccounts ?? []).map((id) => id.toLowerCase())),
  };
}

/** The tier's limits; an account whose tier the policy does not name gets the `standard` tier's. */
export const tierOf = (policy: Policy, account: LedgerAccount): TierLimits => policy.tiers.get(account.tier) ?? policy.tiers.get('standard') ?? {};

/** Whether deciding `from`'s transfers needs its usage counted (any windowed rule applies). */
export function needsUsage(policy: Policy, from: LedgerAccount): boolean {
  const tier = tierOf(policy, from);
  return from.type === 'user' && (tier.daily !== undefined || tier.monthly !== undefined || policy.velocity !== undefined);
}

/** Longest look-back the usage query needs, in seconds. */
export const usageWindowSeconds = (policy: Policy) => Math.max(policy.velocity?.seconds ?? 0, MONTH_SECONDS);

export const needsPayeeCheck = (policy: Policy, from: LedgerAccount, amount: bigint) =>
  from.type === 'user' && policy.newPayee !== undefined && amount > policy.newPayee.amountAbove;

function exceeded(limit: string, window: number | null, remaining: bigint | number): Refusal {
  const left = remaining < 0 ? 0 : remaining;
  return refuse('limit_exceeded', `The ${limit.replace('_', ' ')} limit allows ${left} more${window ? ` in ${window} seconds` : ''}`, {
    limit,
    window,
    remaining: typeof left === 'bigint' ? left.toString() : left,
  });
}

function checkWindow(name: 'daily' | 'monthly', limit: WindowLimit | undefined, amount: bigint, used: { amount: bigint; count: number }): Refusal | undefined {
  if (!limit) return undefined;
  const seconds = name === 'daily' ? DAY_SECONDS : MONTH_SECONDS;
  if (limit.amount !== undefined && used.amount + amount > limit.amount) return exceeded(`${name}_amount`, seconds, limit.amount - used.amount);
  if (limit.count !== undefined && used.count + 1 > limit.count) return exceeded(`${name}_count`, seconds, limit.count - used.count);
  return undefined;
}

/**
 * The policy's verdict on `amount` leaving `from` for `to`. Limits count what user accounts send
 * (transfers and holds); the deny list stops both directions.
 */
export function checkPolicy(policy: Policy, from: LedgerAccount, to: LedgerAccount, amount: bigint, usage: Usage, newPayee: boolean): Refusal | undefined {
  for (const account of [from, to]) {
    if (policy.denyAccounts.has(account.id)) return refuse('transfer_denied', `Account ${account.id} may not send or receive money`, { accountId: account.id });
  }
  if (from.type !== 'user') return undefined;
  const tier = tierOf(policy, from);
  if (tier.perTransferMax !== undefined && amount > tier.perTransferMax) return exceeded('per_transfer', null, tier.perTransferMax);
  const windowed =
    checkWindow('daily', tier.daily, amount, { amount: usage.dayAmount, count: usage.dayCount }) ??
    checkWindow('monthly', tier.monthly, amount, { amount: usage.monthAmount, count: usage.monthCount });
  if (windowed) return windowed;
  if (policy.velocity && usage.recentCount + 1 > policy.velocity.count) return exceeded('velocity', policy.velocity.seconds, policy.velocity.count - usage.recentCount);
  if (newPayee && policy.newPayee && amount > policy.newPayee.amountAbove) return exceeded('new_payee', null, policy.newPayee.amountAbove);
  return undefined;
}

/** Usage after one more transfer of `amount`. */
export const addUsage = (u: Usage, amount: bigint): Usage => ({
  dayAmount: u.dayAmount + amount,
  dayCount: u.dayCount + 1,
  monthAmount: u.monthAmount + amount,
  monthCount: u.monthCount + 1,
  recentCount: u.recentCount + 1,
});
