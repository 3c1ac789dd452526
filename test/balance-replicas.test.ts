// Three balance-service processes share the partitions while people send money concurrently; one is
// killed (SIGKILL) mid-run. Afterwards every projected balance equals the ledger, and every ledger
// entry was applied exactly once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { freePorts, needsInfra } from '@wallet/testkit';
import { WalletClient, until } from './support/client.ts';
import { startRealStack, type Stack } from './support/stack.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
// Replica 0 (the stack's) stands by late, so replicas 1 and 2 — however slowly they start on a busy
// machine — are the active consumers of their own partitions; 1 and 2 stand by on the rest quickly,
// so when 1 is killed, 2 takes over its partitions.
const replicaEnv = { BALANCE_REPLICAS: '3' };
const standbyDelayMs = 1000;

async function startReplica(stack: Stack, index: number): Promise<{ child: ChildProcess; port: number }> {
  const [port] = await freePorts(1);
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/balance/src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      ...stack.env,
      WALLET_MODE: 'real',
      ...replicaEnv,
      BALANCE_STANDBY_DELAY_MS: String(standbyDelayMs),
      BALANCE_REPLICA_INDEX: String(index),
      BALANCE_PORT: String(port),
    } as NodeJS.ProcessEnv,
    stdio: 'ignore',
  });
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`replica ${index} exited with ${child.exitCode}`);
    return fetch(`http://127.0.0.1:${port}/readyz`).then((r) => (r.ok ? true : undefined), () => undefined);
  }, `replica ${index}`, 30_000);
  return { child, port: port! };
}

const appliedBy = async (port: number) => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^balance_events_applied_total(?:\{[^}]*\})? (\S+)/m.exec(text)?.[1] ?? 0);
};

describe('balance replicas: partitioned consumers', await needsInfra(), () => {
  let stack: Stack;
  const replicas: { child: ChildProcess; port: number }[] = [];
  before(async () => {
    stack = await startRealStack({ ...replicaEnv, BALANCE_REPLICA_INDEX: '0', BALANCE_STANDBY_DELAY_MS: '60000' });
    replicas.push(await startReplica(stack, 1), await startReplica(stack, 2));
  });
  after(async () => {
    for (const r of replicas) r.child.kill('SIGKILL');
    await stack?.stop();
  });

  test('three replicas apply concurrent transfers; killing one loses and duplicates nothing', async () => {
    const operator = new WalletClient(stack.gatewayUrl);
    await operator.loginClient(stack.operator.id, stack.operator.secret);
    const tag = randomUUID().slice(0, 6);
    const people: { client: WalletClient; account: string }[] = [];
    for (let i = 0; i < 12; i++) {
      const client = new WalletClient(stack.gatewayUrl);
      await client.signUp(`rep_${tag}_${i}`, `Replica ${i}`);
      const account = await client.openAccount('USD');
      assert.equal((await operator.deposit(account, '100000')).status, 201);
      people.push({ client, account });
    }
    // Replicas 1 and 2 stand by on the others' partitions before one is killed.
    await new Promise((resolve) => setTimeout(resolve, standbyDelayMs + 1000));

    let sent = 0;
    let killed = false;
    const worker = async (w: number) => {
      for (let i = 0; i < 40; i++) {
        const from = people[(w + i) % people.length]!;
        const to = people[(w * 7 + i * 3 + 1) % people.length]!;
        if (from === to) continue;
        const r = await from.client.transfer({ fromAccountId: from.account, to: { accountId: to.account }, amount: String(1 + ((w + i) % 50)), currency: 'USD' });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        if (++sent === 150 && !killed) {
          killed = true;
          assert.ok((await appliedBy(replicas[0]!.port)) > 0, 'replica 1 applied its partitions before the kill');
          replicas[0]!.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    assert.ok(killed);
    assert.ok((await appliedBy(replicas[1]!.port)) > 0, 'replica 2 applied its partitions');

    const db = stack.infra!.db;
    const ledger = await db.query<{ id: string; balance: bigint; pending: bigint; sequence: bigint }>('SELECT id, balance, pending, sequence FROM ledger.accounts');
    for (const account of ledger.rows) {
      await until(async () => {
        const { rows } = await db.query<{ posted: bigint; sequence: bigint }>('SELECT available AS posted, sequence FROM balance.balances WHERE account_id = $1', [account.id]);
        return rows[0]?.posted === account.balance && rows[0]?.sequence === account.sequence ? true : undefined;
      }, `the projection of ${account.id} to reach the ledger`, 60_000);
    }
    const counts = await db.query<{ ledger: bigint; projected: bigint }>(
      'SELECT (SELECT count(*) FROM ledger.entries)::bigint AS ledger, (SELECT count(*) FROM balance.entries)::bigint AS projected',
    );
    assert.equal(counts.rows[0]!.projected, counts.rows[0]!.ledger, 'every ledger entry applied exactly once');
    const total = await db.query<{ total: bigint }>('SELECT sum(available)::bigint AS total FROM balance.balances');
    assert.equal(total.rows[0]!.total, 0n);
  });
});
