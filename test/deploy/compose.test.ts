// docker-compose.yml, validated by docker-compose itself (`config -q`; there is no Docker engine
// here) and checked for what the deployment needs: every service from the one image, healthchecks,
// start order on health, two balance replicas that split the partitions, secrets only from .env.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { servicesRequired } from '@wallet/testkit';

const root = fileURLToPath(new URL('../..', import.meta.url));
const composeBin = '/usr/bin/docker-compose';
const skip = !existsSync(composeBin) && !servicesRequired ? `${composeBin} is not installed` : false;

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  networks?: { default?: { aliases?: string[] } };
}

const wallet = ['alias', 'account', 'transaction', 'balance-0', 'balance-1', 'gateway'];

describe('docker-compose.yml', { skip }, () => {
  let dir: string;
  let config: { services: Record<string, ComposeService> };

  before(() => {
    assert.ok(existsSync(composeBin), `${composeBin} is required (WALLET_REQUIRE_SERVICES=1)`);
    dir = mkdtempSync(join(tmpdir(), 'wallet-compose-'));
    copyFileSync(join(root, 'docker-compose.yml'), join(dir, 'docker-compose.yml'));
    // A filled .env, as deploy/generate-env.sh writes it.
    writeFileSync(join(dir, '.env'), execFileSync('sh', [join(root, 'deploy/generate-env.sh')], { encoding: 'utf8' }));
    const out = execFileSync(composeBin, ['-f', join(dir, 'docker-compose.yml'), 'config'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    config = parse(out) as typeof config;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('is valid (docker-compose config -q) with the .env deploy/generate-env.sh writes', () => {
    const result = spawnSync(composeBin, ['-f', join(dir, 'docker-compose.yml'), 'config', '-q'], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
  });

  test('is refused without the secrets (no built-in passwords)', () => {
    const bare = mkdtempSync(join(tmpdir(), 'wallet-compose-bare-'));
    try {
      copyFileSync(join(root, 'docker-compose.yml'), join(bare, 'docker-compose.yml'));
      copyFileSync(join(root, '.env.example'), join(bare, '.env'));
      const result = spawnSync(composeBin, ['-f', join(bare, 'docker-compose.yml'), 'config', '-q'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /set [A-Z_]+ in \.env/);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  test('runs every service from the one image, in the real mode, with a healthcheck and start order on health', () => {
    assert.deepEqual(Object.keys(config.services).sort(), [...wallet, 'grafana', 'postgres', 'prometheus', 'rabbitmq', 'redis'].sort());
    for (const name of Object.keys(config.services)) assert.ok(config.services[name]!.healthcheck?.test, `${name}: healthcheck`);
    for (const name of wallet) {
      const service = config.services[name]!;
      assert.equal(service.image, 'wallet:0.1.0', name);
      assert.equal(service.command?.[0], name.replace(/-\d$/, ''), `${name}: the image's argument names the service`);
      assert.equal(service.environment?.WALLET_MODE, 'real');
      assert.equal(service.environment?.HOST, '0.0.0.0');
      assert.ok((service.environment?.INTERNAL_CLIENT_SECRET ?? '').length >= 32, `${name}: the internal secret from .env`);
      for (const dep of ['postgres', 'rabbitmq', 'redis']) assert.equal(service.depends_on?.[dep]?.condition, 'service_healthy', `${name} waits for ${dep}`);
      if (name !== 'alias') assert.equal(service.depends_on?.alias?.condition, 'service_healthy', `${name} waits for alias (signing keys)`);
    }
    for (const name of ['alias', 'account', 'transaction', 'balance-0', 'balance-1']) {
      assert.equal(config.services.gateway!.depends_on?.[name]?.condition, 'service_healthy', `gateway waits for ${name}`);
    }
  });

  test('two balance replicas split the partitions and answer to one name', () => {
    const replicas = ['balance-0', 'balance-1'].map((name) => config.services[name]!);
    assert.deepEqual(replicas.map((r) => r.environment?.BALANCE_REPLICAS), ['2', '2']);
    assert.deepEqual(replicas.map((r) => r.environment?.BALANCE_REPLICA_INDEX), ['0', '1']);
    for (const r of replicas) assert.deepEqual(r.networks?.default?.aliases, ['balance']);
    assert.equal(config.services.gateway!.environment?.BALANCE_URL, 'http://balance:8084');
  });

  test('Prometheus and Grafana mount the provisioning from deploy/', () => {
    const mounts = (name: string) => (config.services[name]!.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${(v as { source: string }).source}:${(v as { target: string }).target}`));
    const text = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    for (const path of ['./deploy/prometheus/prometheus.yml', './deploy/prometheus/alerts.yml', './deploy/grafana/provisioning', './deploy/grafana/dashboards']) {
      assert.ok(text.includes(`${path}:`), `mounts ${path}`);
    }
    assert.ok(mounts('prometheus').some((m) => m.endsWith('/etc/prometheus/prometheus.yml') || m.includes('/etc/prometheus/prometheus.yml')));
    assert.ok(mounts('grafana').some((m) => m.includes('/etc/grafana/provisioning')));
  });

  test('.env is ignored by git and .env.example carries no value', () => {
    const ignored = spawnSync('git', ['check-ignore', '-q', '.env'], { cwd: root });
    assert.equal(ignored.status, 0, '.env is in .gitignore');
    const example = readFileSync(join(root, '.env.example'), 'utf8').split('\n').filter((l) => /^[A-Z_]+=/.test(l));
    assert.ok(example.length >= 8);
    for (const line of example) assert.match(line, /^[A-Z_]+=$/, line);
  });
});
