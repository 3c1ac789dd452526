// A person's own aliases: add, verify, resend a code, link and unlink receiving accounts, delete,
// change the handle. Every change runs in one transaction under the user's row lock (so the
// per-user limit holds under concurrent requests); codes leave through the notifier after the
// commit.
import { randomUUID } from 'node:crypto';
import { isUniqueViolation, ProblemError, type Db, type Queryable } from '@wallet/kit';
import { needsVerification, parseNewAlias, type AliasType } from '../domain/alias.ts';
import { decideHandleChange } from '../domain/handle-change.ts';
import { parseHandle } from '../domain/handle.ts';
import { newRandomKey } from '../domain/random-key.ts';
import {
  CODE_ATTEMPTS_MAX,
  CODE_TTL_MS,
  codeMatches,
  codeMessage,
  decideAttempt,
  decideSend,
  hashCode,
  newCode,
  SEND_WINDOW_MS,
} from '../domain/verification.ts';
import type { Notifier } from '../notify/index.ts';
import { findOwnAccount } from '../store/accounts.ts';
import {
  countLiveAliases,
  deleteAlias,
  deleteDeadClaims,
  findOwnAlias,
  findUserAliasByValue,
  insertAlias,
  linkNewAlias,
  listAliasesOfUser,
  lockHandleOf,
  lockOwnAlias,
  lockUser,
  markVerified,
  setLink,
  updateHandle,
  verifiedOwner,
  type OwnAlias,
} from '../store/aliases.ts';
import { countHandleChanges, pruneReservations, recordHandleChange, releaseHandle, reservationsOf, reservedFor, reserveHandle } from '../store/reservations.ts';
import { lockCode, pruneSends, putCode, recordSend, sendsSince, spendAttempt } from '../store/verifications.ts';
import type { DirectoryConfig } from './config.ts';

export interface OwnAliasesDeps {
  db: Db;
  notifier: Notifier;
  config: DirectoryConfig;
  /** HMAC key of verification codes (domain/verification.ts codeKey). */
  codeKey: Buffer;
  log: { warn(obj: object, msg: string): void };
  now?: () => Date;
}

export interface AliasList {
  aliases: OwnAlias[];
  max: number;
  handleChangesRemaining: number;
  reservedHandles: { handle: string; reservedUntil: Date }[];
}

const isUuid = (value: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
const notFound = () => new ProblemError('alias_not_found', 'You have no such alias');
const expired = () => new ProblemError('verification_code_expired', 'The code expired and the claim with it; add the alias again');
const rateLimited = (retryAfterMs: number) => {
  const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new ProblemError('rate_limited', `A code was sent to this address recently; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
};
const invalid = (field: string, message: string) => new ProblemError('validation_failed', message, { errors: [{ field: `body/${field}`, message }] });

/** What a transaction decided, thrown only after its commit (so spent attempts and deletions stay). */
type Outcome<T> = { ok: true; value: T } | { ok: false; error: ProblemError };
const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
const fail = <T>(error: ProblemError): Outcome<T> => ({ ok: false, error });
const unwrap = <T>(outcome: Outcome<T>): T => {
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
};

const SWEEP_INTERVAL_MS = 10 * 60_000;

/** Removes what no rule looks at any more. Safe to run anywhere, any time, on any replica. */
export async function sweep(db: Queryable, at: Date): Promise<void> {
  await deleteDeadClaims(db, 'all', at);
  await pruneSends(db, new Date(at.getTime() - SEND_WINDOW_MS));
  await pruneReservations(db, at);
}

export function createOwnAliases(deps: OwnAliasesDeps) {
  const { db, config } = deps;
  const now = deps.now ?? (() => new Date());

  const reload = async (q: Queryable, userId: string, aliasId: string): Promise<OwnAlias> => {
    const alias = await findOwnAlias(q, userId, aliasId);
    if (!alias) throw notFound();
    return alias;
  };

  // Housekeeping, at most every 10 minutes per process, in the background of an add: dead claims
  // of people who never came back, sends older than the limits look at, ended reservations.
  let lastSweep = 0;
  const sweepNowAndThen = (at: Date) => {
    if (at.getTime() - lastSweep < SWEEP_INTERVAL_MS) return;
    lastSweep = at.getTime();
    sweep(db, at).catch((error: unknown) => deps.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'alias housekeeping failed'));
  };

  const lockUserOrThrow = async (q: Queryable, userId: string) => {
    if (!(await lockUser(q, userId))) throw new ProblemError('user_not_found');
  };

  /** A new code for the claim, under the resend limits; returns it to send after the commit. */
  const issueCode = async (q: Queryable, claim: { userId: string; aliasId: string; type: AliasType; value: string }, at: Date): Promise<Outcome<string>> => {
    const target = { userId: claim.userId, type: claim.type, value: claim.value };
    const decision = decideSend(await sendsSince(q, target, new Date(at.getTime() - SEND_WINDOW_MS)), at);
    if (!decision.ok) return fail(rateLimited(decision.retryAfterMs));
    const code = newCode();
    await putCode(q, claim.aliasId, { codeHash: hashCode(deps.codeKey, claim.aliasId, code), expiresAt: new Date(at.getTime() + CODE_TTL_MS), sentAt: at });
    await recordSend(q, target, at);
    return ok(code);
  };

  const deliver = async (alias: { type: AliasType; displayValue: string }, code: string) => {
    const channel = alias.type === 'phone' ? 'sms' : 'email';
    try {
      await deps.notifier.send({ channel, to: alias.displayValue, ...codeMessage(code, channel) });
    } catch (error) {
      deps.log.warn({ err: error instanceof Error ? error.message : String(error), channel }, 'verification code not sent');
      throw new ProblemError('dependency_unavailable', 'The code could not be sent; ask for another one in a minute');
    }
  };

  const changeHandle = async (userId: string, requested: string): Promise<OwnAlias> => {
    const parsed = parseHandle(requested);
    if (!parsed.ok) throw parsed.code === 'handle_reserved' ? new ProblemError('handle_reserved', parsed.reason) : invalid('value', parsed.reason);
    const next = parsed.handle;
    const at = now();
    try {
      return await db.tx(async (q) => {
        await lockUserOrThrow(q, userId);
        const current = await lockHandleOf(q, userId);
        if (!current) throw new ProblemError('user_not_found');
        const reservation = await reservedFor(q, next.canonical, at);
        const decision = decideHandleChange({
          current: current.value,
          next: next.canonical,
          changesMade: await countHandleChanges(q, userId),
          changesMax: config.handleChangesMax,
          reservedFor: reservation,
          userId,
        });
        if (decision.kind === 'refused') {
          if (decision.code === 'handle_change_limit_reached') {
            throw new ProblemError('handle_change_limit_reached', `A handle can be changed ${config.handleChangesMax} times`, { max: config.handleChangesMax });
          }
          throw new ProblemError('alias_taken', `The handle "${next.display}" is taken`);
        }
        if (decision.kind === 'change') {
          const owner = await verifiedOwner(q, 'handle', next.canonical);
          if (owner !== undefined) throw new ProblemError('alias_taken', `The handle "${next.display}" is taken`);
          if (decision.switchingBack) await releaseHandle(q, next.canonical);
          if (config.handleReservationDays > 0) {
            await reserveHandle(q, { value: current.value, userId, displayValue: current.displayValue, until: new Date(at.getTime() + config.handleReservationDays * 86_400_000) });
          }
          await recordHandleChange(q, { userId, from: current.value, to: next.canonical, at });
        }
        await updateHandle(q, current.id, userId, next);
        return reload(q, userId, current.id);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ProblemError('alias_taken', `The handle "${next.display}" is taken`);
      throw error;
    }
  };

  return {
    async list(userId: string): Promise<AliasList> {
      const at = now();
      await deleteDeadClaims(db, { userId }, at);
      const [aliases, changes, reservations] = await Promise.all([listAliasesOfUser(db, userId), countHandleChanges(db, userId), reservationsOf(db, userId, at)]);
      return {
        aliases,
        max: config.aliasesPerUserMax,
        handleChangesRemaining: Math.max(0, config.handleChangesMax - changes),
        reservedHandles: reservations.map((r) => ({ handle: r.displayValue, reservedUntil: r.reservedUntil })),
      };
    },

    /**
     * Adds an alias. Random keys are generated and active at once; e-mail addresses and phone
     * numbers wait for the code sent there; a handle replaces the current one (a person has one).
     * `created` is false for a handle change.
     */
    async add(userId: string, type: AliasType, value: string | undefined): Promise<{ alias: OwnAlias; created: boolean }> {
      if (type === 'handle') {
        if (value === undefined) throw invalid('value', 'A handle alias needs a value');
        return { alias: await changeHandle(userId, value), created: false };
      }
      const parsed = parseNewAlias(type, value, newRandomKey);
      if (!parsed.ok) throw parsed.code === 'handle_reserved' ? new ProblemError('handle_reserved', parsed.reason) : invalid('value', parsed.reason);
      const wanted = parsed.alias;
      const at = now();
      const aliasId = randomUUID();
      // Any refusal throws inside the transaction: nothing of the request stays.
      const code = await db.tx(async (q): Promise<string | undefined> => {
        await lockUserOrThrow(q, userId);
        await deleteDeadClaims(q, { userId }, at);
        await deleteDeadClaims(q, { type: wanted.type, value: wanted.canonical }, at);
        if (await findUserAliasByValue(q, userId, wanted.type, wanted.canonical)) {
          throw new ProblemError('alias_already_added', 'You already have this alias');
        }
        if ((await countLiveAliases(q, userId, at)) >= config.aliasesPerUserMax) {
          throw new ProblemError('alias_limit_reached', `A person has at most ${config.aliasesPerUserMax} aliases`, { max: config.aliasesPerUserMax });
        }
        const pending = needsVerification(wanted.type);
        // E-mail and phone claims are accepted whoever holds the value: only the one who receives
        // the code can learn that it is taken, so adding never tells a scraper what exists.
        await insertAlias(q, { id: aliasId, userId, type: wanted.type, value: wanted.canonical, displayValue: wanted.display, verifiedAt: pending ? null : at, createdAt: at });
        if (!pending) {
          await linkNewAlias(q, aliasId, userId, at);
          return undefined;
        }
        return unwrap(await issueCode(q, { userId, aliasId, type: wanted.type, value: wanted.canonical }, at));
      });
      if (code !== undefined) await deliver({ type: wanted.type, displayValue: wanted.display }, code);
      sweepNowAndThen(at);
      return { alias: await reload(db, userId, aliasId), created: true };
    },

    /** Checks the code of a pending e-mail or phone claim; the first owner to verify a value wins it. */
    async verify(userId: string, aliasId: string, code: string): Promise<OwnAlias> {
      if (!isUuid(aliasId)) throw notFound();
      const at = now();
      let outcome: Outcome<OwnAlias>;
      try {
        outcome = await db.tx(async (q): Promise<Outcome<OwnAlias>> => {
          const alias = await lockOwnAlias(q, userId, aliasId);
          if (!alias) return fail(notFound());
          // Verifying twice (a retried request) answers the alias as it is.
          if (alias.verifiedAt !== null) return ok(await reload(q, userId, aliasId));
          const stored = await lockCode(q, aliasId);
          const decision = stored ? decideAttempt(stored, at) : 'expired';
          if (decision === 'expired') {
            await deleteAlias(q, aliasId);
            return fail(expired());
          }
          if (decision === 'exhausted') {
            return fail(new ProblemError('verification_attempts_exceeded', `The code was tried ${CODE_ATTEMPTS_MAX} times; ask for a new one`));
          }
          const attempts = await spendAttempt(q, aliasId);
          if (!codeMatches(deps.codeKey, aliasId, code, stored!.codeHash)) {
            const attemptsRemaining = Math.max(0, CODE_ATTEMPTS_MAX - attempts);
            return fail(new ProblemError('verification_code_invalid', `Wrong code; ${attemptsRemaining} attempts left`, { attemptsRemaining }));
          }
          const owner = await verifiedOwner(q, alias.type, alias.value);
          if (owner !== undefined && owner !== userId) {
            await deleteAlias(q, aliasId);
            return fail(new ProblemError('alias_taken', 'Someone else verified this alias first'));
          }
          // Others' claims of the value stay until they expire: whoever enters their code learns
          // then that it is taken (alias_taken), instead of finding their claim gone.
          await markVerified(q, aliasId, at);
          await linkNewAlias(q, aliasId, userId, at);
          return ok(await reload(q, userId, aliasId));
        });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // Someone verified the same value in the same instant and committed first.
        await deleteAlias(db, aliasId);
        throw new ProblemError('alias_taken', 'Someone else verified this alias first');
      }
      return unwrap(outcome);
    },

    /** A new code for a pending claim (the previous one dies), within the resend limits. */
    async resend(userId: string, aliasId: string): Promise<OwnAlias> {
      if (!isUuid(aliasId)) throw notFound();
      const at = now();
      const outcome = await db.tx(async (q): Promise<Outcome<{ code: string; type: AliasType; displayValue: string }>> => {
        const alias = await lockOwnAlias(q, userId, aliasId);
        if (!alias) return fail(notFound());
        if (alias.verifiedAt !== null) return fail(new ProblemError('alias_not_pending', 'This alias is verified already'));
        const stored = await lockCode(q, aliasId);
        if (!stored || stored.expiresAt.getTime() <= at.getTime()) {
          await deleteAlias(q, aliasId);
          return fail(expired());
        }
        const code = await issueCode(q, { userId, aliasId, type: alias.type, value: alias.value }, at);
        if (!code.ok) return fail(code.error);
        return ok({ code: code.value, type: alias.type, displayValue: alias.displayValue });
      });
      const sent = unwrap(outcome);
      await deliver(sent, sent.code);
      return reload(db, userId, aliasId);
    },

    /** Money sent to the alias in the account's currency goes to that account (one of the caller's ACTIVE accounts). */
    async link(userId: string, aliasId: string, currency: string, accountId: string): Promise<OwnAlias> {
      if (!isUuid(aliasId)) throw notFound();
      return db.tx(async (q) => {
        const alias = await lockOwnAlias(q, userId, aliasId);
        if (!alias) throw notFound();
        if (alias.verifiedAt === null) throw new ProblemError('alias_not_verified', 'Enter the code sent to this alias first');
        const account = isUuid(accountId) ? await findOwnAccount(q, userId, accountId.toLowerCase()) : undefined;
        if (!account) throw new ProblemError('account_not_found');
        if (account.currency !== currency) {
          throw new ProblemError('currency_mismatch', `The account holds ${account.currency}, not ${currency}`, { currency, accountCurrency: account.currency });
        }
        if (account.status === 'frozen') throw new ProblemError('account_frozen', 'A frozen account cannot receive through an alias', { accountId });
        if (account.status === 'closed') throw new ProblemError('account_closed', 'A closed account cannot receive through an alias', { accountId });
        await setLink(q, aliasId, currency, accountId.toLowerCase(), now());
        return reload(q, userId, aliasId);
      });
    },

    /** The alias stops receiving in that currency; new accounts do not link it again by themselves. */
    async unlink(userId: string, aliasId: string, currency: string): Promise<OwnAlias> {
      if (!isUuid(aliasId)) throw notFound();
      return db.tx(async (q) => {
        const alias = await lockOwnAlias(q, userId, aliasId);
        if (!alias) throw notFound();
        if (alias.verifiedAt === null) throw new ProblemError('alias_not_verified', 'Enter the code sent to this alias first');
        await setLink(q, aliasId, currency, null, now());
        return reload(q, userId, aliasId);
      });
    },

    /** Deletes an alias; its value is free for anyone at once. Handles are changed, never deleted. */
    async remove(userId: string, aliasId: string): Promise<void> {
      if (!isUuid(aliasId)) throw notFound();
      await db.tx(async (q) => {
        const alias = await lockOwnAlias(q, userId, aliasId);
        if (!alias) throw notFound();
        if (alias.type === 'handle') throw new ProblemError('handle_not_deletable', 'Every person has a handle; change it with POST /v1/me/aliases {"type":"handle"}');
        await deleteAlias(q, aliasId);
      });
    },
  };
}

export type OwnAliases = ReturnType<typeof createOwnAliases>;
