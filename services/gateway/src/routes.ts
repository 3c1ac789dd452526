// The public route table: which path goes to which service, and who may call it.
// `/internal/*` appears nowhere here, so the gateway never routes it.
import type { HTTPMethods } from 'fastify';
import type { UpstreamName } from './config.ts';

export const proxiedMethods = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'] as const satisfies readonly HTTPMethods[];
type ProxiedMethod = (typeof proxiedMethods)[number];

const allMethods: readonly ProxiedMethod[] = proxiedMethods;
const readMethods: readonly ProxiedMethod[] = ['GET', 'HEAD'];
const allBut = (method: ProxiedMethod) => proxiedMethods.filter((m) => m !== method);

export type RateLimitGroup = 'credentials' | 'anonymous';

export interface ProxyRoute {
  upstream: UpstreamName;
  url: string;
  methods: readonly ProxiedMethod[];
  /** Takes bodies up to the larger batch limit (BATCH_BODY_LIMIT_BYTES). */
  largeBody?: boolean;
}

export interface PublicRoute extends ProxyRoute {
  /** Sign-up and the token endpoint get the tight per-IP limit against credential guessing. */
  limit: RateLimitGroup;
}

/** Reached without a token. */
export const publicRoutes: readonly PublicRoute[] = [
  { upstream: 'alias', url: '/v1/users', methods: ['POST'], limit: 'credentials' },
  { upstream: 'alias', url: '/v1/auth/token', methods: allMethods, limit: 'credentials' },
  // RFC 7009 revocation needs no token (holding the one revoked is enough); introspection authenticates
  // its client itself (HTTP Basic or a service's bearer token), so the gateway does not ask for one.
  { upstream: 'alias', url: '/v1/auth/revoke', methods: ['POST'], limit: 'credentials' },
  { upstream: 'alias', url: '/v1/auth/introspect', methods: ['POST'], limit: 'anonymous' },
  { upstream: 'alias', url: '/.well-known/*', methods: readMethods, limit: 'anonymous' },
];

/** Need a valid access token, checked here before the request reaches the service. */
export const callerRoutes: readonly ProxyRoute[] = [
  { upstream: 'alias', url: '/v1/users', methods: allBut('POST') },
  { upstream: 'alias', url: '/v1/auth/*', methods: allMethods },
  { upstream: 'alias', url: '/v1/aliases/*', methods: allMethods },
  { upstream: 'alias', url: '/v1/me', methods: allMethods },
  { upstream: 'alias', url: '/v1/me/*', methods: allMethods },
  { upstream: 'alias', url: '/v1/admin/signing-keys', methods: allMethods },
  { upstream: 'alias', url: '/v1/admin/signing-keys/*', methods: allMethods },
  // The balance read model answers for an account's balance and anything below it; the static
  // `balance` segment wins over the account service's wildcard in the router.
  { upstream: 'balance', url: '/v1/accounts/:accountId/balance', methods: allMethods },
  { upstream: 'balance', url: '/v1/accounts/:accountId/balance/*', methods: allMethods },
  // Balance alerts are the balance service's too.
  { upstream: 'balance', url: '/v1/accounts/:accountId/balance-alerts', methods: allMethods },
  { upstream: 'balance', url: '/v1/accounts/:accountId/balance-alerts/*', methods: allMethods },
  // The ledger answers for an account's statement.
  { upstream: 'transaction', url: '/v1/accounts/:accountId/statement', methods: allMethods },
  { upstream: 'account', url: '/v1/accounts', methods: allMethods },
  { upstream: 'account', url: '/v1/accounts/*', methods: allMethods },
  { upstream: 'transaction', url: '/v1/transfers', methods: allMethods },
  { upstream: 'transaction', url: '/v1/transfers/batch', methods: ['POST'], largeBody: true },
  { upstream: 'transaction', url: '/v1/transfers/*', methods: allMethods },
  { upstream: 'transaction', url: '/v1/deposits', methods: allMethods },
  { upstream: 'transaction', url: '/v1/withdrawals', methods: allMethods },
  { upstream: 'transaction', url: '/v1/holds', methods: allMethods },
  { upstream: 'transaction', url: '/v1/holds/*', methods: allMethods },
];

/**
 * Long-lived responses (Server-Sent Events), with a token like `callerRoutes`. They are forwarded over
 * connections of their own, so that open streams never take the connections other requests need, and
 * they may stay open as long as the service sends something (heartbeats) within
 * UPSTREAM_BODY_IDLE_TIMEOUT_MS. The static `stream` segment wins over `balance/*` in the router.
 */
export const streamRoutes: readonly ProxyRoute[] = [{ upstream: 'balance', url: '/v1/accounts/:accountId/balance/stream', methods: ['GET'] }];
