// Point-in-time and daily balances from the persisted entries. Pure: periods, UTC days, and the
// fold of each day's last entry into opening and closing balances.
//
// "The balance at the end of a period" is the ledger statement's definition: the balance after the
// account's HIGHEST SEQUENCE among the entries written before that moment (0 before the first). The
// ledger's times come from its group commit, so two entries close together may carry times out of
// sequence order; taking the highest sequence, not the latest time, keeps both services agreeing.

export const DAY_MS = 86_400_000;
/** Rows (UTC days) one history answer holds at most. */
export const HISTORY_DAYS_MAX = 366;
/** Days the history covers when `from` is not given. */
export const HISTORY_DAYS_DEFAULT = 30;

export function startOfUtcDay(time: Date): Date {
  return new Date(Math.floor(time.getTime() / DAY_MS) * DAY_MS);
}

export interface Period {
  from: Date;
  to: Date;
}

export type PeriodResult = { ok: true; period: Period } | { ok: false; reason: string };

/**
 * The period [from, to) of a history request. Without `to`: up to the end of the current UTC day
 * (today so far is the last row); without `from`: the 30 days before `to`.
 */
export function historyPeriod(query: { from?: string; to?: string }, now: Date): PeriodResult {
  const to = query.to === undefined ? new Date(startOfUtcDay(now).getTime() + DAY_MS) : new Date(query.to);
  const from = query.from === undefined ? new Date(to.getTime() - HISTORY_DAYS_DEFAULT * DAY_MS) : new Date(query.from);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) return { ok: false, reason: '`from` and `to` must be ISO 8601 dates or date-times' };
  if (!(from < to)) return { ok: false, reason: '`from` must be before `to`' };
  const days = Math.ceil((to.getTime() - startOfUtcDay(from).getTime()) / DAY_MS);
  if (days > HISTORY_DAYS_MAX) return { ok: false, reason: `A history covers at most ${HISTORY_DAYS_MAX} days` };
  return { ok: true, period: { from, to } };
}

export interface Day {
  /** YYYY-MM-DD (UTC). */
  date: string;
  /** The day's start, or the period's when it starts later. */
  from: Date;
  /** The next day's start, or the period's end when it ends sooner. */
  to: Date;
}

/** The UTC days that [from, to) touches, each clipped to the period. */
export function utcDays({ from, to }: Period): Day[] {
  const days: Day[] = [];
  for (let start = startOfUtcDay(from); start < to; start = new Date(start.getTime() + DAY_MS)) {
    const end = new Date(start.getTime() + DAY_MS);
    days.push({ date: start.toISOString().slice(0, 10), from: start < from ? from : start, to: end > to ? to : end });
  }
  return days;
}

/** The entry with the highest sequence among some entries: its sequence and the posted balance after it. */
export interface LastEntry {
  sequence: bigint;
  balanceAfter: bigint;
}

/** What the store says of one UTC day of the period (days without entries are absent). */
export interface DayTotals extends LastEntry {
  date: string;
  /** Entries that moved posted money (a hold's reservation and release move none), as the statement lists them. */
  entries: number;
}

export interface DayBalance extends Day {
  openingBalance: bigint;
  closingBalance: bigint;
  entries: number;
}

/**
 * Opening and closing posted balances of each day, from the last entry before the period and each
 * day's highest-sequence entry: a day closes on the highest sequence seen so far, and opens on the
 * previous day's close.
 */
export function dailyBalances(days: readonly Day[], before: LastEntry | undefined, totals: readonly DayTotals[]): DayBalance[] {
  const byDate = new Map(totals.map((t) => [t.date, t]));
  let last = before;
  return days.map((day) => {
    const openingBalance = last?.balanceAfter ?? 0n;
    const today = byDate.get(day.date);
    if (today && (!last || today.sequence > last.sequence)) last = today;
    return { ...day, openingBalance, closingBalance: last?.balanceAfter ?? 0n, entries: today?.entries ?? 0 };
  });
}
