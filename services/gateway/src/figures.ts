// GET /v1/admin/figures (operators): the balance read model's drift and lag, as the balance service's
// own Prometheus metrics report them, for the operator console. The gateway reads the balance
// service's /metrics (never routed publicly) and answers only these figures.
import type { onRequestHookHandler } from 'fastify';
import { problemBody, requireScope, scopes, sendProblem, type App, type TokenVerifier } from '@wallet/kit';
import { identifyCaller, requireCaller } from './edge-auth.ts';

export interface Figures {
  /** Accounts whose read model differed from the ledger at the same entry, in the last drift check. */
  driftedAccounts: number | null;
  checkedAccounts: number | null;
  /** The most entries any account's read model was behind the ledger in the last drift check. */
  lagEntriesMax: number | null;
  driftCheckedAt: string | null;
  repairs: number | null;
  /** Ledger commit to balance commit, over the service's life. */
  eventLag: { events: number; meanSeconds: number | null; p99Seconds: number | null };
}

type Samples = Map<string, { labels: string; value: number }[]>;

/** Prometheus text format: `name{labels} value` lines; comments skipped. */
export function parseMetrics(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const value = Number(match[3]);
    if (Number.isNaN(value)) continue;
    const list = samples.get(match[1]!) ?? [];
    list.push({ labels: match[2] ?? '', value });
    samples.set(match[1]!, list);
  }
  return samples;
}

const one = (samples: Samples, name: string) => samples.get(name)?.[0]?.value ?? null;
const sum = (samples: Samples, name: string) => samples.get(name)?.reduce((total, s) => total + s.value, 0) ?? null;

/** The smallest bucket bound holding 99 % of the observations. */
function p99(samples: Samples, name: string, count: number): number | null {
  if (count === 0) return null;
  for (const { labels, value } of samples.get(`${name}_bucket`) ?? []) {
    const bound = /le="([^"]+)"/.exec(labels)?.[1];
    if (bound !== undefined && value >= count * 0.99) return bound === '+Inf' ? Infinity : Number(bound);
  }
  return null;
}

export function figuresOf(samples: Samples): Figures {
  const completed = one(samples, 'balance_drift_check_completed_timestamp_seconds');
  const events = one(samples, 'balance_event_lag_seconds_count') ?? 0;
  const lagSum = one(samples, 'balance_event_lag_seconds_sum');
  const percentile = p99(samples, 'balance_event_lag_seconds', events);
  return {
    driftedAccounts: one(samples, 'balance_drifted_accounts'),
    checkedAccounts: one(samples, 'balance_drift_checked_accounts'),
    lagEntriesMax: one(samples, 'balance_projection_lag_entries'),
    driftCheckedAt: completed ? new Date(completed * 1000).toISOString() : null,
    repairs: sum(samples, 'balance_drift_repairs_total'),
    eventLag: { events, meanSeconds: events > 0 && lagSum !== null ? lagSum / events : null, p99Seconds: percentile === Infinity ? null : percentile },
  };
}

export async function registerFigures(app: App, options: { verifier: TokenVerifier; balanceUrl: string; timeoutMs: number; limit: onRequestHookHandler }): Promise<void> {
  await app.register(async (admin: App) => {
    admin.addHook('onRequest', identifyCaller(options.verifier));
    admin.addHook('onRequest', options.limit);
    admin.addHook('onRequest', requireCaller);
    admin.addHook('onRequest', requireScope(scopes.operator));
    admin.get('/v1/admin/figures', { schema: { hide: true } }, async (_request, reply) => {
      try {
        const response = await fetch(`${options.balanceUrl}/metrics`, { signal: AbortSignal.timeout(options.timeoutMs) });
        if (!response.ok) throw new Error(`status ${response.status}`);
        return figuresOf(parseMetrics(await response.text()));
      } catch {
        return sendProblem(reply, problemBody('dependency_unavailable', 'The balance service did not report its figures'));
      }
    });
  });
}
