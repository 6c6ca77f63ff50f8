# The provider as a container image.
#   docker build -t wechat-oidc-provider .
#   docker run --env-file idp.env -p 3000:3000 -v ./clients.json:/app/config/clients.json:ro wechat-oidc-provider
# Settings come from the environment (see the README); the image sets NODE_ENV=production,
# HOST=0.0.0.0 and PORT=3000. Mount the real clients file over /app/config/clients.json (or
# set CLIENTS_FILE): the one shipped holds only the demo app, which production refuses.

ARG NODE_IMAGE=node:22-bookworm-slim

# --- build: the release exactly as scripts/release-build.sh makes it anywhere else ----------
FROM ${NODE_IMAGE} AS build
# better-sqlite3 compiles from source where no prebuilt binary can be fetched.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
# Compile native modules against this image's own Node.js headers instead of downloading them.
ENV npm_config_nodedir=/usr/local
WORKDIR /src
COPY . .
RUN bash scripts/release-build.sh

# --- runtime: Node.js, tini and the release; no compiler, no npm install, no dev package ----
FROM ${NODE_IMAGE} AS runtime
# tini runs as PID 1 and starts node as its child. The service handles SIGTERM and SIGINT
# itself (it stops taking connections, finishes requests in flight, closes the database), so
# node as PID 1 would stop properly on `docker stop` too; but the kernel gives PID 1 no
# default signal actions, so any other signal (SIGQUIT, SIGHUP, SIGUSR2, ...) would be
# ignored instead of ending it. tini forwards every signal to node, reaps zombies, and needs
# no `docker run --init` or `init: true` from whoever runs the image.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
# Owned by root, readable by all: the service cannot change its own code.
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/views ./views
COPY --from=build /src/public ./public
COPY --from=build /src/config ./config
# The one directory the service may write: SQLite's default file (DATABASE_URL unset), for a
# single container with a volume here. Production uses PostgreSQL (DATABASE_URL=postgres://…).
RUN mkdir data && chown node:node data
USER node
EXPOSE 3000
STOPSIGNAL SIGTERM
# node itself asks /healthz (the slim image has no curl); /healthz answers on any Host.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/main.js"]
