# The one image for every Node process in docker compose: the three services and the edge router
# (the same image in both regions; docker-compose.yml picks the entry file with `command`).
# tsx is a production dependency of the workspace root, so `npm ci --omit=dev` installs it (and with
# it esbuild): the image compiles each entry point once at build (bundle.mjs) instead of at every start.
#
# BASE_IMAGE is the project's one Debian base (docs/docker.md, "Images"): docker-compose.yml passes it,
# there is deliberately no default here so no second name can creep in.
# Node 20 comes from Debian trixie's nodejs package, installed on the bookworm base through a pinned
# trixie source (docs/docker.md says why this route): it needs nothing but the Debian mirror the base
# already uses. npm is not taken from Debian (trixie's npm drags in hundreds of node-* packages):
# corepack, which trixie's nodejs ships, fetches the pinned npm from the npm registry that `npm ci`
# needs anyway.
ARG BASE_IMAGE

# --- node20: the base plus Node 20 -------------------------------------------------------------------
FROM ${BASE_IMAGE} AS node20
COPY infra/compose/node/apt-trixie.sh /usr/local/sbin/apt-trixie.sh
RUN sh /usr/local/sbin/apt-trixie.sh nodejs \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && node --version

# --- deps: production node_modules for all workspaces (tsx included) --------------------------------
FROM node20 AS deps
ARG NPM_VERSION=10.9.2
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production COREPACK_ENABLE_DOWNLOAD_PROMPT=0 COREPACK_HOME=/tmp/corepack
# Manifests only, so this layer is rebuilt only when dependencies change.
COPY package.json package-lock.json .npmrc ./
COPY infra/contracts/package.json infra/contracts/
COPY services/kit/package.json services/kit/
COPY services/login/package.json services/login/
COPY services/payments/package.json services/payments/
COPY services/messaging/package.json services/messaging/
COPY infra/links/package.json infra/links/
COPY infra/lab/package.json infra/lab/
COPY infra/router/package.json infra/router/
COPY infra/drill/package.json infra/drill/
COPY infra/console/package.json infra/console/
RUN corepack npm@${NPM_VERSION} ci --omit=dev --no-audit --no-fund \
 && test -x node_modules/.bin/tsx \
 && rm -rf /tmp/corepack /root/.npm

# --- runtime -----------------------------------------------------------------------------------------
FROM node20 AS runtime
WORKDIR /app
ENV NODE_ENV=production
# Non-root, uid 1000 (what the official node images call `node`).
# curl: the health check (a self-ending HTTP GET; a node process per check is too heavy)
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1000 --user-group --no-create-home --home-dir /app node \
 && mkdir -p /var/lib/failover-lab && chown node:node /var/lib/failover-lab
COPY --from=deps --chown=node:node /app/node_modules ./node_modules
# Sources (see .dockerignore for what stays out: tests, state, secrets, node_modules of the host).
COPY --chown=node:node . .
# One ES module per entry point (infra/compose/node/bundle.mjs says why): a start without a compile.
RUN node infra/compose/node/bundle.mjs
USER node
EXPOSE 3000 8080
# tini is PID 1 and node its child: a SIGKILLed node is a crash Docker sees (exit 137, restart policy
# applies), which the compose backend's app-crash relies on (infra/drill/README.md).
ENTRYPOINT ["/usr/bin/tini", "--"]
# docker-compose.yml always sets the command; this default only says what the image is for.
CMD ["node", "--enable-source-maps", "infra/router/src/server.bundle.mjs"]
