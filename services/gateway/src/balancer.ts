// Spreads one service's requests over its instances: the available instance with the fewest requests
// in flight (ties in turn), with passive health: each instance has its own circuit breaker, and an
// instance whose breaker is open is skipped until the breaker half-opens and lets one request try it.
import CircuitBreaker from 'opossum';
import type { UpstreamName } from './config.ts';

export interface Instance {
  upstream: UpstreamName;
  url: string;
  breaker: CircuitBreaker;
  /** Requests (and open streams) forwarded to this instance and not finished yet. */
  outstanding: number;
  /** When the breaker last opened (ms since the epoch). */
  openedAt: number;
}

/** A breaker and what it guards, for a breaker-state gauge. */
export interface UpstreamBreaker {
  upstream: UpstreamName;
  instance: string;
  breaker: CircuitBreaker;
}

export interface Balancer {
  readonly upstream: UpstreamName;
  readonly instances: readonly Instance[];
  /** The instance for the next request, other than `except`; undefined when none is available. */
  pick(except?: Instance): Instance | undefined;
  /** Whole seconds until the first open breaker half-opens (at least 1). */
  retryAfterSeconds(): number;
}

export interface BreakerOptions {
  resetMs: number;
}

/** The breaker takes a request, or lets one trial through when half-open. */
export function accepts(instance: Instance): boolean {
  return instance.breaker.closed || instance.breaker.pendingClose;
}

export function createBalancer(upstream: UpstreamName, urls: readonly string[], { resetMs }: BreakerOptions): Balancer {
  const instances: Instance[] = urls.map((url) => {
    // The action is the forwarding itself (proxy.ts), passed to fire(); timeouts are the HTTP client's.
    const breaker = new CircuitBreaker((forward: () => Promise<void>) => forward(), {
      name: `${upstream} ${url}`,
      timeout: false,
      errorThresholdPercentage: 50,
      volumeThreshold: 3,
      resetTimeout: resetMs,
    });
    const instance: Instance = { upstream, url, breaker, outstanding: 0, openedAt: 0 };
    breaker.on('open', () => (instance.openedAt = Date.now()));
    return instance;
  });
  let turn = 0;

  return {
    upstream,
    instances,
    pick(except) {
      let best: Instance | undefined;
      for (let i = 0; i < instances.length; i++) {
        const candidate = instances[(turn + i) % instances.length]!;
        if (candidate === except || !accepts(candidate)) continue;
        if (!best || candidate.outstanding < best.outstanding) best = candidate;
      }
      turn = (turn + 1) % instances.length;
      return best;
    },
    retryAfterSeconds() {
      const now = Date.now();
      const waits = instances.filter((i) => i.breaker.opened).map((i) => i.openedAt + resetMs - now);
      return Math.max(1, Math.ceil(Math.min(...waits, resetMs) / 1000));
    },
  };
}

export function breakersOf(balancers: Readonly<Record<UpstreamName, Balancer>>): UpstreamBreaker[] {
  return Object.values(balancers).flatMap((b) => b.instances.map((i) => ({ upstream: i.upstream, instance: i.url, breaker: i.breaker })));
}
