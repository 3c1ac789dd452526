// One OpenAPI document for the whole public API, merged from the document each service serves at
// /openapi.json. Internal and operational paths are left out; a service that is down keeps its last
// document (or is missing until it answers).
import type { FastifyBaseLogger } from 'fastify';

type JsonObject = Record<string, unknown>;

export interface OpenApiDocument extends JsonObject {
  openapi: string;
  info: JsonObject;
  paths: Record<string, JsonObject>;
  components: Record<string, JsonObject>;
  tags?: JsonObject[];
}

export interface SourceDocument {
  service: string;
  document: JsonObject | undefined;
}

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Paths that are not part of the public API, even if a service documents them. */
export function isHiddenPath(path: string): boolean {
  return (
    path === '/internal' ||
    path.startsWith('/internal/') ||
    ['/healthz', '/readyz', '/metrics', '/openapi.json'].includes(path) ||
    path === '/docs' ||
    path.startsWith('/docs/')
  );
}

export function mergeOpenApi(sources: readonly SourceDocument[], info: JsonObject): OpenApiDocument {
  const merged: OpenApiDocument = {
    openapi: '3.0.3',
    info,
    paths: {},
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
  };
  const tags = new Map<string, JsonObject>();
  const missing: string[] = [];

  for (const { service, document } of sources) {
    if (!document) {
      missing.push(service);
      continue;
    }
    if (typeof document.openapi === 'string' && Object.keys(merged.paths).length === 0) merged.openapi = document.openapi;
    if (isObject(document.paths)) {
      for (const [path, operations] of Object.entries(document.paths)) {
        if (isHiddenPath(path) || !isObject(operations)) continue;
        // Two services never own the same operation; if they did, the first listed wins.
        merged.paths[path] = { ...operations, ...merged.paths[path] };
      }
    }
    if (isObject(document.components)) {
      for (const [section, entries] of Object.entries(document.components)) {
        if (!isObject(entries)) continue;
        merged.components[section] = { ...entries, ...merged.components[section] };
      }
    }
    if (Array.isArray(document.tags)) {
      for (const tag of document.tags) {
        if (isObject(tag) && typeof tag.name === 'string' && !tags.has(tag.name)) tags.set(tag.name, tag);
      }
    }
  }
  if (tags.size > 0) merged.tags = [...tags.values()];
  if (missing.length > 0) merged['x-unavailable-services'] = missing;
  return merged;
}

export interface DocsSource {
  service: string;
  url: string;
}

export interface DocsCacheOptions {
  sources: readonly DocsSource[];
  ttlMs: number;
  fetchTimeoutMs: number;
  log: FastifyBaseLogger;
  info?: JsonObject;
}

export interface DocsCache {
  /** The merged document, refreshed first when it is older than the TTL. */
  document(): Promise<OpenApiDocument>;
  /** The merged document as last built, without fetching. */
  current(): OpenApiDocument;
}

/** While a service is missing from the document, try again after this long instead of the full TTL. */
const incompleteRetryMs = 5000;

export function createDocsCache({ sources, ttlMs, fetchTimeoutMs, log, info }: DocsCacheOptions): DocsCache {
  const documentInfo = info ?? { title: 'Wallet API', version: '1', description: 'The public API of the wallet, through the gateway.' };
  const lastGood = new Map<string, JsonObject>();
  let merged = mergeOpenApi(
    sources.map(({ service }) => ({ service, document: undefined })),
    documentInfo,
  );
  let builtAt = -Infinity;
  let refreshing: Promise<OpenApiDocument> | undefined;

  const fetchOne = async ({ service, url }: DocsSource): Promise<void> => {
    try {
      const response = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(fetchTimeoutMs) });
      if (!response.ok) throw new Error(`status ${response.status}`);
      const body: unknown = await response.json();
      if (!isObject(body)) throw new Error('not a JSON object');
      lastGood.set(service, body);
    } catch (error) {
      log.warn({ upstream: service, err: (error as Error).message }, 'could not fetch an OpenAPI document; serving the last one');
    }
  };

  const refresh = async (): Promise<OpenApiDocument> => {
    await Promise.all(sources.map(fetchOne));
    merged = mergeOpenApi(
      sources.map(({ service }) => ({ service, document: lastGood.get(service) })),
      documentInfo,
    );
    builtAt = Date.now();
    return merged;
  };

  return {
    async document() {
      const complete = lastGood.size === sources.length;
      const age = Date.now() - builtAt;
      if (age < (complete ? ttlMs : Math.min(ttlMs, incompleteRetryMs))) return merged;
      refreshing ??= refresh().finally(() => {
        refreshing = undefined;
      });
      return refreshing;
    },
    current: () => merged,
  };
}
