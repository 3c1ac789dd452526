import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createCrashPoint, parseCrashSpec, type CrashPointName } from './crash.ts';

test('parseCrashSpec: name, optional hit count, empty is none', () => {
  assert.equal(parseCrashSpec(undefined), undefined);
  assert.equal(parseCrashSpec(''), undefined);
  assert.deepEqual(parseCrashSpec('outbox.after_publish_confirmed'), { name: 'outbox.after_publish_confirmed', afterHits: 1 });
  assert.deepEqual(parseCrashSpec('projector.mid_batch:7'), { name: 'projector.mid_batch', afterHits: 7 });
  assert.throws(() => parseCrashSpec('nowhere'), /unknown crash point/);
  assert.throws(() => parseCrashSpec('projector.mid_batch:0'), /positive integer/);
  assert.throws(() => parseCrashSpec('projector.mid_batch:x'), /positive integer/);
  assert.throws(() => parseCrashSpec('projector.mid_batch:1:2'), /positive integer/);
});

test('createCrashPoint dies once, on the n-th hit of its own point only', () => {
  const died: [CrashPointName, number][] = [];
  const point = createCrashPoint({ name: 'consumer.after_apply_before_ack', afterHits: 3 }, (name, hit) => died.push([name, hit]));
  point('projector.mid_batch');
  point('consumer.after_apply_before_ack');
  point('consumer.after_apply_before_ack');
  assert.deepEqual(died, []);
  point('consumer.after_apply_before_ack');
  point('consumer.after_apply_before_ack');
  assert.deepEqual(died, [['consumer.after_apply_before_ack', 3]]);
});

test('without a spec a crash point does nothing', () => {
  const point = createCrashPoint(undefined, () => assert.fail('must not die'));
  for (const name of ['outbox.after_publish_confirmed', 'projector.mid_batch'] as const) point(name);
});

test('a process with WALLET_CRASH_POINT dies by SIGKILL at the point, with no cleanup', () => {
  const crash = fileURLToPath(new URL('./crash.ts', import.meta.url));
  const script = `
    import { crashPoint } from ${JSON.stringify(crash)};
    process.on('exit', () => console.log('cleanup ran'));
    crashPoint('router.after_publish_before_ack');
    console.log('passed 1');
    crashPoint('router.after_publish_before_ack');
    console.log('passed 2');`;
  const run = (value: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, WALLET_CRASH_POINT: value }, encoding: 'utf8' });
  const killed = run('router.after_publish_before_ack:2');
  assert.equal(killed.signal, 'SIGKILL');
  assert.equal(killed.stdout.trim(), 'passed 1');
  assert.match(killed.stderr, /router\.after_publish_before_ack reached \(hit 2\)/);
  const untouched = run('');
  assert.equal(untouched.status, 0);
  assert.equal(untouched.stdout.trim(), 'passed 1\npassed 2\ncleanup ran');
});
