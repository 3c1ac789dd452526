# syntax=docker/dockerfile:1
# One image for every service: `docker run wallet <alias|account|transaction|balance|gateway>`.
# Node 24 runs the TypeScript sources itself (type stripping): no compiler at run time.
ARG NODE_IMAGE=node:24-bookworm-slim

# Build: every dependency, a type check that the sources are erasable TypeScript only (what Node's
# type stripping runs), then production dependencies only.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/kit/package.json packages/kit/
COPY packages/launcher/package.json packages/launcher/
COPY packages/money/package.json packages/money/
COPY packages/testkit/package.json packages/testkit/
COPY services/alias/package.json services/alias/
COPY services/account/package.json services/account/
COPY services/transaction/package.json services/transaction/
COPY services/balance/package.json services/balance/
COPY services/gateway/package.json services/gateway/
COPY apps/web/package.json apps/web/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY packages packages
COPY services services
COPY deploy/docker deploy/docker
RUN npx tsc -p deploy/docker/tsconfig.json
# The browser app the gateway serves at / (apps/web/dist), built with the development dependencies.
COPY apps/web apps/web
RUN npm run build -w @wallet/web
# Then production dependencies only, in a clean tree (workspace links point at packages/*, services/*).
RUN rm -rf node_modules packages/*/node_modules services/*/node_modules apps/*/node_modules apps/web/src \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# Runtime: root owns the files, the unprivileged `node` user (uid 1000) runs them.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    WALLET_MODE=real \
    HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app /app
USER node
EXPOSE 8080 8081 8082 8083 8084
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["node", "deploy/docker/healthcheck.mjs"]
ENTRYPOINT ["/bin/sh", "deploy/docker/entrypoint.sh"]
CMD ["gateway"]
