import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dailyBalances, historyPeriod, utcDays, type DayTotals } from './history.ts';

const iso = (s: string) => new Date(s);

test('the default period is the 30 UTC days up to the end of today', () => {
  const result = historyPeriod({}, iso('2026-03-10T15:30:00Z'));
  assert.ok(result.ok);
  assert.equal(result.period.from.toISOString(), '2026-02-09T00:00:00.000Z');
  assert.equal(result.period.to.toISOString(), '2026-03-11T00:00:00.000Z');
  assert.equal(utcDays(result.period).length, 30);
});

test('periods: from before to, at most 366 days, dates or date-times', () => {
  assert.equal(historyPeriod({ from: '2026-01-02', to: '2026-01-02' }, new Date()).ok, false);
  assert.equal(historyPeriod({ from: '2026-01-03', to: '2026-01-02' }, new Date()).ok, false);
  assert.ok(historyPeriod({ from: '2025-01-01', to: '2026-01-02' }, new Date()).ok);
  assert.equal(historyPeriod({ from: '2025-01-01', to: '2026-01-03' }, new Date()).ok, false);
  // 366 days of span that touch 367 UTC days are too many rows.
  assert.equal(historyPeriod({ from: '2025-01-01T12:00:00Z', to: '2026-01-02T12:00:00Z' }, new Date()).ok, false);
  const only = historyPeriod({ from: '2026-01-01' }, iso('2026-01-05T01:00:00Z'));
  assert.ok(only.ok);
  assert.equal(only.period.to.toISOString(), '2026-01-06T00:00:00.000Z');
});

test('UTC days are clipped to the period', () => {
  const days = utcDays({ from: iso('2026-01-01T18:00:00Z'), to: iso('2026-01-03T06:00:00Z') });
  assert.deepEqual(
    days.map((d) => [d.date, d.from.toISOString(), d.to.toISOString()]),
    [
      ['2026-01-01', '2026-01-01T18:00:00.000Z', '2026-01-02T00:00:00.000Z'],
      ['2026-01-02', '2026-01-02T00:00:00.000Z', '2026-01-03T00:00:00.000Z'],
      ['2026-01-03', '2026-01-03T00:00:00.000Z', '2026-01-03T06:00:00.000Z'],
    ],
  );
});

test('each day opens on the previous close and closes on the highest sequence so far', () => {
  const days = utcDays({ from: iso('2026-01-01'), to: iso('2026-01-05') });
  const totals: DayTotals[] = [
    { date: '2026-01-01', sequence: 3n, balanceAfter: 700n, entries: 2 },
    // Jan 3's last entry by time has a lower sequence than one written (by time) on Jan 2: the
    // ledger's times come from its group commit. The higher sequence wins, as in the statement.
    { date: '2026-01-02', sequence: 6n, balanceAfter: 400n, entries: 1 },
    { date: '2026-01-03', sequence: 5n, balanceAfter: 999n, entries: 1 },
  ];
  const rows = dailyBalances(days, { sequence: 1n, balanceAfter: 1_000n }, totals);
  assert.deepEqual(
    rows.map((r) => [r.date, r.openingBalance, r.closingBalance, r.entries]),
    [
      ['2026-01-01', 1_000n, 700n, 2],
      ['2026-01-02', 700n, 400n, 1],
      ['2026-01-03', 400n, 400n, 1],
      ['2026-01-04', 400n, 400n, 0],
    ],
  );
  // Before the account's first entry everything is 0.
  assert.deepEqual(dailyBalances(days.slice(0, 1), undefined, []).map((r) => [r.openingBalance, r.closingBalance]), [[0n, 0n]]);
});
