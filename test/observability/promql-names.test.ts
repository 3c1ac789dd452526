// The metric-name extraction the Prometheus test relies on to prove dashboards and alerts point at real series.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alertExpressions, dashboardExpressions, metricNames } from './support.ts';

test('metric names are found in PromQL, and functions, labels, ranges and grouping are not', () => {
  assert.deepEqual(
    metricNames('histogram_quantile(0.99, sum by (service, le) (rate(http_request_duration_seconds_bucket{service=~"$service", route!~".*/stream"}[$__rate_interval])))'),
    ['http_request_duration_seconds_bucket'],
  );
  assert.deepEqual(metricNames('(db_pool_clients - db_pool_idle_clients) >= db_pool_max_clients and max_over_time(db_pool_waiting_requests[1m]) > 0'), [
    'db_pool_clients',
    'db_pool_idle_clients',
    'db_pool_max_clients',
    'db_pool_waiting_requests',
  ]);
  assert.deepEqual(metricNames('time() - max(balance_drift_check_completed_timestamp_seconds) > 1800'), ['balance_drift_check_completed_timestamp_seconds']);
  assert.deepEqual(metricNames('label_values(http_request_duration_seconds_count, service)'), ['http_request_duration_seconds_count']);
  assert.deepEqual(metricNames('up{job=~"gateway|alias"} == 0'), ['up']);
});

test('every dashboard panel and alert rule refers to at least one metric', () => {
  const expressions = [...dashboardExpressions(), ...alertExpressions()];
  assert.ok(expressions.length > 40, `only ${expressions.length} expressions`);
  for (const { where, expr } of expressions) assert.ok(metricNames(expr).length > 0, `${where}: no metric in ${expr}`);
});
