// OAuth2 clients that use client_credentials (the operator, the services). Pure: the list comes
// from configuration. Secrets are compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface ClientCredentials {
  id: string;
  secret: string;
  scope: string;
}

export interface Client {
  id: string;
  scope: string;
}

export interface ClientRegistry {
  /** The client when id and secret match; undefined otherwise, after the same amount of work. */
  authenticate(id: string, secret: string): Client | undefined;
}

// Digests have one length whatever the secrets' lengths, so timingSafeEqual always compares.
const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export function clientRegistry(credentials: readonly ClientCredentials[]): ClientRegistry {
  const clients = new Map(credentials.map((c) => [c.id, { id: c.id, scope: c.scope, secretDigest: digest(c.secret) }]));
  const noClient = randomBytes(32);
  return {
    authenticate(id, secret) {
      const client = clients.get(id);
      const matches = timingSafeEqual(digest(secret), client?.secretDigest ?? noClient);
      return client && matches ? { id: client.id, scope: client.scope } : undefined;
    },
  };
}

/** Scopes asked for must all be granted; none asked means everything the client has. */
export function grantedScope(allowed: string, requested: string | undefined): string | undefined {
  if (requested === undefined || requested.trim() === '') return allowed;
  const allowedSet = new Set(allowed.split(' '));
  const asked = [...new Set(requested.split(' ').filter(Boolean))];
  return asked.every((s) => allowedSet.has(s)) ? asked.join(' ') : undefined;
}
