// A real Prometheus scrapes the five services in real mode with the committed scrape configuration
// and alert rules (only the targets and intervals changed). After a transfer through the gateway, the
// series operators rely on are there, every metric the dashboards and alerts name exists in what
// Prometheus scraped, and every rule evaluates without error.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { defaultPorts } from '@wallet/kit';
import { freePorts, needsInfra } from '@wallet/testkit';
import { WalletClient, until } from '../support/client.ts';
import { startRealStack, type Stack } from '../support/stack.ts';
import { alertExpressions, alertRulesPath, dashboardExpressions, metricNames, needsBinary, prometheusBin, prometheusConfigPath } from './support.ts';

const services = ['gateway', 'alias', 'account', 'transaction', 'balance'] as const;
type ServiceName = (typeof services)[number];

interface ScrapeConfig {
  job_name: string;
  static_configs?: { targets: string[] }[];
}

/** The committed configuration with this test's ports, a 1 s scrape and the committed rules. */
function testConfig(ports: Record<ServiceName, number>): string {
  const config = parse(readFileSync(prometheusConfigPath, 'utf8')) as { global: Record<string, string>; rule_files: string[]; scrape_configs: ScrapeConfig[] };
  assert.deepEqual(config.rule_files, ['alerts.yml']);
  for (const name of services) {
    const job = config.scrape_configs.find((c) => c.job_name === name);
    // The committed file points at the compose services on their default port (balance: both replicas).
    const hosts = name === 'balance' ? ['balance-0', 'balance-1'] : [name];
    assert.deepEqual(job?.static_configs, [{ targets: hosts.map((host) => `${host}:${defaultPorts[name]}`) }], `job ${name}`);
    job!.static_configs = [{ targets: [`127.0.0.1:${ports[name]}`] }];
  }
  config.global = { ...config.global, scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' };
  config.rule_files = [alertRulesPath];
  return stringify(config);
}

async function startPrometheus(configText: string): Promise<{ url: string; process: ChildProcess; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'wallet-prometheus-'));
  writeFileSync(join(dir, 'prometheus.yml'), configText);
  const [port] = await freePorts(1);
  const child = spawn(
    prometheusBin,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${stderr}`);
    const ready = await fetch(`${url}/-/ready`).catch(() => undefined);
    return ready?.ok ? true : undefined;
  }, 'Prometheus to be ready', 30_000);
  return { url, process: child, dir };
}

async function api<T>(base: string, path: string): Promise<T> {
  const response = await fetch(`${base}/api/v1/${path}`);
  const body = (await response.json()) as { status: string; data: T; error?: string };
  assert.equal(body.status, 'success', `${path}: ${body.error}`);
  return body.data;
}

type Vector = { metric: Record<string, string>; value: [number, string] }[];
const query = (base: string, promql: string) => api<{ result: Vector }>(base, `query?query=${encodeURIComponent(promql)}`).then((d) => d.result);
const labelSet = (vector: Vector, label: string) => new Set(vector.map((s) => s.metric[label]));

describe('Prometheus scrapes every service with the committed configuration', { ...(await needsInfra()), ...needsBinary(prometheusBin) }, () => {
  let stack: Stack;
  let prometheus: Awaited<ReturnType<typeof startPrometheus>> | undefined;

  before(async () => {
    // A drift check every second, so that its gauges exist within the test.
    stack = await startRealStack({ BALANCE_DRIFT_CHECK_INTERVAL_MS: '1000' });
    const ports = Object.fromEntries(services.map((name) => [name, Number(stack.env![`${name.toUpperCase()}_PORT`])])) as Record<ServiceName, number>;
    prometheus = await startPrometheus(testConfig(ports));
  });

  after(async () => {
    if (prometheus) {
      const exited = new Promise((resolve) => prometheus!.process.once('exit', resolve));
      prometheus.process.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      if (prometheus.process.exitCode === null) prometheus.process.kill('SIGKILL');
      rmSync(prometheus.dir, { recursive: true, force: true });
    }
    await stack?.stop();
  });

  test('every target is up', async () => {
    const targets = await until(async () => {
      const { activeTargets } = await api<{ activeTargets: { labels: { job: string }; health: string; lastError: string }[] }>(prometheus!.url, 'targets');
      const up = activeTargets.filter((t) => t.health === 'up');
      return up.length === services.length ? activeTargets : undefined;
    }, 'all five targets up', 30_000);
    assert.deepEqual(targets.map((t) => t.labels.job).sort(), [...services].sort());
  });

  test('after a transfer, the key series are scraped', async () => {
    const ana = new WalletClient(stack.gatewayUrl);
    const bob = new WalletClient(stack.gatewayUrl);
    const operator = new WalletClient(stack.gatewayUrl);
    const tag = Math.random().toString(36).slice(2, 8);
    await ana.signUp(`ana_${tag}`, 'Ana Pereira');
    await bob.signUp(`bob_${tag}`, 'Bob Marley');
    const anaAccount = await ana.openAccount('USD');
    const bobAccount = await bob.openAccount('USD');
    assert.equal((await operator.loginClient(stack.operator.id, stack.operator.secret)).status, 200);
    assert.equal((await operator.deposit(anaAccount, '1000')).status, 201);
    const sent = await ana.transfer({ fromAccountId: anaAccount, to: { accountId: bobAccount }, amount: '250', currency: 'USD' });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const refused = await ana.transfer({ fromAccountId: anaAccount, to: { accountId: bobAccount }, amount: '100000', currency: 'USD' });
    assert.equal(refused.body.code, 'insufficient_funds');
    await until(async () => ((await bob.balance(bobAccount)).body.available === '250' ? true : undefined), "Bob's balance");

    const base = prometheus!.url;
    // Transfers by outcome: the deposit and the transfer completed, one refusal by its code.
    const outcomes = await until(async () => {
      const v = await query(base, 'sum by (outcome) (ledger_transfers_total{job="transaction"})');
      const byOutcome = Object.fromEntries(v.map((s) => [s.metric.outcome, Number(s.value[1])]));
      return byOutcome.completed! >= 2 && byOutcome.insufficient_funds! >= 1 ? byOutcome : undefined;
    }, 'ledger_transfers_total by outcome', 20_000);
    assert.ok(outcomes.completed! >= 2);

    // Requests by service and route: the transfer route on the gateway and on the ledger.
    const routes = await until(async () => {
      const v = await query(base, 'sum by (service, route, status) (http_request_duration_seconds_count{route="/v1/transfers"})');
      return v.some((s) => s.metric.service === 'gateway' && s.metric.status === '201') && v.some((s) => s.metric.service === 'transaction' && s.metric.status === '422') ? v : undefined;
    }, 'the transfer route in http_request_duration_seconds_count', 20_000);
    assert.ok(routes.length >= 2);
    assert.deepEqual([...labelSet(await query(base, 'http_request_duration_seconds_count'), 'service')].sort(), [...services].sort());
    assert.deepEqual([...labelSet(await query(base, 'nodejs_eventloop_lag_p99_seconds'), 'service')].sort(), [...services].sort());

    // The pool of each service with a database, read on scrape.
    const pools = await query(base, 'db_pool_max_clients');
    assert.deepEqual([...labelSet(pools, 'service')].sort(), ['account', 'alias', 'balance', 'transaction']);
    assert.ok(pools.every((s) => Number(s.value[1]) >= 1));
    assert.ok((await query(base, 'db_pool_clients{service="transaction"}')).some((s) => Number(s.value[1]) >= 1), 'the ledger has opened connections');

    // The outboxes, drained once the events are out.
    const outboxes = await until(async () => {
      const v = await query(base, 'outbox_pending_events');
      return v.length === 3 && v.every((s) => s.value[1] === '0') ? v : undefined;
    }, 'three empty outboxes', 20_000);
    assert.deepEqual(Object.fromEntries(outboxes.map((s) => [s.metric.service, s.metric.schema])), { account: 'account', transaction: 'ledger', balance: 'balance' });
    assert.equal((await query(base, 'outbox_oldest_event_age_seconds')).length, 3);

    // Circuit breakers of the service clients and of the gateway's upstream instances ("<upstream> <url>"), closed.
    const breakers = await query(base, 'circuit_breaker_state');
    const named = breakers.map((s) => `${s.metric.service}->${s.metric.breaker?.replace(/ http:\/\/127\.0\.0\.1:\d+$/, '')}=${s.value[1]}`);
    assert.deepEqual(named.sort(), [
      'balance->transaction=0',
      'gateway->account=0',
      'gateway->alias=0',
      'gateway->balance=0',
      'gateway->transaction=0',
      'transaction->account=0',
      'transaction->alias=0',
    ]);
    assert.equal((await query(base, 'circuit_breaker_rejected_total')).length, 7);

    // Consumer lag per consumed queue, with a consumer each and nothing dead-lettered.
    const queues = await query(base, 'bus_queue_ready_messages');
    const names = labelSet(queues, 'queue');
    for (const queue of ['alias.accounts', 'ledger.accounts', 'balance.p0']) assert.ok(names.has(queue), `bus_queue_ready_messages{queue="${queue}"} in ${[...names].join(', ')}`);
    assert.ok((await query(base, 'bus_queue_consumers')).every((s) => Number(s.value[1]) >= 1));
    assert.ok((await query(base, 'bus_dead_letter_messages')).every((s) => s.value[1] === '0'));
    // The balance consumer's lag histogram saw the transfer.
    await until(async () => ((await query(base, 'balance_event_lag_seconds_count')).some((s) => Number(s.value[1]) >= 1) ? true : undefined), 'balance_event_lag_seconds_count', 20_000);
  });

  test('every metric the dashboards and alert rules name is scraped', async () => {
    const expressions = [...dashboardExpressions(), ...alertExpressions()];
    const wanted = new Map<string, string>();
    for (const { where, expr } of expressions) for (const name of metricNames(expr)) if (!wanted.has(name)) wanted.set(name, where);
    assert.ok(wanted.size > 30, `only ${wanted.size} metric names`);
    // The drift check's gauges appear once a check completes (every second here).
    const missing = await until(async () => {
      const scraped = new Set(await api<string[]>(prometheus!.url, 'label/__name__/values'));
      const absent = [...wanted.keys()].filter((name) => !scraped.has(name));
      return absent.length === 0 ? absent : undefined;
    }, 'every referenced metric', 30_000).catch(async () => {
      const scraped = new Set(await api<string[]>(prometheus!.url, 'label/__name__/values'));
      return [...wanted.entries()].filter(([name]) => !scraped.has(name)).map(([name, where]) => `${name} (${where})`);
    });
    assert.deepEqual(missing, []);
  });

  test('every metric family the services expose is described in docs/observability.md', async () => {
    const doc = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8');
    const undocumented: string[] = [];
    for (const name of services) {
      const text = await (await fetch(`http://127.0.0.1:${stack.env![`${name.toUpperCase()}_PORT`]}/metrics`)).text();
      const families = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
      assert.ok(families.includes('http_request_duration_seconds'), name);
      // prom-client's default process and Node.js metrics are described as a group.
      for (const family of families) if (!/^(nodejs|process)_/.test(family) && !doc.includes(`\`${family}\``)) undocumented.push(`${name}: ${family}`);
    }
    assert.deepEqual(undocumented, []);
  });

  test('every alert rule evaluates without error', async () => {
    const rules = await until(async () => {
      const { groups } = await api<{ groups: { rules: { name: string; health: string; lastError?: string; lastEvaluation: string }[] }[] }>(prometheus!.url, 'rules');
      const all = groups.flatMap((g) => g.rules);
      return all.length > 0 && all.every((r) => !r.lastEvaluation.startsWith('0001')) ? all : undefined;
    }, 'every rule evaluated', 20_000);
    assert.equal(rules.length, alertExpressions().length);
    assert.deepEqual(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.lastError}`), []);
  });
});
