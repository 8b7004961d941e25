# The Overseer daemon as an image: the compiled daemon (npm run build) on Node, production
# dependencies only, a non-root user, tini as PID 1. docs/container.md explains each choice;
# test/ship/dockerfile.test.ts lints this file and checks its paths, entry point, user, health check
# and labels in `npm test` (no Docker engine runs where Overseer is built).
#
#   docker build -t overseer .
#   docker run --rm -p 127.0.0.1:8080:8080 \
#     -e REDIS_URL=redis://redis:6379 -e DATABASE_URL=postgres://overseer:overseer@postgres/overseer \
#     -e OVERSEER_ADMIN_TOKEN=... -e OVERSEER_OPERATOR_TOKEN=... -e OVERSEER_VIEWER_TOKEN=... \
#     -e OVERSEER_AGENT_SECRET=... overseer

# Node 26, the line .nvmrc names and CI runs the suite on. The major is pinned (not `node:slim` or
# `lts`) so a rebuild picks up Node's patch and security releases but never a major the suite has not
# run on; the minor is not, so those releases are not missed. trixie-slim: Debian 13's glibc base
# (the prebuilt native addon msgpackr-extract needs glibc, so not Alpine's musl) without compilers
# or docs. All three stages use the same base so the native addon built in one runs in the other.
ARG NODE_IMAGE=node:26-trixie-slim

# --- build: every dependency (TypeScript, tsx) and the sources; `npm run build` writes dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# The lockfile first: the `npm ci` layer is reused until the dependencies change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY tools/build.ts tools/build-console.ts ./tools/
# The folders tsconfig.build.json compiles (test/ship/dockerfile.test.ts keeps this list equal to its "include").
COPY contract ./contract
COPY app ./app
COPY api ./api
COPY daemon ./daemon
COPY probes ./probes
COPY recovery ./recovery
COPY sdk ./sdk
COPY demo ./demo
# The operator console (browser code, bundled by esbuild into dist/console; served at /ui).
COPY console ./console
RUN npm run build

# --- deps: production dependencies only, from the same lockfile; no TypeScript, tsx or test tools.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# --- runtime: node_modules from deps, dist/ from build, nothing else of the repository.
FROM ${NODE_IMAGE} AS runtime

# Set by the release build: --build-arg VERSION=... --build-arg REVISION="$(git rev-parse HEAD)"
# --build-arg SOURCE=<repository URL> (the repository names no public URL of its own, so none is
# guessed here). The default VERSION is package.json's (the test keeps them equal).
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="overseer" \
      org.opencontainers.image.description="Observability-first supervisor daemon for fleets of LLM agents" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

# tini as PID 1: it forwards SIGTERM to node (PID 1 gets no default signal handlers) and reaps
# zombies, e.g. of agent processes the daemon runs (OVERSEER_MANAGED_AGENTS_FILE).
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

# OVERSEER_EMBEDDED=false: a container never starts embedded Redis or Postgres; without REDIS_URL
# and DATABASE_URL reachable the daemon fails to start instead of running on throwaway data.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    OVERSEER_EMBEDDED=false

WORKDIR /app
# Owned by root and read-only to the daemon's user: the process cannot rewrite its own code.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist

# The operator CLI on PATH (`docker exec <container> overseer status`). A wrapper, not a symlink:
# the CLI runs only when process.argv[1] is its own file, which a symlink's path is not.
RUN printf '#!/bin/sh\nexec node /app/dist/sdk/cli/main.js "$@"\n' > /usr/local/bin/overseer \
 && chmod 0755 /usr/local/bin/overseer

# `node` (uid 1000) comes with the official image; nothing here runs as root.
USER node
EXPOSE 8080
# The daemon drains on SIGTERM for up to OVERSEER_SHUTDOWN_GRACE_MS (10 s by default). Docker's own
# default before SIGKILL is also 10 s: give `docker stop -t`, stop_grace_period or the orchestrator's
# grace period more than the drain (docker-compose.yml: 10 s drain, 20 s grace).
STOPSIGNAL SIGTERM
# Liveness only (/healthz): 503 once the daemon has failed. Readiness (/readyz, Redis and Postgres
# reachable) is for load balancers and depends_on, not for restarting the container. No curl in
# slim images; node's fetch does it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--enable-source-maps", "dist/app/main.js"]
