// The API docs: the merged OpenAPI document at /openapi.json and Swagger UI over it at /docs.
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import { problemBody, sendProblem, type App } from '@wallet/kit';
import type { DocsCache } from './openapi.ts';

export async function registerDocs(app: App, docs: DocsCache | undefined, limit: onRequestHookHandler): Promise<void> {
  // Every service answers /openapi.json with its own document (the kit's route); the gateway's own
  // routes are only proxies, so here that route answers with the merged document instead.
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url !== '/openapi.json') return;
    if (!docs) return sendProblem(reply, problemBody('not_found', 'The API docs are switched off'));
    return reply.send(await docs.document());
  });
  if (!docs) return;

  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // Swagger UI loads /docs/json: the same merged document, brought up to date before it is sent.
    transformSpecificationClone: false,
    transformSpecification: () => docs.current(),
    uiHooks: {
      onRequest: limit,
      preHandler: async (request: FastifyRequest) => {
        if (/\/(json|yaml)$/.test(request.routeOptions.url ?? '')) await docs.document();
      },
    },
    uiConfig: { deepLinking: true, persistAuthorization: false },
  });
}
