import { test } from 'node:test';
import assert from 'node:assert/strict';
import { figuresOf, parseMetrics } from './figures.ts';

const exposition = `# HELP balance_drifted_accounts Accounts whose projection differed
# TYPE balance_drifted_accounts gauge
balance_drifted_accounts 2
balance_drift_checked_accounts 40
balance_projection_lag_entries 3
balance_drift_check_completed_timestamp_seconds 1795835202.5
balance_drift_repairs_total{kind="drift"} 2
balance_drift_repairs_total{kind="gap"} 1
balance_event_lag_seconds_bucket{le="0.01"} 90
balance_event_lag_seconds_bucket{le="0.05"} 99
balance_event_lag_seconds_bucket{le="0.1"} 100
balance_event_lag_seconds_bucket{le="+Inf"} 100
balance_event_lag_seconds_sum 1.5
balance_event_lag_seconds_count 100
`;

test("the balance service's metrics become the operator's figures", () => {
  assert.deepEqual(figuresOf(parseMetrics(exposition)), {
    driftedAccounts: 2,
    checkedAccounts: 40,
    lagEntriesMax: 3,
    driftCheckedAt: '2026-11-28T03:06:42.500Z',
    repairs: 3,
    eventLag: { events: 100, meanSeconds: 0.015, p99Seconds: 0.05 },
  });
});

test('figures not yet measured are null, not zero', () => {
  assert.deepEqual(figuresOf(parseMetrics('balance_event_lag_seconds_count 0\n')), {
    driftedAccounts: null,
    checkedAccounts: null,
    lagEntriesMax: null,
    driftCheckedAt: null,
    repairs: null,
    eventLag: { events: 0, meanSeconds: null, p99Seconds: null },
  });
});
