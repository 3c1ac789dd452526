// Starts the account service for a test file, with a probe queue that records what reaches the bus.
import type { Account, Problem } from '@wallet/contracts';
import { envelope, type Env, type EventEnvelope, type Infra, type RunningService } from '@wallet/kit';
import { eventually, type TestIssuer } from '@wallet/testkit';
import { createAccountService } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';

export interface Harness {
  service: RunningService;
  /** Every event the probe queue received, in arrival order. */
  events: EventEnvelope[];
  call(method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, token?: string, payload?: unknown): Promise<Reply>;
}

export interface Reply {
  status: number;
  contentType: string;
  /** An Account, an account list or a problem, depending on the route and status. */
  body: Omit<Account, 'status' | 'type'> &
    Omit<Problem, 'status' | 'type'> & { status: string | number; type: string; items: Account[]; errors?: { field: string; message: string }[] };
}

export async function startAccountService(infra: Infra, env: Env, issuer: TestIssuer): Promise<Harness> {
  const events: EventEnvelope[] = [];
  await infra.bus.subscribe({
    queue: 'test.probe',
    topics: ['account.*'],
    handler: async (event) => {
      events.push(event);
    },
  });
  // The queue binding is ready once an event sent now comes back.
  const ping = envelope('test', 'account.probe_ping', {});
  await eventually(
    async () => {
      await infra.bus.publish([ping]);
      return events.some((e) => e.id === ping.id) || undefined;
    },
    10_000,
    'the probe queue',
  );

  const config = loadConfig({ ...env, ...issuer.env });
  const service = await createAccountService(config, infra);
  await service.start();

  return {
    service,
    events,
    async call(method, url, token, payload) {
      const response = await service.app.inject({
        method,
        url,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
      return { status: response.statusCode, contentType: String(response.headers['content-type'] ?? ''), body: response.json() };
    },
  };
}

export const openedEvents = (events: EventEnvelope[], accountId: string) =>
  events.filter((e) => e.type === 'account.opened' && (e.data as { accountId?: string }).accountId === accountId);

export const statusEvents = (events: EventEnvelope[], accountId: string) =>
  events.filter((e) => e.type === 'account.status_changed' && (e.data as { accountId?: string }).accountId === accountId);

export const limitsEvents = (events: EventEnvelope[], accountId: string) =>
  events.filter((e) => e.type === 'account.limits_changed' && (e.data as { accountId?: string }).accountId === accountId);
