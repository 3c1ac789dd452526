// The browser app (apps/web, built into apps/web/dist) at `/`. Files are served as they are;
// any other path outside the API answers index.html, so the app's own paths (/send, /history…)
// survive a reload. API paths are never answered with the app: an unknown one stays a 404 problem.
import { existsSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { App } from '@wallet/kit';

export const webDist = fileURLToPath(new URL('../../../apps/web/dist/', import.meta.url));

/** Paths that belong to the API or the services, however the router matches them. */
const apiPrefixes = ['/v1', '/oauth', '/.well-known', '/docs', '/openapi', '/healthz', '/readyz', '/metrics', '/internal'];

export function isApiPath(path: string): boolean {
  const lower = path.toLowerCase();
  return apiPrefixes.some((prefix) => lower === prefix || lower.startsWith(`${prefix}/`) || lower.startsWith(`${prefix}.`));
}

// Only same-origin scripts, styles and requests: the app needs nothing else.
const securityHeaders = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const notBuilt = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Wallet</title>
<p>The web app is not built yet. Run <code>npm run build -w @wallet/web</code> (npm start does it first), then reload.</p>
<p>The API is here all the same: <a href="/docs">/docs</a>.</p></html>`;

/** A file of the build under `root`, or undefined (never outside it). */
function fileOf(root: string, path: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  const relative = normalize(decoded).replace(/^[/\\]+/, '');
  if (relative === '' || relative.startsWith('..') || relative.includes(`${sep}..`) || relative.includes('\0')) return undefined;
  const full = join(root, relative);
  try {
    return statSync(full).isFile() ? relative : undefined;
  } catch {
    return undefined;
  }
}

export async function registerWeb(app: App, options: { root?: string; limit: onRequestHookHandler }): Promise<void> {
  const root = options.root ?? webDist;
  await app.register(async (web: App) => {
    await web.register(fastifyStatic, { root, serve: false, index: false, wildcard: false });

    const serve = async (request: FastifyRequest, reply: FastifyReply) => {
      const path = request.url.split('?')[0] ?? '/';
      if (isApiPath(path)) return reply.callNotFound();
      reply.headers(securityHeaders);
      const file = fileOf(root, path);
      if (file) {
        // Vite names built assets by their content, so they never change under the same name.
        const immutable = file.startsWith(`assets${sep}`);
        return reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache').sendFile(file, { cacheControl: false });
      }
      // A missing file (a name with an extension) is a 404, not the app.
      if (extname(path) !== '') return reply.callNotFound();
      if (!existsSync(join(root, 'index.html'))) return reply.code(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(notBuilt);
      return reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
    };

    web.get('/', { schema: { hide: true }, onRequest: options.limit }, serve);
    web.get('/*', { schema: { hide: true }, onRequest: options.limit }, serve);
  });
}
