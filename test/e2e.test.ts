// The seed's two flows and the ledger's features end to end, through the gateway, in both run modes.
import { after, before, describe, test } from 'node:test';
import { needsInfra } from '@wallet/testkit';
import { runLedgerFlows } from './support/ledger-flows.ts';
import { runSeedFlows } from './support/seed-flows.ts';
import { startEmbeddedStack, startRealStack, type Stack } from './support/stack.ts';

describe('real mode: five processes on PostgreSQL, RabbitMQ and Redis', await needsInfra(), () => {
  let stack: Stack;
  before(async () => {
    stack = await startRealStack();
  });
  after(async () => stack?.stop());
  test('sign-ups, a deposit, a transfer by alias, balances through events, replays and refusals', async () => runSeedFlows(stack));
  test('holds, partial posts, voids, reversals and an operator-set overdraft, with posted / pending / available', async () => runLedgerFlows(stack));
});

describe('embedded mode: one process on PGlite', () => {
  let stack: Stack;
  before(async () => {
    stack = await startEmbeddedStack();
  });
  after(async () => stack?.stop());
  test('sign-ups, a deposit, a transfer by alias, balances through events, replays and refusals', async () => runSeedFlows(stack));
  test('holds, partial posts, voids, reversals and an operator-set overdraft, with posted / pending / available', async () => runLedgerFlows(stack));
});
